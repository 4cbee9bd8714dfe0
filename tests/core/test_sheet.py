"""The sheet's figures as printed: peaks '92.4 hp @ 5,150 rpm', a gain that is the difference of
the two printed figures, the shop's units, gains read away from the pulls' ends, and the AFR
target put on the curve's grid."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.core.display import DisplayUnits
from dynoai_desktop.core.power import HP_PER_FTLB_RPM
from dynoai_desktop.core.power_curves import PowerCurve, Pull, Standard
from dynoai_desktop.core.sheet import (
    CustomerSheet,
    SheetCurve,
    afr_target_on_grid,
    build_lines,
    correction_lines,
    gain_lines,
    gain_text,
    headline,
    peak_rows,
    peak_text,
    weather_text,
)
from dynoai_desktop.core.weather import Weather

AIR = Weather.of_air(100.0, 25.0, 40.0)


def curve(peak_ftlb: float, peak_rpm: float = 3500.0, lo: float = 2000.0,
          hi: float = 5500.0) -> PowerCurve:
    x = np.arange(lo, hi + 1, 50.0)
    torque = peak_ftlb - 2e-5 * (x - peak_rpm) ** 2
    power = torque * x * HP_PER_FTLB_RPM
    afr = np.full(x.size, 12.8)
    return PowerCurve("rpm", x, torque, power, afr, afr, Standard.SAE_J1349, 1.01, 2)


def sheet(after: PowerCurve, before: PowerCurve | None = None,
          units: DisplayUnits | None = None) -> CustomerSheet:
    def of(c: PowerCurve) -> SheetCurve:
        return SheetCurve(c, np.full(c.x.size, np.nan), "a pull", AIR)

    return CustomerSheet(of(after), of(before) if before is not None else None,
                         units=units or DisplayUnits())


def test_peaks_are_printed_with_where_they_were_and_the_change_between_printed_figures() -> None:
    after, before = curve(110.0), curve(104.0)
    rows = peak_rows(sheet(after, before))
    hp, rpm = after.peak_power
    assert rows[0].what == "Peak power"
    assert rows[0].after == f"{round(hp, 1):,.1f} hp @ {rpm:,.0f} rpm"
    assert rows[1].after == "110.0 ft-lb @ 3,500 rpm"
    assert rows[1].before == "104.0 ft-lb @ 3,500 rpm"
    assert rows[1].change == "+6.0 ft-lb"
    shown_after = float(rows[0].after_figure.split()[0])
    shown_before = float(rows[0].before_figure.split()[0])
    assert rows[0].change == gain_text(shown_after - shown_before, "hp")  # adds up as printed
    assert headline(sheet(after, before)).startswith(
        f"Peak power {rows[0].before_figure} → {rows[0].after_figure} ({rows[0].change})")


def test_a_sheet_without_a_before_prints_the_peaks_alone() -> None:
    rows = peak_rows(sheet(curve(110.0)))
    assert rows[1].after == "110.0 ft-lb @ 3,500 rpm"
    assert rows[1].before == "—" and rows[1].change == ""
    assert headline(sheet(curve(110.0))).endswith("Peak torque 110.0 ft-lb")
    assert gain_lines(sheet(curve(110.0))) == []


def test_metric_units_print_kw_and_newton_metres() -> None:
    after = curve(110.0)
    rows = peak_rows(sheet(after, curve(100.0), DisplayUnits(torque="N·m", power="kW")))
    assert rows[1].after == "149.1 N·m @ 3,500 rpm"  # 110 ft-lb
    assert rows[1].before == "135.6 N·m @ 3,500 rpm"  # 100 ft-lb
    assert rows[1].change == "+13.5 N·m"  # as printed, not 13.56 rounded
    hp, rpm = after.peak_power
    assert rows[0].after == f"{hp * 0.745699872:.1f} kW @ {rpm:,.0f} rpm"


def test_gains_are_read_away_from_the_ends_of_the_pulls() -> None:
    after, before = curve(110.0), curve(104.0)
    spiky = after.power_hp.copy()
    spiky[0] += 30.0  # a throttle opening differently at the start is not a gain of the tune
    after = PowerCurve("rpm", after.x, after.torque_ftlb, spiky, after.afr_front,
                       after.afr_rear, after.standard, after.factor, after.smoothing)
    lines = gain_lines(sheet(after, before))
    gained = 6.0 * 5300.0 * HP_PER_FTLB_RPM  # 6 ft-lb more everywhere: most at the top
    assert lines[0] == f"Most power gained: +{gained:.1f} hp @ 5,300 rpm"  # not 2,000 rpm
    assert lines[1].startswith("Average change over 2,200–5,300 rpm: +")
    assert lines[1].endswith(", +6.0 ft-lb")


def test_peak_and_gain_texts() -> None:
    assert peak_text(92.44, 5150.0, "hp") == "92.4 hp @ 5,150 rpm"
    assert peak_text(float("nan"), 0.0, "hp") == "—"
    assert gain_text(5.7, "hp") == "+5.7 hp"
    assert gain_text(-1.23, "ft-lb") == "−1.2 ft-lb"
    assert gain_text(0.04, "hp") == "±0.0 hp"


def test_the_build_and_the_air_in_a_tuners_words() -> None:
    lines = build_lines(BuildSpec.stock("milwaukee_eight_114"))
    assert lines[0] == "Milwaukee-Eight 114, 114 ci, stage 0"
    assert lines[1] == "Cam: stock"
    assert weather_text(AIR, DisplayUnits()) == "Baro 100.0 kPa · 77 °F · 40 % RH"
    assert weather_text(AIR, DisplayUnits(temperature="C", pressure="inHg")) == \
        "Baro 29.53 inHg · 25 °C · 40 % RH"
    assert weather_text(Weather(), DisplayUnits()) == "no weather recorded"


def test_the_logged_afr_target_lands_on_the_curves_grid() -> None:
    rpm = np.linspace(2000.0, 3000.0, 201)
    frame = pd.DataFrame({"time_s": np.arange(rpm.size) * 0.01, "rpm": rpm,
                          "afr_target": np.where(rpm < 2500, 13.0, 12.5)})
    grid = curve(100.0, lo=2000.0, hi=3000.0)
    target = afr_target_on_grid(frame, Pull(0, rpm.size, 0.0, 2.0, 2000.0, 3000.0), grid)
    assert target[0] == pytest.approx(13.0) and target[-1] == pytest.approx(12.5)
    assert target.size == grid.x.size
    no_target = afr_target_on_grid(frame.drop(columns="afr_target"),
                                   Pull(0, rpm.size, 0.0, 2.0, 2000.0, 3000.0), grid)
    assert np.isnan(no_target).all()


def test_the_correction_says_its_standard_and_factor_and_a_before_that_differs() -> None:
    after, before = curve(110.0), curve(104.0)
    assert correction_lines(sheet(after, before)) == ["Corrected to SAE J1349",
                                                      "Correction factor 1.010"]
    other_day = PowerCurve("rpm", before.x, before.torque_ftlb, before.power_hp,
                           before.afr_front, before.afr_rear, Standard.SAE_J1349, 1.032, 2)
    assert correction_lines(sheet(after, other_day))[1] == \
        "Correction factor 1.010 (before 1.032)"
    observed = PowerCurve("rpm", after.x, after.torque_ftlb, after.power_hp, after.afr_front,
                          after.afr_rear, Standard.UNCORRECTED, 1.0, 2)
    assert correction_lines(sheet(observed)) == ["Uncorrected (observed figures)"]
