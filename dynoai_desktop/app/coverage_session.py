"""Coverage of the open session's vehicle, live, with the next tests to run and the dyno
running them (the Coverage panel observes it).

Kept per vehicle in the catalog: every run recorded in one of its sessions is counted in when it
is saved (each once). While a run records, its rows so far are counted in a live layer, so the
heatmap fills as the bike runs. The planner's list is worked out on the stored and live coverage
of the front and rear tables together (both cylinders must be covered). A suggestion runs on a
load-control dyno step by step (``plan_driver``). Runs picked in the run library can be shown
instead, counted on the spot and not kept (``show_runs``), until ``show_vehicle``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from dynoai_desktop.app.events import Event
from dynoai_desktop.app.plan_driver import PlanDriver
from dynoai_desktop.app.runs_coverage import RunsShown, count_runs
from dynoai_desktop.core.autotune.settings import AutotuneSettings
from dynoai_desktop.core.coverage.grid import (
    CoverageAxes,
    RunCoverage,
    TableCoverage,
    VehicleCoverage,
    run_coverage,
)
from dynoai_desktop.core.coverage.live import LiveCoverage
from dynoai_desktop.core.coverage.planner import (
    BikeBehaviour,
    Constraints,
    NextTests,
    Suggestion,
    learn_behaviour,
    next_tests,
    with_run,
)
from dynoai_desktop.core.coverage.regions import (
    CoverageSummary,
    Region,
    default_regions,
    regions_from_dicts,
    summarise,
)
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.table import Table
from dynoai_desktop.core.tune import VE_FRONT_MAP, VE_FRONT_TPS, VE_REAR_MAP, VE_REAR_TPS
from dynoai_desktop.devices.base import DynoCommand
from dynoai_desktop.storage.catalog import RunRecord
from dynoai_desktop.storage.run_files import read_run_arrays
from dynoai_desktop.storage.settings import CoveragePrefs

if TYPE_CHECKING:
    from dynoai_desktop.app.live_session import LiveSession
    from dynoai_desktop.app.run_library import RunLibrary
    from dynoai_desktop.app.settings import AppSettings
    from dynoai_desktop.app.tune_session import TuneSession

# Coverage's table keys, the tune's table names and the cylinder whose wideband fills them.
TABLES = {
    "ve_front": (VE_FRONT_MAP, "front"), "ve_rear": (VE_REAR_MAP, "rear"),
    "ve_front_tps": (VE_FRONT_TPS, "front"), "ve_rear_tps": (VE_REAR_TPS, "rear"),
}
PAIRS = {"map_kpa": ("ve_front", "ve_rear"), "tps_pct": ("ve_front_tps", "ve_rear_tps")}
LIVE_EVERY_S = 1.0
"""How often the live layer is worked out again while a run records (cell seconds)."""
CONSTRAINT_KEYS = frozenset(f.name for f in fields(Constraints)) - {"pulls_done", "head_temp_c"}
"""The constraints kept between starts (not this session's pulls, not the heads' temperature
now)."""
LEARN_FROM_RUNS = 5
"""How many of the vehicle's newest runs teach the planner how the bike moves."""
COVERAGE_CHANNELS = ("rpm", "map_kpa", "tps_pct", "engine_temp_c", "afr_front", "afr_rear",
                     "afr_front_status", "afr_rear_status", "baro_kpa", "torque_ftlb",
                     "cl_trim_front_pct", "cl_trim_rear_pct")


def run_key(run_id: int) -> str:
    return f"run:{run_id}"


@dataclass(frozen=True, eq=False)
class CoverageView:
    """What the panel draws: the grid (stored + live), its summary, the regions, the plan and
    where the engine is now."""

    coverage: TableCoverage
    live_weight: np.ndarray
    """The run being recorded's part of ``coverage.weight``."""
    summary: CoverageSummary
    regions: tuple[Region, ...]
    plan: NextTests
    operating_point: tuple[float, float] | None
    """(rpm, load) now, None when no live data."""
    vehicle: str


