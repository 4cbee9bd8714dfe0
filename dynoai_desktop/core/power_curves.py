"""Power and torque curves from a dyno pull, as WinPEP draws them: corrected for the weather,
smoothed, with their peaks; and the rules for comparing runs.

- **Pulls** are found from engine speed and throttle: rpm rising steadily (after a light
  smoothing) with the throttle held open, for long enough and over enough rpm
  (:func:`find_pulls`).
- **Curves** are the pull's samples averaged on a fixed grid of the axis (engine speed every
  50 rpm, or roll speed every 1 mph); grids of every run line up, so runs compare cell by cell.
  A grid step with no sample between two that have one is interpolated.
- **Smoothing**, levels 0–5 as WinPEP offers them: level *k* is a centred moving average over
  ±*k* grid steps (±50·*k* rpm on the rpm axis; ±*k* mph on the speed axis), shortened at the
  ends of the pull; level 0 is the grid's own averages.
- **Correction** to a standard's air (:class:`Standard`): SAE J1349 (default), STD (SAE J607),
  DIN 70020, or none; the observed (uncorrected) figures stay available.

Torque and power are kept in canonical units (ft-lb, hp); panels and the sheet convert.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import pandas as pd

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.power import (
    HP_PER_FTLB_RPM,
    din_70020_factor,
    sae_j1349_factor,
    std_factor,
)
from dynoai_desktop.core.weather import Weather

SMOOTHING_LEVELS = range(6)
DEFAULT_SMOOTHING = 2
AXIS_STEPS = {"rpm": 50.0, "speed_mph": 1.0}
"""Grid step per axis channel: engine speed in rpm, roll speed in mph."""

PULL_MIN_TPS_PCT = 80.0  # throttle held at or above this (where the log has throttle)
PULL_MIN_RISE_RPM_S = 150.0  # engine speed rising at least this fast
PULL_MIN_SPAN_RPM = 1000.0
PULL_MIN_DURATION_S = 1.5
PULL_GAP_S = 0.3  # a dip in the rise this short does not end the pull
PULL_TIP_IN_S = 0.3
"""After the throttle opens into a pull, this long is the tip-in (the drum's acceleration still
building, torque reading low), not the curve: the pull starts after it."""
RPM_SMOOTHING_S = 0.25


class Standard(StrEnum):
    """Correction standards a dyno shop quotes figures in."""

    SAE_J1349 = "sae"
    STD = "std"
    DIN_70020 = "din"
    UNCORRECTED = "uncorrected"

    @property
    def label(self) -> str:
        return STANDARD_LABELS[self]


STANDARD_LABELS = {
    Standard.SAE_J1349: "SAE J1349",
    Standard.STD: "STD (SAE J607)",
    Standard.DIN_70020: "DIN 70020",
    Standard.UNCORRECTED: "uncorrected",
}


def parse_standard(text: str) -> Standard:
    """'sae', 'SAE J1349', 'std', 'din', 'uncorrected' (any case) as a Standard."""
    key = text.strip().lower()
    for standard in Standard:
        if key in (standard.value, standard.label.lower(), standard.name.lower()):
            return standard
    names = ", ".join(s.value for s in Standard)
    raise InputError(f"correction standard {text!r} is not one of: {names}")


def correction_factor(standard: Standard, weather: Weather) -> float:
    """The factor observed figures are multiplied by; 1.0 for uncorrected. InputError when the
    weather the standard needs was not measured."""
    if standard is Standard.UNCORRECTED:
        return 1.0
    if weather.baro_kpa is None or weather.ambient_temp_c is None:
        raise InputError(f"{standard.label} needs the barometer and the air temperature; "
                         "this run has no weather recorded")
    humidity = weather.humidity_pct if weather.humidity_pct is not None else 0.0
    if standard is Standard.SAE_J1349:
        return sae_j1349_factor(weather.baro_kpa, weather.ambient_temp_c, humidity)
    if standard is Standard.STD:
        return std_factor(weather.baro_kpa, weather.ambient_temp_c, humidity)
    return din_70020_factor(weather.baro_kpa, weather.ambient_temp_c)


@dataclass(frozen=True)
class Pull:
    """One pull: rows ``start`` to ``stop`` (exclusive) of the run's frame."""

    start: int
    stop: int
    time_from_s: float
    time_to_s: float
    rpm_from: float
    rpm_to: float

    @property
    def label(self) -> str:
        return (f"{self.rpm_from:,.0f}–{self.rpm_to:,.0f} rpm at "
                f"{self.time_from_s:.1f}–{self.time_to_s:.1f} s")


