"""The tables loaded into the simulated ECM, and the base calibration it starts with.

The ECM fuels from whatever tables are loaded, exactly like a Delphi ECM after a flash: VE front
and rear (MAP-based by default, TPS-based as an option), the AFR target and spark front/rear.
Nothing loaded means the *base calibration*: what a bike of this family runs before anyone tunes
it, i.e. the true VE of the engine times a known error field (a Stage 2/3 bike breathes more than
its stock map assumes, so it runs lean up high), a Power Vision-like AFR target and a knock-safe
spark table for the family's stock compression.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass, replace

import numpy as np

from dynoai_desktop.core import tune
from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.table import Table
from dynoai_desktop.sim.engine import FRONT, REAR, Curve, EngineModel
from dynoai_desktop.sim.presets import preset_for_build

RPM_BREAKPOINTS = (750, 1000, 1250, 1500, 1750, 2000, 2250, 2500, 2750, 3000, 3250, 3500, 3750,
                   4000, 4500, 5000, 5500, 6000, 6500)
MAP_BREAKPOINTS_KPA = (15, 20, 25, 30, 35, 40, 50, 60, 70, 80, 90, 100, 105)
TPS_BREAKPOINTS_PCT = (0, 2, 5, 8, 10, 15, 20, 25, 30, 40, 60, 80, 100)
AFR_RPM_BREAKPOINTS = (750, 1000, 1250, 1500, 1750, 2000, 2250, 2500, 2750, 3000, 3500, 4000,
                       4500, 5000, 5500, 6000)
AFR_MAP_BREAKPOINTS_KPA = (20, 30, 35, 40, 50, 60, 70, 75, 80, 90, 100)

# AFR target vs MAP (vtwin.md §3: 14.24 at light load -> 13.0-13.1 mid -> 12.5 at 100 kPa).
_AFR_BY_MAP = Curve(((20, 14.24), (40, 14.2), (50, 13.8), (60, 13.5), (70, 13.2), (80, 13.0),
                     (90, 12.8), (100, 12.5)))


@dataclass(frozen=True)
class EcmTables:
    """The calibration in the simulated ECM; ``ve_mode`` says which VE tables it fuels from."""

    ve_front: Table
    ve_rear: Table
    afr_target: Table
    spark_front: Table
    spark_rear: Table
    ve_mode: str = "map"  # "map": VE tables over rpm x MAP kPa; "tps": over rpm x throttle %

    def __post_init__(self) -> None:
        want = "map_kpa" if self.ve_mode == "map" else "tps_pct"
        if self.ve_mode not in ("map", "tps"):
            raise InputError(f"VE table mode {self.ve_mode!r} is not valid: use map or tps")
        for label, table in (("--ve-front", self.ve_front), ("--ve-rear", self.ve_rear)):
            if table.col_axis != want:
                raise InputError(
                    f"{label}: {table.name!r} is over {table.col_axis} but the ECM fuels from "
                    f"{self.ve_mode.upper()}-based VE tables; give a table over {want} "
                    "(or change --ve-mode)"
                )
        for label, table in (("--afr-target", self.afr_target),
                             ("--spark-front", self.spark_front),
                             ("--spark-rear", self.spark_rear)):
            if table.col_axis != "map_kpa":
                raise InputError(f"{label}: {table.name!r} must be over rpm x map_kpa, "
                                 f"not {table.col_axis}")


class LookupAxis:
    """One axis of a ``FastLookup``: the breakpoints and the last bracket it found.

    The ECM looks several tables with the same breakpoints up at the same rpm and MAP each step;
    their lookups share the axis (``FastLookup(table, axes)``) and search it once.
    """

    def __init__(self, points: list[float]) -> None:
        self.points = points
        self._last_x: object = None
        self._last = (0, 0, 0.0)

    def bracket(self, x: float) -> tuple[int, int, float]:
        """Indices below/above ``x`` and the weight of the upper one (edge-clamped)."""
        if x is self._last_x:  # the very float object of the last call: the same answer
            return self._last
        axis = self.points
        if x <= axis[0] or len(axis) == 1:
            found = 0, 0, 0.0
        elif x >= axis[-1]:
            n = len(axis) - 1
            found = n, n, 0.0
        else:
            i = bisect_right(axis, x)
            found = i - 1, i, (x - axis[i - 1]) / (axis[i] - axis[i - 1])
        self._last_x, self._last = x, found
        return found


class FastLookup:
    """Bilinear, edge-clamped lookup into a table's normalised view, for scalar floats.

    Same numbers as ``Table.lookup`` (tested), about ten times faster for one point. Lookups
    made with the same ``axes`` dict share the axes with equal breakpoints (``LookupAxis``).
    """

    def __init__(self, table: Table, axes: dict[tuple[float, ...], LookupAxis] | None = None
                 ) -> None:
        view = table.normalised()
        axes = {} if axes is None else axes
        rows = tuple(float(x) for x in view.row_breakpoints)
        cols = tuple(float(x) for x in view.col_breakpoints)
        self._rows = axes.setdefault(rows, LookupAxis(list(rows)))
        self._cols = axes.setdefault(cols, LookupAxis(list(cols)))
        self._values = [[float(v) for v in row] for row in view.values]

    def __call__(self, rpm: float, load: float) -> float:
        r0, r1, fr = self._rows.bracket(rpm)
        c0, c1, fc = self._cols.bracket(load)
        v = self._values
        return ((v[r0][c0] * (1 - fc) + v[r0][c1] * fc) * (1 - fr)
                + (v[r1][c0] * (1 - fc) + v[r1][c1] * fc) * fr)


class TwinLookup:
    """A front and a rear table read at the same point, each value the number its
    ``FastLookup`` gives. When the two have the same breakpoints (a calibration's pairs do)
    the point is found once and both are read in one call: the ECM does this every step."""

    def __init__(self, front: Table, rear: Table,
                 axes: dict[tuple[float, ...], LookupAxis]) -> None:
        self.front, self.rear = FastLookup(front, axes), FastLookup(rear, axes)
        self._shared = self.front._rows is self.rear._rows and self.front._cols is self.rear._cols

    def __call__(self, rpm: float, load: float) -> tuple[float, float]:
        front, rear = self.front, self.rear
        if not self._shared:
            return front(rpm, load), rear(rpm, load)
        r0, r1, fr = front._rows.bracket(rpm)
        c0, c1, fc = front._cols.bracket(load)
        gr, gc = 1 - fr, 1 - fc  # FastLookup's weights, each computed once
        f0, f1 = front._values[r0], front._values[r1]
        b0, b1 = rear._values[r0], rear._values[r1]
        return ((f0[c0] * gc + f0[c1] * fc) * gr + (f1[c0] * gc + f1[c1] * fc) * fr,
                (b0[c0] * gc + b0[c1] * fc) * gr + (b1[c0] * gc + b1[c1] * fc) * fr)


def _grid_table(name: str, units: str, col_axis: str, rows: tuple, cols: tuple,
                value, step: float) -> Table:  # noqa: ANN001 - value: (rpm, load) -> float
    values = np.array([[round(round(value(r, c) / step) * step, 6) for c in cols] for r in rows])
    return Table(name, units, "rpm", col_axis, np.array(rows, float), np.array(cols, float),
                 values)


def true_ve_table(engine: EngineModel, cylinder: int, ve_mode: str = "map") -> Table:
    """The engine's true VE sampled on the ECM grid (0.01 % steps): the perfect table."""
    name = {(FRONT, "map"): tune.VE_FRONT_MAP, (REAR, "map"): tune.VE_REAR_MAP,
            (FRONT, "tps"): tune.VE_FRONT_TPS, (REAR, "tps"): tune.VE_REAR_TPS}[cylinder, ve_mode]
    if ve_mode == "map":
        return _grid_table(name, "%", "map_kpa", RPM_BREAKPOINTS, MAP_BREAKPOINTS_KPA,
                           lambda r, m: engine.ve_true(cylinder, r, m), 0.01)

    def by_throttle(rpm: float, tps: float) -> float:
        return engine.ve_true(cylinder, rpm, engine.map_steady_kpa(tps, rpm, engine.baro_kpa))

    return _grid_table(name, "%", "tps_pct", RPM_BREAKPOINTS, TPS_BREAKPOINTS_PCT, by_throttle,
                       0.01)


def base_calibration_error(cylinder: int, stage: int, rpm: float, load_fraction: float) -> float:
    """Fractional error of the base map against the true VE (negative = the map is lean)."""
    span = min(max((rpm - 750.0) / 5250.0, 0.0), 1.0)
    breathing = -0.035 * stage * (0.5 + 0.5 * span) * (0.5 + 0.5 * load_fraction)
    phase = 0.0 if cylinder == FRONT else 1.3
    wobble = 0.025 * math.sin(rpm / 900.0 + 4.3 * load_fraction + phase) * math.cos(
        rpm / 1700.0 - 2.4 * load_fraction
    )
    return breathing + wobble


def nominal_engine(engine: EngineModel) -> EngineModel:
    """The build's average bike (no bike scatter): what a calibration for the build knows."""
    if engine.bike_seed is None:
        return engine
    return EngineModel(engine.preset, engine.baro_kpa, bike_seed=None)


def base_ve_table(engine: EngineModel, cylinder: int, ve_mode: str = "map") -> Table:
    """The base map: the build's nominal VE times the calibration error, in 0.5 % steps.

    It knows the build, not this bike: the bike's own scatter is what a tuner finds.
    """
    stage = engine.preset.build.stage
    truth = true_ve_table(nominal_engine(engine), cylinder, ve_mode)
    cols = truth.col_breakpoints
    loads = cols / 100.0
    errors = np.array([[base_calibration_error(cylinder, stage, r, load) for load in loads]
                       for r in truth.row_breakpoints])
    return truth.with_values(np.round(truth.values * (1.0 + errors) * 2.0) / 2.0)


def base_afr_target_table() -> Table:
    """A Power Vision-like AFR target: 14.24 cruise, 13.0-13.5 mid load, 12.5 WOT, 12.3 high rpm."""

    def afr(rpm: float, map_kpa: float) -> float:
        value = _AFR_BY_MAP(map_kpa) - 0.2 * min(max((rpm - 4500.0) / 1500.0, 0.0), 1.0) * (
            map_kpa / 100.0
        )
        if rpm <= 1000 and map_kpa <= 40:
            value = 13.8  # idle runs a little rich for the cam overlap
        return value

    return _grid_table(tune.AFR_TARGET, "AFR", "map_kpa", AFR_RPM_BREAKPOINTS,
                       AFR_MAP_BREAKPOINTS_KPA, afr, 0.01)


BASE_SPARK_HEAD_C, BASE_SPARK_IAT_C = 120.0, 30.0  # the front head and air the spark is set at
BASE_SPARK_REAR_HOTTER_K = 30.0  # the rear head at full load (vtwin.md §4; ThermalParams' default)
BASE_SPARK_SAFETY_DEG = 1.0  # below the stock knock limit there
BASE_SPARK_MIN_DEG = 2.0  # the service range is 0-45° BTDC (vtwin.md §8)


def base_spark_tables(engine: EngineModel) -> tuple[Table, Table]:
    """Knock-safe spark from the *stock* build's limit (stock CR, 91 AKI) on a warm engine.

    One spark for both cylinders, as the real tune's (rear − front +0.15° on average, vtwin.md
    §4): MBT, or 1° under the lower of the two cylinders' limits with the front head at 120 °C
    and the rear hotter by 30 K × load. So the stock bike does not knock until it runs hotter
    than that; the rear (its −1.5° and its hotter head) and the lugging zone (its stronger head
    sensitivity) go first; a hotter build, lower octane or a hotter head widen it (§3.5).
    """
    stock = EngineModel(preset_for_build(BuildSpec.stock(engine.preset.build.engine_family)),
                        engine.baro_kpa, bike_seed=None)

    def spark(rpm: float, map_kpa: float) -> float:
        load = min(max(map_kpa / 100.0, 0.0), 1.0)
        rear_head = BASE_SPARK_HEAD_C + BASE_SPARK_REAR_HOTTER_K * load
        limit = min(stock.knock_limit_deg(FRONT, rpm, map_kpa, BASE_SPARK_HEAD_C,
                                          BASE_SPARK_IAT_C),
                    stock.knock_limit_deg(REAR, rpm, map_kpa, rear_head, BASE_SPARK_IAT_C))
        return max(BASE_SPARK_MIN_DEG,
                   min(stock.mbt_deg(rpm, map_kpa), limit - BASE_SPARK_SAFETY_DEG))

    front = _grid_table(tune.SPARK_FRONT, "deg", "map_kpa", RPM_BREAKPOINTS,
                        MAP_BREAKPOINTS_KPA, spark, 0.25)
    return front, replace(front, name=tune.SPARK_REAR)


def base_tables(engine: EngineModel, ve_mode: str = "map") -> EcmTables:
    """The whole base calibration for ``engine``."""
    spark_front, spark_rear = base_spark_tables(engine)
    return EcmTables(
        ve_front=base_ve_table(engine, FRONT, ve_mode),
        ve_rear=base_ve_table(engine, REAR, ve_mode),
        afr_target=base_afr_target_table(),
        spark_front=spark_front,
        spark_rear=spark_rear,
        ve_mode=ve_mode,
    )
