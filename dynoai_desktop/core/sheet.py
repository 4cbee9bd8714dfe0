"""The customer's before/after dyno sheet as data: who and what was on the dyno, the pulls
before and after with their peaks and gains, the air and the correction standard, what changed
in the tune and the tuner's notes; and the words and figures the sheet prints.

Figures are kept in canonical units (hp, ft-lb, AFR) and written in the shop's display units
(``core.display.DisplayUnits``); the printed text comes from here, so a test can look for it in
the PDF. A gain is the difference of the two figures *as printed* (one decimal each), so the
sheet's arithmetic always adds up for the customer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dynoai_desktop.core.build_spec import AirCleaner, BuildSpec, Exhaust
from dynoai_desktop.core.display import DisplayUnits, format_value, unit_symbol
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.power_curves import AXIS_STEPS, PowerCurve, Pull, Standard, delta
from dynoai_desktop.core.table_changes import TuneChanges
from dynoai_desktop.core.units import convert
from dynoai_desktop.core.weather import Weather

PAPER_SIZES_IN = {"letter": (8.5, 11.0), "a4": (8.27, 11.69)}
"""Page sizes the sheet prints on (width, height in inches); Letter for US shops by default."""
DEFAULT_PAPER = "letter"
FIGURE_DECIMALS = 1
GAIN_EDGE_STEPS = 4
"""Grid steps (200 rpm) left out at each end of the shared rpm when gains are read."""

_EXHAUST_WORDS = {
    Exhaust.STOCK: "stock exhaust", Exhaust.SLIP_ON: "slip-on mufflers",
    Exhaust.TWO_INTO_ONE: "2-into-1 exhaust", Exhaust.TWO_INTO_TWO: "2-into-2 (true duals)",
    Exhaust.TWO_ONE_TWO: "2-1-2 crossover duals", Exhaust.DRAG_PIPES: "drag pipes",
}
_AIR_WORDS = {AirCleaner.STOCK: "stock air cleaner", AirCleaner.HIGH_FLOW: "high-flow air cleaner",
              AirCleaner.VELOCITY_STACK: "velocity stack"}


@dataclass(frozen=True)
class ShopHeader:
    """The shop's name and one line of address and phone, printed at the top of the sheet."""

    name: str = ""
    contact: str = ""


@dataclass(frozen=True, eq=False)
class SheetCurve:
    """One set of curves on the sheet: the pull's corrected curves, its AFR target on the same
    grid (NaN where the log has none), where it came from and the air it was made in."""

    curve: PowerCurve
    afr_target: np.ndarray
    source: str
    weather: Weather


@dataclass(frozen=True, eq=False)
class CustomerSheet:
    """Everything the sheet prints. ``before`` may be None (a sheet of one set of curves);
    ``after`` is the pull the customer leaves with."""

    after: SheetCurve
    before: SheetCurve | None = None
    shop: ShopHeader = field(default_factory=ShopHeader)
    customer: str = ""
    vehicle: str = ""
    vin: str = ""
    build: BuildSpec | None = None
    date: str = ""  # as printed, e.g. "3 March 2025"
    session: str = ""  # "Session 12 · operator Dave"
    tune: str = ""  # "Tune 'X': version 1 (import) → version 8 (decel enrichment)"
    changes: TuneChanges | None = None
    notes: str = ""
    units: DisplayUnits = field(default_factory=DisplayUnits)
    paper: str = DEFAULT_PAPER
    remarks: tuple[str, ...] = ()  # how the pulls were chosen
    warnings: tuple[str, ...] = ()  # what in the input could not be used as it was

    def __post_init__(self) -> None:
        if self.paper not in PAPER_SIZES_IN:
            raise InputError(f"paper {self.paper!r} is not one of: {', '.join(PAPER_SIZES_IN)}")

    @property
    def curves(self) -> tuple[SheetCurve, ...]:
        return tuple(c for c in (self.before, self.after) if c is not None)

    @property
    def standard(self) -> Standard:
        return self.after.curve.standard


# ------------------------------------------------------------------ figures as printed
def power_value(hp: float, units: DisplayUnits) -> float:
    """Power in the shop's unit, rounded as printed."""
    return round(float(convert(hp, "hp", units.power)), FIGURE_DECIMALS)


def torque_value(ftlb: float, units: DisplayUnits) -> float:
    return round(float(convert(ftlb, "ft-lb", units.torque)), FIGURE_DECIMALS)


