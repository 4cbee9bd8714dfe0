"""The charts of the customer's sheet, drawn with matplotlib on a given Axes (no pyplot, no
GUI backend): power and torque before/after on twin axes as WinPEP draws them, the gain strip,
the AFR traces with their target band, and the heat map of a VE table's change."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import Normalize

from dynoai_desktop.core.display import AFR_ON_TARGET_BAND, DisplayUnits, unit_symbol
from dynoai_desktop.core.power_curves import delta, union_span
from dynoai_desktop.core.sheet import CustomerSheet, SheetCurve, gain_span, peak_text
from dynoai_desktop.core.table_changes import IDLE_BELOW_RPM, LOAD_BOUNDS, TableChange
from dynoai_desktop.core.table_compare import colour_scale_pct
from dynoai_desktop.core.units import convert

POWER = "#c0392b"
TORQUE = "#1f4e9c"
POWER_BEFORE = "#e3a49c"
TORQUE_BEFORE = "#9fb3d6"
AFR_FRONT = "#d35400"
AFR_REAR = "#117a65"
BEFORE_GREY = "#8c8c8c"
TARGET_BAND = "#d9ead3"
GRID = "#d0d0d0"
TEXT = "#222222"
MUTED = "#666666"
SMALL_PT = 8.0
BODY_PT = 9.0
AFR_LIMITS = (10.0, 17.0)  # AFR shown on the traces, as the app's charts do


def _x_label(axis: str) -> str:
    return "Engine speed (rpm)" if axis == "rpm" else "Roll speed (mph)"


def _nice_top(value: float) -> float:
    """A round axis top a little above ``value``."""
    if not math.isfinite(value) or value <= 0:
        return 1.0
    step = 10.0 ** math.floor(math.log10(value)) / 10.0 * 2.0
    return math.ceil(value * 1.05 / step) * step


def _style(ax: Axes) -> None:
    ax.grid(True, color=GRID, linewidth=0.6)
    ax.tick_params(labelsize=SMALL_PT, colors=TEXT)
    for side in ("top",):
        ax.spines[side].set_visible(False)


def _span(sheet: CustomerSheet) -> tuple[float, float]:
    lo, hi = union_span([c.curve for c in sheet.curves])
    step = 500.0 if sheet.after.curve.axis == "rpm" else 10.0
    return math.floor(lo / step) * step, math.ceil(hi / step) * step


def power_torque(ax: Axes, sheet: CustomerSheet) -> list[tuple[object, str]]:
    """Power (left axis) and torque (right axis) against rpm, before dashed in light tints,
    after solid; returns the legend's (line, label) pairs, each with its peak."""
    units = sheet.units
    p_unit, t_unit = units.power, units.torque
    right = ax.twinx()
    handles: list[tuple[object, str]] = []
    tops = {"power": 0.0, "torque": 0.0}
    for item, role in ((sheet.before, "Before"), (sheet.after, "After")):
        if item is None:
            continue
        curve = item.curve
        power = np.asarray(convert(curve.power_hp, "hp", p_unit), dtype=float)
        torque = np.asarray(convert(curve.torque_ftlb, "ft-lb", t_unit), dtype=float)
        after = role == "After"
        style = {"linewidth": 2.0 if after else 1.5, "linestyle": "-" if after else "--"}
        (p_line,) = ax.plot(curve.x, power, color=POWER if after else POWER_BEFORE, **style)
        (t_line,) = right.plot(curve.x, torque, color=TORQUE if after else TORQUE_BEFORE,
                               **style)
        for line, values, axes in ((p_line, power, ax), (t_line, torque, right)):
            if np.isfinite(values).any():
                i = int(np.nanargmax(values))
                axes.plot([curve.x[i]], [values[i]], marker="o", markersize=4,
                          color=line.get_color(), zorder=5)
        (hp, hp_x), (tq, tq_x) = curve.peak_power, curve.peak_torque
        hp_v = float(convert(hp, "hp", p_unit))
        tq_v = float(convert(tq, "ft-lb", t_unit))
        handles.append((p_line, f"{role}: power, peak {peak_text(hp_v, hp_x, p_unit)}"))
        handles.append((t_line, f"{role}: torque, peak {peak_text(tq_v, tq_x, t_unit)}"))
        tops["power"] = max(tops["power"], float(np.nanmax(power)))
        tops["torque"] = max(tops["torque"], float(np.nanmax(torque)))
    if p_unit == "hp" and t_unit == "ft-lb":  # one scale, as WinPEP draws them: they cross
        tops["power"] = tops["torque"] = max(tops.values())  # at 5,252 rpm
    ax.set_ylim(0, _nice_top(tops["power"]))
    right.set_ylim(0, _nice_top(tops["torque"]))
    ax.set_xlim(*_span(sheet))
    ax.set_ylabel(f"Power ({unit_symbol(p_unit)})", color=POWER, fontsize=BODY_PT)
    right.set_ylabel(f"Torque ({unit_symbol(t_unit)})", color=TORQUE, fontsize=BODY_PT)
    _style(ax)
    right.tick_params(labelsize=SMALL_PT, colors=TEXT)
    right.spines["top"].set_visible(False)
    ax.tick_params(labelbottom=False)
    return handles


