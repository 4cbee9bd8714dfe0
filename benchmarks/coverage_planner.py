"""Coverage planner on the virtual cell: dyno minutes to 90 % of the priority-1 regions.

Per engine preset (tc103-stage2, tc110-stage3, m8-114-stock), on one simulated session per
method (one virtual cell kept running, its widebands warmed by a 20 s idle first):

- **planner**: ask ``core.coverage.planner.next_tests`` for the next tests on the coverage so
  far (front and rear together, default regions and constraints), run the top suggestion's test
  plan on the cell, count its coverage in as a run (and learn the bike's behaviour from it, as
  the app does from a saved run), repeat until 90 % of the priority-1 regions' cells are
  covered. Minutes are the simulated time of the tests run, each from its first row to
  within 0.1 s after it finished.
- **steady holds**: hold every cell of the priority-1 regions at its centre, rpm by rpm with
  MAP rising, each until it is covered (its minutes are counted from the start of its move and
  settle to the sample that covers it; a cell covered earlier by a neighbour's hold costs
  nothing).

Prints per preset both figures, the ratio (goal ≤ 0.60) and each planned test; exit 1 when a
preset misses the goal. ``--short``: one preset (the first), the planner only up to 3 tests
(what the test suite runs).

    .venv/bin/python benchmarks/coverage_planner.py [--short] [--preset NAME]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dynoai_desktop.core.autotune.settings import AutotuneSettings  # noqa: E402
from dynoai_desktop.core.coverage.grid import (  # noqa: E402
    CoverageAxes,
    VehicleCoverage,
    good_samples,
    tables_coverage,
)
from dynoai_desktop.core.coverage.planner import (  # noqa: E402
    BikeBehaviour,
    Constraints,
    learn_behaviour,
    next_tests,
    with_run,
)
from dynoai_desktop.core.coverage.regions import default_regions, summarise  # noqa: E402
from dynoai_desktop.core.plan import HoldStep, IdleStep, PlanSpec  # noqa: E402
from dynoai_desktop.core.table import Table  # noqa: E402
from dynoai_desktop.sim import logmode  # noqa: E402
from dynoai_desktop.sim.cell import CellConfig, VirtualCell  # noqa: E402
from dynoai_desktop.sim.logmode import run_log  # noqa: E402
from dynoai_desktop.sim.plans import PlanRunner, plan_from_spec  # noqa: E402
from dynoai_desktop.sim.presets import get_preset  # noqa: E402

PRESETS = ("tc103-stage2", "tc110-stage3", "m8-114-stock")
BIKE_SEED = 1  # --bike-seed picks another bike of each preset
NOISE_SEED = 7
GOAL_PERCENT = 90.0
GOAL_RATIO = 0.60
WARM_UP = PlanSpec("warm-up", (IdleStep(seconds=20.0),))
MAX_TESTS = 40
HOLD_S = 8.0  # the steady-state baseline's hold per cell: longer than any cell needs
STEP_CHUNK_S = 0.1  # log mode advances this much at a time: a test's end is known to 0.1 s


@dataclass
class Session:
    """One virtual cell kept running across the tests of a session."""

    preset: str
    bike_seed: int = BIKE_SEED
    cell: VirtualCell = field(init=False)

    def __post_init__(self) -> None:
        self.cell = VirtualCell(CellConfig(preset=get_preset(self.preset), seed=NOISE_SEED,
                                           bike_seed=self.bike_seed, loop_plan=False))
        self.run(WARM_UP)

    @property
    def tables(self) -> dict[str, Table]:
        return {"ve_front": self.cell.tables.ve_front, "ve_rear": self.cell.tables.ve_rear}

    def run(self, spec: PlanSpec) -> dict[str, np.ndarray]:
        """Run ``spec`` to its end on the running cell; its rows as columns (to within
        ``STEP_CHUNK_S`` of the moment the plan finished)."""
        self.cell.runner = PlanRunner(plan_from_spec(spec), loop=False)
        logmode.CHUNK_S = STEP_CHUNK_S
        block = run_log(self.cell, None)
        return dict(block.columns)


def _seconds(columns: dict[str, np.ndarray]) -> float:
    t = columns["time_s"]
    return float(t[-1] - t[0]) if t.size > 1 else 0.0


@dataclass
class PlannerResult:
    minutes: float
    percent: float
    tests: list[str]


def run_planner(preset: str, max_tests: int, bike_seed: int = BIKE_SEED) -> PlannerResult:
    session = Session(preset, bike_seed)
    tables = session.tables
    regions = default_regions(tables["ve_front"].col_axis)
    coverage = VehicleCoverage()
    constraints = Constraints()
    bike = BikeBehaviour()  # learned from each test's rows, as the app learns from a run
    seconds, tests, percent = 0.0, [], 0.0
    for n in range(max_tests):
        combined = coverage.combined()
        if combined is None:
            combined = _empty(tables)
        percent = summarise(combined, regions, 20.0).priority_percent(1)
        if percent >= GOAL_PERCENT:
            break
        answer = next_tests(combined, regions, constraints, bike=bike,
                            start_rpm=float(session.cell.values.get("rpm", 1000.0)))
        if not answer.suggestions:
            tests.append("(no suggestion left)")
            break
        top = answer.suggestions[0]
        columns = session.run(top.plan_spec())
        took = _seconds(columns)
        seconds += took
        for name, run in tables_coverage(columns, tables, source=f"test {n + 1}").items():
            coverage.add(name, f"test {n + 1}", run)
        constraints = with_run(constraints, top)
        bike = learn_behaviour([columns], bike)
        tests.append(f"{took:5.1f} s  {top.title}  (expected {len(top.cells_filled)} cells)")
    else:
        combined = coverage.combined()
        if combined is not None:
            percent = summarise(combined, regions, 20.0).priority_percent(1)
    return PlannerResult(seconds / 60.0, percent, tests)


def _empty(tables: dict[str, Table]):
    from dynoai_desktop.core.coverage.grid import TableCoverage
    return TableCoverage("ve_front+ve_rear", CoverageAxes.of_table(tables["ve_front"]))


def run_steady(preset: str, bike_seed: int = BIKE_SEED) -> tuple[float, int, int]:
    """Minutes of holding each priority-1 cell until covered; cells, cells never covered."""
    session = Session(preset, bike_seed)
    tables = session.tables
    axes = CoverageAxes.of_table(tables["ve_front"])
    regions = [r for r in default_regions(axes.load_channel) if r.priority == 1]
    mask = np.zeros(axes.shape, dtype=bool)
    for region in regions:
        mask |= region.cells(axes)
    settings = AutotuneSettings()
    total = np.zeros(axes.shape)
    seconds, missed = 0.0, 0
    for r, c in np.argwhere(mask):
        if total[r, c] >= settings.min_weight:
            continue  # covered by a neighbour's hold already
        rpm, kpa = float(axes.rpm[r]), float(axes.load[c])
        columns = session.run(PlanSpec("hold", (HoldStep(rpm=rpm, seconds=HOLD_S,
                                                         map_kpa=kpa),)))
        cell_weight = _cell_weight_series(columns, axes, r, c, settings)
        need = settings.min_weight - total[r, c]
        reached = np.flatnonzero(cell_weight >= need)
        t = columns["time_s"]
        if reached.size:
            seconds += float(t[reached[0]] - t[0])
        else:
            seconds += _seconds(columns)
            missed += 1
        runs = tables_coverage(columns, tables)
        total += np.minimum(runs["ve_front"].weight, runs["ve_rear"].weight)
    return seconds / 60.0, int(mask.sum()), missed


def _cell_weight_series(columns: dict[str, np.ndarray], axes: CoverageAxes, r: int, c: int,
                        settings: AutotuneSettings) -> np.ndarray:
    """Cumulative good-sample weight of cell (r, c) over the rows (both cylinders: the less)."""
    rpm, load = columns["rpm"], columns[axes.load_channel]
    fr = _tent(axes.rpm, r, rpm)
    fc = _tent(axes.load, c, load)
    w = np.nan_to_num(fr * fc)
    series = [np.cumsum(np.where(good_samples(columns, cyl, settings), w, 0.0))
              for cyl in ("front", "rear")]
    return np.minimum(*series)


def _tent(axis: np.ndarray, i: int, x: np.ndarray) -> np.ndarray:
    """The bilinear weight along one axis of breakpoint ``i`` (edges clamp, as binning does)."""
    x = np.clip(x, axis[0], axis[-1])
    out = np.zeros_like(x)
    if i > 0:
        left = (x >= axis[i - 1]) & (x <= axis[i])
        out = np.where(left, (x - axis[i - 1]) / (axis[i] - axis[i - 1]), out)
    if i < axis.size - 1:
        right = (x >= axis[i]) & (x <= axis[i + 1])
        out = np.where(right, np.maximum(out, (axis[i + 1] - x) / (axis[i + 1] - axis[i])),
                       out)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--short", action="store_true",
                        help="one preset, the planner only, at most 3 tests")
    parser.add_argument("--preset", action="append", choices=PRESETS,
                        help="run only this preset (repeatable)")
    parser.add_argument("--bike-seed", type=int, default=BIKE_SEED,
                        help=f"which bike of each preset (default {BIKE_SEED})")
    args = parser.parse_args()
    presets = args.preset or (PRESETS[:1] if args.short else PRESETS)
    ok = True
    for preset in presets:
        start = time.perf_counter()
        planned = run_planner(preset, 3 if args.short else MAX_TESTS, args.bike_seed)
        print(f"\n{preset}, bike seed {args.bike_seed}: planner reached {planned.percent:.0f} % "
              f"of the priority-1 cells in {planned.minutes:.2f} simulated dyno minutes "
              f"({len(planned.tests)} tests)")
        for line in planned.tests:
            print(f"    {line}")
        if args.short:
            continue
        steady, cells, missed = run_steady(preset, args.bike_seed)
        ratio = planned.minutes / steady if steady else float("inf")
        met = planned.percent >= GOAL_PERCENT and ratio <= GOAL_RATIO
        ok &= met
        print(f"  steady holds of all {cells} priority-1 cells: {steady:.2f} min"
              f"{f' ({missed} never covered in {HOLD_S:g} s)' if missed else ''}")
        print(f"  ratio planner / steady: {ratio:.2f} (goal <= {GOAL_RATIO:.2f}) "
              f"{'met' if met else 'MISSED'}; wall {time.perf_counter() - start:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
