"""The simulated chassis dyno: an inertia drum with an eddy-current brake.

Everything is expressed at the engine crank in the gear the bike is in. The drum's inertia is
that of a Dynojet 250-class drum: a real WinPEP export of a 2006 CVO Fat Boy's 4th- and
5th-gear pulls (docs/simulator.md §6) logs the drum's tractive force and acceleration, whose
ratio is an equivalent mass of 238 kg at the drum surface, and its speed against engine rpm
(49.4 rpm/mph in 4th, 42.4 in 5th). Seen from the crank that is 1.79 kg·m² in 4th and 2.42 in
5th. The engine's own rotating parts are inside the roller torque (it is calibrated to what a
drum dyno reads). The brake can only absorb: held rpm (steady-state cells), a ramp (a decel, a
braked sweep) or off (a WOT pull on pure inertia). With the clutch in (idle) the engine is off
the roller and the idle controller holds its speed while the roller coasts down.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.units import RAD_S_PER_RPM
from dynoai_desktop.sim.scalar import clamp

MPS_PER_MPH = 0.44704
DRUM_EQUIVALENT_MASS_KG = 238.0  # Dynojet 250-class drum, force / acceleration in a WinPEP log
GEAR_MPH_PER_RPM = {4: 1.0 / 49.4, 5: 1.0 / 42.4}  # the same log's Gear Ratio channel
DEFAULT_GEAR = 4  # vtwin.md §6: 4th is the de-facto standard gear
BRAKE_MAX_NM = 700.0
BRAKE_KP_NM_PER_RPM = 2.0
BRAKE_KI_NM_PER_RPM_S = 6.0
ROLLER_DRAG_NM_PER_KRPM = 1.5
COAST_DRAG_NM = 8.0  # bearings and windage on a coasting drum, clutch in [INF]
IDLE_RETURN_S = 0.6  # clutch in: the idle controller pulls rpm to idle with this time constant


def roller_inertia_kg_m2(gear: int) -> float:
    """The drum's inertia seen from the crank in ``gear``: m · (v per rad/s of crank)²."""
    if gear not in GEAR_MPH_PER_RPM:
        gears = " or ".join(map(str, GEAR_MPH_PER_RPM))
        raise InputError(f"gear {gear} is not simulated: use {gears}")
    metres_per_rad = GEAR_MPH_PER_RPM[gear] * MPS_PER_MPH / RAD_S_PER_RPM
    return DRUM_EQUIVALENT_MASS_KG * metres_per_rad**2


@dataclass
class DynoState:
    """Roller and engine speeds and the brake."""

    rpm: float
    roller_rpm: float  # the roller's speed as engine rpm in gear
    brake_nm: float = 0.0
    clutch_in: bool = False


class Dyno:
    """Integrates the roller; ``step`` once per simulation step."""

    def __init__(self, rpm: float, gear: int = DEFAULT_GEAR) -> None:
        self.gear = gear
        self.inertia_kg_m2 = roller_inertia_kg_m2(gear)
        self.mph_per_rpm = GEAR_MPH_PER_RPM[gear]
        self.state = DynoState(rpm=rpm, roller_rpm=rpm)
        self._integral = 0.0
        self._idle_return_dt, self._idle_return_share = math.nan, 0.0

    def step(self, dt: float, engine_nm: float, target_rpm: float | None, clutch_in: bool,
             idle_rpm: float) -> DynoState:
        """Advance by ``dt``: ``target_rpm`` None lets the roller run free (inertia only)."""
        s = self.state
        drag = ROLLER_DRAG_NM_PER_KRPM * s.roller_rpm / 1000.0
        if clutch_in:
            # Engine off the roller: the idle controller holds it, the roller coasts down.
            s.rpm += (idle_rpm - s.rpm) * self._idle_return(dt)
            decel = (drag + COAST_DRAG_NM) / self.inertia_kg_m2 / RAD_S_PER_RPM
            roller = s.roller_rpm - decel * dt
            s.roller_rpm = roller if roller > 0.0 else 0.0  # max(0.0, roller) (sim/scalar.py)
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
            feed = engine_nm - drag
            feed = 0.0 if 0.0 > feed else feed  # max(feed, 0.0) (sim/scalar.py)
            trial = self._integral + error * dt
            raw = feed + BRAKE_KP_NM_PER_RPM * error + BRAKE_KI_NM_PER_RPM_S * trial
            if 0.0 < raw < BRAKE_MAX_NM:  # integrate only while the brake is not saturated
                self._integral = trial
            s.brake_nm = clamp(feed + BRAKE_KP_NM_PER_RPM * error
                               + BRAKE_KI_NM_PER_RPM_S * self._integral, 0.0, BRAKE_MAX_NM)
        net = engine_nm - s.brake_nm - drag
        rpm = s.rpm + net / self.inertia_kg_m2 / RAD_S_PER_RPM * dt
        s.rpm = rpm if rpm > 300.0 else 300.0  # max(300.0, rpm)
        s.roller_rpm = s.rpm
        return s

    def _idle_return(self, dt: float) -> float:
        """The share of the way to idle rpm the idle controller goes in ``dt``."""
        if dt != self._idle_return_dt:  # the cell's step is fixed: computed once
            self._idle_return_dt = dt
            self._idle_return_share = 1.0 - math.exp(-dt / IDLE_RETURN_S)
        return self._idle_return_share

    def speed_mph(self, roller_rpm: float) -> float:
        """Roller surface speed."""
        return roller_rpm * self.mph_per_rpm