def figure_text(value: float, unit: str) -> str:
    """'92.4 hp', '131.0 N·m' (one decimal, thousands separated); '—' for none."""
    if math.isnan(value):
        return "—"
    return f"{value:,.{FIGURE_DECIMALS}f} {unit_symbol(unit)}"


def gain_text(value: float, unit: str) -> str:
    """'+5.7 hp', '−1.2 ft-lb' (a true minus sign), '±0.0 hp' for no change."""
    if math.isnan(value):
        return "—"
    if round(value, FIGURE_DECIMALS) == 0:
        return f"±0.0 {unit_symbol(unit)}"
    sign = "+" if value > 0 else "−"
    return f"{sign}{abs(value):,.{FIGURE_DECIMALS}f} {unit_symbol(unit)}"


def axis_text(x: float, axis: str) -> str:
    """'5,150 rpm' or '98 mph'."""
    return f"{x:,.0f} rpm" if axis == "rpm" else f"{x:,.0f} mph"


def peak_text(value: float, x: float, unit: str, axis: str = "rpm") -> str:
    """'92.4 hp @ 5,150 rpm' (value already in ``unit``)."""
    if math.isnan(value):
        return "—"
    return f"{figure_text(value, unit)} @ {axis_text(x, axis)}"


@dataclass(frozen=True)
class PeakRow:
    """One line of the peak table: what, before, after, the change (text as printed: '92.4 hp
    @ 5,150 rpm'), and the two figures alone ('92.4 hp')."""

    what: str
    before: str
    after: str
    change: str
    before_figure: str = ""
    after_figure: str = ""


def _peaks(curve: PowerCurve, units: DisplayUnits) -> dict[str, tuple[float, float]]:
    (hp, hp_x), (tq, tq_x) = curve.peak_power, curve.peak_torque
    return {"power": (power_value(hp, units), hp_x), "torque": (torque_value(tq, units), tq_x)}


def peak_rows(sheet: CustomerSheet) -> list[PeakRow]:
    """Peak power and peak torque, before and after, and their change."""
    units = sheet.units
    after = _peaks(sheet.after.curve, units)
    before = _peaks(sheet.before.curve, units) if sheet.before is not None else None
    axis = sheet.after.curve.axis
    rows = []
    for key, what, unit in (("power", "Peak power", units.power),
                            ("torque", "Peak torque", units.torque)):
        value, x = after[key]
        was = before[key] if before is not None else (math.nan, math.nan)
        rows.append(PeakRow(what, peak_text(*was, unit, axis), peak_text(value, x, unit, axis),
                            gain_text(value - was[0], unit) if before is not None else "",
                            figure_text(was[0], unit) if before is not None else "",
                            figure_text(value, unit)))
    return rows


def headline(sheet: CustomerSheet) -> str:
    """The line the customer reads first: 'Peak power 84.1 hp → 87.4 hp (+3.3 hp) · Peak
    torque ...', or the peaks alone without a before."""
    units = sheet.units
    after = _peaks(sheet.after.curve, units)
    parts = []
    for key, what, unit in (("power", "Peak power", units.power),
                            ("torque", "Peak torque", units.torque)):
        value = after[key][0]
        if sheet.before is None:
            parts.append(f"{what} {figure_text(value, unit)}")
            continue
        was = _peaks(sheet.before.curve, units)[key][0]
        parts.append(f"{what} {figure_text(was, unit)} → {figure_text(value, unit)} "
                     f"({gain_text(value - was, unit)})")
    return " · ".join(parts)


def gain_span(size: int) -> slice:
    """The grid points of a shared rpm range that gains are read over (all of a short one)."""
    if size > 2 * GAIN_EDGE_STEPS + 1:
        return slice(GAIN_EDGE_STEPS, size - GAIN_EDGE_STEPS)
    return slice(0, size)


