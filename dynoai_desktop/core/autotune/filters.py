"""Which samples say something about VE, and why the others do not (one reason per sample).

All vectorised over the log. A *segment* is a stretch of the log without a time gap; nothing
(smoothing, rates, settle time, dwell, delay) crosses from one segment into the next, so several
logs analysed together behave as if each were analysed alone.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from dynoai_desktop.core.autotune.settings import REJECT_REASONS, AutotuneSettings

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.intp]

USABLE = 0
CODE = {name: i + 1 for i, name in enumerate(REJECT_REASONS)}
"""Reason name -> the code a rejected sample carries (0: usable)."""


def segments(time_s: FloatArray, gap_s: float) -> IntArray:
    """Segment number of each sample: a new one after every gap longer than ``gap_s``."""
    if time_s.size == 0:
        return np.zeros(0, dtype=np.intp)
    return np.concatenate(([0], np.cumsum(np.diff(time_s) > gap_s))).astype(np.intp)


def _segment_bounds(segment: IntArray) -> tuple[IntArray, IntArray]:
    """First and last index of each sample's segment."""
    n = segment.size
    idx = np.arange(n)
    new = np.concatenate(([True], segment[1:] != segment[:-1]))
    first = np.maximum.accumulate(np.where(new, idx, 0))
    end = np.concatenate((segment[1:] != segment[:-1], [True]))
    last = np.minimum.accumulate(np.where(end, idx, n - 1)[::-1])[::-1]
    return first, last


def time_window(time_s: FloatArray, half_s: float, bounds: tuple[IntArray, IntArray],
                at: IntArray | None = None) -> tuple[IntArray, IntArray]:
    """For each sample (or the samples ``at``): the first and one-past-last index of the
    samples within ``half_s`` seconds either side, in its segment. By time, not by count, so a
    log stamped with jitter (rows a microsecond apart in a burst) gets the same windows as a
    regular one, and a window of a stream the same as the whole log's."""
    first, last = bounds
    t = time_s if at is None else time_s[at]
    if at is not None:
        first, last = first[at], last[at]
    lo = np.maximum(np.searchsorted(time_s, t - half_s, side="left"), first)
    hi = np.minimum(np.searchsorted(time_s, t + half_s, side="right"), last + 1)
    return lo, hi


def moving_mean(values: FloatArray, half_s: float, time_s: FloatArray, segment: IntArray,
                bounds: tuple[IntArray, IntArray] | None = None,
                at: IntArray | None = None,
                window: tuple[IntArray, IntArray] | None = None) -> FloatArray:
    """Centred moving mean over ``half_s`` seconds either side (NaN treated as absent), within
    each segment; at the samples ``at`` only (indices) when given. ``window``: the
    :func:`time_window` already worked out for these samples."""
    n = values.size
    if n == 0 or half_s <= 0:
        return values.copy() if at is None else values[at]
    lo, hi = window if window is not None else time_window(
        time_s, half_s, bounds if bounds is not None else _segment_bounds(segment), at)
    size = n if at is None else at.size
    ok = np.isfinite(values)
    csum = np.empty(n + 1)
    csum[0] = 0.0
    if ok.all():
        np.cumsum(values, out=csum[1:])
        count = hi - lo
    else:
        np.cumsum(np.where(ok, values, 0.0), out=csum[1:])
        ccount = np.concatenate(([0], np.cumsum(ok)))
        count = ccount[hi] - ccount[lo]
    return np.divide(csum[hi] - csum[lo], count, out=np.full(size, np.nan), where=count > 0)


def rate(values: FloatArray, time_s: FloatArray, segment: IntArray,
         bounds: tuple[IntArray, IntArray] | None = None, half_s: float = 0.0,
         at: IntArray | None = None,
         window: tuple[IntArray, IntArray] | None = None) -> FloatArray:
    """Rate of change per second between the ends of a window ``half_s`` seconds either side
    (at least the neighbouring samples), within each segment: a jittered log has no meaningful
    rate over one sample."""
    n = values.size
    size = n if at is None else at.size
    if n < 2:
        return np.zeros(size)
    bounds = bounds if bounds is not None else _segment_bounds(segment)
    lo, hi = window if window is not None else time_window(time_s, half_s, bounds, at)
    idx = np.arange(n) if at is None else at
    first, last = bounds[0][idx], bounds[1][idx]
    lo = np.minimum(lo, np.maximum(idx - 1, first))
    end = np.maximum(hi - 1, np.minimum(idx + 1, last))
    span = time_s[end] - time_s[lo]
    return np.divide(values[end] - values[lo], span, out=np.zeros(size), where=span > 0)


