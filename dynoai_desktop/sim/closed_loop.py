"""Closed-loop fuel trim on the bike's own O2 sensors, as a Delphi ECM runs it in cruise.

Off by default: a VE-tuning session on widebands runs open loop. On (``CellConfig(closed_loop=
True)``, ``dynoai simulate --closed-loop``) the ECM trims each cylinder's fuel wherever the AFR
table asks for closed loop: a target inside the PVV's Closed Loop Lambda Range (14.29-14.89 AFR;
stock calibrations write 14.6 there), with MAP above 24 kPa (off below 21), the head warmer than
59 °F (15 °C), no hot-idle management and no accel/decel enrichment running (vtwin.md §3). The
narrowband in each header sees its cylinder's exhaust after a short delay; the trim jumps a
little at each switch and ramps between switches, so the mixture cycles around the target as a
switching sensor's loop does. The trim is limited to ±25 %.

Where it runs, the log carries ``cl_trim_front_pct``/``cl_trim_rear_pct`` (+ = fuel added); open
loop leaves them empty and the trim starts again from 0 the next time.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from dynoai_desktop.core.table import Table
from dynoai_desktop.core.units import GASOLINE_STOICH_AFR


@dataclass(frozen=True)
class ClosedLoopParams:
    """The loop's limits and gains (written to --truth)."""

    afr_window: tuple[float, float] = (14.29, 14.89)  # PVV Closed Loop Lambda Range, in AFR
    map_enable_kpa: float = 24.0  # PVV CL MAP enable / disable
    map_disable_kpa: float = 21.0
    min_head_c: float = 15.0  # PVV CL min temp 59 °F
    trim_limit_pct: float = 25.0
    jump_pct: float = 1.0  # proportional step at each switch [INF]
    ramp_pct_per_s: float = 6.0  # integrator between switches [INF]
    sensor_delay_s: float = 0.04  # narrowband in the header: dead time [INF] ...
    sensor_delay_cycles: float = 2.0  # ... plus this many engine cycles of transport [INF]
    # The base calibration's closed-loop cells when closed loop is on (vtwin.md §3: stock
    # closed loop below ~3750 rpm in cruise; §5: a stock-based table had 14.6 at 27-85 kPa).
    base_cells_max_rpm: float = 3750.0
    base_cells_map_kpa: tuple[float, float] = (30.0, 60.0)
    base_cells_afr: float = 14.6


def with_closed_loop_cells(afr_target: Table, params: ClosedLoopParams) -> Table:
    """The base AFR table with the stock closed-loop region written in (14.6)."""
    values = afr_target.values.copy()
    rows = afr_target.row_breakpoints <= params.base_cells_max_rpm
    low, high = params.base_cells_map_kpa
    cols = (afr_target.col_breakpoints >= low) & (afr_target.col_breakpoints <= high)
    values[rows[:, None] & cols[None, :]] = params.base_cells_afr
    return afr_target.with_values(values)


class ClosedLoop:
    """Both cylinders' short-term trims. ``step`` every simulation step."""

    def __init__(self, params: ClosedLoopParams) -> None:
        self.params = params
        self.active = False
        self.trims_pct = [0.0, 0.0]
        self._lean = [False, False]
        self._seen: list[deque[tuple[float, float]]] = [deque(), deque()]

    def reported(self) -> tuple[float, float]:
        """What the ECM logs: the trims while closed loop runs, NaN (empty) otherwise."""
        if not self.active:
            return math.nan, math.nan
        return self.trims_pct[0], self.trims_pct[1]

    def step(self, t: float, dt: float, *, afr_target: float, map_kpa: float, rpm: float,
             head_c: float, enrichment_active: bool, hot_idle: bool, fuel_cut: bool,
             lambdas: list[float]) -> tuple[float, float]:
        """Advance the loop; returns the trims (%) to apply to this step's fuel."""
        p = self.params
        low, high = p.afr_window
        map_ok = map_kpa >= (p.map_disable_kpa if self.active else p.map_enable_kpa)
        active = (low <= afr_target <= high and map_ok and head_c >= p.min_head_c
                  and not hot_idle and not fuel_cut)
        delay = p.sensor_delay_s + p.sensor_delay_cycles * 120.0 / max(rpm, 300.0)
        for c in (0, 1):
            seen = self._seen[c]
            seen.append((t, lambdas[c]))
            while len(seen) > 1 and seen[1][0] <= t - delay:
                seen.popleft()
        if not active:
            self.active, self.trims_pct, self._lean = False, [0.0, 0.0], [False, False]
            return 0.0, 0.0
        self.active = True
        if not enrichment_active:  # the loop freezes while AE/DE runs
            wanted = afr_target / GASOLINE_STOICH_AFR
            for c in (0, 1):
                lean = self._seen[c][0][1] > wanted
                step = p.ramp_pct_per_s * dt
                if lean != self._lean[c]:
                    step += p.jump_pct
                    self._lean[c] = lean
                trim = self.trims_pct[c] + (step if lean else -step)
                self.trims_pct[c] = min(p.trim_limit_pct, max(-p.trim_limit_pct, trim))
        return self.trims_pct[0], self.trims_pct[1]
