"""One tuning session of the simulated shop, played on one running virtual cell (log mode).

:func:`play_session` tunes one bike of ``sim.shop`` the way a tuner would, in 12 to 20
simulated minutes (15 on average) on one :class:`~dynoai_desktop.sim.cell.VirtualCell` kept
running from test to test (logged through ``sim.logmode.DirectLog``: one acquisition for the
whole session):

1. the ECM starts on the generic base map of the build's family and stage (the AFR target and
   spark are the build's base calibration); a warm-up idle lets the widebands light off;
2. baseline pulls for the "before" dyno sheet: three WOT pulls, each followed by a cooling
   idle;
3. autotune rounds: each opens with a WOT pull (the wide-open cells), then the coverage planner
   (``core.coverage.planner.next_tests``) picks the tests that cover the part-throttle cells:
   load-control sweeps on the table's MAP columns (up to 90 kPa) in the first two rounds,
   steady holds after; the round's rows go through ``core.autotune.autotune`` with the tables
   that fuelled them (authority clamp 25 % the first round, 10 % after; the first round also
   takes the warm-up and the baseline pulls), and the corrected tables are flashed into the ECM;
   a later round goes back to the cells the last one moved by more than 1 % or held for a wide
   interval; converged when no cell measured with confidence 0.5 or more moved by more than 1 %
   and none was held, else done after 6 rounds;
4. three final pulls on the tuned map (the "after" dyno sheet), each followed by a cooling idle;
5. a timing sweep: one WOT pull with the spark table advanced by each of
   ``SessionProfile.timing_sweep_deg`` (2° and 4°) everywhere, each followed by a cooling idle,
   the ECM's knock control guarding it as on a real bike; the spark goes back to the base after;
6. closed-throttle decels; where the bike pops, a decel enrichment: the VE cells of the pop
   zone at closed-throttle MAP are raised by a percentage that grows with the popping, flashed,
   and the decels run again;
7. a heat-soaked run: idle with the fan off for 2-10 minutes, then, the fan on, a few part-load
   holds (cells the tuning covered before) and a pull.

Each test sequence is one run (its rows as the app would record them, markers at each test and
a "pop" marker 0.4 s after each pop the bike made in it: the tuner hears them, on the decels and
the pulls' roll-offs alike); the tune versions are the base map, each round's result and the
decel enrichment. The result is plain data (numpy arrays and tables) for the parent process to
write into the catalog (``commands.simulate_shop``); nothing here touches files.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from dynoai_desktop.commands.shop_played import (
    DecelFix,
    FloatArray,
    PlayedRun,
    PlayedSession,
    PlayedVersion,
    SessionProfile,
)
from dynoai_desktop.core.autotune import LogData, autotune
from dynoai_desktop.core.coverage.grid import (
    CoverageAxes,
    TableCoverage,
    tables_coverage,
)
from dynoai_desktop.core.coverage.planner import (
    BikeBehaviour,
    Constraints,
    Suggestion,
    learn_behaviour,
    next_tests,
    with_run,
)
from dynoai_desktop.core.plan import (
    DEFAULT_FAN_CFM,
    FanStep,
    HoldStep,
    IdleStep,
    PlanSpec,
    PullStep,
    SweepStep,
)
from dynoai_desktop.core.table import Table
from dynoai_desktop.core.tune import ChangeSource
from dynoai_desktop.sim.cell import DECEL_POP_ZONE_RPM, CellConfig, VirtualCell
from dynoai_desktop.sim.ecm_tables import base_tables
from dynoai_desktop.sim.emitters import decoder_options
from dynoai_desktop.sim.engine import EngineModel
from dynoai_desktop.sim.logmode import DirectLog
from dynoai_desktop.sim.plans import PlanRunner, plan_from_spec
from dynoai_desktop.sim.presets import preset_for_build
from dynoai_desktop.sim.shop import ShopBike
from dynoai_desktop.sim.stream import ServedDevice
from dynoai_desktop.storage.run_files import Marker
from dynoai_desktop.storage.settings import DevicePort

VE_KEYS = ("ve_front", "ve_rear")
ON_COLUMN_KPA = 0.5
POP_REACTION_S = 0.4  # the tuner marks a pop this long after it (the session bar's Pop button)


def on_columns(test: Suggestion, axes: CoverageAxes) -> bool:
    """Every sweep of ``test`` holds a MAP of the table's columns. A sweep between two columns
    measures what the ECM's interpolation between them fuels, not either cell: where the VE
    curves between columns the two read differently, and rounds that alternate between them
    never settle; the shop's tuner sweeps on the columns."""
    return all(not isinstance(step, SweepStep)
               or bool(np.any(np.abs(axes.load - step.map_kpa) < ON_COLUMN_KPA))
               for step in test.steps)


