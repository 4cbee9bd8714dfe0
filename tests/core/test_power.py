"""Dyno weather correction (SAE J1349, STD) against vtwin.md §6, and power from torque."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dynoai_desktop.core.power import (
    PeakPower,
    din_70020_factor,
    peak_power,
    power_hp,
    sae_j1349_factor,
    std_factor,
)

KPA_PER_INHG = 3.386389


def _c(temp_f: float) -> float:
    return (temp_f - 32.0) / 1.8


# vtwin.md §6, "Typical SAE CF": (°F, inHg, % RH, CF)
SAE_TABLE = [
    pytest.param(60.0, 29.9, 0.0, 0.955, id="60F-29.9inHg"),
    pytest.param(77.0, 29.23, 0.0, 1.000, id="77F-29.23inHg-reference"),
    pytest.param(95.0, 28.5, 0.0, 1.05, id="95F-28.5inHg"),
    pytest.param(80.0, 24.6, 0.0, 1.23, id="denver-80F-24.6inHg"),
    pytest.param(75.0, 30.55, 26.0, 0.96, id="real-chart-75F-30.55inHg-26RH"),
]


@pytest.mark.parametrize(("temp_f", "baro_inhg", "humidity_pct", "expected"), SAE_TABLE)
def test_sae_factor_matches_the_reference_table(
    temp_f: float, baro_inhg: float, humidity_pct: float, expected: float
) -> None:
    cf = sae_j1349_factor(baro_inhg * KPA_PER_INHG, _c(temp_f), humidity_pct)
    assert cf == pytest.approx(expected, abs=0.01)


def test_sae_factor_is_exactly_one_at_the_standard_day() -> None:
    assert sae_j1349_factor(99.0, 25.0, 0.0) == 1.0


@given(
    baro=st.floats(min_value=80.0, max_value=105.0),
    temp_c=st.floats(min_value=0.0, max_value=45.0),
    humidity=st.floats(min_value=0.0, max_value=90.0),
)
def test_humid_air_raises_the_factor(baro: float, temp_c: float, humidity: float) -> None:
    # Water vapour displaces oxygen: the same observed power on a humid day is worth more.
    assert sae_j1349_factor(baro, temp_c, humidity + 10.0) > sae_j1349_factor(
        baro, temp_c, humidity
    )


def test_thinner_and_hotter_air_raise_the_factor() -> None:
    sea_level = sae_j1349_factor(101.3, 25.0, 0.0)
    assert sae_j1349_factor(85.0, 25.0, 0.0) > sea_level
    assert sae_j1349_factor(101.3, 35.0, 0.0) > sea_level


def test_std_reads_about_four_percent_above_sae() -> None:
    baro, temp = 29.23 * KPA_PER_INHG, _c(77.0)
    ratio = std_factor(baro, temp) / sae_j1349_factor(baro, temp, 0.0)
    assert ratio == pytest.approx(1.04, abs=0.005)
    assert std_factor(29.92 * KPA_PER_INHG, _c(60.0)) == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("torque", [0.0, 1.0, 87.5, 120.0, 300.0])
def test_torque_and_power_cross_at_5252_rpm(torque: float) -> None:
    # hp = torque x rpm / 5252.113; at the chart's 5252 rpm the curves cross to 0.01 hp.
    assert power_hp(torque, 5252) == pytest.approx(torque, rel=1e-4, abs=1e-9)
    assert power_hp(torque, 5252.113) == pytest.approx(torque, rel=1e-9, abs=1e-12)


def test_power_scales_with_rpm() -> None:
    assert power_hp(100.0, 2626.0565) == pytest.approx(50.0)
    assert power_hp(100.0, 0.0) == 0.0


# DIN 70020: CF = (1013 / p) · √((273 + T) / 293), p absolute in mbar (bikeboy.org; the
# formula as German dyno shops quote it). Hand-computed.
DIN_TABLE = [
    pytest.param(101.3, 20.0, 1.0, id="reference-1013mbar-20C"),
    pytest.param(95.0, 30.0, 1013 / 950 * (303 / 293) ** 0.5, id="950mbar-30C"),
    pytest.param(102.0, 5.0, 1013 / 1020 * (278 / 293) ** 0.5, id="1020mbar-5C"),
]


@pytest.mark.parametrize(("baro_kpa", "temp_c", "expected"), DIN_TABLE)
def test_din_factor_matches_hand_computed(baro_kpa: float, temp_c: float,
                                          expected: float) -> None:
    assert din_70020_factor(baro_kpa, temp_c) == pytest.approx(expected, rel=1e-9)


def test_sae_factor_matches_the_factor_a_dynojet_wrote_into_its_own_export() -> None:
    # shared/realdata/dynojet_wrl_134power.csv: '(DWRT CPU) Correction Factor' 1.245 at
    # 24.45 inHg, 80.7 °F and 15.7 % RH (a high-altitude shop)
    cf = sae_j1349_factor(24.45 * KPA_PER_INHG, _c(80.71), 15.66)
    assert cf == pytest.approx(1.245, abs=0.001)


def test_std_reads_about_four_percent_above_sae_and_din_between() -> None:
    baro, temp = 98.0, 28.0
    sae = sae_j1349_factor(baro, temp, 0.0)
    assert std_factor(baro, temp, 0.0) / sae == pytest.approx(1.04, abs=0.01)
    assert sae < din_70020_factor(baro, temp) < std_factor(baro, temp, 0.0)

def test_a_runs_peak_power_is_its_highest_steady_reading_not_a_glitch() -> None:
    rpm = np.linspace(2000.0, 5500.0, 200)
    power = 90.0 - 0.000006 * (rpm - 5000.0) ** 2
    power[5] = 300.0  # one jolt of the drum
    power[[7, 150]] = np.nan
    peak = peak_power(power, rpm)
    assert peak is not None and peak.power_hp == pytest.approx(90.0, abs=0.01)
    assert peak.rpm == pytest.approx(5000.0, abs=20.0)
    assert peak.corrected_hp(1.05) == pytest.approx(94.5, abs=0.02)
    assert peak.corrected_hp(None) is None


def test_a_run_without_power_readings_has_no_peak_and_a_short_one_its_highest() -> None:
    assert peak_power(np.full(50, np.nan)) is None
    assert peak_power(np.empty(0)) is None
    short = peak_power(np.array([10.0, np.nan, 12.0]), np.array([1000.0, 1100.0, np.nan]))
    assert short == PeakPower(12.0, None)