def _column(frame: pd.DataFrame, name: str) -> np.ndarray | None:
    if name not in frame.columns:
        return None
    values = frame[name].to_numpy(dtype=float, na_value=np.nan)
    return values if np.isfinite(values).any() else None


def _moving_mean(values: np.ndarray, half: int) -> np.ndarray:
    """Centred mean over ±half samples, NaN-aware; near the ends the window shrinks on both
    sides alike (so a curve's ends are not pulled toward its middle)."""
    if half <= 0:
        return values.copy()
    good = np.isfinite(values)
    sums = np.concatenate([[0.0], np.cumsum(np.where(good, values, 0.0))])
    counts = np.concatenate([[0], np.cumsum(good)])
    index = np.arange(values.size)
    reach = np.minimum(half, np.minimum(index, values.size - 1 - index))
    lo, hi = index - reach, index + reach + 1
    n = counts[hi] - counts[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, (sums[hi] - sums[lo]) / np.maximum(n, 1), np.nan)


def find_pulls(frame: pd.DataFrame, min_tps_pct: float = PULL_MIN_TPS_PCT) -> list[Pull]:
    """The pulls in a run: rpm rising at ≥ 150 rpm/s with the throttle at ``min_tps_pct`` or
    more (where the log has throttle), over ≥ 1,000 rpm and ≥ 1.5 s, less the tip-in's first
    0.3 s where the throttle is seen opening into it; in time order."""
    time_s = _column(frame, "time_s")
    rpm = _column(frame, "rpm")
    if time_s is None or rpm is None or rpm.size < 3:
        return []
    tps = _column(frame, "tps_pct")
    dt = np.nanmedian(np.diff(time_s)) if time_s.size > 1 else 0.0
    if not math.isfinite(dt) or dt <= 0:
        return []
    smooth = _moving_mean(rpm, max(1, round(RPM_SMOOTHING_S / dt / 2)))
    with np.errstate(invalid="ignore"):
        rising = np.gradient(smooth, time_s) >= PULL_MIN_RISE_RPM_S
        if tps is not None:
            rising &= ~(tps < min_tps_pct)  # a missing throttle reading does not end a pull
    rising &= np.isfinite(rpm)
    pulls = []
    lookahead = max(1, round((RPM_SMOOTHING_S + PULL_GAP_S) / dt))
    for start, stop in _runs_of_true(rising, max(1, round(PULL_GAP_S / dt))):
        start, stop = _trim_to_rise(rpm, start, min(stop + lookahead, rpm.size))
        if tps is not None and start > 0 and tps[start - 1] < min_tps_pct:
            start = min(start + round(PULL_TIP_IN_S / dt), stop - 1)
        span = rpm[start:stop]
        good = np.isfinite(span)
        if not good.any():
            continue
        rpm_from, rpm_to = float(span[good][0]), float(np.nanmax(span))
        duration = time_s[stop - 1] - time_s[start]
        if rpm_to - rpm_from >= PULL_MIN_SPAN_RPM and duration >= PULL_MIN_DURATION_S:
            pulls.append(Pull(start, stop, float(time_s[start]), float(time_s[stop - 1]),
                              rpm_from, rpm_to))
    return pulls


def why_no_pull(frame: pd.DataFrame, min_tps_pct: float = PULL_MIN_TPS_PCT) -> str:
    """Why :func:`find_pulls` found nothing in ``frame``, in the tuner's words (what the log
    lacks, or what the throttle and the rpm did instead)."""
    rpm = _column(frame, "rpm")
    if _column(frame, "time_s") is None:
        return "the log has no time_s"
    if rpm is None:
        return "the log has no engine speed (rpm)"
    tps = _column(frame, "tps_pct")
    if tps is not None and np.nanmax(tps) < min_tps_pct:
        return (f"the throttle never reached {min_tps_pct:.0f} % "
                f"(at most {np.nanmax(tps):.0f} %)")
    return (f"the rpm never rose {PULL_MIN_SPAN_RPM:,.0f} rpm in {PULL_MIN_DURATION_S:g} s or "
            f"more at full throttle (the log runs {np.nanmin(rpm):,.0f}–{np.nanmax(rpm):,.0f} "
            "rpm)")


