"""Training data in a test's catalog: sessions with run files, and a small stand-in extractor.

The app's plumbing (collecting on a worker, keeping, excluding, export, import, the panel) is
tested with :func:`stub_extract`, so those tests do not hang on what the real extraction
(``ml.training.extract``, tested on virtual-cell sessions of its own) finds; the demo-mode test
uses the real one.
"""

from __future__ import annotations

import threading

import numpy as np

from dynoai_desktop.app.events import Event
from dynoai_desktop.core.build_spec import BuildSpec, EngineFamily
from dynoai_desktop.core.table import Table
from dynoai_desktop.core.tune import AFR_TARGET, Tune
from dynoai_desktop.ml.training.records import (
    PATTERNS,
    AfrTargets,
    Environment,
    Outcome,
    Patterns,
    RunSummary,
    TableRecord,
    TuningSession,
)
from dynoai_desktop.ml.training.session_data import SessionData
from dynoai_desktop.storage.catalog import Catalog
from dynoai_desktop.storage.resources import demo_base_tables
from dynoai_desktop.storage.run_files import RunMetadata, write_run
from dynoai_desktop.storage.settings import DevicePort

SERIAL = (DevicePort("dyno", "dyno-line", "/dev/ttyUSB0"),)
BREAKS = "breaks the extractor"
"""A vehicle of this name makes :func:`stub_extract` raise (a bug in one extractor)."""
WORKER_THREADS: list[str] = []
"""The threads :func:`stub_extract` ran on."""


def _table(table: Table) -> TableRecord:
    view = table.normalised()
    return TableRecord(table.col_axis, view.row_breakpoints.tolist(),
                       view.col_breakpoints.tolist(), view.values.tolist())


def stub_extract(data: SessionData) -> TuningSession:
    """A valid record that finds AFR targets when the session had a target table, and refuses
    the other patterns."""
    WORKER_THREADS.append(threading.current_thread().name)
    if data.vehicle == BREAKS:
        raise ValueError("a bug in one extractor")
    patterns = Patterns(afr_targets=AfrTargets(wot=12.8) if data.afr_target is not None
                        else None)
    runs = [RunSummary(r.name, r.duration_s, r.rows, r.kind) for r in data.runs]
    return TuningSession(
        data.session_id, data.simulated, data.vehicle, data.build.to_dict(),
        Environment(25.0, 100.0, 40.0), runs, sum(r.duration_s for r in data.runs),
        {k: _table(t) for k, t in data.tables_before.items()},
        {k: _table(t) for k, t in data.tables_after.items()},
        Outcome(cells_corrected=0, autotune_rounds=0, converged=True, afr_error_rms_before=0.6,
                afr_error_rms_after=0.3), patterns,
        {p: "the test's extractor finds only AFR targets" for p in PATTERNS
         if getattr(patterns, p) is None}, data.started_at)


class FakeLive:
    """What the training session hears from the live session."""

    def __init__(self) -> None:
        self.run_saved = Event("run saved")


def a_tune(afr: bool = False) -> Tune:
    """The demo base map, with an AFR target table when ``afr``."""
    front, rear = demo_base_tables()[0]
    tables = {front.name: front, rear.name: rear}
    if afr:
        tables[AFR_TARGET] = Table(AFR_TARGET, "AFR", "rpm", "map_kpa", front.row_breakpoints,
                                   front.col_breakpoints, np.full(front.shape, 13.0))
    return Tune(tables)


def a_session_with_runs(catalog: Catalog, runs: int = 1, vehicle: str = "2016 Low Rider S",
                        build: BuildSpec | None = None, tune: Tune | None = None) -> int:
    """A new customer's vehicle (stock TC103 unless ``build``) and a session (on ``tune`` when
    given) with ``runs`` finished runs; the session's id."""
    customer = catalog.add_customer("Dana Ortiz")
    bike = catalog.add_vehicle(customer, vehicle, build or BuildSpec.stock(EngineFamily.TC103))
    tune_id = catalog.add_tune("t", tune, "2026-11-22T09:00:00") if tune is not None else None
    session = catalog.start_session(bike, "2026-11-22T10:00:00", tune_id=tune_id)
    for n in range(runs):
        a_run(catalog, session, n)
    return session


def a_run(catalog: Catalog, session: int, n: int) -> int:
    """Finished run ``pull <n>`` of the session, with its file; its id."""
    started = f"2026-11-22T10:{n:02d}:00"
    file = catalog.new_run_file(session, started)
    write_run(catalog.data_dir / file, {"time_s": np.arange(40) * 0.1,
                                        "rpm": np.linspace(1500, 5000, 40)},
              RunMetadata(f"pull {n}", started))
    run = catalog.add_run(session, f"pull {n}", started, file, devices=SERIAL,
                          tune_version_id=1 if catalog.session(session).tune_id else None)
    catalog.finish_run(run, started, 4.0, 40)
    return run
