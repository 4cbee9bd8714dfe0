"""What a simulated shop session is played with and what it leaves: the shop's habits
(``SessionProfile``) and the runs, tune versions and decel fix one session produced, as plain
data for the catalog (``commands.shop_session`` plays them, ``commands.simulate_shop`` writes
them)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from dynoai_desktop.core.autotune import AutotuneSettings
from dynoai_desktop.core.coverage.grid import RunCoverage
from dynoai_desktop.core.coverage.planner import PlannerSettings
from dynoai_desktop.core.coverage.regions import Region
from dynoai_desktop.core.plan import DecelStep
from dynoai_desktop.core.table import Table
from dynoai_desktop.core.tune import ChangeSource
from dynoai_desktop.sim.ecm_tables import EcmTables
from dynoai_desktop.sim.shop import ShopBike
from dynoai_desktop.storage.run_files import Marker
from dynoai_desktop.storage.settings import DevicePort

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class SessionProfile:
    """How a session is played (the shop's habits); the defaults are the generator's."""

    start_engine_temp_c: float = 80.0  # the bike was ridden in
    warm_up_s: float = 20.0
    regions: tuple[Region, ...] = (
        Region("Part throttle", 1500.0, 5000.0, 40.0, 90.0, 1),
        Region("Wide open", 2000.0, 5500.0, 90.0, 100.0, 1),
    )
    hold_map_max_kpa: float = 90.0
    """The most MAP a hold or sweep asks for: wide open is left to the pulls, as in a shop (a
    long hold at wide open heats the intake and the heads: what it measures drifts)."""
    covered_share: float = 0.9  # a round's tests stop when this share of its cells is covered
    round_cap_s: float = 90.0  # ... or after this long
    first_round_cap_s: float = 180.0
    max_rounds: int = 6
    authority_pct: tuple[float, ...] = (25.0, 10.0)
    """The most a cell may move per round (the last value for every later round): a generic
    map can be far off a bike, so the first round may move more."""
    sweep_rounds: int = 2
    """Rounds that sweep; later ones hold the cells still unsettled (a sample at a cell's
    centre does not mix in its neighbours' errors, so the cells a sweep leaves unsure settle)."""
    converged_pct: float = 1.0
    confident: float = 0.5
    """Converged: no cell measured with at least this confidence moved by more than
    ``converged_pct`` and none was held for a wide interval (a tuner judges by the cells with
    enough data; the others go into the next round)."""
    settings: AutotuneSettings = field(default_factory=AutotuneSettings)
    planner: PlannerSettings = field(default_factory=lambda: PlannerSettings(min_hold_s=2.0))
    pull_rpm: tuple[float, float] = (2000.0, 5500.0)
    sheet_pulls: int = 3  # WOT pulls for the dyno sheet, before tuning and after
    cool_down_s: float = 30.0  # idling with the fan on after each of them
    decels: tuple[DecelStep, ...] = (
        DecelStep(5000.0, 1500.0, 500.0),
        DecelStep(4500.0, 1800.0, 300.0),
    )
    pops_to_fix: int = 1  # pops heard over the decels that make a tuner fix them
    decel_map_max_kpa: float = 30.0  # the VE columns the decel enrichment raises
    soak_s: tuple[float, float] = (120.0, 600.0)  # the heat soak's idle, drawn per bike
    after_soak_holds: tuple[tuple[float, float], ...] = (
        (1500.0, 40.0), (2000.0, 50.0), (2500.0, 60.0), (3000.0, 70.0), (3500.0, 80.0))
    """(rpm, kPa) held ``after_soak_hold_s`` each after the soak, before the pull."""
    after_soak_hold_s: float = 8.0
    timing_sweep_deg: tuple[float, ...] = (2.0, 4.0)
    """The spark advance of each timing-sweep pull, over the base calibration (none: no sweep)."""


SHORT_PROFILE = SessionProfile(sheet_pulls=1, cool_down_s=5.0, first_round_cap_s=40.0,
                               round_cap_s=30.0, max_rounds=2, soak_s=(60.0, 60.0))
"""A session cut short: one dyno-sheet pull, 5 s cooling, two autotune rounds on capped test
lists, a one-minute heat soak. The benchmarks' ``--short`` modes play it to prove their loop
runs, not to measure a figure."""


@dataclass(frozen=True, eq=False)
class PlayedRun:
    """One run as the app would have recorded it."""

    name: str
    kind: str  # ml.training.session_data.RUN_KINDS
    start_s: float  # on the session's clock (the cell's time) at its first row
    columns: dict[str, FloatArray]  # canonical channels; time_s from 0 at the first row
    markers: tuple[Marker, ...]
    tune_version: int  # the tune version the ECM ran during it
    coverage: dict[str, RunCoverage]
    """Per VE table (``ve_front``/``ve_rear``): good-sample weight and raw hits per cell on the
    table's (normalised) axes, as the app keeps a saved run's coverage."""

    @property
    def duration_s(self) -> float:
        t = self.columns["time_s"]
        return float(t[-1]) if t.size else 0.0

    @property
    def rows(self) -> int:
        return int(self.columns["time_s"].size)


@dataclass(frozen=True, eq=False)
class PlayedVersion:
    """A version of the session's tune: its VE tables and what made it."""

    number: int  # 1 = the base map
    made_by: ChangeSource
    at_s: float  # on the session's clock
    note: str
    ve_front: Table
    ve_rear: Table


@dataclass(frozen=True)
class DecelFix:
    """The decel test and, where the bike popped, its fix."""

    decels: int
    pops_before: int
    enrichment_pct: float | None  # None: no fix needed
    zone_rpm: tuple[float, float]
    zone_map_kpa: tuple[float, float]
    pops_after: int | None


@dataclass(frozen=True, eq=False)
class PlayedSession:
    """Everything one session produced, for the catalog."""

    bike: ShopBike
    base: EcmTables  # the calibration the session started on (VE: the generic base map)
    versions: tuple[PlayedVersion, ...]
    runs: tuple[PlayedRun, ...]
    duration_s: float  # simulated time from the first row to the last
    autotune_rounds: int
    converged: bool
    round_moves_pct: tuple[float, ...]  # the largest cell move of each round
    decel: DecelFix
    soak_s: float
    knock_events: int
    devices: tuple[DevicePort, ...]  # the cell's devices, as a recorded run lists them
    wall_s: float  # how long playing it took (for the benchmark)
