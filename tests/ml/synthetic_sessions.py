"""Synthetic training sessions for model tests: enough builds to train a base-VE model in seconds.

Each session starts from the shipped stage map of its build's family and stage
(``resources/base_maps``) and "tunes" the cells 2000-5000 rpm x 50-100 kPa to the stage map times
:func:`true_scale`, a smooth function of the build (cam duration, stage) and the cell, with a
little bike-to-bike scatter and per-cell noise; every other cell is left exactly as it was (so
the model sees it as not corrected). Nothing is simulated: a few dozen sessions are made in
milliseconds.

The default mix (:data:`MIX`) has six build groups that train (Twin Cam 103 stock / bolt-in / hot
street, Milwaukee-Eight 114 stock / bolt-in, Evolution 1340 stock) and two that
``ml.train.is_held_out`` holds out (Twin Cam 110 stock, Twin Cam 96 hot street), so 30 or more
sessions pass ``train_base_ve``'s data checks and the model beats the stage maps on the held-out
groups. ``contrary_held_out=True`` turns the held-out groups' deviation the other way: a model
learned on the others then does worse there than the stage maps, and the gate refuses it.

    sessions = synthetic_sessions(36, seed=1)                  # list[TuningSession]
    write_dataset(tmp_path / "shop.json", sessions)            # a training-data file
    put_imported(catalog, sessions)                            # as imported catalog records

Tests that fit models in the test's process (not through the app's training process) do it
under :func:`quick_training`: the shipped model's learning budget in a quarter of the trees
(:data:`SMALL_MODEL`), on one thread.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from unittest import mock

import numpy as np
import numpy.typing as npt
from threadpoolctl import threadpool_limits

from dynoai_desktop.core.build_spec import AirCleaner, BuildSpec, CamSpec, EngineFamily, Exhaust
from dynoai_desktop.core.table import Table
from dynoai_desktop.ml.cell_model import PARAMS
from dynoai_desktop.ml.features import build_group, cam_mean_duration
from dynoai_desktop.ml.train import is_held_out
from dynoai_desktop.ml.training.dataset import dataset_json
from dynoai_desktop.ml.training.records import (
    PATTERNS,
    SCHEMA_VERSION,
    Dataset,
    Environment,
    Outcome,
    Patterns,
    RunSummary,
    TableRecord,
    TuningSession,
)
from dynoai_desktop.ml.training.typed_json import to_json_value
from dynoai_desktop.storage.catalog import Catalog
from dynoai_desktop.storage.resources import base_map_tables

RPM_RANGE = (2000.0, 5000.0)
LOAD_RANGE = (50.0, 100.0)
"""The cells a synthetic session corrects (both ends included)."""
CAM_DURATIONS = {"stock": None, "bolt-in": (214.0, 228.0), "hot street": (232.0, 243.0),
                 "big": (247.0, 258.0)}
"""Mean duration at .053 in (deg) drawn for each cam class (``ml.features.cam_class``)."""
MIX: tuple[tuple[EngineFamily, int, str], ...] = (
    (EngineFamily.TC103, 1, "stock"),
    (EngineFamily.TC103, 2, "bolt-in"),
    (EngineFamily.TC103, 2, "hot street"),
    (EngineFamily.M8_114, 1, "stock"),
    (EngineFamily.M8_114, 2, "bolt-in"),
    (EngineFamily.EVO_1340, 0, "stock"),
    (EngineFamily.TC110, 1, "stock"),        # held out
    (EngineFamily.TC96, 2, "hot street"),    # held out
)
"""(family, stage, cam class) of the builds, used in turn."""
SMALL_MODEL = {"max_iter": 50, "learning_rate": 0.2}
"""``ml.base_ve.PARAMS`` for tests that train: the shipped model's learning budget (iterations x
learning rate, 200 x 0.05) in a quarter of the trees. On these sessions it fits a quarter as
long (and stores, loads and predicts faster) for about the same errors: held-out 0.48 % against
0.46 % on ``synthetic_sessions(36, seed=1)``, the stage maps 5.13 %. The app's background
training (its own process) and the shipped prior keep the shipped parameters."""


def synthetic_build(family: EngineFamily, stage: int, cam_class: str,
                    rng: np.random.Generator) -> BuildSpec:
    """A ``family`` bike at ``stage`` with a cam of ``cam_class`` (its card drawn from ``rng``)."""
    build = BuildSpec.stock(family)
    span = CAM_DURATIONS[cam_class]
    if span is None:
        cam = CamSpec("stock")
    else:
        duration = float(np.round(rng.uniform(*span), 1))
        cam = CamSpec(f"synthetic {cam_class}", intake_duration_deg=duration,
                      exhaust_duration_deg=duration, overlap_deg=round(duration - 205.0, 1),
                      intake_lift_in=0.5, exhaust_lift_in=0.5)
    return replace(build, stage=stage, cam=cam,
                   exhaust=Exhaust.STOCK if stage == 0 else Exhaust.SLIP_ON,
                   air_cleaner=AirCleaner.STOCK if stage == 0 else AirCleaner.HIGH_FLOW)


def true_scale(build: BuildSpec, rpm: npt.ArrayLike, load_kpa: npt.ArrayLike,
               contrary: bool = False) -> npt.NDArray[np.float64]:
    """What the build's tuned VE is over its stage map, per cell (about 1.02 to 1.10); with
    ``contrary`` the inverse."""
    rpm = np.asarray(rpm, dtype=np.float64)
    load = np.asarray(load_kpa, dtype=np.float64)
    duration = cam_mean_duration(build)
    gain = 0.0 if duration is None else (duration - 210.0) / 50.0  # 0.1 (mild) .. 1 (big)
    shape = (0.04 + 0.01 * build.stage + 0.03 * gain * (rpm - 3500.0) / 1500.0
             - 0.02 * gain * (100.0 - load) / 50.0)
    return np.exp(-shape if contrary else shape)


def _record(table: Table) -> TableRecord:
    view = table.normalised()
    return TableRecord(table.col_axis, view.row_breakpoints.tolist(),
                       view.col_breakpoints.tolist(), view.values.tolist())


def synthetic_session(build: BuildSpec, rng: np.random.Generator, session_id: str, *,
                      vehicle: str = "synthetic bike", noise_pct: float = 0.4,
                      contrary: bool = False) -> TuningSession:
    """One session of ``build``: the stage maps before, the stage maps x :func:`true_scale`
    (x a bike offset and per-cell noise, both ``noise_pct`` % sd) after."""
    before: dict[str, TableRecord] = {}
    after: dict[str, TableRecord] = {}
    bike = rng.normal(0.0, noise_pct / 100.0)
    corrected = 0
    for name, stage_map in zip(("ve_front", "ve_rear"),
                               base_map_tables(build.engine_family.value, build.stage),
                               strict=True):
        record = _record(stage_map)
        rpm, load = np.meshgrid(record.rpm, record.load, indexing="ij")
        zone = ((rpm >= RPM_RANGE[0]) & (rpm <= RPM_RANGE[1]) & (load >= LOAD_RANGE[0])
                & (load <= LOAD_RANGE[1]))
        values = np.asarray(record.values, dtype=np.float64)
        scale = true_scale(build, rpm, load, contrary) * np.exp(
            bike + rng.normal(0.0, noise_pct / 100.0, values.shape))
        tuned = np.where(zone, np.round(values * scale, 2), values)
        corrected += int(zone.sum())
        before[name] = record
        after[name] = replace(record, values=tuned.tolist())
    air = Environment(ambient_temp_c=round(float(rng.uniform(15.0, 35.0)), 1),
                      baro_kpa=round(float(rng.uniform(96.0, 101.5)), 1), humidity_pct=40.0)
    return TuningSession(
        session_id, True, vehicle, build.to_dict(), air,
        [RunSummary("autotune round 1", 600.0, 12000, "holds")], 900.0, before, after,
        Outcome(cells_corrected=corrected, autotune_rounds=3, converged=True,
                afr_error_rms_before=0.6, afr_error_rms_after=0.2),
        Patterns(), {p: "not extracted (synthetic session)" for p in PATTERNS},
        "2025-03-03T08:30:00+00:00")


def synthetic_sessions(n: int = 36, seed: int = 0, *,
                       mix: tuple[tuple[EngineFamily, int, str], ...] = MIX,
                       noise_pct: float = 0.4, contrary_held_out: bool = False,
                       id_prefix: str = "synthetic") -> list[TuningSession]:
    """``n`` sessions of the builds of ``mix`` in turn, ids ``<id_prefix>:<i>``; the same seed
    gives the same sessions."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        family, stage, cam = mix[i % len(mix)]
        build = synthetic_build(family, stage, cam, rng)
        contrary = contrary_held_out and is_held_out(build_group(build))
        out.append(synthetic_session(build, rng, f"{id_prefix}:{i + 1}",
                                     vehicle=f"synthetic {family.label} #{i + 1}",
                                     noise_pct=noise_pct, contrary=contrary))
    return out