def _mask_move(change: FloatArray) -> float:
    finite = np.abs(change[np.isfinite(change)])
    return float(finite.max()) if finite.size else 0.0


class _Session:
    """The running cell and what the session has made so far."""

    def __init__(self, bike: ShopBike, base_maps: tuple[Table, Table],
                 profile: SessionProfile) -> None:
        self.bike = bike
        self.profile = profile
        preset = preset_for_build(bike.build, name=f"shop bike {bike.index + 1}")
        engine = EngineModel(preset, bike.weather.baro_kpa, bike.bike_seed)
        front, rear = base_maps
        self.base = replace(base_tables(engine), ve_front=front, ve_rear=rear)
        warm_up = PlanSpec("warm-up", (IdleStep(profile.warm_up_s),),
                           engine_temp_c=profile.start_engine_temp_c)
        self.cell = VirtualCell(CellConfig(
            preset=preset, plan=plan_from_spec(warm_up), tables=self.base,
            seed=bike.noise_seed, bike_seed=bike.bike_seed, weather=bike.weather,
            thermal=bike.thermal, loop_plan=False))
        self.log = DirectLog(self.cell)  # one acquisition for the whole session
        self.versions: list[PlayedVersion] = [PlayedVersion(
            1, ChangeSource.IMPORT, 0.0,
            f"generic base map for {bike.build.engine_family.label} stage {bike.build.stage}",
            front, rear)]
        self.runs: list[PlayedRun] = []
        self.behaviour = BikeBehaviour(idle_rpm=engine.idle_rpm, idle_map_kpa=engine.idle_map_kpa)
        self.axes = CoverageAxes.of_table(front)

    # ---------------------------------------------------------------- running tests
    @property
    def tables(self) -> dict[str, Table]:
        return {"ve_front": self.cell.tables.ve_front, "ve_rear": self.cell.tables.ve_rear}

    def run_plan(self, spec: PlanSpec) -> dict[str, FloatArray]:
        """Run ``spec`` to its end on the running cell; its rows (session clock)."""
        self.cell.runner = PlanRunner(plan_from_spec(spec), loop=False)
        block = self.log.run(None)
        return {k: np.asarray(v, dtype=np.float64) for k, v in block.columns.items()}

    def record(self, name: str, kind: str, parts: list[tuple[str, dict[str, FloatArray]]]
               ) -> PlayedRun:
        """Keep the rows of ``parts`` (one per test, each with its marker note) as a run, with a
        "pop" marker a moment after each pop the tuner heard in it."""
        columns = {k: np.concatenate([cols[k] for _, cols in parts]) for k in parts[0][1]}
        start = float(columns["time_s"][0])
        pops_heard_s = self._pops(start, float(columns["time_s"][-1]))
        columns["time_s"] = np.round(columns["time_s"] - start, 6)
        markers = tuple(sorted(
            [Marker(round(float(cols["time_s"][0]) - start, 3), note)
             for note, cols in parts if note]
            + [Marker(round(at - start + POP_REACTION_S, 3), "pop") for at in pops_heard_s],
            key=lambda m: m.time_s))
        coverage = tables_coverage(columns, self.tables, self.profile.settings)
        run = PlayedRun(name, kind, start, columns, markers, self.versions[-1].number, coverage)
        self.runs.append(run)
        return run

    def flash(self, front: Table, rear: Table, made_by: ChangeSource, note: str) -> None:
        self.cell.load_ve_tables(front, rear)
        self.versions.append(PlayedVersion(len(self.versions) + 1, made_by, self.cell.time_s,
                                           note, front, rear))

    # ---------------------------------------------------------------- the session's parts
    def warm_up(self) -> None:
        cols = self.run_plan(PlanSpec("warm-up", (IdleStep(self.profile.warm_up_s),)))
        self.record("warm-up", "warm-up", [("warm-up idle", cols)])

    def autotune_rounds(self) -> tuple[int, bool, list[float]]:
        """Rounds until converged or ``max_rounds``; (rounds applied, converged, moves)."""
        p = self.profile
        redo = np.ones(self.axes.shape, dtype=bool)  # cells a round must cover
        moves: list[float] = []
        converged = False
        for k in range(1, p.max_rounds + 1):
            parts = self._round_tests(redo, p.first_round_cap_s if k == 1 else p.round_cap_s,
                                      holds_only=k > p.sweep_rounds)
            if not parts:
                break
            kinds = {note.split()[0].lower() for note, _ in parts}
            kind = "sweeps" if kinds == {"sweep"} else "pulls" if kinds <= {"wot"} else "mixed"
            run = self.record(f"autotune round {k}", kind, parts)
            logs = [LogData.from_frame(run.name, run.columns)]
            if k == 1:  # the warm-up and the baseline pulls ran on the same tables
                logs[:0] = [LogData.from_frame(r.name, r.columns) for r in self.runs[:-1]]
            authority = p.authority_pct[min(k, len(p.authority_pct)) - 1]
            settings = replace(p.settings, max_change_pct=authority)
            result = autotune(logs, self.tables, None, settings)
            changes = [result.tables[key].change_pct for key in VE_KEYS]
            inside = [self._in_regions(key) for key in VE_KEYS]
            move = max(_mask_move(np.where(cells, c, np.nan))
                       for cells, c in zip(inside, changes, strict=True))
            moves.append(move)
            sure = [np.where(cells & (result.tables[key].confidence >= p.confident), c, np.nan)
                    for key, cells, c in zip(VE_KEYS, inside, changes, strict=True)]
            worth = self._worth()
            held = any(bool(((result.tables[key].stats.held_reason == "ci_too_wide")
                             & worth).any()) for key in VE_KEYS)
            converged = max(_mask_move(c) for c in sure) <= p.converged_pct and not held
            changed = sum(int(np.isfinite(c).sum()) for c in changes)
            if changed:
                self.flash(result.tables["ve_front"].corrected, result.tables["ve_rear"].corrected,
                           ChangeSource.AUTOTUNE,
                           f"autotune round {k}: {changed} cells changed, largest {move:.1f} %"
                           + ("; converged" if converged else ""))
            if converged:
                break
            # Go back to the cells this round moved by more than the convergence limit, and to
            # those it measured but held because their samples disagreed too much (a wide
            # interval: more samples, or corrected neighbours, settle them).
            redo = np.zeros(self.axes.shape, dtype=bool)
            for key, c in zip(VE_KEYS, changes, strict=True):
                view = self.tables[key].normalised()
                moved = np.abs(np.nan_to_num(c)) > p.converged_pct
                redo |= moved[np.ix_(view.row_source, view.col_source)]
                redo |= result.tables[key].stats.held_reason == "ci_too_wide"
        return len(moves), converged, moves

    def _worth(self) -> npt.NDArray[np.bool_]:
        """The cells of the session's regions (normalised axes)."""
        worth = np.zeros(self.axes.shape, dtype=bool)
        for region in self.profile.regions:
            worth |= region.cells(self.axes)
        return worth

    def _in_regions(self, key: str) -> npt.NDArray[np.bool_]:
        """The raw cells of table ``key`` inside the session's regions."""
        table = self.tables[key]
        inside = np.zeros(table.shape, dtype=bool)
        for region in self.profile.regions:
            rows = (table.row_breakpoints >= region.rpm_min) & (
                table.row_breakpoints <= region.rpm_max)
            cols = (table.col_breakpoints >= region.load_min) & (
                table.col_breakpoints <= region.load_max)
            inside |= rows[:, None] & cols[None, :]
        return inside

    def _round_tests(self, redo: npt.NDArray[np.bool_], cap_s: float, holds_only: bool = False
                     ) -> list[tuple[str, dict[str, FloatArray]]]:
        """A WOT pull when the round's cells reach wide open (a tuner opens each round with
        one: holds and sweeps stay at or under ``hold_map_max_kpa``), then the planner's tests
        until the round's other cells are covered or ``cap_s`` is spent."""
        p = self.profile
        min_weight = p.settings.min_weight
        worth = self._worth()
        holdable = (self.axes.load <= p.hold_map_max_kpa)[None, :]
        target = redo & worth & holdable
        weight = {key: np.zeros(self.axes.shape) for key in VE_KEYS}
        parts: list[tuple[str, dict[str, FloatArray]]] = []
        start = self.cell.time_s
        if (redo & worth & ~holdable).any():
            lo, hi = p.pull_rpm
            cols = self.run_plan(PlanSpec("pull", (PullStep(lo, hi),),
                                          engine_temp_c=p.start_engine_temp_c))
            parts.append((f"WOT pull {lo:g}-{hi:g} rpm", cols))
            for key, run in tables_coverage(cols, self.tables, p.settings).items():
                weight[key] += run.weight
            self.behaviour = learn_behaviour([cols], self.behaviour)
        if not target.any():
            return parts
        constraints = Constraints(max_pulls=1000, load_max=p.hold_map_max_kpa)
        tried: set[str] = set()
        while self.cell.time_s - start < cap_s:
            least = np.minimum(weight["ve_front"], weight["ve_rear"])
            if (least[target] >= min_weight).mean() >= p.covered_share:
                break
            coverage = TableCoverage("round", self.axes)
            coverage.weight = np.where(target, least, np.maximum(least, min_weight))
            answer = next_tests(coverage, p.regions, constraints, p.planner, bike=self.behaviour,
                                start_rpm=float(self.cell.values.get("rpm", 1000.0)))
            if not answer.suggestions:
                break
            fresh = [t for t in answer.suggestions
                     if t.title not in tried and on_columns(t, self.axes)
                     and (t.kind == "holds" or not holds_only)]
            if not fresh:
                break
            top = fresh[0]  # a test run once this round and still suggested cannot do better
            tried.add(top.title)
            cols = self.run_plan(top.plan_spec(engine_temp_c=p.start_engine_temp_c))
            parts.append((top.title, cols))
            for key, run in tables_coverage(cols, self.tables, p.settings).items():
                weight[key] += run.weight
            self.behaviour = learn_behaviour([cols], self.behaviour)
            constraints = with_run(constraints, top)
        return parts

    def dyno_sheet(self, name: str) -> None:
        """``sheet_pulls`` WOT pulls for the customer's dyno sheet, the engine idling with the
        fan on for ``cool_down_s`` after each (the heads cool back, so the pulls compare)."""
        p = self.profile
        lo, hi = p.pull_rpm
        parts = []
        for n in range(1, p.sheet_pulls + 1):
            cols = self.run_plan(PlanSpec(name, (PullStep(lo, hi), IdleStep(p.cool_down_s))))
            parts.append((f"WOT pull {n} of {p.sheet_pulls}, {lo:g}-{hi:g} rpm, then "
                          f"{p.cool_down_s:g} s cooling", cols))
        self.record(name, "pulls", parts)

    def timing_sweep(self) -> None:
        """A WOT pull with the whole spark table advanced by each of ``timing_sweep_deg``, then
        the base spark back (a tuner looking for torque, the knock control listening)."""
        p = self.profile
        if not p.timing_sweep_deg:
            return
        lo, hi = p.pull_rpm
        front, rear = self.base.spark_front, self.base.spark_rear
        parts = []
        for advance in p.timing_sweep_deg:
            self.cell.load_spark_tables(front.with_values(front.values + advance),
                                        rear.with_values(rear.values + advance))
            cols = self.run_plan(PlanSpec("timing sweep", (PullStep(lo, hi),
                                                           IdleStep(p.cool_down_s))))
            parts.append((f"WOT pull {lo:g}-{hi:g} rpm, spark +{advance:g}° everywhere, then "
                          f"{p.cool_down_s:g} s cooling", cols))
        self.cell.load_spark_tables(front, rear)
        self.record("timing sweep", "pulls", parts)

    def _pops(self, since_s: float, until_s: float = math.inf) -> tuple[float, ...]:
        """When the bike popped from ``since_s`` to ``until_s`` (the pops the tuner hears)."""
        return tuple(e.time_s for e in self.cell.events
                     if e.kind == "decel_pop" and since_s <= e.time_s <= until_s)

    def decel_test(self) -> DecelFix:
        p = self.profile
        spec = PlanSpec("decels", p.decels)
        since = self.cell.time_s
        cols = self.run_plan(spec)
        pops = len(self._pops(since))
        self.record("decel check", "decel", [(f"{len(p.decels)} closed-throttle decels", cols)])
        zone_rpm = DECEL_POP_ZONE_RPM
        zone_map = (float(self.axes.load[0]), p.decel_map_max_kpa)
        if pops < p.pops_to_fix:
            return DecelFix(len(p.decels), pops, None, zone_rpm, zone_map, None)
        per_decel = pops / len(p.decels)
        enrichment = float(min(20.0, 6.0 + 3.0 * per_decel))
        tables = []
        for key in VE_KEYS:
            table = self.tables[key]
            rows = (table.row_breakpoints >= zone_rpm[0]) & (table.row_breakpoints <= zone_rpm[1])
            cols_ = table.col_breakpoints <= zone_map[1]
            zone = rows[:, None] & cols_[None, :]
            tables.append(table.with_values(np.where(
                zone, np.round(table.values * (1.0 + enrichment / 100.0), 2), table.values)))
        self.flash(tables[0], tables[1], ChangeSource.DECEL_ENRICHMENT,
                   f"decel enrichment +{enrichment:g} % at {zone_rpm[0]:g}-{zone_rpm[1]:g} rpm"
                   f" x {zone_map[0]:g}-{zone_map[1]:g} kPa: {pops} pop{'s' if pops > 1 else ''}"
                   f" in {len(p.decels)} decels")
        since = self.cell.time_s
        cols = self.run_plan(spec)
        after = len(self._pops(since))
        self.record("decel check after enrichment", "decel",
                    [(f"{len(p.decels)} closed-throttle decels", cols)])
        return DecelFix(len(p.decels), pops, enrichment, zone_rpm, zone_map, after)

    def heat_soak(self, soak_s: float) -> None:
        lo, hi = self.profile.pull_rpm
        p = self.profile
        holds = tuple(HoldStep(rpm, p.after_soak_hold_s, map_kpa=kpa)
                      for rpm, kpa in p.after_soak_holds)
        spec = PlanSpec("heat soak", (FanStep(0.0), IdleStep(soak_s), FanStep(DEFAULT_FAN_CFM),
                                      *holds, PullStep(lo, hi)))
        cols = self.run_plan(spec)
        t = cols["time_s"]
        soaked = t < t[0] + soak_s
        self.record("heat-soaked pull", "heat-soak", [
            (f"heat soak: idle, fan off, {soak_s / 60.0:.1f} min", _take(cols, soaked)),
            (f"{len(holds)} holds, then a WOT pull {lo:g}-{hi:g} rpm after the soak, fan on",
             _take(cols, ~soaked))])


