"""Power curves: pulls found from rpm and throttle, corrected and smoothed curves, peaks against
hand-computed ones, runs of different rpm ranges compared, and a real WinPEP pull."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.power import (
    HP_PER_FTLB_RPM,
    din_70020_factor,
    sae_j1349_factor,
    std_factor,
)
from dynoai_desktop.core.power_curves import (
    PULL_TIP_IN_S,
    Standard,
    delta,
    find_pulls,
    parse_standard,
    power_curve,
    union_span,
    why_no_pull,
)
from dynoai_desktop.core.weather import Weather
from tests.realdata import REALDATA

WINPEP = REALDATA / "dynojet_wrl_134power.csv" if REALDATA is not None else None
STANDARD_DAY = Weather(99.0, 25.0, 0.0)  # SAE J1349's reference air: factor exactly 1


def torque_at(rpm: np.ndarray, peak_ftlb: float = 100.0, peak_rpm: float = 3500.0
              ) -> np.ndarray:
    """A parabola: torque peaks at ``peak_rpm``, 0.2 ft-lb lower per (100 rpm)² away."""
    return peak_ftlb - 2e-5 * (rpm - peak_rpm) ** 2


def session(pulls: list[tuple[float, float]], rate_hz: float = 100.0, idle_s: float = 5.0,
            rise_rpm_s: float = 400.0, **torque: float) -> pd.DataFrame:
    """Idle, then each (from, to) rpm pull at WOT, a throttle chop and the roll-down, idle."""
    rpm_parts, tps_parts = [], []
    for rpm_from, rpm_to in pulls:
        idle = np.full(int(idle_s * rate_hz), 1000.0)
        ramp_in = np.linspace(1000.0, rpm_from, int(2 * rate_hz))
        rise = np.arange(rpm_from, rpm_to, rise_rpm_s / rate_hz)
        down = np.linspace(rpm_to, 1000.0, int(4 * rate_hz))
        rpm_parts += [idle, ramp_in, rise, down]
        tps_parts += [np.full(idle.size, 2.0), np.full(ramp_in.size, 20.0),
                      np.full(rise.size, 100.0), np.full(down.size, 0.0)]
    rpm = np.concatenate(rpm_parts)
    tps = np.concatenate(tps_parts)
    wot = tps > 90
    load = np.where(wot, torque_at(rpm, **torque), 10.0)
    return pd.DataFrame({
        "time_s": np.arange(rpm.size) / rate_hz, "rpm": rpm, "tps_pct": tps,
        "torque_ftlb": load, "power_hp": load * rpm * HP_PER_FTLB_RPM,
        "afr_front": np.where(wot, 12.8, 14.5), "afr_rear": np.where(wot, 12.6, 14.5),
    })


def test_each_wot_pull_is_found_and_nothing_else() -> None:
    frame = session([(2000.0, 5500.0), (2500.0, 6000.0)])
    pulls = find_pulls(frame)
    tip_in_rpm = PULL_TIP_IN_S * 400.0  # the first 0.3 s at WOT are left out
    assert [(round(p.rpm_from, -1), round(p.rpm_to, -1)) for p in pulls] == [
        (2000.0 + tip_in_rpm, 5500.0), (2500.0 + tip_in_rpm, 6000.0)]


def test_a_part_throttle_roll_on_is_not_a_pull_unless_asked() -> None:
    frame = session([(2000.0, 5500.0)])
    frame.loc[frame["tps_pct"] > 90, "tps_pct"] = 50.0
    assert find_pulls(frame) == []
    assert len(find_pulls(frame, min_tps_pct=40.0)) == 1


def test_a_short_blip_is_not_a_pull() -> None:
    frame = session([(2000.0, 2600.0)])
    assert find_pulls(frame) == []


def test_when_no_pull_is_found_the_reason_says_what_the_log_did() -> None:
    cruise = session([(2000.0, 5500.0)])
    cruise["tps_pct"] = np.minimum(cruise["tps_pct"], 45.0)
    assert why_no_pull(cruise) == "the throttle never reached 80 % (at most 45 %)"
    blip = session([(2000.0, 2600.0)])
    assert why_no_pull(blip) == ("the rpm never rose 1,000 rpm in 1.5 s or more at full "
                                 "throttle (the log runs 1,000–2,600 rpm)")
    assert why_no_pull(blip.drop(columns="rpm")) == "the log has no engine speed (rpm)"


def test_peaks_match_the_hand_computed_ones() -> None:
    # Torque 100 - 2e-5 (n - 3500)²: peak 100 ft-lb at 3,500 rpm. Power ∝ n·T(n) peaks where
    # d/dn = 100 - 2e-5 (n - 3500)² - 4e-5 n (n - 3500) = 0, i.e. 6e-5 n² - 0.28 n + 145 = 0:
    # n = (0.28 + √(0.0784 - 0.0348)) / 1.2e-4 = 4,073 rpm, 72.46 hp (hand-computed).
    n = (0.28 + math.sqrt(0.28**2 - 4 * 6e-5 * 145)) / (2 * 6e-5)
    assert n == pytest.approx(4073, abs=1)
    peak_hp = (100 - 2e-5 * (n - 3500) ** 2) * n / 5252.113
    assert peak_hp == pytest.approx(72.46, abs=0.01)
    frame = session([(2000.0, 6000.0)])
    curve = power_curve(frame, find_pulls(frame)[0], STANDARD_DAY, smoothing=0)
    torque, torque_rpm = curve.peak_torque
    power, power_rpm = curve.peak_power
    assert torque == pytest.approx(100.0, abs=0.05)
    assert torque_rpm == pytest.approx(3500.0, abs=50.0)
    assert power == pytest.approx(peak_hp, abs=0.05)
    assert power_rpm == pytest.approx(n, abs=50.0)
    assert curve.factor == pytest.approx(1.0)


def test_correction_multiplies_and_the_observed_figures_stay() -> None:
    frame = session([(2000.0, 6000.0)])
    pull = find_pulls(frame)[0]
    hot_high = Weather(85.0, 35.0, 30.0)
    sae = power_curve(frame, pull, hot_high)
    raw = power_curve(frame, pull, hot_high, standard=Standard.UNCORRECTED)
    factor = sae_j1349_factor(85.0, 35.0, 30.0)
    assert sae.factor == pytest.approx(factor)
    np.testing.assert_allclose(sae.power_hp, raw.power_hp * factor)
    np.testing.assert_allclose(sae.observed_power_hp, raw.power_hp)
    din = power_curve(frame, pull, hot_high, standard=Standard.DIN_70020)
    std = power_curve(frame, pull, hot_high, standard=Standard.STD)
    assert std.peak_power[0] / sae.peak_power[0] == pytest.approx(
        std_factor(85.0, 35.0, 30.0) / factor)
    assert din.factor == pytest.approx(din_70020_factor(85.0, 35.0))


def test_without_weather_the_figures_say_they_are_uncorrected() -> None:
    frame = session([(2000.0, 6000.0)])
    curve = power_curve(frame, find_pulls(frame)[0], Weather())
    assert curve.standard is Standard.UNCORRECTED and curve.factor == 1.0
    assert "no weather recorded" in curve.notes[0]


def test_the_logs_own_weather_channels_win_over_the_runs_record() -> None:
    frame = session([(2000.0, 6000.0)])
    frame["baro_kpa"], frame["ambient_temp_c"], frame["humidity_pct"] = 90.0, 30.0, 20.0
    curve = power_curve(frame, find_pulls(frame)[0], STANDARD_DAY)
    assert curve.factor == pytest.approx(sae_j1349_factor(90.0, 30.0, 20.0))


def test_smoothing_levels_keep_a_smooth_curve_and_flatten_noise() -> None:
    frame = session([(2000.0, 6000.0)])
    rng = np.random.default_rng(3)
    frame["torque_ftlb"] += rng.normal(0.0, 3.0, len(frame))
    pull = find_pulls(frame)[0]
    jagged, error = [], []  # where level 5's ±5 grid steps fit
    for level in range(6):
        curve = power_curve(frame, pull, STANDARD_DAY, smoothing=level)
        inside = curve.torque_ftlb[5:-5]
        jagged.append(float(np.sqrt(np.mean(np.diff(inside, 2) ** 2))))
        error.append(float(np.sqrt(np.mean((inside - torque_at(curve.x[5:-5])) ** 2))))
    assert jagged == sorted(jagged, reverse=True)
    assert jagged[5] < jagged[0] / 10
    assert max(error[1:]) < error[0]  # still the same curve: smoothing takes noise, not shape


def test_level_and_axis_outside_the_offer_are_refused() -> None:
    frame = session([(2000.0, 6000.0)])
    pull = find_pulls(frame)[0]
    with pytest.raises(InputError, match="smoothing level 6 must be 0 to 5"):
        power_curve(frame, pull, STANDARD_DAY, smoothing=6)
    with pytest.raises(InputError, match="no speed_mph channel"):
        power_curve(frame, pull, STANDARD_DAY, axis="speed_mph")
    with pytest.raises(InputError, match="not one of: sae, std, din, uncorrected"):
        parse_standard("ece")
    assert parse_standard("SAE J1349") is Standard.SAE_J1349
    assert parse_standard("DIN") is Standard.DIN_70020


def test_runs_of_different_rpm_ranges_compare_on_what_both_covered() -> None:
    before_frame = session([(2000.0, 5000.0)])
    after_frame = session([(2500.0, 6000.0)], peak_ftlb=105.0)
    before = power_curve(before_frame, find_pulls(before_frame)[0], STANDARD_DAY)
    after = power_curve(after_frame, find_pulls(after_frame)[0], STANDARD_DAY)
    gain = delta(after, before)
    assert (gain.x[0], gain.x[-1]) == (2600.0, 5000.0)  # the after pull from 2,620 rpm
    np.testing.assert_allclose(gain.torque_ftlb[5:-5], 5.0, atol=0.1)  # away from the ends
    assert union_span([before, after]) == (2100.0, 6000.0)
    assert math.isnan(before.read_at(5500.0)["power_hp"])  # the before pull stopped at 5,000
    assert after.read_at(5500.0)["torque_ftlb"] == pytest.approx(
        float(torque_at(np.array(5500.0), peak_ftlb=105.0)), abs=0.2)


def test_pulls_sharing_no_rpm_cannot_be_subtracted() -> None:
    low = session([(2000.0, 3500.0)])
    high = session([(4000.0, 6000.0)])
    a = power_curve(low, find_pulls(low)[0], STANDARD_DAY)
    b = power_curve(high, find_pulls(high)[0], STANDARD_DAY)
    with pytest.raises(InputError, match="share no rpm"):
        delta(b, a)


@pytest.mark.skipif(WINPEP is None, reason="shared/realdata is not beside the project")
def test_a_real_winpep_pull_matches_the_dynos_own_corrected_peaks() -> None:
    from dynoai_desktop.storage.log_import import import_log

    assert WINPEP is not None
    frame = import_log(WINPEP).frame  # no throttle channel: rpm alone finds the pull
    pulls = find_pulls(frame)
    assert len(pulls) == 1
    assert pulls[0].rpm_from == pytest.approx(2991, abs=1)
    assert pulls[0].rpm_to == pytest.approx(7779, abs=30)  # the roll-down after is not in it
    curve = power_curve(frame, pulls[0], smoothing=0)
    # The export's own SAE columns peak at 277.856 hp and 253.24 ft-lb (its factor 1.245).
    assert curve.factor == pytest.approx(1.245, abs=0.001)
    assert curve.peak_power[0] == pytest.approx(277.856, rel=0.005)
    assert curve.peak_torque[0] == pytest.approx(253.24, rel=0.005)
    assert curve.peak_power[1] == pytest.approx(6900, abs=150)
