"""The simulated Delphi-style ECM: fuel and spark from the loaded tables, plus its transient logic.

Open loop (closed-loop trims off, as on a bike being VE-tuned on widebands): the fuel it injects
for a cylinder is what its VE table says the air is, divided by the AFR target, times its
enrichments. So the mixture it *gets* is

    AFR = target x (VE_true / VE_table) x (T_iat_sensor / T_charge) / fuel_scale

with fuel_scale = warm-up x (1 + accel) x (1 - decel) x hot-idle enrichment (0 in fuel cut).
Knock retard, temperature spark trims and the hot-idle phases follow the Power Vision items in
shared/reference/vtwin.md §3 and §6.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from dataclasses import dataclass, field

from dynoai_desktop.core.units import F_AT_0_C, F_PER_C
from dynoai_desktop.sim.ecm_tables import EcmTables, FastLookup, LookupAxis, TwinLookup
from dynoai_desktop.sim.engine import Curve

# vtwin.md §3, vs engine temperature in °F (PVV): AE 2.2 -> 0.25, DE 1.99 -> 1.00 at 262 °F.
AE_MULTIPLIER = Curve(((3, 2.2), (100, 1.4), (150, 0.9), (200, 0.6), (250, 0.4), (320, 0.25)))
DE_MULTIPLIER = Curve(((3, 1.99), (150, 1.5), (262, 1.0)))
# Warm-up fuel multiplier vs head temperature in °C (off from 64 °C / 147 °F, as the PVV).
WARMUP_ENRICHMENT = Curve(((-10, 1.45), (20, 1.25), (45, 1.1), (64, 1.0)))
# Spark trims at WOT vs head and intake temperature in °C (vtwin.md §3, PVV WOT column).
HEAD_TEMP_TRIM = Curve(((140, 0.0), (165, -1.5), (195, -2.0), (220, -4.0), (250, -9.0)))
IAT_TRIM = Curve(((50, 0.0), (64, -1.5), (80, -3.0), (96, -4.0), (144, -6.0)))
# Hot-idle management thresholds, head temperature °C (vtwin.md §6, H-D service procedure).
HOT_IDLE_PHASES_C = (130.0, 145.0, 161.0, 166.0)
HOT_IDLE_HYSTERESIS_C = 5.0

TIP_RATE_PCT_PER_S = 40.0  # throttle speed that counts as a tip-in / tip-out
AE_GAIN_PER_PCT_S = 0.00006  # accel enrichment per %/s of throttle speed, x AE multiplier
ENRICHMENT_ACTIVE_BELOW = 0.01  # AE/DE share under which it no longer counts as running
AE_DECAY_S = 0.25
DE_GAIN = 0.003
DE_DECAY_S = 0.30
KNOCK_STEP_DEG = 2.0  # PVV: 2° per knock event, 6° max, removal 1° per 0.51 s
KNOCK_MAX_DEG = 6.0
KNOCK_REMOVAL_S_PER_DEG = 0.51
KNOCK_ENABLE = (50.0, 800.0, 60.0)  # MAP kPa, rpm, head °C (140 °F) above which it retards
DFCO_ENTRY = (18.1, 1.6, 45.0, 2.99)  # MAP kPa, throttle %, head °C, seconds (PVV, [INF])
DFCO_EXIT = (19.9, 1.95, 42.2)
SOFT_LIMIT_RPM = 5700.0  # vtwin.md §1: soft limit ~5700, hard 6200
HARD_LIMIT_RPM = 6200.0


@dataclass
class EcmOutput:
    """What the ECM commands this step, per cylinder (front, rear)."""

    afr_target: float
    ve_table: tuple[float, float]
    fuel_scale: list[float]
    spark_deg: list[float]
    knock_retard_deg: list[float]
    idle_rpm: float
    fuel_cut: bool
    hot_idle_phase: int
    enrichment_active: bool = False  # accel or decel enrichment still running (freezes closed loop)


@dataclass
class _State:
    last_tps: float | None = None
    accel: float = 0.0
    decel: float = 0.0
    retard: list[float] = field(default_factory=lambda: [0.0, 0.0])
    dfco_timer: float = 0.0
    dfco: bool = False
    hot_idle_phase: int = 0
    cut_until: list[float] = field(default_factory=lambda: [0.0, 0.0])


class Ecm:
    """The ECM with its loaded tables. ``step`` once per simulation step."""

    def __init__(self, tables: EcmTables, base_idle_rpm: float, rng: random.Random) -> None:
        self.tables = tables
        self.base_idle_rpm = base_idle_rpm
        self._rng = rng
        self._lookups(tables)
        self._state = _State()
        self._decays_dt, self._decays_at = math.nan, (1.0, 1.0, 0.0)

    def load_tables(self, tables: EcmTables) -> None:
        """A new calibration, flashed while running (the demo's "send tune"); the ECM's state
        (enrichment, hot idle, knock retard) carries on."""
        self.tables = tables
        self._lookups(tables)

    def _lookups(self, tables: EcmTables) -> None:
        axes: dict[tuple[float, ...], LookupAxis] = {}  # tables on the same grid search it once
        self._ve = TwinLookup(tables.ve_front, tables.ve_rear, axes)
        self._afr = FastLookup(tables.afr_target, axes)
        self._spark = TwinLookup(tables.spark_front, tables.spark_rear, axes)

    def load(self, tables: EcmTables) -> None:
        """Flash new tables (the transient state carries on, as after a real reflash)."""
        self.__init__(tables, self.base_idle_rpm, self._rng)  # type: ignore[misc]

    def knock(self, cylinder: int, map_kpa: float, rpm: float, head_temp_c: float) -> None:
        """The ion sensor heard knock on ``cylinder``: retard if knock control is enabled."""
        min_map, min_rpm, min_temp = KNOCK_ENABLE
        if map_kpa > min_map and rpm > min_rpm and head_temp_c > min_temp:
            s = self._state
            s.retard[cylinder] = min(KNOCK_MAX_DEG, s.retard[cylinder] + KNOCK_STEP_DEG)

    def _transients(self, dt: float, tps: float, head_temp_c: float) -> None:
        s = self._state
        prev = tps if s.last_tps is None else s.last_tps
        s.last_tps = tps
        rate = (tps - prev) / dt
        temp_f = head_temp_c * F_PER_C + F_AT_0_C
        if rate > TIP_RATE_PCT_PER_S:  # a shot of fuel as soon as the throttle moves fast
            s.accel = max(s.accel, min(0.5, AE_GAIN_PER_PCT_S * rate * AE_MULTIPLIER(temp_f)))
        elif rate < -TIP_RATE_PCT_PER_S:
            s.decel = min(0.5, s.decel + DE_GAIN * (prev - tps) * DE_MULTIPLIER(temp_f))
        ae_decay, de_decay, removal = self._decays(dt)
        s.accel *= ae_decay
        s.decel *= de_decay
        retard = s.retard
        for c in (0, 1):
            left = retard[c] - removal
            retard[c] = left if left > 0.0 else 0.0

    def _decays(self, dt: float) -> tuple[float, float, float]:
        """Per step of ``dt``: what remains of AE and DE, and the knock retard removed (°)."""
        if dt != self._decays_dt:  # the cell's step is fixed: computed once
            self._decays_dt = dt
            self._decays_at = (math.exp(-dt / AE_DECAY_S), math.exp(-dt / DE_DECAY_S),
                               dt / KNOCK_REMOVAL_S_PER_DEG)
        return self._decays_at

    def _fuel_cut(self, dt: float, rpm: float, map_kpa: float, tps: float, temp: float) -> bool:
        s = self._state
        map_in, tps_in, temp_in, delay = DFCO_ENTRY
        map_out, tps_out, temp_out = DFCO_EXIT
        if s.dfco:
            if map_kpa > map_out or tps > tps_out or temp < temp_out:
                s.dfco, s.dfco_timer = False, 0.0
        elif map_kpa < map_in and tps < tps_in and temp > temp_in:
            s.dfco_timer += dt
            s.dfco = s.dfco_timer >= delay
        else:
            s.dfco_timer = 0.0
        return s.dfco or rpm >= HARD_LIMIT_RPM

    def _hot_idle(self, head_temp_c: float, idling: bool) -> int:
        s = self._state
        phase = bisect_right(HOT_IDLE_PHASES_C, head_temp_c)  # thresholds reached (ascending)
        if phase < s.hot_idle_phase:  # step down only once cooled past the hysteresis
            cooled = head_temp_c < HOT_IDLE_PHASES_C[s.hot_idle_phase - 1] - HOT_IDLE_HYSTERESIS_C
            phase = s.hot_idle_phase - 1 if cooled else s.hot_idle_phase
        s.hot_idle_phase = phase
        return phase if idling else 0

    def step(self, t: float, dt: float, rpm: float, map_kpa: float, tps: float,
             head_temp_c: float, iat_c: float, idling: bool) -> EcmOutput:
        """Advance the ECM by ``dt`` at this operating point; return its commands."""
        self._transients(dt, tps, head_temp_c)
        s = self._state
        ve = self._ve(rpm, tps if self.tables.ve_mode == "tps" else map_kpa)
        afr = self._afr(rpm, map_kpa)
        cut = self._fuel_cut(dt, rpm, map_kpa, tps, head_temp_c)
        phase = self._hot_idle(head_temp_c, idling)
        scale = WARMUP_ENRICHMENT(head_temp_c) * (1.0 + s.accel) * (1.0 - s.decel)
        if phase >= 3:
            scale *= 1.08
        trim_load = 100.0 if 100.0 < map_kpa else map_kpa  # min(map_kpa, 100.0) (sim/scalar.py)
        trim = (HEAD_TEMP_TRIM(head_temp_c) + IAT_TRIM(iat_c)) * trim_load / 100.0
        if rpm > SOFT_LIMIT_RPM:
            trim -= min(10.0, (rpm - SOFT_LIMIT_RPM) / 50.0)
        if phase >= 3:
            trim += 10.0
        fuel, spark = [scale, scale], list(self._spark(rpm, map_kpa))
        for c in (0, 1):
            spark[c] = spark[c] + trim - s.retard[c]
            if cut:
                fuel[c] = 0.0
            elif phase >= 4:  # 2 of 8 injector pulses cut at random, stationary only
                if t < s.cut_until[c]:
                    fuel[c] = 0.0
                elif self._rng.random() < 0.25 * dt * rpm / 120.0:
                    s.cut_until[c] = t + 120.0 / max(rpm, 300.0)
        idle = self.base_idle_rpm if phase < 1 else (900.0 if phase == 1 else 800.0)
        enriching = s.accel > ENRICHMENT_ACTIVE_BELOW or s.decel > ENRICHMENT_ACTIVE_BELOW
        return EcmOutput(afr, ve, fuel, spark, list(s.retard), min(idle, self.base_idle_rpm),
                         cut, phase, enriching)