def _runs_of_true(mask: np.ndarray, bridge: int) -> list[tuple[int, int]]:
    """[start, stop) of each stretch of True, stretches closer than ``bridge`` joined."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    joined: list[tuple[int, int]] = []
    for start, stop in zip(starts.tolist(), stops.tolist(), strict=True):
        if joined and start - joined[-1][1] <= bridge:
            joined[-1] = (joined[-1][0], stop)
        else:
            joined.append((start, stop))
    return joined


def _trim_to_rise(rpm: np.ndarray, start: int, stop: int) -> tuple[int, int]:
    """End the pull at its highest rpm: the smoothed rise ends a little before the top, so the
    stretch is looked past by the smoothing's reach and cut back at the top."""
    top = start + int(np.nanargmax(rpm[start:stop]))
    return start, max(top + 1, start + 1)


@dataclass(frozen=True)
class PowerCurve:
    """One pull's curves on the axis grid: corrected torque and power, AFR front/rear, with the
    factor used (observed = corrected / factor)."""

    axis: str  # "rpm" or "speed_mph"
    x: np.ndarray
    torque_ftlb: np.ndarray
    power_hp: np.ndarray
    afr_front: np.ndarray
    afr_rear: np.ndarray
    standard: Standard
    factor: float
    smoothing: int
    notes: tuple[str, ...] = ()

    @property
    def observed_torque_ftlb(self) -> np.ndarray:
        return self.torque_ftlb / self.factor

    @property
    def observed_power_hp(self) -> np.ndarray:
        return self.power_hp / self.factor

    @property
    def peak_power(self) -> tuple[float, float]:
        """(power hp, where on the axis) at the highest corrected power."""
        return _peak(self.x, self.power_hp)

    @property
    def peak_torque(self) -> tuple[float, float]:
        """(torque ft-lb, where on the axis) at the highest corrected torque."""
        return _peak(self.x, self.torque_ftlb)

    def read_at(self, x: float) -> dict[str, float]:
        """Every trace at one point of the axis, linearly between grid points; NaN outside the
        pull (a run that did not reach that rpm reads nothing there)."""
        inside = self.x.size > 0 and self.x[0] <= x <= self.x[-1]
        return {name: float(np.interp(x, self.x, values)) if inside else math.nan
                for name, values in self.traces().items()}

    def traces(self) -> dict[str, np.ndarray]:
        return {"torque_ftlb": self.torque_ftlb, "power_hp": self.power_hp,
                "afr_front": self.afr_front, "afr_rear": self.afr_rear}


def _peak(x: np.ndarray, values: np.ndarray) -> tuple[float, float]:
    if not np.isfinite(values).any():
        return math.nan, math.nan
    i = int(np.nanargmax(values))
    return float(values[i]), float(x[i])


def weather_of(frame: pd.DataFrame, pull: Pull, recorded: Weather | None) -> Weather:
    """The air of the pull: the log's own weather channels (medians over the pull) where it has
    them, else the weather recorded with the run."""
    rows = frame.iloc[pull.start:pull.stop]
    read = {}
    for channel in ("baro_kpa", "ambient_temp_c", "humidity_pct"):
        values = _column(rows, channel)
        read[channel] = float(np.nanmedian(values)) if values is not None else None
    fallback = recorded if recorded is not None else Weather()
    return Weather(read["baro_kpa"] if read["baro_kpa"] is not None else fallback.baro_kpa,
                   read["ambient_temp_c"] if read["ambient_temp_c"] is not None
                   else fallback.ambient_temp_c,
                   read["humidity_pct"] if read["humidity_pct"] is not None
                   else fallback.humidity_pct)


def power_curve(frame: pd.DataFrame, pull: Pull, weather: Weather | None = None,
                standard: Standard = Standard.SAE_J1349, smoothing: int = DEFAULT_SMOOTHING,
                axis: str = "rpm") -> PowerCurve:
    """The pull's curves. Without the weather the standard needs, the figures are uncorrected
    and a note says so; InputError for a smoothing level or axis the app does not offer, or a
    pull without torque or power."""
    if smoothing not in SMOOTHING_LEVELS:
        raise InputError(f"smoothing level {smoothing!r} must be 0 to 5")
    if axis not in AXIS_STEPS:
        raise InputError(f"curve axis {axis!r} must be one of: {', '.join(AXIS_STEPS)}")
    rows = frame.iloc[pull.start:pull.stop]
    along = _column(rows, axis)
    if along is None:
        raise InputError(f"the pull at {pull.label} has no {axis} channel to draw against")
    torque, power = _torque_and_power(rows)
    notes: list[str] = []
    air = weather_of(frame, pull, weather)
    try:
        factor = correction_factor(standard, air)
    except InputError as exc:
        notes.append(f"{exc}: figures are uncorrected")
        standard, factor = Standard.UNCORRECTED, 1.0
    step = AXIS_STEPS[axis]
    x, binned = _on_grid(along, {"torque_ftlb": torque, "power_hp": power,
                                 "afr_front": _column(rows, "afr_front"),
                                 "afr_rear": _column(rows, "afr_rear")}, step)
    smoothed = {k: _moving_mean(v, smoothing) for k, v in binned.items()}
    return PowerCurve(axis, x, smoothed["torque_ftlb"] * factor, smoothed["power_hp"] * factor,
                      smoothed["afr_front"], smoothed["afr_rear"], standard, factor, smoothing,
                      tuple(notes))