def sample_seconds(time_s: FloatArray, segment: IntArray) -> FloatArray:
    """The time each sample stands for: half the gap to each neighbour in its segment (the
    whole gap at a segment's ends). Local, so a stream's window gives the whole log's."""
    n = time_s.size
    if n < 2:
        return np.zeros(n)
    gap = np.diff(time_s)
    inside = segment[1:] == segment[:-1]
    gap = np.where(inside, gap, 0.0)
    before = np.concatenate(([0.0], gap))
    after = np.concatenate((gap, [0.0]))
    has_before = np.concatenate(([False], inside))
    has_after = np.concatenate((inside, [False]))
    both = has_before & has_after
    return np.where(both, 0.5 * (before + after), np.where(has_before, before, after))


def afr_usable(afr: FloatArray | None, status: FloatArray | None, n: int,
               settings: AutotuneSettings, check_stuck: bool = True,
               ) -> tuple[BoolArray, str | None]:
    """Samples whose AFR reading can be trusted, and why none can (None when some can).

    Usable: AFR strictly between ``afr_min`` and ``afr_max``, status 0 where there is a status
    column, and the column not stuck (its spread over the run at least ``stuck_spread_afr``).
    """
    if afr is None or not np.isfinite(afr).any():
        return np.zeros(n, dtype=bool), "no AFR values"
    ok = np.isfinite(afr) & (afr > settings.afr_min) & (afr < settings.afr_max)
    if status is not None:
        ok &= status == 0
    finite = afr[np.isfinite(afr)]
    spread = float(finite.max() - finite.min())
    if check_stuck and spread < settings.stuck_spread_afr:
        return np.zeros(n, dtype=bool), (
            f"stuck at {float(np.median(finite)):.2f} AFR: spread {spread:.3f} over the run")
    if not ok.any():
        return ok, (f"every reading out of {settings.afr_min:g}-{settings.afr_max:g} AFR or "
                    "with a sensor status other than 0")
    return ok, None


SPIKE_MAX_SHARE = 0.2
"""Lean readings more common than this around a sample are noise, not spikes."""


def lean_spikes(afr: FloatArray, usable: BoolArray, time_s: FloatArray, segment: IntArray,
                block_s: float, spike_pct: float) -> BoolArray:
    """Readings more than ``spike_pct`` leaner than the richest usable reading in their own
    ``block_s`` of time and the blocks either side (blocks are fixed slices of the clock, and
    restart at every seam, so the answer never depends on where a log or a buffer starts): a
    misfire's unburnt oxygen, or a pop, passing the sensor; not a mixture. A lean stretch
    reads lean all through and is kept; where lean readings are more than a fifth of those
    blocks the sensor is noisy, not spiking, and nothing is flagged (trimming its lean side
    would bias it rich)."""
    n = afr.size
    if n == 0 or block_s <= 0:
        return np.zeros(n, dtype=bool)
    x = np.where(usable & np.isfinite(afr), afr, np.inf)
    within = np.floor(time_s / block_s)
    new = np.empty(n, dtype=bool)
    new[0] = True
    new[1:] = (within[1:] != within[:-1]) | (segment[1:] != segment[:-1])
    key = np.cumsum(new) - 1
    starts = np.flatnonzero(new)
    same = segment[starts][1:] == segment[starts][:-1]  # block k and k + 1 share a segment

    def around(per_block: FloatArray, fill: float, op: np.ufunc) -> FloatArray:
        prev = np.concatenate(([fill], np.where(same, per_block[:-1], fill)))
        nxt = np.concatenate((np.where(same, per_block[1:], fill), [fill]))
        return op(op(prev, per_block), nxt)

    richest = around(np.minimum.reduceat(x, starts), np.inf, np.minimum)[key]
    candidate = usable & (afr > richest * (1.0 + spike_pct / 100.0))
    if not candidate.any():
        return candidate
    counts = np.diff(np.append(starts, n)).astype(np.float64)
    flagged = np.add.reduceat(candidate.astype(np.float64), starts)
    share = around(flagged, 0.0, np.add) / around(counts, 0.0, np.add)
    return candidate & (share[key] <= SPIKE_MAX_SHARE)