class CoverageSession:
    """The open session's vehicle's coverage; ``changed`` when it, the plan or a setting
    changes. Everything is called on the UI thread."""

    def __init__(self, live: LiveSession, runs: RunLibrary, tune: TuneSession,
                 prefs: AppSettings | None = None,
                 settings: AutotuneSettings | None = None) -> None:
        self.live = live
        self.runs = runs
        self.tune = tune
        self.prefs = prefs
        self.autotune_settings = settings or AutotuneSettings()
        self.min_weight = self.autotune_settings.min_weight
        self.constraints = Constraints()
        self.load_channel = "map_kpa"
        self.regions: dict[str, tuple[Region, ...]] = {
            ch: default_regions(ch) for ch in PAIRS}
        self._read_prefs()
        self.notices: list[str] = list(self._pref_notices)
        self.vehicle_id: int | None = None
        self._session_id: int | None = None
        self.coverage = VehicleCoverage()
        self.behaviour = BikeBehaviour()
        self.driver: PlanDriver | None = None
        self._driver_seen_s = -math.inf  # the live rows the driver has seen, up to this time
        self.changed = Event("coverage, its plan or its settings changed")
        self._live_run: dict[str, RunCoverage] = {}
        self._live_counters: dict[str, LiveCoverage] = {}
        self._live_from_s: float | None = None
        self._live_at_s = -math.inf
        self._view: CoverageView | None = None
        self.shown_runs: RunsShown | None = None
        """Runs picked in the run library, shown instead of the vehicle's coverage."""
        runs.changed.connect(self._session_changed)
        live.run_saved.connect(self.add_run)
        live.recording_changed.connect(self._recording_changed)
        tune.changed.connect(self._invalidate)  # another tune: other tables, maybe other axes
        self._session_changed()

    # ------------------------------------------------------------------ the vehicle
    def _session_changed(self) -> None:
        session = self.runs.session
        session_id = None if session is None else session.id
        if session_id != self._session_id:  # a new session: its pulls start from none
            self._session_id = session_id
            self.constraints = replace(self.constraints, pulls_done=0)
        vehicle_id = None if session is None else session.vehicle_id
        if vehicle_id != self.vehicle_id:
            self.vehicle_id = vehicle_id
            self.reload()

    def reload(self) -> None:
        """Read the vehicle's coverage from the catalog (runs on other axes than the open
        tune's are left out, with a notice)."""
        self.coverage = VehicleCoverage()
        self.notices = list(self._pref_notices)
        self.shown_runs = None
        catalog = self.runs.catalog
        if self.vehicle_id is not None and catalog is not None:
            skipped: list[str] = []
            for record in catalog.coverage_runs(self.vehicle_id, skipped=skipped):
                axes = CoverageAxes(record.load_channel, record.rpm_breakpoints,
                                    record.load_breakpoints)
                run = RunCoverage(axes, record.weight, record.hits)
                try:
                    self.coverage.add(record.table_name, record.run_key, run)
                except InputError as exc:
                    self.notices.append(str(exc))
            self.notices.extend(skipped)
            self._learn_from_newest_runs()
        self._invalidate()

    def _learn_from_newest_runs(self) -> None:
        """How the bike moves (log rate, WOT MAP, pull rate, idle), from its newest runs."""
        self.behaviour = BikeBehaviour()
        runs = self.runs.runs_of_vehicle(self.vehicle_id) if self.vehicle_id is not None else []
        for record in runs[-LEARN_FROM_RUNS:]:
            try:
                columns, _meta = read_run_arrays(self.runs.run_path(record),
                                                 ("time_s", "rpm", "tps_pct", "map_kpa"))
            except (InputError, OSError):
                continue  # a run file that cannot be read teaches nothing; coverage still holds
            self.behaviour = learn_behaviour([columns], self.behaviour)

    def vehicle_name(self) -> str:
        catalog = self.runs.catalog
        if self.vehicle_id is None or catalog is None:
            return ""
        return catalog.vehicle(self.vehicle_id).name

    def tables(self) -> dict[str, tuple[Table, str]]:
        """The open tune's VE tables under coverage's keys, with their cylinder."""
        names = set(self.tune.table_names)
        return {key: (self.tune.table(name), cyl) for key, (name, cyl) in TABLES.items()
                if name in names}

    # ------------------------------------------------------------------ counting runs
    def add_run(self, record: RunRecord | None) -> None:
        """Count a saved run of the vehicle in (once); a problem becomes a notice."""
        self._live_run, self._live_from_s = {}, None
        if record is None or self.vehicle_id is None or self.runs.catalog is None:
            self._invalidate()
            return
        try:
            columns, _meta = read_run_arrays(self.runs.run_path(record))
            self._count(run_key(record.id), columns, f"run '{record.name}'")
            self.behaviour = learn_behaviour([columns], self.behaviour)
        except (InputError, OSError) as exc:
            self.notices.append(f"Run '{record.name}' was not counted into coverage: {exc}")
        self._invalidate()

    def _count(self, key: str, columns: dict[str, np.ndarray], source: str) -> None:
        catalog = self.runs.catalog
        assert catalog is not None and self.vehicle_id is not None
        for name, (table, cylinder) in self.tables().items():
            if self.coverage.has(name, key):
                continue
            axes = CoverageAxes.of_table(table)
            if table.col_axis not in columns:
                continue
            self.coverage.check(name, key, axes)
            run = run_coverage(columns, axes, cylinder, self.autotune_settings, source)
            catalog.add_coverage(self.vehicle_id, name, key, axes.load_channel, axes.rpm,
                                 axes.load, run.weight, run.hits)
            self.coverage.add(name, key, run)

    def show_runs(self, paths: Sequence[Path], names: Sequence[str]) -> None:
        """Show the coverage of just these saved runs (each named for the headline), counted
        now on the open tune's tables and not kept, instead of the vehicle's: until
        ``show_vehicle``, another session, or a run starts recording. A run that cannot be
        read is said in ``shown_runs.problems``."""
        self.shown_runs = count_runs(paths, names, self.tables(), self.autotune_settings,
                                     COVERAGE_CHANNELS)
        self._invalidate()

    def show_vehicle(self) -> None:
        """Back to the open session's vehicle's coverage (with the run recording)."""
        if self.shown_runs is not None:
            self.shown_runs = None
            self._invalidate()

    def reset(self, table: str | None = None) -> None:
        """Forget the vehicle's coverage of ``table`` (None: every table)."""
        if self.vehicle_id is not None and self.runs.catalog is not None:
            self.runs.catalog.reset_coverage(self.vehicle_id, table)
        self.coverage.reset(table)
        self._invalidate()

    # ------------------------------------------------------------------ live
    def _recording_changed(self, recording: bool) -> None:
        if recording:
            self.shown_runs = None  # the run recording fills the vehicle's map
        self._live_run, self._live_counters = {}, {}
        self._live_from_s = self.live.now_s() if recording else None
        self._live_at_s = -math.inf
        self._invalidate()

    def refresh_live(self) -> bool:
        """Count the recording run's rows since the last time (at most every LIVE_EVERY_S;
        ``core.coverage.live``: the cost stays flat however long the run); True when the view
        changed. The panel's timer calls it."""
        if self._live_from_s is None or not self.live.recording:
            return False
        now = self.live.now_s()
        if now - self._live_at_s < LIVE_EVERY_S:
            return False
        self._live_at_s = now
        channels = [c for c in COVERAGE_CHANNELS if c in self.live.buffer.channels]
        counters = {}
        for name, (table, cylinder) in self.tables().items():
            axes = CoverageAxes.of_table(table)
            counter = self._live_counters.get(name)
            if counter is None or not counter.axes.same_as(axes):  # another tune's table
                counter = LiveCoverage(axes, cylinder, self.autotune_settings,
                                       self._live_from_s)
            counters[name] = counter
        self._live_counters = counters
        since = min((c.read_from_s for c in counters.values()), default=self._live_from_s)
        rows = self.live.buffer.since(since, channels)  # each update reads a few seconds
        if rows["time_s"].size < 2:
            return False
        self._live_run = {name: counter.update(rows) for name, counter in counters.items()
                          if counter.axes.load_channel in rows}
        self._invalidate()
        return True

    def operating_point(self) -> tuple[float, float] | None:
        if not self.live.connected:
            return None
        rpm = self.live.buffer.latest("rpm")
        load = self.live.buffer.latest(self.load_channel)
        if not (math.isfinite(rpm) and math.isfinite(load)):
            return None
        return rpm, load

    # ------------------------------------------------------------------ settings
    def _read_prefs(self) -> None:
        """The tuner's kept choices (settings.json); a bad one is replaced by the default,
        with a notice."""
        self._pref_notices: list[str] = []
        if self.prefs is None:
            return
        kept = self.prefs.current.coverage
        try:
            if kept.covered_at is not None:
                self._check_weight(kept.covered_at)
                self.min_weight = kept.covered_at
            fields_ = {k: v for k, v in kept.constraints.items() if k in CONSTRAINT_KEYS}
            self.constraints = Constraints(**fields_)
            for channel, items in kept.regions.items():
                if channel in PAIRS:
                    self.regions[channel] = regions_from_dicts(items, "the kept regions")
        except (InputError, TypeError, ValueError) as exc:
            self._pref_notices.append(f"Coverage settings were not all usable ({exc}); "
                                      "the defaults are used instead.")

    def _keep_prefs(self) -> None:
        if self.prefs is None:
            return
        changed = {k: v for k, v in asdict(self.constraints).items()
                   if k in CONSTRAINT_KEYS and v != getattr(Constraints(), k)}
        regions = {ch: [r.to_dict() for r in regions] for ch, regions in self.regions.items()
                   if regions != default_regions(ch)}
        covered_at = (None if self.min_weight == self.autotune_settings.min_weight
                      else self.min_weight)
        self.prefs.update(coverage=CoveragePrefs(covered_at, changed, regions))

    @staticmethod
    def _check_weight(weight: float) -> None:
        if isinstance(weight, bool) or not isinstance(weight, int | float) or \
                not (math.isfinite(weight) and weight > 0):
            raise InputError(f"covered at {weight!r}: give a good-sample weight above 0")

    def set_min_weight(self, weight: float) -> None:
        self._check_weight(weight)
        self.min_weight = float(weight)
        self._keep_prefs()
        self._invalidate()

    def set_constraints(self, constraints: Constraints) -> None:
        self.constraints = constraints
        self._keep_prefs()
        self._invalidate()

    def set_regions(self, regions: tuple[Region, ...]) -> None:
        self.regions[self.load_channel] = tuple(regions)
        self._keep_prefs()
        self._invalidate()

    def set_load_channel(self, channel: str) -> None:
        if channel not in PAIRS:
            raise InputError(f"coverage is kept on MAP or throttle, not {channel!r}")
        self.load_channel = channel
        self._invalidate()

    # ------------------------------------------------------------------ the view
    def _invalidate(self) -> None:
        self._view = None
        self.changed.emit()

    def view(self) -> CoverageView | None:
        """The grid, summary and plan now (None: no VE table of this load axis is open)."""
        if self._view is None:
            self._view = self._make_view()
        elif self._view.operating_point != self.operating_point():
            self._view = replace(self._view, operating_point=self.operating_point())
        return self._view

    def _make_view(self) -> CoverageView | None:
        tables = self.tables()
        pair = [k for k in PAIRS[self.load_channel] if k in tables]
        if not pair:
            return None
        axes = CoverageAxes.of_table(tables[pair[0]][0])
        weights, hits, live_weights = [], [], []
        shown = self.shown_runs
        for key in pair:
            kept = (self.coverage if shown is None else shown.coverage).tables.get(key)
            same = kept is not None and kept.axes.same_as(axes)
            weight = kept.weight.copy() if same else np.zeros(axes.shape)
            hit = kept.hits.copy() if same else np.zeros(axes.shape, dtype=np.int64)
            live = self._live_run.get(key) if shown is None else None
            live_w = live.weight if live is not None and live.axes.same_as(axes) else 0.0
            if live is not None and live.axes.same_as(axes):
                hit += live.hits
            weights.append(weight + live_w)
            live_weights.append(np.broadcast_to(live_w, axes.shape))
            hits.append(hit)
        grid = TableCoverage("+".join(pair), axes)
        grid.weight = np.minimum.reduce(weights)
        grid.hits = np.maximum.reduce(hits)
        regions = self.regions[self.load_channel]
        rpm_now = self.operating_point()
        plan = next_tests(grid, regions, self.constraints, None, self.behaviour,
                          start_rpm=None if rpm_now is None else rpm_now[0])
        summary = summarise(grid, regions, self.min_weight)
        return CoverageView(grid, np.minimum.reduce(live_weights), summary, regions, plan,
                            rpm_now, self.vehicle_name() if shown is None else shown.label)

    # ------------------------------------------------------------------ running a test
    def can_drive(self) -> bool:
        """The dyno can take the plan's commands (connected, a dyno that takes commands)."""
        return self.live.connected and self.live.dyno_device() is not None

    def run_suggestion(self, suggestion: Suggestion) -> PlanDriver:
        """Run ``suggestion`` on the dyno from now; InputError when it cannot."""
        device = self.live.dyno_device()
        if device is None:
            raise InputError("Connect a load-control dyno that takes host commands to run a "
                             "test from here; or run it by hand as the list says.")
        if self.driver is not None and not self.driver.finished:
            self.driver.stop()

        def send(command: DynoCommand) -> None:
            self.live.send_dyno(command)

        self.driver = PlanDriver(suggestion.plan_spec(), send)
        self._driver_seen_s = self.live.now_s()
        self.constraints = with_run(self.constraints, suggestion)
        self._invalidate()
        return self.driver

    def tick_driver(self) -> str:
        """Advance the running plan on the live clock; its status ('' when none runs). The
        driver gets the least and most rpm since the last call too: the end of a ramp lasts a
        moment before the rider lets go, which a look at the latest rpm now and then can miss."""
        if self.driver is None:
            return ""
        rows = self.live.buffer.since(self._driver_seen_s, ["rpm"])
        seen = rows["rpm"][np.isfinite(rows["rpm"])]
        if rows["time_s"].size:
            self._driver_seen_s = float(rows["time_s"][-1])
        latest = self.live.buffer.latest("rpm")
        rpm = latest if math.isfinite(latest) else 0.0
        self.driver.tick(self.live.now_s(), rpm, float(seen.min()) if seen.size else None,
                         float(seen.max()) if seen.size else None)
        return self.driver.status()

    def stop_driver(self) -> None:
        if self.driver is not None:
            self.driver.stop()
