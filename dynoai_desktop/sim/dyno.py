"""The simulated chassis dyno: an inertia roller with an eddy-current brake.

Everything is expressed at the engine crank in the gear the bike is in (4th, ~20 mph per 1000
rpm). The brake can only absorb: held rpm (steady-state cells), a ramp (a decel, a braked sweep)
or off (a WOT pull on pure inertia). With the clutch in (idle) the engine is off the roller and
the idle controller holds its speed while the roller coasts down.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dynoai_desktop.core.units import RAD_S_PER_RPM

MPH_PER_RPM = 0.020  # 4th gear
ROLLER_INERTIA_KG_M2 = 2.6  # drum + bike at the crank: a 2000-5800 rpm pull takes ~8-10 s
BRAKE_MAX_NM = 700.0
BRAKE_KP_NM_PER_RPM = 2.0
BRAKE_KI_NM_PER_RPM_S = 6.0
ROLLER_DRAG_NM_PER_KRPM = 1.5


@dataclass
class DynoState:
    """Roller and engine speeds and the brake."""

    rpm: float
    roller_rpm: float  # the roller's speed as engine rpm in gear
    brake_nm: float = 0.0
    clutch_in: bool = False


class Dyno:
    """Integrates the roller; ``step`` once per simulation step."""

    def __init__(self, rpm: float) -> None:
        self.state = DynoState(rpm=rpm, roller_rpm=rpm)
        self._integral = 0.0

    def step(self, dt: float, engine_nm: float, target_rpm: float | None, clutch_in: bool,
             idle_rpm: float) -> DynoState:
        """Advance by ``dt``: ``target_rpm`` None lets the roller run free (inertia only)."""
        s = self.state
        drag = ROLLER_DRAG_NM_PER_KRPM * s.roller_rpm / 1000.0
        if clutch_in:
            # Engine off the roller: the idle controller holds it, the roller coasts down.
            s.rpm += (idle_rpm - s.rpm) * (1.0 - math.exp(-dt / 0.6))
            decel = (drag + 8.0) / ROLLER_INERTIA_KG_M2 / RAD_S_PER_RPM
            s.roller_rpm = max(0.0, s.roller_rpm - decel * dt)
            s.brake_nm, self._integral, s.clutch_in = 0.0, 0.0, True
            return s
        if s.clutch_in:  # clutch out again: the engine drives the roller at the roller's speed
            s.rpm = max(s.roller_rpm, s.rpm) if s.roller_rpm > 500 else s.rpm
            s.roller_rpm = s.rpm
        s.clutch_in = False
        if target_rpm is None:
            s.brake_nm, self._integral = 0.0, 0.0
        else:
            error = s.rpm - target_rpm
            feed = max(engine_nm - drag, 0.0)
            trial = self._integral + error * dt
            raw = feed + BRAKE_KP_NM_PER_RPM * error + BRAKE_KI_NM_PER_RPM_S * trial
            if 0.0 < raw < BRAKE_MAX_NM:  # integrate only while the brake is not saturated
                self._integral = trial
            s.brake_nm = min(max(feed + BRAKE_KP_NM_PER_RPM * error
                                 + BRAKE_KI_NM_PER_RPM_S * self._integral, 0.0), BRAKE_MAX_NM)
        net = engine_nm - s.brake_nm - drag
        s.rpm = max(300.0, s.rpm + net / ROLLER_INERTIA_KG_M2 / RAD_S_PER_RPM * dt)
        s.roller_rpm = s.rpm
        return s

    @staticmethod
    def speed_mph(roller_rpm: float) -> float:
        """Roller surface speed."""
        return roller_rpm * MPH_PER_RPM