def gain_lines(sheet: CustomerSheet) -> list[str]:
    """Where the tune gained: the most power gained and where, and the average gain of power
    and torque, over the rpm both pulls covered less ``GAIN_EDGE_STEPS`` grid steps at each
    end (where the throttle opens and closes, two pulls differ by how they started, not by
    the tune). Empty without a before."""
    if sheet.before is None:
        return []
    try:
        diff = delta(sheet.after.curve, sheet.before.curve)
    except InputError as exc:
        return [f"No gains: {exc}"]
    inner = gain_span(diff.x.size)
    x, power_hp, torque_ftlb = diff.x[inner], diff.power_hp[inner], diff.torque_ftlb[inner]
    if not np.isfinite(power_hp).any():
        return []
    units = sheet.units
    axis = sheet.after.curve.axis
    power = np.asarray(convert(power_hp, "hp", units.power), dtype=float)
    mean_power = float(np.nanmean(power))
    mean_torque = float(np.nanmean(np.asarray(convert(torque_ftlb, "ft-lb", units.torque))))
    span = f"{axis_text(x[0], axis).split()[0]}–{axis_text(x[-1], axis)}"
    lines = [f"Average change over {span}: {gain_text(mean_power, units.power)}, "
             f"{gain_text(mean_torque, units.torque)}"]
    most = int(np.nanargmax(power))
    if round(float(power[most]), FIGURE_DECIMALS) > 0:
        lines.insert(0, f"Most power gained: {gain_text(float(power[most]), units.power)} @ "
                        f"{axis_text(float(x[most]), axis)}")
    return lines


# ------------------------------------------------------------------ the words around them
def build_lines(build: BuildSpec) -> list[str]:
    """The build in a tuner's words, a few short lines."""
    return [
        f"{build.engine_family.label}, {build.displacement_ci:g} ci, stage {build.stage}",
        f"Cam: {build.cam.name}",
        f"{_EXHAUST_WORDS[build.exhaust].capitalize()}, {_AIR_WORDS[build.air_cleaner]}",
        f"Compression {build.compression_ratio:g}:1, injectors {build.injector_flow_gs:g} g/s",
        f"Fuel: {build.fuel_octane_aki:g} AKI {build.fuel.label.lower()}",
    ]


def weather_text(weather: Weather, units: DisplayUnits) -> str:
    """'Baro 29.77 inHg · 75 °F · 64 % RH' in the shop's units; what was not measured left
    out ('no weather recorded' when nothing was)."""
    parts = []
    if weather.baro_kpa is not None:
        parts.append("Baro " + format_value(float(convert(weather.baro_kpa, "kPa",
                                                          units.pressure)), units.pressure))
    if weather.ambient_temp_c is not None:
        temp = float(convert(weather.ambient_temp_c, "C", units.temperature))
        parts.append(f"{temp:.0f} {unit_symbol(units.temperature)}")
    if weather.humidity_pct is not None:
        parts.append(f"{weather.humidity_pct:.0f} % RH")
    return " · ".join(parts) or "no weather recorded"


def correction_lines(sheet: CustomerSheet) -> list[str]:
    """['Corrected to SAE J1349', 'Factor 1.032 (before 1.028)'], or ['Uncorrected (observed
    figures)']."""
    curve = sheet.after.curve
    if curve.standard is Standard.UNCORRECTED:
        return ["Uncorrected (observed figures)"]
    factor = f"Correction factor {curve.factor:.3f}"
    if sheet.before is not None and round(sheet.before.curve.factor, 3) != round(curve.factor, 3):
        factor += f" (before {sheet.before.curve.factor:.3f})"
    return [f"Corrected to {curve.standard.label}", factor]


# ------------------------------------------------------------------ the AFR target
def afr_target_on_grid(frame: pd.DataFrame, pull: Pull, curve: PowerCurve) -> np.ndarray:
    """The log's commanded AFR (``afr_target``) over the pull, averaged on the curve's grid;
    all NaN when the log has no target."""
    out = np.full(curve.x.size, np.nan)
    if "afr_target" not in frame.columns or curve.axis not in frame.columns or not curve.x.size:
        return out
    rows = frame.iloc[pull.start:pull.stop]
    along = rows[curve.axis].to_numpy(dtype=float, na_value=np.nan)
    target = rows["afr_target"].to_numpy(dtype=float, na_value=np.nan)
    ok = np.isfinite(along) & np.isfinite(target) & (target > 0)
    if not ok.any():
        return out
    step = AXIS_STEPS[curve.axis]
    index = np.rint(along[ok] / step).astype(np.int64) - int(round(curve.x[0] / step))
    inside = (index >= 0) & (index < curve.x.size)
    sums = np.bincount(index[inside], weights=target[ok][inside], minlength=curve.x.size)
    counts = np.bincount(index[inside], minlength=curve.x.size)
    out = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    filled = np.flatnonzero(counts > 0)
    if filled.size >= 2:
        span = np.arange(filled[0], filled[-1] + 1)
        out[span] = np.interp(span, filled, out[filled])
    return out
