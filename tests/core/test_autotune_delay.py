"""The wideband delay: measured from the log's own throttle steps, default and given (issue 15)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynoai_desktop.core.autotune import AutotuneSettings, LogData, autotune
from dynoai_desktop.core.autotune.delay import align, curve_from_steps, measure_steps
from tests.core.autotune_logs import ve_table


def _stepped_log(delay_s: float, rpm: float = 3000.0, steps: int = 8, phase_s: float = 0.0,
                 lag_s: float = 0.0) -> LogData:
    """Throttle steps 20 <-> 45 % every 2 s; the AFR answers each `delay_s` later (optionally
    through a first-order sensor lag), going 0.8 AFR lean on a tip-in and rich on a chop."""
    n = steps * 200 + 200
    t = np.arange(n) / 100.0 + phase_s
    step_times = t[0] + 1.0 + 2.0 * np.arange(steps) + 0.004  # between two samples
    level = np.searchsorted(step_times, t, side="right") % 2  # 0, 1, 0, ...
    tps = np.where(level == 1, 45.0, 20.0)
    # The mixture the engine burnt, seen at the sensor `delay_s` later.
    seen = np.searchsorted(step_times + delay_s, t, side="right") % 2
    afr = np.where(seen == 1, 13.8, 13.0)
    if lag_s > 0:
        alpha = 1.0 - np.exp(-0.01 / lag_s)
        out = np.empty(n)
        out[0] = afr[0]
        for k in range(1, n):  # test data only: the engine itself never loops per sample
            out[k] = out[k - 1] + alpha * (afr[k] - out[k - 1])
        afr = out
    cols = {"time_s": t, "rpm": np.full(n, rpm), "map_kpa": 40.0 + tps, "tps_pct": tps,
            "afr_front": afr, "afr_target": np.full(n, 13.0), "engine_temp_c": np.full(n, 100.0)}
    return LogData("steps", cols)


@settings(deadline=None, max_examples=40)
@given(delay_ms=st.floats(30.0, 300.0), phase_s=st.floats(0.0, 0.01))
def test_a_step_shifted_by_a_known_delay_is_recovered_within_10_ms(delay_ms: float,
                                                                    phase_s: float) -> None:
    log = _stepped_log(delay_ms / 1000.0, phase_s=phase_s)
    c = log.columns
    seg = np.zeros(c["time_s"].size, dtype=np.intp)
    rpm, delays = measure_steps(c["time_s"], c["rpm"], c["tps_pct"], c["afr_front"],
                                np.ones(seg.size, dtype=bool), seg)
    assert delays.size == 8
    assert np.abs(delays * 1000.0 - delay_ms).max() <= 10.0
    curve = curve_from_steps(rpm, delays)
    assert curve is not None
    assert np.interp(3000.0, *curve) == pytest.approx(delay_ms, abs=10.0)


def test_a_lagging_sensor_is_timed_at_its_first_response() -> None:
    log = _stepped_log(0.12, lag_s=0.03)
    c = log.columns
    seg = np.zeros(c["time_s"].size, dtype=np.intp)
    _rpm, delays = measure_steps(c["time_s"], c["rpm"], c["tps_pct"], c["afr_front"],
                                 np.ones(seg.size, dtype=bool), seg)
    assert np.median(delays) == pytest.approx(0.12, abs=0.01)


def test_autotune_measures_the_delay_and_reports_it() -> None:
    result = autotune([_stepped_log(0.15)], {"ve_front": ve_table()})
    assert result.delay_source == "measured"
    by_rpm = dict((r, ms) for r, ms in result.delay_ms_by_rpm)
    assert by_rpm[3000.0] == pytest.approx(150.0, abs=10.0)


def test_with_the_delay_compensated_the_steps_leave_no_false_correction() -> None:
    # A tune that is right: the AFR only looks wrong if it is not shifted back.
    log = _stepped_log(0.2)
    cols = dict(log.columns)
    cols["afr_target"] = np.where(cols["tps_pct"] > 30, 13.8, 13.0)
    cols["afr_front"] = cols["afr_front"] + np.random.default_rng(1).normal(0, 0.02,
                                                                            cols["time_s"].size)
    loose = AutotuneSettings(delay_ms=200.0, settle_s=0.0, tps_rate_pct_per_s=1e9,
                             map_rate_kpa_per_s=1e9, min_weight=1.0)
    shifted = autotune([LogData("s", cols)], {"ve_front": ve_table()}, None, loose)
    cells = [c for c in shifted.tables["ve_front"].cells if c.correction_pct is not None]
    assert cells and all(abs(c.correction_pct) < 0.5 for c in cells)


def test_alignment_never_reads_across_a_seam() -> None:
    t = np.array([0.0, 0.1, 0.2, 5.0, 5.1])
    afr = np.array([13.0, 13.1, 13.2, 14.0, 14.1])
    seg = np.array([0, 0, 0, 1, 1], dtype=np.intp)
    out, ok = align(t, afr, np.ones(5, dtype=bool), np.full(5, 0.15), seg)
    assert ok.tolist() == [True, False, False, False, False]
    assert out[0] == pytest.approx(13.15)