LOG_MODE_PORT = "virtual cell, log mode (no port)"
MTS_CHAIN = {"front": 1, "rear": 2}  # the app's default chain of two LC-2s (FORMATS.md §4)


def _device_port(device: ServedDevice) -> DevicePort:
    options = MTS_CHAIN if device.protocol == "innovate-mts" else decoder_options(device)
    return DevicePort(device.name, device.protocol, LOG_MODE_PORT, dict(options))


def _take(columns: Mapping[str, FloatArray], mask: npt.NDArray[np.bool_]
          ) -> dict[str, FloatArray]:
    return {k: v[mask] for k, v in columns.items()}


def _opened(bike: ShopBike, base_maps: tuple[Table, Table], profile: SessionProfile
            ) -> _Session:
    """A session's cell on ``base_maps``, warmed up and with its baseline pulls run (the first
    autotune round learns from them too)."""
    session = _Session(bike, base_maps, profile)
    session.warm_up()
    session.dyno_sheet("baseline pulls")
    return session


def autotune_versions(bike: ShopBike, base_maps: tuple[Table, Table], rounds: int,
                      profile: SessionProfile | None = None) -> tuple[PlayedVersion, ...]:
    """The start of :func:`play_session` up to ``rounds`` autotune rounds: the tune versions
    (the base map first, then each round that changed a cell; fewer when one converged). For
    comparing base maps by what a few rounds make of them (benchmarks/base_ve_model.py)."""
    session = _opened(bike, base_maps, replace(profile or SessionProfile(), max_rounds=rounds))
    session.autotune_rounds()
    return tuple(session.versions)


def play_session(bike: ShopBike, base_maps: tuple[Table, Table],
                 profile: SessionProfile | None = None) -> PlayedSession:
    """Tune ``bike`` from ``base_maps`` (front, rear: its family and stage's generic map)."""
    started = time.perf_counter()
    profile = profile or SessionProfile()
    session = _opened(bike, base_maps, profile)
    rounds, converged, moves = session.autotune_rounds()
    session.dyno_sheet("final pulls")
    session.timing_sweep()
    decel = session.decel_test()
    rng = np.random.default_rng([bike.noise_seed, 7])
    soak_s = round(float(rng.uniform(*profile.soak_s)), 0)
    session.heat_soak(soak_s)
    first = session.runs[0]
    last = session.runs[-1]
    knocks = sum(1 for e in session.cell.events if e.kind == "knock")
    return PlayedSession(
        bike=bike, base=session.base, versions=tuple(session.versions),
        runs=tuple(session.runs), duration_s=last.start_s + last.duration_s - first.start_s,
        autotune_rounds=rounds, converged=converged, round_moves_pct=tuple(moves),
        decel=decel, soak_s=soak_s, knock_events=knocks,
        devices=tuple(_device_port(d) for d in session.cell.devices),
        wall_s=time.perf_counter() - started)