def gains(ax: Axes, sheet: CustomerSheet) -> list[tuple[object, str]]:
    """After − before, power and torque, on the rpm both covered, scaled to the gains away from
    the pulls' ends (``core.sheet.GAIN_EDGE_STEPS``: the ends may run off the strip); the
    legend's pairs (none, and a note drawn, when there is no before)."""
    _style(ax)
    ax.set_xlim(*_span(sheet))
    ax.set_xlabel(_x_label(sheet.after.curve.axis), fontsize=BODY_PT)
    if sheet.before is None:
        ax.text(0.5, 0.5, "No before pull: no gains to show", transform=ax.transAxes,
                ha="center", va="center", fontsize=BODY_PT, color=MUTED)
        ax.set_yticks([])
        return []
    diff = delta(sheet.after.curve, sheet.before.curve)
    units = sheet.units
    power = np.asarray(convert(diff.power_hp, "hp", units.power), dtype=float)
    torque = np.asarray(convert(diff.torque_ftlb, "ft-lb", units.torque), dtype=float)
    ax.axhline(0.0, color=TEXT, linewidth=0.8)
    ax.fill_between(diff.x, 0.0, power, where=power >= 0, color=POWER, alpha=0.15,
                    linewidth=0)
    (p_line,) = ax.plot(diff.x, power, color=POWER, linewidth=1.4)
    (t_line,) = ax.plot(diff.x, torque, color=TORQUE, linewidth=1.2, linestyle="-.")
    inner = gain_span(diff.x.size)
    seen = np.concatenate([power[inner], torque[inner]])
    lo, hi = ((min(0.0, float(np.nanmin(seen))), max(0.0, float(np.nanmax(seen))))
              if np.isfinite(seen).any() else (0.0, 0.0))
    pad = max(hi - lo, 2.0) * 0.2
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_ylabel("Gain", fontsize=BODY_PT)
    return [(p_line, f"Gain in power, after − before ({unit_symbol(units.power)})"),
            (t_line, f"Gain in torque, after − before ({unit_symbol(units.torque)})")]


def afr(ax: Axes, sheet: CustomerSheet, cylinder: str) -> None:
    """One cylinder's AFR against rpm, before dashed grey and after solid, over the after
    pull's target ± the on-target band."""
    units = sheet.units
    name = f"afr_{cylinder}"
    colour = AFR_FRONT if cylinder == "front" else AFR_REAR
    shown = False
    target_from: SheetCurve | None = next(
        (c for c in (sheet.after, sheet.before) if c is not None
         and np.isfinite(c.afr_target).any()), None)
    if target_from is not None:
        x, target = target_from.curve.x, target_from.afr_target
        lo = _afr(target - AFR_ON_TARGET_BAND, units)
        hi = _afr(target + AFR_ON_TARGET_BAND, units)
        ax.fill_between(x, lo, hi, color=TARGET_BAND, linewidth=0, label="target ± "
                        f"{AFR_ON_TARGET_BAND:g} AFR")
        ax.plot(x, _afr(target, units), color="#6aa84f", linewidth=0.8)
    for item, role in ((sheet.before, "before"), (sheet.after, "after")):
        if item is None:
            continue
        values = getattr(item.curve, name)
        if not np.isfinite(values).any():
            continue
        shown = True
        after = role == "after"
        ax.plot(item.curve.x, _afr(values, units), color=colour if after else BEFORE_GREY,
                linewidth=1.6 if after else 1.3, linestyle="-" if after else "--", label=role)
    ax.set_ylim(*sorted(_afr(np.array(afr_limits(sheet)), units)))
    ax.set_xlim(*_span(sheet))
    _style(ax)
    ax.set_title(f"{cylinder.capitalize()} cylinder", fontsize=BODY_PT, color=TEXT, loc="left")
    ax.set_xlabel(_x_label(sheet.after.curve.axis), fontsize=SMALL_PT)
    ax.set_ylabel(unit_symbol(units.afr), fontsize=SMALL_PT)
    if not shown:
        ax.text(0.5, 0.5, "no AFR logged for this cylinder", transform=ax.transAxes,
                ha="center", va="center", fontsize=BODY_PT, color=MUTED)