def groups(sessions: list[TuningSession]) -> set[str]:
    """The build groups of ``sessions``."""
    return {build_group(BuildSpec.from_dict(s.build)) for s in sessions}


def write_dataset(path: Path, sessions: list[TuningSession], source: str = "synthetic") -> Path:
    """``sessions`` as one training-data file (docs/formats.md "Training data")."""
    dataset = Dataset(SCHEMA_VERSION, "dynoai-training-data", sessions,
                      "2025-03-03T08:30:00+00:00", source)
    path.write_text(dataset_json(dataset), encoding="utf-8")
    return path


def record_json(session: TuningSession) -> str:
    """A session as the catalog keeps its training record."""
    return json.dumps(to_json_value(session), ensure_ascii=False, separators=(",", ":"))


def put_imported(catalog: Catalog, sessions: list[TuningSession]) -> None:
    """Keep ``sessions`` in the catalog as records imported from another shop's dataset."""
    for session in sessions:
        catalog.put_imported_training_record(session.session_id, record_json(session),
                                             schema_version=SCHEMA_VERSION)


def mean_abs_pct(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    """Mean |a / b - 1| in %."""
    ratio = np.asarray(a, dtype=np.float64) / np.asarray(b, dtype=np.float64)
    return float(np.mean(np.abs(ratio - 1.0)) * 100.0) if ratio.size else math.nan


@contextmanager
def quick_training() -> Iterator[None]:
    """Fit and predict in this process as the model tests do: :data:`SMALL_MODEL`, on one
    BLAS/OpenMP thread (as ``dynoai models train``, ``dynoai predict-ve`` and the app's training
    process run; with the default two threads on a 2-core machine another job keeps busy, the
    threads wait on each other: a 36-session training took 118 s there, 9 s on one thread, the
    same model)."""
    with mock.patch.dict(PARAMS, SMALL_MODEL), threadpool_limits(limits=1):
        yield
