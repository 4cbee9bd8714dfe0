"""How a bike moves on the dyno, for laying out a planned test's path: its log rate, WOT MAP,
WOT pull rate and idle, learned from its runs (typical V-twin values before any)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

FRICTION_MAP_KPA = 20.0
CLIMB_MARGIN = 0.8
"""A rising ramp is expected at this share of what the engine could just pull, and once the
bike's climb is learned it is asked at no more (a ramp it falls behind waits for it and fills
its cells unevenly)."""


@dataclass(frozen=True)
class BikeBehaviour:
    """How this bike moves on the dyno, for laying out a test's path (learned from its runs
    by :func:`learn_behaviour`, else typical of a Harley V-twin on a chassis dyno)."""

    log_rate_hz: float = 100.0
    wot_map_kpa: float = 98.0
    pull_rpm_per_s: float = 450.0
    idle_rpm: float = 1000.0
    idle_map_kpa: float = 38.0
    wot_learned: bool = False
    """The WOT MAP and pull rate come from the bike's runs (not typical values)."""

    def sweep_rpm_per_s(self, map_kpa: float) -> float:
        """``CLIMB_MARGIN`` of the fastest ramp the engine can pull the roller through at
        ``map_kpa``: its WOT pull rate scaled by the torque, which grows about linearly with MAP
        above the friction's share (about 20 kPa)."""
        share = (map_kpa - FRICTION_MAP_KPA) / max(1.0, self.wot_map_kpa - FRICTION_MAP_KPA)
        return CLIMB_MARGIN * self.pull_rpm_per_s * float(np.clip(share, 0.1, 1.0))


def learn_behaviour(runs: Sequence[Mapping[str, FloatArray]],
                    known: BikeBehaviour | None = None) -> BikeBehaviour:
    """What the runs show of the log rate, WOT MAP, WOT pull rate and idle, over ``known``.

    A load-control ramp at full throttle climbs no faster than a free pull and a part-throttle
    sweep's MAP is below WOT's, so once learned the WOT MAP and pull rate only ever rise (the
    most seen is the bike's); before that, what a run shows replaces the typical value.
    """
    out = known or BikeBehaviour()
    rates, wot_map, pull_rate, idle_rpm, idle_map = [], [], [], [], []
    for cols in runs:
        t = np.asarray(cols.get("time_s", ()), dtype=np.float64)
        if t.size < 20:
            continue
        dt = np.diff(t)
        dt = dt[(dt > 0) & (dt < 1.0)]
        if dt.size:
            rates.append(1.0 / float(np.median(dt)))
        rpm, tps, kpa = (np.asarray(cols[k], dtype=np.float64) if k in cols else None
                         for k in ("rpm", "tps_pct", "map_kpa"))
        if rpm is None or tps is None:
            continue
        wot = tps >= 90.0
        if kpa is not None and wot.sum() > 50:
            wot_map.append(float(np.nanpercentile(kpa[wot], 90)))
        if wot.sum() > 50:
            rising = np.gradient(rpm, t)[wot]
            rising = rising[rising > 100.0]
            if rising.size > 50:
                pull_rate.append(float(np.median(rising)))
        idle = (tps < 2.0) & (rpm < 1300.0) & (rpm > 500.0)
        if idle.sum() > 100:
            idle_rpm.append(float(np.nanmedian(rpm[idle])))
            if kpa is not None:
                idle_map.append(float(np.nanmedian(kpa[idle])))

    def pick(values: list[float], fallback: float) -> float:
        return float(np.median(values)) if values else fallback

    def most(values: list[float], fallback: float, learned: bool) -> float:
        if not values:
            return fallback
        return max(max(values), fallback) if learned else max(values)

    return BikeBehaviour(pick(rates, out.log_rate_hz),
                         most(wot_map, out.wot_map_kpa, out.wot_learned),
                         most(pull_rate, out.pull_rpm_per_s, out.wot_learned),
                         pick(idle_rpm, out.idle_rpm), pick(idle_map, out.idle_map_kpa),
                         wot_learned=out.wot_learned or bool(wot_map or pull_rate))