def afr_limits(sheet: CustomerSheet) -> tuple[float, float]:
    """The AFR axis: 10-17 as the app's charts, widened to whole AFR to hold the traces (within
    8-20: a sensor's rail is not worth the page)."""
    seen = [v for c in sheet.curves for v in (c.curve.afr_front, c.curve.afr_rear)
            if np.isfinite(v).any()]
    lo, hi = AFR_LIMITS
    if seen:
        lo = max(8.0, min(lo, math.floor(min(float(np.nanmin(v)) for v in seen))))
        hi = min(20.0, max(hi, math.ceil(max(float(np.nanmax(v)) for v in seen))))
    return lo, hi


def _afr(values: np.ndarray, units: DisplayUnits) -> np.ndarray:
    return np.asarray(convert(values, "AFR", units.afr), dtype=float)


def heat_maps(axes: Sequence[Axes], changes: Sequence[TableChange]) -> object | None:
    """Each VE table's % change per cell, rpm up the side and load across, on one diverging
    scale centred at 0 (blue leaner, red richer, white unchanged); the image for a colour
    bar, or None when there is nothing to draw."""
    largest = max((abs(c.largest_pct) for c in changes if math.isfinite(c.largest_pct)),
                  default=0.0)
    scale = colour_scale_pct(largest)
    norm = Normalize(-scale, scale)
    image = None
    for ax, change in zip(axes, changes, strict=False):
        rows, cols = change.change_pct.shape
        image = ax.pcolormesh(np.arange(cols + 1), np.arange(rows + 1), change.change_pct,
                              cmap="RdBu_r", norm=norm, edgecolors="#ffffff", linewidth=0.2)
        ax.set_title(f"{change.cylinder} VE: {change.changed} of {change.cells} cells changed",
                     fontsize=BODY_PT, color=TEXT, loc="left")
        _cell_ticks(ax, change)
        _region_lines(ax, change)
        ax.set_xlabel("MAP (kPa)" if change.load_channel == "map_kpa" else "Throttle (%)",
                      fontsize=SMALL_PT)
        ax.set_ylabel("rpm", fontsize=SMALL_PT)
        ax.tick_params(labelsize=SMALL_PT, length=2)
        for spine in ax.spines.values():
            spine.set_color(GRID)
    return image


def _region_lines(ax: Axes, change: TableChange) -> None:
    """Dotted lines where the sheet's regions meet: idle below its rpm, the load bands
    above it."""
    rows, cols = change.change_pct.shape
    idle = int(np.searchsorted(change.rpm, IDLE_BELOW_RPM, side="left"))
    style = {"color": "#444444", "linestyle": ":", "linewidth": 0.9}
    if 0 < idle < rows:
        ax.plot([0, cols], [idle, idle], **style)
    for bound in LOAD_BOUNDS[change.load_channel]:
        at = int(np.searchsorted(change.load, bound, side="left"))
        if 0 < at < cols:
            ax.plot([at, at], [idle, rows], **style)
    ax.set_xlim(0, cols)
    ax.set_ylim(0, rows)


def _cell_ticks(ax: Axes, change: TableChange) -> None:
    """Tick labels at the cells' breakpoints, thinned so that they do not crowd."""
    for values, set_ticks, set_labels, most in (
            (change.load, ax.set_xticks, ax.set_xticklabels, 9),
            (change.rpm, ax.set_yticks, ax.set_yticklabels, 8)):
        every = max(1, math.ceil(values.size / most))
        index = np.arange(0, values.size, every)
        set_ticks(index + 0.5)
        set_labels([f"{v:g}" for v in values[index]])
