"""Reading a simulated Log CSV the way a tuner's tool would: steady segments, tip-in delay."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path

THROTTLE_RATE_PCT_PER_S = 2000.0  # sim.cell: how fast the simulated throttle moves


def read_log(path: Path) -> dict[str, list[float]]:
    """Columns of a Log CSV as float lists (NaN where empty)."""
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return {name: [float(r[name]) if r[name] != "" else math.nan for r in rows]
            for name in rows[0]}


def read_truth(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Segment:
    label: str
    start_s: float
    end_s: float


def steady_segments(truth: dict, end_s: float) -> list[Segment]:
    """The plan's steady holds (phase labels from --truth), settled parts not included."""
    phases = truth["phases"]
    out = []
    for i, phase in enumerate(phases):
        stop = phases[i + 1]["time_s"] if i + 1 < len(phases) else end_s
        if phase["detail"].startswith("hold") and "settling" not in phase["detail"]:
            out.append(Segment(phase["detail"], phase["time_s"], stop))
    return out


def mean_where(log: dict[str, list[float]], channel: str, start: float, end: float) -> float:
    """Mean of ``channel`` over valid samples (status 0) with start <= time_s < end."""
    status = {"afr_front": "afr_front_status", "afr_rear": "afr_rear_status"}.get(channel)
    values = [
        v for i, (t, v) in enumerate(zip(log["time_s"], log[channel], strict=True))
        if start <= t < end and not math.isnan(v) and (status is None or log[status][i] == 0)
    ]
    return sum(values) / len(values) if values else math.nan


def median_where(log: dict[str, list[float]], channel: str, start: float, end: float) -> float:
    """Median of ``channel`` over valid samples with start <= time_s < end (a misfire's lean
    spike at light load does not move it, as it moves the mean)."""
    status = {"afr_front": "afr_front_status", "afr_rear": "afr_rear_status"}.get(channel)
    values = sorted(
        v for i, (t, v) in enumerate(zip(log["time_s"], log[channel], strict=True))
        if start <= t < end and not math.isnan(v) and (status is None or log[status][i] == 0)
    )
    if not values:
        return math.nan
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2.0


def tip_in_times(log: dict[str, list[float]], low: float, high: float) -> list[float]:
    """When the throttle starts to open from ``low`` to ``high``: interpolated back from the
    first row that moved (the simulated throttle moves at a known rate)."""
    times, tps = log["time_s"], log["tps_pct"]
    out = []
    for i in range(1, len(tps) - 3):
        if abs(tps[i - 1] - low) < 0.5 and tps[i] > low + 0.5 and tps[i + 3] > high - 0.5:
            out.append(times[i] - (tps[i] - low) / THROTTLE_RATE_PCT_PER_S)
    return out


def response_onset_s(log: dict[str, list[float]], channel: str, tips: list[float],
                     fraction: float = 0.15) -> tuple[float, float, list[float]]:
    """Time from tip-in to ``fraction`` of the response, by intersecting intervals.

    The response is the reading's largest swing after the tip-in, either way: a port-injected
    engine goes lean first while the wall film builds, then accel enrichment catches up. A
    wideband samples every ~80-100 ms, so one tip-in only says the response began between two
    samples. With many tip-ins at different phases against the sensor's clock, the intersection
    of those intervals pins it down (equivalent-time sampling). A sample's own time is known to
    within one log row (it shows in the first row at or after it), which the interval allows
    for. Returns (estimate, interval width, per-tip amplitudes, + = lean).
    """
    times, values = log["time_s"], log[channel]
    row = times[1] - times[0]
    intervals, amplitudes = [], []
    for tip in tips:
        # samples = rows where the value changed, as (row time, value)
        samples, last = [], None
        for t, v in zip(times, values, strict=True):
            if tip - 0.5 <= t <= tip + 0.6 and not math.isnan(v) and v != last:
                samples.append((t, v))
                last = v
        before = [v for t, v in samples if t <= tip]
        if len(before) < 3:
            continue
        baseline = sum(before[-2:]) / 2.0  # the last two: the mixture may still be settling
        after = [(t, v) for t, v in samples if t > tip]
        amplitude = max((v - baseline for _, v in after), key=abs)
        amplitudes.append(amplitude)
        for k, (t, v) in enumerate(after):
            if (v - baseline) / amplitude > fraction:
                previous = after[k - 1][0] if k > 0 else max(t for t, _ in samples if t <= tip)
                intervals.append((previous - row - tip, t - tip))
                break
    middle, width = _most_agreed(intervals)
    return middle, width, amplitudes


def _most_agreed(intervals: list[tuple[float, float]]) -> tuple[float, float]:
    """Middle and width of the stretch inside the most intervals (robust to a stray one)."""
    edges = sorted({x for pair in intervals for x in pair})
    best, best_count = (math.nan, math.nan), -1
    for a, b in zip(edges, edges[1:], strict=False):
        mid = (a + b) / 2.0
        count = sum(lo <= mid <= hi for lo, hi in intervals)
        if count > best_count:
            best, best_count = (a, b), count
        elif count == best_count and a == best[1]:
            best = (best[0], b)
    return (best[0] + best[1]) / 2.0, best[1] - best[0]