def engine_reasons(columns: dict[str, FloatArray], segment: IntArray,
                   settings: AutotuneSettings,
                   ) -> tuple[npt.NDArray[np.int8], BoolArray]:
    """Per sample: the engine-side reason code (warmup, closed_throttle, transient; 0 usable)
    and whether it is a steady WOT sample (kept even with rpm rising)."""
    time_s = columns["time_s"]
    n = time_s.size
    code = np.zeros(n, dtype=np.int8)
    tps = columns.get("tps_pct")
    map_kpa = columns.get("map_kpa")
    half = settings.smoothing_s / 2.0

    transient = np.zeros(n, dtype=bool)
    wot = np.zeros(n, dtype=bool)
    bounds = _segment_bounds(segment) if n else None
    window = time_window(time_s, half, bounds) if n else None  # shared by the four below
    if tps is not None:
        tps_s = moving_mean(tps, half, time_s, segment, bounds, window=window)
        transient |= np.abs(rate(tps_s, time_s, segment, bounds, half, window=window)) > \
            settings.tps_rate_pct_per_s
    if map_kpa is not None:
        map_s = moving_mean(map_kpa, half, time_s, segment, bounds, window=window)
        map_fast = np.abs(rate(map_s, time_s, segment, bounds, half, window=window)) > \
            settings.map_rate_kpa_per_s
        if tps is not None:
            baro = columns.get("baro_kpa")
            baro_kpa = np.where(np.isfinite(baro), baro, 100.0) if baro is not None else 100.0
            # A WOT pull: throttle pinned, MAP steady near baro, rpm rising; not a transient.
            wot = (tps >= settings.wot_tps_pct) & (
                map_s >= settings.wot_map_fraction_of_baro * baro_kpa)
            map_fast &= ~wot
        transient |= map_fast
    # Settle: a sample within settle_s after a transient is still transient. Segments are
    # separated by more than settle_s (seam_gap_s > settle_s), so this never crosses a seam.
    last = np.maximum.accumulate(np.where(transient, time_s, -np.inf)) if n else time_s
    transient |= (time_s - last) < settings.settle_s

    temp = columns.get("engine_temp_c")
    if temp is not None:
        code[np.isfinite(temp) & (temp < settings.warmup_below_c)] = CODE["warmup"]
    if tps is not None:
        shut = np.isfinite(tps) & (tps < settings.closed_throttle_below_pct)
        rpm = columns.get("rpm")
        if rpm is not None:
            shut &= ~(rpm <= settings.idle_max_rpm)  # idle: fuelled from the table
        torque = columns.get("torque_ftlb")
        if torque is not None and rpm is not None and shut.any():
            # The dyno says the engine drives the roller at a held rpm: a fuelled light-load
            # hold. A decel whose torque reads a little above nothing is still a decel.
            half_t = settings.torque_window_s / 2.0
            at = np.flatnonzero(shut)
            around = time_window(time_s, half_t, bounds, at)
            driving = moving_mean(torque, half_t, time_s, segment, bounds, at, around) >= \
                settings.driving_torque_ftlb
            held = np.abs(rate(rpm, time_s, segment, bounds, half_t, at, around)) <= \
                settings.hold_rpm_rate_per_s
            shut[at[driving & held]] = False
        code[(code == USABLE) & shut] = CODE["closed_throttle"]
    code[(code == USABLE) & transient] = CODE["transient"]
    return code, wot


def with_dwell(code: npt.NDArray[np.int8], time_s: FloatArray, segment: IntArray,
               min_dwell_s: float) -> npt.NDArray[np.int8]:
    """Reject (``dwell``) every usable stretch shorter than ``min_dwell_s``."""
    n = code.size
    if n == 0:
        return code
    usable = code == USABLE
    start = usable & ~np.concatenate(([False], usable[:-1] & (segment[1:] == segment[:-1])))
    run = np.cumsum(start) - 1  # run number of each usable sample (garbage elsewhere)
    run = np.where(usable, run, 0)
    if not usable.any():
        return code
    n_runs = int(run[usable].max()) + 1
    t_first = np.full(n_runs, np.inf)
    t_last = np.full(n_runs, -np.inf)
    np.minimum.at(t_first, run[usable], time_s[usable])
    np.maximum.at(t_last, run[usable], time_s[usable])
    short = (t_last - t_first) < min_dwell_s
    out = code.copy()
    out[usable & short[run]] = CODE["dwell"]
    return out
