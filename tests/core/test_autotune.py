"""Autotune's engine on synthetic logs: sign, filters, binning, limits, pooling (issue 15)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from dynoai_desktop.core.autotune import AutotuneSettings, LogData, autotune
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.overlay import OverlayKind, OverlaySource
from dynoai_desktop.core.table import Table
from tests.core.autotune_logs import MAP, RPM, steady_log, ve_table

NO_DELAY = AutotuneSettings(delay_ms=0.0)


def _cell(result, name: str, rpm: float, load: float):  # noqa: ANN001, ANN202
    return next(c for c in result.tables[name].cells if c.rpm == rpm and c.load == load)


def test_a_lean_log_raises_ve_and_a_rich_log_lowers_it() -> None:
    table = ve_table()
    lean = autotune([steady_log(afr=13.65, target=13.0)], {"ve_front": table}, None, NO_DELAY)
    rich = autotune([steady_log(afr=12.35, target=13.0)], {"ve_front": table}, None, NO_DELAY)
    r, c = 2, 2  # 3000 rpm, 60 kPa
    up = _cell(lean, "ve_front", 3000.0, 60.0)
    down = _cell(rich, "ve_front", 3000.0, 60.0)
    assert up.correction_pct == pytest.approx(5.0, abs=0.1)
    assert down.correction_pct == pytest.approx(-5.0, abs=0.1)
    assert lean.tables["ve_front"].corrected.values[r, c] > table.values[r, c]
    assert rich.tables["ve_front"].corrected.values[r, c] < table.values[r, c]
    assert up.held_reason is None and up.samples_used == 1000
    # The AFR error tuners read: measured − target, in AFR.
    assert lean.tables["ve_front"].afr_error[r, c] == pytest.approx(0.65, abs=0.01)
    assert rich.tables["ve_front"].afr_error[r, c] == pytest.approx(-0.65, abs=0.01)
    assert np.isnan(lean.tables["ve_front"].afr_error[0, 0])


def test_the_target_on_the_command_line_overrides_the_logs() -> None:
    result = autotune([steady_log(afr=14.0, target=13.0)], {"ve_front": ve_table()}, 14.0,
                      NO_DELAY)
    assert _cell(result, "ve_front", 3000.0, 60.0).correction_pct == pytest.approx(0.0, abs=0.1)


def test_untouched_cells_stay_bitwise_equal() -> None:
    table = ve_table()
    result = autotune([steady_log(afr=13.65)], {"ve_front": table}, None, NO_DELAY)
    corrected = result.tables["ve_front"].corrected.values
    changed = corrected.view(np.int64) != table.values.view(np.int64)
    assert changed.sum() == 1 and changed[2, 2]
    assert np.isnan(result.tables["ve_front"].change_pct[~changed]).all()


def test_the_authority_limit_clamps_and_says_so() -> None:
    table = ve_table()
    for limit in (10.0, 4.0):
        result = autotune([steady_log(afr=16.9)], {"ve_front": table}, None,
                          AutotuneSettings(delay_ms=0.0, max_change_pct=limit))
        cell = _cell(result, "ve_front", 3000.0, 60.0)
        assert cell.correction_pct == pytest.approx(30.0, abs=0.3)
        assert cell.applied_change_pct == pytest.approx(limit)
        assert cell.held_reason == "clamped"
        assert result.tables["ve_front"].corrected.values[2, 2] == pytest.approx(
            round(table.values[2, 2] * (1 + limit / 100), 2))


def test_a_sample_near_a_cell_centre_counts_more() -> None:
    # 3250 rpm is a quarter of the way from 3000 to 4000: 3/4 of its weight goes to 3000.
    result = autotune([steady_log(rpm=3250.0)], {"ve_front": ve_table()}, None,
                      AutotuneSettings(delay_ms=0.0, min_weight=1.0))
    near = _cell(result, "ve_front", 3000.0, 60.0)
    far = _cell(result, "ve_front", 4000.0, 60.0)
    assert near.weight == pytest.approx(750.0, abs=0.5)
    assert far.weight == pytest.approx(250.0, abs=0.5)
    assert near.samples_used == 1000 and far.samples_used == 0


def test_the_table_is_fitted_so_its_lookups_hit_the_target_between_breakpoints() -> None:
    # A hold at 80 kPa on target, then a pull at 90 kPa (halfway under the 100 kPa row) 5 %
    # lean: the 100 kPa cell must carry all of that, so the lookup at 90 kPa comes out right.
    table = ve_table()
    hold = steady_log(rpm=3000.0, map_kpa=80.0, afr=13.0)
    pull = steady_log(rpm=3000.0, map_kpa=90.0, afr=13.65, t0=20.0)
    result = autotune([hold, pull], {"ve_front": table}, None, NO_DELAY)
    corrected = result.tables["ve_front"].corrected
    assert float(corrected.lookup(3000.0, 90.0)) == pytest.approx(
        1.05 * float(table.lookup(3000.0, 90.0)), rel=0.002)
    assert float(corrected.lookup(3000.0, 80.0)) == pytest.approx(
        float(table.lookup(3000.0, 80.0)), rel=0.002)


def test_too_little_weight_is_held_back() -> None:
    result = autotune([steady_log(seconds=1.0, afr=13.65)], {"ve_front": ve_table()}, None,
                      AutotuneSettings(delay_ms=0.0, min_weight=500.0))
    cell = _cell(result, "ve_front", 3000.0, 60.0)
    assert cell.held_reason == "too_few_samples" and cell.applied_change_pct == 0.0
    assert not result.tables["ve_front"].mask.any()


def test_a_wide_interval_is_held_back() -> None:
    rng = np.random.default_rng(3)
    afr = 13.0 + rng.normal(0.0, 2.0, 100).repeat(10)  # very noisy, slowly changing
    afr = np.clip(afr, 10.5, 19.0)
    result = autotune([steady_log(afr=afr)], {"ve_front": ve_table()}, None, NO_DELAY)
    cell = _cell(result, "ve_front", 3000.0, 60.0)
    assert cell.ci95_pct is not None and cell.ci95_pct > 2.0
    assert cell.held_reason == "ci_too_wide"


def test_a_cell_surely_far_off_is_corrected_though_its_interval_is_wide() -> None:
    # 14 % lean, ± about 2.5 %: surely lean by more than the authority; corrected, clamped.
    rng = np.random.default_rng(3)
    afr = 13.0 * 1.14 + rng.normal(0.0, 1.1, 100).repeat(10)
    result = autotune([steady_log(afr=afr)], {"ve_front": ve_table()}, None, NO_DELAY)
    cell = _cell(result, "ve_front", 3000.0, 60.0)
    assert cell.ci95_pct is not None and 2.0 < cell.ci95_pct < 0.25 * cell.correction_pct
    assert cell.held_reason == "clamped" and cell.applied_change_pct == pytest.approx(10.0)


def test_a_cold_engine_is_rejected_as_warmup() -> None:
    result = autotune([steady_log(engine_temp_c=35.0)], {"ve_front": ve_table()}, None, NO_DELAY)
    cell = _cell(result, "ve_front", 3000.0, 60.0)
    assert cell.rejected["warmup"] == 1000 and cell.samples_used == 0


def test_bad_sensor_readings_are_rejected_as_invalid_afr() -> None:
    status = np.zeros(1000)
    status[:300] = 3  # sensor error
    afr = np.full(1000, 13.0)
    afr[300:400] = 9.0  # out of range
    afr[400:500] = 20.0
    result = autotune([steady_log(afr=afr, afr_front_status=status)],
                      {"ve_front": ve_table()}, None, NO_DELAY)
    cell = _cell(result, "ve_front", 3000.0, 60.0)
    assert cell.rejected["invalid_afr"] == 500
    assert cell.samples_used == 500


def test_misfire_spikes_are_rejected_and_leave_the_mixture_unbiased() -> None:
    # Idle-ish hold on target; a partial misfire once a second reads 40-70 % lean for 80 ms.
    afr = np.full(1000, 13.0)
    for start in range(37, 1000, 100):
        afr[start:start + 8] = 13.0 * np.array([1.2, 1.5, 1.7, 1.7, 1.6, 1.4, 1.2, 1.1])
    result = autotune([steady_log(afr=afr)], {"ve_front": ve_table()}, None, NO_DELAY)
    cell = _cell(result, "ve_front", 3000.0, 60.0)
    assert cell.rejected["invalid_afr"] >= 60
    assert cell.correction_pct == pytest.approx(0.0, abs=0.2)
    assert cell.rejected["dwell"] == 0  # the spikes do not cut the hold into short pieces


def test_a_stuck_wideband_is_no_usable_afr() -> None:
    log = steady_log()
    cols = dict(log.columns)
    cols["afr_front"] = np.full(cols["time_s"].size, 10.0)
    with pytest.raises(InputError, match="no usable AFR in stuck.*stuck at 10.00"):
        autotune([LogData("stuck", cols)], {"ve_front": ve_table()}, None, NO_DELAY)


def test_steady_overrun_on_a_shut_throttle_is_rejected() -> None:
    # Engine braking at a steady 3000 rpm: fuel flows, the AFR reads lean, says nothing of VE.
    result = autotune([steady_log(tps=0.5, map_kpa=20.0, afr=17.5)], {"ve_front": ve_table()},
                      None, NO_DELAY)
    cell = _cell(result, "ve_front", 3000.0, 20.0)
    assert cell.rejected["closed_throttle"] == 1000
    assert cell.samples_used == 0 and cell.correction_pct is None
    assert not result.tables["ve_front"].mask.any()


def test_steady_overrun_with_the_dyno_reading_no_drive_is_rejected() -> None:
    # The roller drives the engine: the dyno's torque reads 0 (or a spike now and then).
    torque = np.zeros(1000)
    torque[::97] = 15.0
    result = autotune([steady_log(tps=0.0, map_kpa=20.0, afr=17.5, torque_ftlb=torque)],
                      {"ve_front": ve_table()}, None, NO_DELAY)
    assert _cell(result, "ve_front", 3000.0, 20.0).rejected["closed_throttle"] == 1000


def test_idle_on_a_shut_throttle_is_kept() -> None:
    # Idle at 1000 rpm, clutch in (no torque at the roller): fuelled from the table.
    result = autotune([steady_log(rpm=1000.0, tps=0.0, map_kpa=40.0, afr=13.39,
                                  torque_ftlb=0.0)], {"ve_front": ve_table()}, None, NO_DELAY)
    cell = _cell(result, "ve_front", 1000.0, 40.0)
    assert cell.rejected["closed_throttle"] == 0
    assert cell.correction_pct == pytest.approx(3.0, abs=0.1)


def test_a_shut_throttle_hold_the_engine_drives_is_kept() -> None:
    # A light-load hold on a load-control dyno: throttle shut, the idle air makes 6 lb-ft
    # against the brake; the ECM fuels it from the table, so its AFR says what VE needs.
    rng = np.random.default_rng(5)
    torque = np.clip(6.0 + rng.normal(0.0, 3.0, 1000), 0.0, None)
    result = autotune([steady_log(tps=0.0, map_kpa=20.0, afr=13.39, torque_ftlb=torque)],
                      {"ve_front": ve_table()}, None, NO_DELAY)
    cell = _cell(result, "ve_front", 3000.0, 20.0)
    assert cell.rejected["closed_throttle"] == 0
    assert cell.correction_pct == pytest.approx(3.0, abs=0.1)
    assert cell.held_reason is None


def test_a_decel_reading_a_little_torque_is_still_a_decel() -> None:
    # Shut throttle, rpm falling 300 rpm/s, the dyno reading 6 lb-ft: not a hold.
    result = autotune([steady_log(rpm=np.linspace(4500.0, 1500.0, 1000), tps=0.0,
                                  map_kpa=25.0, afr=15.5, torque_ftlb=6.0)],
                      {"ve_front": ve_table()}, None, NO_DELAY)
    cells = result.tables["ve_front"].cells
    assert sum(c.samples_used for c in cells) == 0
    assert sum(c.rejected["closed_throttle"] for c in cells) == 1000


def test_throttle_steps_are_transients_with_a_settle_time() -> None:
    tps = np.where((np.arange(1000) // 250) % 2 == 0, 20.0, 45.0)  # a step every 2.5 s
    result = autotune([steady_log(tps=tps)], {"ve_front": ve_table()}, None, NO_DELAY)
    cell = _cell(result, "ve_front", 3000.0, 60.0)
    # Three steps, each rejected from its smoothed rise through the settle time (>= 0.3 s).
    assert 3 * 30 <= cell.rejected["transient"] <= 3 * 50
    assert cell.samples_used + cell.rejected["transient"] + cell.rejected["dwell"] == 1000


def test_map_swings_are_transients() -> None:
    map_kpa = 60.0 + 15.0 * np.sin(np.arange(1000) / 100.0 * 2 * np.pi * 1.0)
    result = autotune([steady_log(map_kpa=map_kpa)], {"ve_front": ve_table()}, None, NO_DELAY)
    rejected = sum(c.rejected["transient"] for c in result.tables["ve_front"].cells)
    assert rejected > 900


def test_short_steady_stretches_are_rejected_as_dwell() -> None:
    tps = np.full(1000, 30.0)
    tps[::80] = 60.0  # a blip every 0.8 s: 0.8 - settle leaves < 0.5 s steady
    result = autotune([steady_log(tps=tps)], {"ve_front": ve_table()}, None, NO_DELAY)
    cell = _cell(result, "ve_front", 3000.0, 60.0)
    assert cell.rejected["dwell"] > 0 and cell.samples_used == 0


def test_a_wot_pull_is_kept() -> None:
    # Throttle pinned, MAP steady near baro, rpm rising 2000 -> 5000 over 6 s.
    rpm = np.linspace(2000.0, 5000.0, 600)
    result = autotune([steady_log(seconds=6.0, rpm=rpm, tps=100.0, map_kpa=97.0, afr=13.26,
                                  target=13.0)],
                      {"ve_front": ve_table()}, None, AutotuneSettings(min_weight=20.0))
    cells = [c for c in result.tables["ve_front"].cells if c.load == 100.0]
    assert sum(c.rejected["transient"] for c in cells) == 0
    assert sum(c.samples_used for c in cells) > 550
    applied = [c for c in cells if c.held_reason is None]
    assert len(applied) >= 3
    # 2 % lean all along; a cell next to a held one carries a little more of the 2 % (the
    # fit keeps the held cell as it is and makes the lookups at 97 kPa right).
    assert all(c.correction_pct == pytest.approx(2.0, abs=0.3) for c in applied)


def test_closed_loop_samples_are_held_with_their_reason() -> None:
    result = autotune([steady_log(afr=13.65, cl_trim_front_pct=3.0)], {"ve_front": ve_table()},
                      None, NO_DELAY)
    cell = _cell(result, "ve_front", 3000.0, 60.0)
    assert cell.rejected["closed_loop"] == 1000
    assert cell.held_reason == "closed_loop"
    assert not result.tables["ve_front"].mask.any()


def test_front_and_rear_are_corrected_from_their_own_widebands() -> None:
    log = steady_log(afr=13.0)
    cols = dict(log.columns)
    cols["afr_rear"] = cols["afr_rear"] * 1.04
    result = autotune([LogData("l", cols)], {"ve_front": ve_table(), "ve_rear": ve_table()},
                      None, NO_DELAY)
    assert _cell(result, "ve_front", 3000.0, 60.0).correction_pct == pytest.approx(0.0, abs=0.1)
    assert _cell(result, "ve_rear", 3000.0, 60.0).correction_pct == pytest.approx(4.0, abs=0.1)


def test_tps_based_tables_bin_by_throttle() -> None:
    result = autotune([steady_log(tps=50.0, afr=13.39)], {"ve_front": ve_table(col_axis="tps_pct")},
                      None, NO_DELAY)
    assert _cell(result, "ve_front", 3000.0, 50.0).correction_pct == pytest.approx(3.0, abs=0.1)


def test_repeated_breakpoints_take_the_first_occurrence() -> None:
    # Power Vision style: descending rows with the top breakpoint repeated as padding.
    values = np.arange(36, dtype=float).reshape(6, 6) / 7.0 + 50.0
    table = Table("VE", "%", "rpm", "map_kpa", [5000, 5000, 4000, 3000, 2000, 1000],
                  [20, 40, 60, 80, 100, 100], values)
    result = autotune([steady_log(rpm=5000.0, map_kpa=100.0, afr=13.39)], {"ve_front": table},
                      None, NO_DELAY)
    corr = result.tables["ve_front"]
    assert corr.mask.sum() == 1 and corr.mask[0, 4]
    assert [(c.row, c.col) for c in corr.cells] == [(0, 4)]


def test_smoothing_never_blurs_a_strong_correction_into_its_neighbours() -> None:
    logs = [steady_log(rpm=3000.0, afr=13.0 * 1.08, t0=0.0, name="a"),
            steady_log(rpm=4000.0, afr=13.0, t0=20.0, name="b"),
            steady_log(rpm=2000.0, afr=13.0 * 1.01, t0=40.0, name="c"),
            steady_log(rpm=1000.0, afr=13.0, t0=60.0, name="d")]
    smooth = autotune(logs, {"ve_front": ve_table()}, None, NO_DELAY)
    rough = autotune(logs, {"ve_front": ve_table()}, None,
                     AutotuneSettings(delay_ms=0.0, smooth=False))
    s, r = smooth.tables["ve_front"].change_pct, rough.tables["ve_front"].change_pct
    assert s[2, 2] == pytest.approx(r[2, 2], abs=0.01)  # 8 % stays 8 %
    assert s[3, 2] == pytest.approx(r[3, 2], abs=0.01)  # its 0 % neighbour stays 0 %
    assert abs(s[1, 2] - r[1, 2]) < 0.3 and s[1, 2] != r[1, 2]  # 1 % next to 0 %: nudged
    assert np.array_equal(np.isnan(s), np.isnan(r))  # nothing spread into empty cells


def test_smoothing_moves_a_noisy_cell_toward_its_neighbours_and_a_sure_one_barely() -> None:
    from dynoai_desktop.core.autotune.cells import smooth

    applied = np.array([[2.0, 1.0, 2.0]])
    confidence = np.ones((1, 3))
    sure = smooth(applied, np.array([[0.2, 0.2, 0.2]]), confidence, 2.0, 1.0)
    noisy = smooth(applied, np.array([[0.2, 1.96, 0.2]]), confidence, 2.0, 1.0)
    assert sure[0, 1] == pytest.approx(1.0, abs=0.02)  # ±0.2 %: its own reading stands
    assert noisy[0, 1] == pytest.approx(1.5, abs=0.01)  # ±1.96 %, s = τ: halfway
    assert sure[0, 0] == pytest.approx(2.0, abs=0.02)


def test_several_logs_equal_their_concatenation_across_a_gap() -> None:
    rng = np.random.default_rng(5)
    logs = []
    for k in range(3):
        tps = np.where(np.arange(2000) % 700 < 350, 30.0, 55.0)
        rpm = 2500.0 + 400.0 * k + rng.normal(0, 20, 2000)
        map_kpa = 50.0 + 0.4 * tps + rng.normal(0, 0.5, 2000)
        afr = 13.0 * (1.0 + 0.02 * k) + rng.normal(0, 0.1, 2000)
        logs.append(steady_log(seconds=20.0, rpm=rpm, map_kpa=map_kpa, tps=tps, afr=afr,
                               t0=30.0 * k, name=f"log{k}"))
    joined = LogData("joined", {key: np.concatenate([log.columns[key] for log in logs])
                                for key in logs[0].columns})
    for settings in (NO_DELAY, AutotuneSettings()):
        apart = autotune(logs, {"ve_front": ve_table()}, None, settings)
        together = autotune([joined], {"ve_front": ve_table()}, None, settings)
        assert apart.delay_ms_by_rpm == together.delay_ms_by_rpm
        a, b = apart.tables["ve_front"], together.tables["ve_front"]
        assert [c.rejected for c in a.cells] == [c.rejected for c in b.cells]
        assert [c.samples_used for c in a.cells] == [c.samples_used for c in b.cells]
        np.testing.assert_allclose(a.change_pct, b.change_pct, rtol=1e-9, equal_nan=True)
        assert a.corrected == b.corrected


def test_the_overlay_adapter_carries_change_confidence_and_rich_evidence() -> None:
    table = ve_table()
    logs = [steady_log(rpm=3000.0, afr=12.35, name="rich"),
            steady_log(rpm=4000.0, afr=13.39, t0=20.0, name="lean")]
    result = autotune(logs, {"ve_front": table}, None, NO_DELAY)
    overlay = result.tables["ve_front"].to_overlay()
    assert overlay.kind is OverlayKind.MULTIPLICATIVE
    assert overlay.source is OverlaySource.AUTOTUNE
    assert overlay.mask.sum() == 2 and overlay.mask[2, 2] and overlay.mask[3, 2]
    assert overlay.change[2, 2] == pytest.approx(-5.0, abs=0.2)
    assert overlay.evidence[2, 2] == pytest.approx(5.0, abs=0.2)  # measured 5 % rich
    assert overlay.evidence[3, 2] == 0.0  # lean: no evidence for leaning
    assert 0.5 < overlay.confidence[2, 2] <= 1.0
    np.testing.assert_allclose(overlay.proposed(table.values)[overlay.mask],
                               result.tables["ve_front"].corrected.values[overlay.mask],
                               atol=0.006)


def test_locked_cells_are_held() -> None:
    locked = np.zeros((5, 5), dtype=bool)
    locked[2, 2] = True
    result = autotune([steady_log(afr=13.65)], {"ve_front": ve_table()}, None, NO_DELAY,
                      locked={"ve_front": locked})
    assert _cell(result, "ve_front", 3000.0, 60.0).held_reason == "locked"
    assert not result.tables["ve_front"].mask.any()


def test_default_and_given_delays_are_reported() -> None:
    default = autotune([steady_log()], {"ve_front": ve_table()})
    given = autotune([steady_log()], {"ve_front": ve_table()}, None, NO_DELAY)
    assert default.delay_source == "default" and given.delay_source == "given"
    by_rpm = dict((r, ms) for r, ms in default.delay_ms_by_rpm)
    assert by_rpm[1000.0] == pytest.approx(250.0) and 55.0 <= by_rpm[5000.0] <= 70.0
    assert all(ms == 0.0 for _, ms in given.delay_ms_by_rpm)
    assert RPM and MAP  # the synthetic grid the tests use


@hypothesis_settings(deadline=None, max_examples=30)
@given(factor=st.floats(0.8, 1.25), limit=st.floats(1.0, 20.0))
def test_any_lean_or_rich_log_moves_ve_the_right_way_within_the_limit(factor: float,
                                                                      limit: float) -> None:
    table = ve_table()
    result = autotune([steady_log(afr=13.0 * factor)], {"ve_front": table}, None,
                      AutotuneSettings(delay_ms=0.0, max_change_pct=limit))
    cell = _cell(result, "ve_front", 3000.0, 60.0)
    assert cell.correction_pct == pytest.approx((factor - 1.0) * 100.0, abs=0.1)
    moved = result.tables["ve_front"].corrected.values[2, 2] - table.values[2, 2]
    if abs(factor - 1.0) > 0.002:
        assert np.sign(moved) == np.sign(factor - 1.0)  # lean raises, rich lowers
    assert abs(cell.applied_change_pct) <= limit + 0.005  # the report rounds to 0.01
    assert abs(moved) <= table.values[2, 2] * limit / 100.0 + 0.006


def test_a_dead_rear_wideband_beside_a_good_front_one_is_a_warning() -> None:
    log = steady_log(afr=13.65)
    cols = dict(log.columns)
    cols["afr_rear"] = np.full(cols["time_s"].size, 10.0)
    result = autotune([LogData("l", cols)], {"ve_front": ve_table(), "ve_rear": ve_table()},
                      None, NO_DELAY)
    assert result.tables["ve_front"].mask.sum() == 1
    assert not result.tables["ve_rear"].mask.any()
    assert any("afr_rear stuck" in w for w in result.warnings)



def test_rows_with_no_rpm_or_load_are_counted_in_a_warning_and_change_nothing() -> None:
    log = steady_log(afr=13.65)
    cols = dict(log.columns)
    rpm, load = cols["rpm"].copy(), cols["map_kpa"].copy()
    rpm[:7] = np.nan  # logged before the dyno's first line
    load[-5:] = np.nan  # a MAP reading dropped
    cols.update(rpm=rpm, map_kpa=load)
    table = {"ve_front": ve_table(), "ve_rear": ve_table()}
    result = autotune([LogData("l", cols)], table, None, NO_DELAY)
    rows = rpm.size
    assert result.warnings == [f"l: 12 of {rows} rows have no rpm or map_kpa reading; no cell "
                               "can take them, so they are in no cell's counts"]
    clean = autotune([log], table, None, NO_DELAY)
    assert clean.warnings == []
    assert np.array_equal(result.tables["ve_front"].corrected.values,
                          clean.tables["ve_front"].corrected.values)

class _KnownSoak:
    """A compensation that says the second half of every log is inflated by ``pct``."""

    label = "test soak"

    def __init__(self, pct: float) -> None:
        self.pct = pct

    def inflation_pct(self, columns, settings=None):  # noqa: ANN001, ANN201
        t = columns["time_s"]
        return np.where(t >= t[0] + (t[-1] - t[0]) / 2.0, self.pct, 0.0)


def test_a_compensation_is_taken_out_of_the_readings_and_reported() -> None:
    lean = steady_log(afr=13.65, target=13.0)  # 5 % lean throughout
    plain = autotune([lean], {"ve_front": ve_table()}, None, NO_DELAY)
    soaked = autotune([lean], {"ve_front": ve_table()}, None, NO_DELAY,
                      compensation=_KnownSoak(5.0))
    before = _cell(plain, "ve_front", 3000.0, 60.0)
    after = _cell(soaked, "ve_front", 3000.0, 60.0)
    # Half the samples had their 5 % taken out: the cell needs about 2.5 % less.
    assert after.correction_pct == pytest.approx(before.correction_pct - 2.5, abs=0.15)
    assert after.heat_soak_removed_pct == pytest.approx(2.5, abs=0.1)
    summary = soaked.report()["heat_soak"]
    assert summary["applied"] and summary["model"] == "test soak"
    assert summary["rows_compensated"] == lean.rows // 2
    assert summary["mean_removed_pct"] == pytest.approx(5.0)
    assert soaked.report()["tables"]["ve_front"]["cells"][0]["heat_soak_removed_pct"] >= 0.0


def test_without_a_compensation_the_report_is_what_it_was() -> None:
    result = autotune([steady_log(afr=13.65, target=13.0)], {"ve_front": ve_table()}, None,
                      NO_DELAY, compensation=None)
    report = result.report()
    assert "heat_soak" not in report
    assert all("heat_soak_removed_pct" not in c for c in report["tables"]["ve_front"]["cells"])
