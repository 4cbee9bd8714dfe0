"""Wideband transport delay: the AFR a sensor reads now was burnt an rpm-dependent time ago.

The delay is exhaust transport from the valve to the sensor plus the sensor's own response. At
low rpm the gas is slow: about 0.25 s at 1000 rpm, falling to about 0.06 s at 5000 rpm for a
bung a hand's width from the head (the curve below; typical of LC-2/AEM X-series widebands on
Harley headers). It can be given (``delay_ms``) or measured from the log's own throttle steps:
the time from the throttle's step to the AFR's fastest change, median per rpm band.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

DEFAULT_DELAY_RPM = np.array([750.0, 1000.0, 1500.0, 2000.0, 3000.0, 4000.0, 5000.0, 6500.0])
DEFAULT_DELAY_MS = np.array([310.0, 250.0, 165.0, 125.0, 88.0, 71.0, 62.0, 54.0])
REPORT_RPM = np.array([1000.0, 1500.0, 2000.0, 2500.0, 3000.0, 3500.0, 4000.0, 4500.0,
                       5000.0, 5500.0, 6000.0, 6500.0])
"""Band centres the delay is reported and measured at (each band ±250 rpm)."""

STEP_MIN_PCT = 8.0
"""A throttle move at least this big within STEP_WINDOW_S is a step the delay is timed from."""
STEP_WINDOW_S = 0.15
RESPONSE_WINDOW_S = 0.6
RESPONSE_MIN_AFR = 0.3
MIN_STEPS_PER_BAND = 6
"""Measurements (both widebands count) a band needs for its own median."""


def default_curve() -> tuple[FloatArray, FloatArray]:
    """(rpm, delay ms) of the default curve."""
    return DEFAULT_DELAY_RPM.copy(), DEFAULT_DELAY_MS.copy()


def delay_s_at(rpm: FloatArray, curve: tuple[FloatArray, FloatArray]) -> FloatArray:
    """Delay in seconds at each rpm (interpolated, clamped at the curve's ends; NaN rpm -> the
    curve's first value)."""
    rpm_c, ms = curve
    r = np.where(np.isfinite(rpm), rpm, rpm_c[0])
    return np.interp(r, rpm_c, ms) / 1000.0


@dataclass(frozen=True, eq=False)
class ReadPoints:
    """Where each sample's AFR is read, ``delay_s`` later: between samples ``i`` and ``j`` at
    ``frac``; ``inside`` false where that falls past the end of the sample's segment."""

    i: npt.NDArray[np.intp]
    j: npt.NDArray[np.intp]
    frac: FloatArray
    inside: BoolArray


def read_points(time_s: FloatArray, delay_s: FloatArray, segment: npt.NDArray[np.intp],
                ) -> ReadPoints:
    """The read points of every sample (shared by both cylinders' widebands)."""
    n = time_s.size
    if n < 2:
        zeros = np.zeros(n, dtype=np.intp)
        return ReadPoints(zeros, zeros, np.zeros(n), np.ones(n, dtype=bool))
    t_read = time_s + delay_s
    j = np.clip(np.searchsorted(time_s, t_read, side="left"), 1, n - 1)
    i = j - 1
    span = time_s[j] - time_s[i]
    frac = np.clip(np.divide(t_read - time_s[i], span, out=np.zeros(n), where=span > 0), 0, 1)
    # On a sample only that sample counts; between two, both must be in the segment.
    inside = np.where(frac == 0.0, segment[i] == segment,
                      np.where(frac == 1.0, segment[j] == segment,
                               (segment[i] == segment) & (segment[j] == segment)))
    return ReadPoints(i, j, frac, inside & (t_read <= time_s[-1]))


def align_at(points: ReadPoints, afr: FloatArray, usable: BoolArray,
             ) -> tuple[FloatArray, BoolArray]:
    """(AFR read at ``points``, linearly interpolated; whether it is usable)."""
    i, j, frac = points.i, points.j, points.frac
    at_i, at_j = frac == 0.0, frac == 1.0
    out = np.where(at_i, afr[i], np.where(at_j, afr[j], afr[i] * (1.0 - frac) + afr[j] * frac))
    ok = np.where(at_i, usable[i], np.where(at_j, usable[j], usable[i] & usable[j]))
    return out, ok & points.inside


def align(time_s: FloatArray, afr: FloatArray, usable: BoolArray, delay_s: FloatArray,
          segment: npt.NDArray[np.intp]) -> tuple[FloatArray, BoolArray]:
    """The AFR that belongs to each sample: read ``delay_s`` later, linearly interpolated.

    Returns (aligned AFR, usable); a read past the end of the sample's segment is not usable.
    """
    return align_at(read_points(time_s, delay_s, segment), afr, usable)


def measure_steps(time_s: FloatArray, rpm: FloatArray, tps: FloatArray, afr: FloatArray,
                  usable: BoolArray, segment: npt.NDArray[np.intp],
                  dt_s: float | None = None) -> tuple[FloatArray, FloatArray]:
    """(rpm, delay s) of each throttle step whose AFR response is clear.

    A step: the throttle moves ≥ STEP_MIN_PCT within STEP_WINDOW_S; its time is where it moves
    fastest. Its response: the fastest AFR change within RESPONSE_WINDOW_S after it, if the AFR
    moved ≥ RESPONSE_MIN_AFR there and was usable throughout. Vectorised over steps.
    """
    n = time_s.size
    empty = (np.empty(0), np.empty(0))
    if n < 10 or not np.isfinite(tps).any():
        return empty
    dt = dt_s if dt_s is not None else float(np.median(np.diff(time_s)))
    if not dt > 0:
        return empty
    k = max(1, int(round(STEP_WINDOW_S / dt)))
    tps_f = np.where(np.isfinite(tps), tps, 0.0)
    moved = np.zeros(n)
    moved[:-k] = np.abs(tps_f[k:] - tps_f[:-k])
    same_seg = np.zeros(n, dtype=bool)
    same_seg[:-k] = segment[k:] == segment[:-k]
    is_step = (moved >= STEP_MIN_PCT) & same_seg
    if not is_step.any():
        return empty
    # One step per run of flagged samples, timed at the middle of its largest sample-to-sample
    # throttle move (the AFR response is timed the same way, so a sharp step times exactly).
    starts = np.flatnonzero(is_step & ~np.concatenate(([False], is_step[:-1])))
    jump = np.abs(np.diff(tps_f, append=tps_f[-1]))
    win = np.clip(starts[:, None] + np.arange(k + 1)[None, :], 0, n - 2)
    t0_idx = win[np.arange(starts.size), np.argmax(jump[win], axis=1)]
    t0 = 0.5 * (time_s[t0_idx] + time_s[t0_idx + 1])
    m = max(2, int(round(RESPONSE_WINDOW_S / dt)))
    resp = np.clip(t0_idx[:, None] + np.arange(m + 1)[None, :], 0, n - 1)
    afr_f = np.where(usable, afr, np.nan)
    a = afr_f[resp]
    good = np.isfinite(a).all(axis=1) & (segment[resp] == segment[t0_idx][:, None]).all(axis=1)
    good &= (t0_idx + m) < n
    # Steps too close to the next one are ambiguous.
    nxt = np.append(t0_idx[1:], n + m)
    good &= (nxt - t0_idx) > m
    if not good.any():
        return empty
    a, resp, t0_idx, t0 = a[good], resp[good], t0_idx[good], t0[good]
    swing = np.nanmax(a, axis=1) - np.nanmin(a, axis=1)
    da = np.abs(np.diff(a, axis=1))
    peak = np.argmax(da, axis=1)
    # The fastest change lies between samples peak and peak+1: time it at their midpoint.
    t_resp = 0.5 * (time_s[resp[np.arange(resp.shape[0]), peak]]
                    + time_s[resp[np.arange(resp.shape[0]), peak + 1]])
    delay = t_resp - t0
    keep = (swing >= RESPONSE_MIN_AFR) & (delay > 0)
    return rpm[t0_idx][keep], delay[keep]


def curve_from_steps(step_rpm: FloatArray, step_delay_s: FloatArray,
                     ) -> tuple[FloatArray, FloatArray] | None:
    """A delay curve from measured steps: the median per rpm band with ≥ MIN_STEPS_PER_BAND
    measurements; other bands follow the default curve shifted by the median measured −
    default difference (the wideband's update interval and the engine's own lag add a roughly
    constant time, so a shift extrapolates better than a scale). None when no band has enough
    steps."""
    finite = np.isfinite(step_rpm) & np.isfinite(step_delay_s)
    step_rpm, step_delay_s = step_rpm[finite], step_delay_s[finite]
    if step_rpm.size < MIN_STEPS_PER_BAND:
        return None
    band = np.clip(np.round((step_rpm - REPORT_RPM[0]) / 500.0).astype(int), 0,
                   REPORT_RPM.size - 1)
    medians = np.full(REPORT_RPM.size, np.nan)
    for b in np.unique(band):  # a dozen bands at most, not a loop per sample
        sel = band == b
        if sel.sum() >= MIN_STEPS_PER_BAND:
            medians[b] = np.median(step_delay_s[sel]) * 1000.0
    if not np.isfinite(medians).any():
        return None
    default_ms = np.interp(step_rpm, DEFAULT_DELAY_RPM, DEFAULT_DELAY_MS)
    shift_ms = float(np.median(step_delay_s * 1000.0 - default_ms))
    shifted = np.maximum(np.interp(REPORT_RPM, DEFAULT_DELAY_RPM, DEFAULT_DELAY_MS) + shift_ms,
                         0.0)
    return REPORT_RPM.copy(), np.where(np.isfinite(medians), medians, shifted)


def report_pairs(curve: tuple[FloatArray, FloatArray]) -> list[list[float]]:
    """``[[rpm, ms], ...]`` at the report's band centres, ms to 0.1."""
    ms = np.interp(REPORT_RPM, *curve)
    return [[float(r), round(float(v), 1)] for r, v in zip(REPORT_RPM, ms, strict=True)]