def _torque_and_power(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    torque, power, rpm = (_column(rows, c) for c in ("torque_ftlb", "power_hp", "rpm"))
    if torque is None and power is None:
        raise InputError("the pull has neither torque nor power: the log holds no dyno "
                         "readings (torque_ftlb / power_hp)")
    with np.errstate(invalid="ignore", divide="ignore"):
        if torque is None:
            assert power is not None and rpm is not None
            torque = np.where(rpm > 0, power / (rpm * HP_PER_FTLB_RPM), np.nan)
        if power is None:
            assert rpm is not None
            power = torque * rpm * HP_PER_FTLB_RPM
    return torque, power


def _on_grid(along: np.ndarray, traces: dict[str, np.ndarray | None], step: float
             ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Each trace averaged per grid step of ``along`` (multiples of ``step``), empty steps
    inside the covered span interpolated; a trace the log lacks is all NaN."""
    good = np.isfinite(along)
    if not good.any():
        raise InputError("the pull has no readable axis values")
    index = np.rint(along[good] / step).astype(np.int64)
    first, last = int(index.min()), int(index.max())
    x = np.arange(first, last + 1) * step
    out = {}
    for name, values in traces.items():
        if values is None:
            out[name] = np.full(x.size, np.nan)
            continue
        v = values[good]
        ok = np.isfinite(v)
        sums = np.bincount(index[ok] - first, weights=v[ok], minlength=x.size)
        counts = np.bincount(index[ok] - first, minlength=x.size)
        means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
        filled = np.flatnonzero(counts > 0)
        if filled.size >= 2:
            span = slice(filled[0], filled[-1] + 1)
            inside = np.arange(x.size)[span]
            means[span] = np.interp(inside, filled, means[filled])
        out[name] = means
    return x, out


@dataclass(frozen=True)
class CurveDelta:
    """After − before on the rpm (or speed) both pulls covered."""

    x: np.ndarray
    torque_ftlb: np.ndarray
    power_hp: np.ndarray
    afr_front: np.ndarray
    afr_rear: np.ndarray

    @property
    def most_power_gained(self) -> tuple[float, float]:
        """(hp, where) of the largest power gain."""
        return _peak(self.x, self.power_hp)


def delta(after: PowerCurve, before: PowerCurve) -> CurveDelta:
    """After − before over the overlap of the two pulls; InputError when they share no rpm (or
    are drawn against different axes)."""
    if after.axis != before.axis:
        raise InputError(f"cannot subtract a curve against {before.axis} from one against "
                         f"{after.axis}")
    x, a, b = aligned(after, before)
    if x.size == 0:
        raise InputError(f"the two pulls share no {after.axis}: "
                         f"{_span(after)} against {_span(before)}")
    return CurveDelta(x, *(a[k] - b[k] for k in ("torque_ftlb", "power_hp", "afr_front",
                                                 "afr_rear")))


def aligned(*curves: PowerCurve) -> tuple[np.ndarray, ...]:
    """The grid points every curve covers, and each curve's traces there."""
    if not curves:
        return (np.empty(0),)
    step = AXIS_STEPS[curves[0].axis]
    keys = [np.rint(c.x / step).astype(np.int64) for c in curves]
    common = keys[0]
    for k in keys[1:]:
        common = np.intersect1d(common, k)
    picked = []
    for curve, k in zip(curves, keys, strict=True):
        where = np.searchsorted(k, common)
        picked.append({name: v[where] for name, v in curve.traces().items()})
    return (common * step, *picked)


def union_span(curves: Sequence[PowerCurve]) -> tuple[float, float]:
    """The axis range covering every curve (to draw runs of different rpm ranges together)."""
    spans = [(c.x[0], c.x[-1]) for c in curves if c.x.size]
    if not spans:
        return math.nan, math.nan
    return float(min(s[0] for s in spans)), float(max(s[1] for s in spans))


def _span(curve: PowerCurve) -> str:
    if curve.x.size == 0:
        return "nothing"
    return f"{curve.x[0]:,.0f}–{curve.x[-1]:,.0f}"
