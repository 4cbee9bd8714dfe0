"""Starting the application: settings, the catalog, runs a crash cut short, the sessions.

No damaged file stops the start (ARCHITECTURE.md, "Storage"): an unreadable settings file, a
damaged catalog and a damaged journal are each set aside with their name and time, the app
starts, and :attr:`DynoApp.notices` says in words what happened and where the copy is. A catalog
from a newer DynoAI is left untouched and the app runs without it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from dynoai_desktop.app.autotune_session import AutotuneSession
from dynoai_desktop.app.coverage_session import CoverageSession
from dynoai_desktop.app.first_run import FirstRun
from dynoai_desktop.app.live_session import LiveSession, TuneSink
from dynoai_desktop.app.models_session import ModelsSession
from dynoai_desktop.app.replay import ReplaySession
from dynoai_desktop.app.run_comparison import RunComparison
from dynoai_desktop.app.run_library import RunLibrary
from dynoai_desktop.app.settings import AppSettings
from dynoai_desktop.app.training_session import TrainingSession
from dynoai_desktop.app.tune_session import TuneSession
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.table import Table
from dynoai_desktop.core.tune import VE_FRONT_MAP, VE_REAR_MAP, Tune
from dynoai_desktop.storage.catalog import (
    Catalog,
    RunRecord,
    default_data_dir,
    open_catalog_at_start,
)
from dynoai_desktop.storage.journal import recover_runs
from dynoai_desktop.storage.resources import demo_base_tables
from dynoai_desktop.storage.settings import DevicePort, SettingsStore


@dataclass(frozen=True)
class DemoStart:
    """What demo mode's start-up module hands the app: the virtual cell's ports and a banner."""

    ports: Sequence[DevicePort]
    banner: str
    tune_sink: TuneSink | None = None
    """Loads VE tables (``ve_front``/``ve_rear``) into the virtual ECM: the demo's "send tune".
    A real ECM is flashed with its own tool, from the exported file; there is no sink then."""
    time_scale: float = 1.0
    """The cell's seconds per wall second (its rate multiplier): rows keep the cell's clock."""
    ecm_tables: Mapping[str, Table] | None = None
    """The virtual ECM's VE tables (``ve_front``/``ve_rear``), read from the bike: the tune
    shown. None: the packaged demo base map, sent to the virtual ECM."""


class DynoApp:
    """The application's state: ``settings``, ``tune``, ``live``, ``runs``, ``replay``,
    ``comparison``, ``autotune``, ``coverage``, ``training``, ``models``, what happened at
    start-up (``notices``) and the welcome screen's state (``first_run``).
    ``close`` saves and stops everything."""

    def __init__(self, config_dir: Path | None = None, demo: DemoStart | None = None) -> None:
        self.notices: list[str] = []
        self.settings = AppSettings(SettingsStore(config_dir))
        if self.settings.problem:
            self.notices.append(self.settings.problem)
        self.first_run = FirstRun(self.settings, default_data_dir(), config_dir)
        self.catalog: Catalog | None
        self.catalog, said = open_catalog_at_start()
        self.notices.extend(said)
        self.runs = RunLibrary(self.catalog)
        self._recover_cut_runs()
        self.banner = demo.banner if demo is not None else ""
        self.tune = TuneSession(self.catalog, limits=lambda: self.settings.current.authority)
        self.comparison = RunComparison(self.runs)  # runs overlaid, WinPEP style
        self.live = LiveSession(self.catalog, self.settings,
                                ports=demo.ports if demo is not None else None,
                                tune_sink=demo.tune_sink if demo is not None else None,
                                time_scale=demo.time_scale if demo is not None else 1.0)
        self.replay = ReplaySession(self.runs, self.live)  # a saved run in the live panels
        self.live.run_saved.connect(self.runs.run_saved)  # the run library lists it
        self.autotune = AutotuneSession(self.tune, self.live)
        self.coverage = CoverageSession(self.live, self.runs, self.tune, self.settings)
        self.training = TrainingSession(self.catalog, self.runs, self.live)
        self.models = ModelsSession(self.catalog, self.training, self.runs, self.tune, self.live)
        if self.catalog is not None:  # flagged sessions stay out of training (ml.anomaly)
            self.training.set_flagger(self.models.session_flags)
        self.live.run_tune = self.tune.version_for_run  # each run names the tables it ran on
        if demo is not None:  # the virtual bike's calibration; a real bike's tune is opened
            if demo.ecm_tables:
                self._show_ecm_tables(demo.ecm_tables)
            else:
                self._show_base_map()
            self.live.connect()
            if demo.ecm_tables:
                self._start_live_autotune()
            else:
                self._flash_demo_ecm()

    def _recover_cut_runs(self) -> None:
        if self.catalog is None:
            return
        try:
            recovery = recover_runs(self.catalog)
        except (InputError, OSError) as exc:
            self.notices.append(f"Could not check for runs cut short by a crash: {exc}")
            return
        if recovery.runs:
            where = "; ".join(self._recovered_where(r) for r in recovery.runs)
            self.notices.append(
                f"Recovered {len(recovery.runs)} run(s) cut short by a crash: {where}. "
                "Review ▸ the run library lists them as recovered.")
        self.notices.extend(recovery.problems)

    def _recovered_where(self, run: RunRecord) -> str:
        """Where a recovered run went: 'pull 3' (12 s) in Dana › 2016 Low Rider S › session 7
        of 2026-11-22 10:00, saved as /data/runs/session-0007/20261122T100000_pull-3.parquet."""
        said = f"'{run.name}' ({run.duration_s or 0:.0f} s)"
        try:
            return f"{said} in {self.runs.place(run)}, saved as {self.runs.run_path(run)}"
        except InputError:  # its session is gone from the catalog: the file is still named
            return f"{said}, saved as {self.runs.run_path(run)}"

    def _show_ecm_tables(self, tables: Mapping[str, Table]) -> None:
        """The tune the virtual ECM fuels from, under the names a Harley tune gives them."""
        names = {"ve_front": VE_FRONT_MAP, "ve_rear": VE_REAR_MAP}
        shown = [Table(names[k], t.units, t.row_axis, t.col_axis, t.row_breakpoints,
                       t.col_breakpoints, t.values) for k, t in tables.items() if k in names]
        self.tune.show(Tune({t.name: t for t in shown}),
                       "Read from the virtual bike's ECM (demo mode; not a real bike)")

    def _start_live_autotune(self) -> None:
        try:
            self.autotune.start_live()
        except InputError as exc:
            self.notices.append(f"Live autotune did not start: {exc}")

    def _flash_demo_ecm(self) -> None:
        """The virtual ECM fuels from the map shown, and the live autotune corrects it."""
        if not self.autotune.can_send_tune or not self.autotune.tables():
            return
        try:
            self.autotune.send_tune()
        except InputError as exc:
            self.notices.append(f"The base map could not be sent to the virtual ECM: {exc}")

    def _show_base_map(self) -> None:
        try:
            tables, label = demo_base_tables()
        except InputError as exc:
            self.notices.append(f"The base map could not be read: {exc}")
            return
        self.tune.show(Tune({t.name: t for t in tables}), label)

    def close(self) -> None:
        """Stop recording (the run is saved), reading and analysing; finish the training
        extraction running (the rest is caught up at the next start); close the catalog."""
        self.replay.close()
        self.live.close()
        self.models.close()
        self.training.close()
        if self.catalog is not None:
            self.catalog.close()
            self.catalog = None
