"""The customer's before/after sheet written as a PDF (matplotlib's PDF backend: no Qt, so
``dynoai report`` runs where Qt is not installed), and the same pages as PNG for the window's
preview (the same Figures through the Agg backend).

Page 1: the shop's header, customer, vehicle and build, the air and the correction standard,
the headline peaks, power and torque before/after with the gain strip under them, the peak
table and where each pull came from. Page 2: the AFR traces front and rear with the target band,
what changed in the tune by region with a heat map of each VE table's change, and the tuner's
notes. Text is embedded as TrueType (``pdf.fonttype`` 42): real text, which a PDF reader can
search and copy (and a test reads back).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from dynoai_desktop import __version__
from dynoai_desktop.core.power import HP_PER_FTLB_RPM
from dynoai_desktop.core.power_curves import PowerCurve, Standard
from dynoai_desktop.core.sheet import (
    PAPER_SIZES_IN,
    CustomerSheet,
    SheetCurve,
    build_lines,
    correction_lines,
    gain_lines,
    peak_rows,
    weather_text,
)
from dynoai_desktop.core.table import Table
from dynoai_desktop.core.table_changes import TuneChanges, format_pct, table_change
from dynoai_desktop.core.tune import VE_FRONT_MAP
from dynoai_desktop.core.weather import Weather
from dynoai_desktop.storage import sheet_charts as charts
from dynoai_desktop.storage.file_io import write_bytes_atomic

MARGIN_IN = 0.5
TITLE_PT = 18.0
BIG_PT = 20.0
HEAD_PT = 12.0
LINE_IN = 0.165  # one line of body text
BOX_FILL = "#f2f2f2"
NOTES_LINES_MAX = 12
AFR_CHART_IN = 2.1
HEAT_MAP_IN = 1.75
_RC = {"pdf.fonttype": 42, "font.family": "DejaVu Sans", "font.size": charts.BODY_PT,
       "axes.edgecolor": "#9a9a9a", "svg.fonttype": "none"}


_MEASURE = RendererAgg(10, 10, 72.0)  # 72 dpi: widths in points


def _wrap(text: str, width_in: float, size: float = charts.BODY_PT, bold: bool = False
          ) -> list[str]:
    """``text`` broken into lines no wider than ``width_in`` at ``size`` (measured with the
    sheet's font, word by word)."""
    font = FontProperties(family=_RC["font.family"], size=size,
                          weight="bold" if bold else "normal")

    def fits(line: str) -> bool:
        width, _h, _d = _MEASURE.get_text_width_height_descent(line, font, ismath=False)
        return width <= width_in * 72.0

    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split(" "):
            trial = f"{line} {word}" if line else word
            if line and not fits(trial):
                lines.append(line)
                line = word
            else:
                line = trial
        lines.append(line)
    return lines


@contextmanager
def _style() -> Iterator[None]:
    """The sheet's fonts, TrueType embedded (rcParams are read when the file is written)."""
    with matplotlib.rc_context(_RC):
        yield


class _Page:
    """A Figure of one page with inch-based placement from its top-left corner."""

    def __init__(self, paper: str) -> None:
        self.width, self.height = PAPER_SIZES_IN[paper]
        self.fig = Figure(figsize=(self.width, self.height))
        self.inner = self.width - 2 * MARGIN_IN

    def axes(self, left: float, top: float, width: float, height: float) -> Axes:
        return self.fig.add_axes((left / self.width, 1 - (top + height) / self.height,
                                  width / self.width, height / self.height))

    def text(self, left: float, top: float, words: str, size: float = charts.BODY_PT,
             **style: object) -> None:
        self.fig.text(left / self.width, 1 - top / self.height, words, fontsize=size,
                      va="top", color=style.pop("color", charts.TEXT), **style)

    def rule(self, top: float, colour: str = charts.TEXT, width: float = 0.8) -> None:
        y = 1 - top / self.height
        self.fig.add_artist(Line2D(
            [MARGIN_IN / self.width, 1 - MARGIN_IN / self.width], [y, y], color=colour,
            linewidth=width))


def _header(page: _Page, sheet: CustomerSheet, title: str) -> float:
    """The shop's name and contact, the title and date; returns the inches used."""
    left, right = MARGIN_IN, page.width - MARGIN_IN
    page.text(left, 0.45, sheet.shop.name or title, TITLE_PT, weight="bold")
    if sheet.shop.contact:
        page.text(left, 0.82, sheet.shop.contact, charts.BODY_PT, color=charts.MUTED)
    if sheet.shop.name:
        page.text(right, 0.47, title, HEAD_PT + 2, ha="right", weight="bold")
    if sheet.date:
        page.text(right, 0.78, sheet.date, charts.BODY_PT + 1, ha="right")
    page.rule(1.08, charts.POWER, 2.0)
    return 1.08


def _column(page: _Page, left: float, top: float, title: str, lines: list[str],
            width_in: float) -> float:
    """A titled column of short lines, wrapped; returns its bottom."""
    page.text(left, top, title.upper(), charts.SMALL_PT, weight="bold", color=charts.MUTED)
    y = top + 0.2
    for line in lines:
        for part in _wrap(line, width_in):
            page.text(left, y, part, charts.BODY_PT)
            y += LINE_IN
    return y


def _who_and_what(page: _Page, sheet: CustomerSheet, top: float) -> float:
    """Customer and vehicle, build, weather and correction in three columns; their bottom."""
    widths = (page.inner - 5.17, 2.75, 2.42)  # the build's and the air's lines fit unbroken
    lefts = (MARGIN_IN, MARGIN_IN + widths[0], MARGIN_IN + widths[0] + widths[1])
    who = [sheet.customer or "—", sheet.vehicle or "—"]
    if sheet.vin:
        who.append(f"VIN {sheet.vin}")
    if sheet.session:
        who.append(sheet.session)
    if sheet.date:
        who.append(sheet.date)
    build = build_lines(sheet.build) if sheet.build is not None else ["not recorded"]
    after_air = weather_text(sheet.after.weather, sheet.units)
    air = [after_air]
    if sheet.before is not None:
        before_air = weather_text(sheet.before.weather, sheet.units)
        if before_air != after_air:
            air = [f"Before: {before_air}", f"After: {after_air}"]
    air.extend(correction_lines(sheet))
    air.append(f"Smoothing {sheet.after.curve.smoothing} (of 0–5)")
    columns = (("Customer and vehicle", who), ("Build", build), ("Weather and correction", air))
    return max(_column(page, left, top, title, lines, width - 0.15)
               for left, width, (title, lines) in zip(lefts, widths, columns, strict=True))


def _result_boxes(page: _Page, sheet: CustomerSheet, top: float) -> float:
    """The peaks the customer reads first, big, each with its before and change; bottom."""
    rows = peak_rows(sheet)
    width = (page.inner - 0.2) / len(rows)
    height = 0.78
    for k, row in enumerate(rows):
        left = MARGIN_IN + k * (width + 0.2)
        box = page.axes(left, top, width, height)
        box.set_axis_off()
        box.add_patch(Rectangle((0, 0), 1, 1, transform=box.transAxes, facecolor=BOX_FILL,
                                edgecolor="none"))
        page.text(left + 0.15, top + 0.1, row.what.upper(), charts.SMALL_PT, weight="bold",
                  color=charts.MUTED)
        page.text(left + 0.15, top + 0.27, row.after_figure, BIG_PT, weight="bold",
                  color=charts.POWER if k == 0 else charts.TORQUE)
        at = row.after.split(" @ ")[-1]
        page.text(left + 2.1, top + 0.12, f"@ {at}", charts.BODY_PT, color=charts.MUTED)
        if row.change:
            page.text(left + 2.1, top + 0.29, f"before {row.before_figure}", charts.BODY_PT,
                      color=charts.MUTED)
            page.text(left + 2.1, top + 0.48, row.change, HEAD_PT, weight="bold")
    return top + height


def _peak_table(page: _Page, sheet: CustomerSheet, top: float) -> float:
    """Peak power and torque, before → after and the change; returns the bottom."""
    cols = (MARGIN_IN, MARGIN_IN + 1.4, MARGIN_IN + 3.5, MARGIN_IN + 5.8)
    heads = ("", "Before", "After", "Change") if sheet.before is not None else ("", "", "", "")
    for x, head in zip(cols, heads, strict=True):
        page.text(x, top, head, charts.SMALL_PT, weight="bold", color=charts.MUTED)
    y = top + 0.2
    for row in peak_rows(sheet):
        page.text(cols[0], y, row.what, charts.BODY_PT + 1, weight="bold")
        page.text(cols[1], y, row.before, charts.BODY_PT + 1, color=charts.MUTED)
        page.text(cols[2], y, row.after, charts.BODY_PT + 1, weight="bold")
        page.text(cols[3], y, row.change, charts.BODY_PT + 1, weight="bold")
        y += 0.24
    for line in gain_lines(sheet):
        page.text(cols[0], y, line, charts.BODY_PT)
        y += 0.18
    return y


def _sources(page: _Page, sheet: CustomerSheet, top: float) -> None:
    """Where each curve came from, and what of the input could not be used, in small print."""
    lines = [f"After: {sheet.after.source}"]
    if sheet.before is not None:
        lines.insert(0, f"Before: {sheet.before.source}")
    lines += [f"Note: {w}" for w in sheet.warnings]
    y = top
    for line in lines:
        for part in _wrap(line, page.inner, charts.SMALL_PT):
            page.text(MARGIN_IN, y, part, charts.SMALL_PT, color=charts.MUTED)
            y += 0.15


def _footer(page: _Page, sheet: CustomerSheet, number: int, pages: int) -> None:
    y = page.height - 0.42
    page.rule(y - 0.06, "#bbbbbb", 0.6)
    who = " · ".join(p for p in (sheet.customer, sheet.vehicle, sheet.date) if p)
    page.text(MARGIN_IN, y, who, charts.SMALL_PT, color=charts.MUTED)
    page.text(page.width - MARGIN_IN, y, f"DynoAI Desktop {__version__} · page {number} of "
              f"{pages}", charts.SMALL_PT, color=charts.MUTED, ha="right")


def _page_one(sheet: CustomerSheet) -> Figure:
    page = _Page(sheet.paper)
    top = _header(page, sheet, "Dyno sheet")
    y = _who_and_what(page, sheet, top + 0.2) + 0.08
    y = _result_boxes(page, sheet, y) + 0.2
    width = page.inner - 1.1
    chart = page.axes(MARGIN_IN + 0.55, y, width, 3.2)
    handles = charts.power_torque(chart, sheet)
    strip = page.axes(MARGIN_IN + 0.55, y + 3.32, width, 0.85)
    gained = charts.gains(strip, sheet)
    if gained:  # two columns filled down: before (and power's gain), after (and torque's)
        handles = [*handles[:2], gained[0], *handles[2:], gained[1]]
    y += 4.6
    legend = page.fig.legend([h for h, _ in handles], [label for _, label in handles],
                             loc="upper center", ncols=2, fontsize=charts.SMALL_PT,
                             frameon=False, bbox_to_anchor=(0.5, 1 - y / page.height))
    legend.set_in_layout(False)
    bottom = _peak_table(page, sheet, y + 0.3 + 0.15 * ((len(handles) + 1) // 2))
    _sources(page, sheet, bottom + 0.06)
    _footer(page, sheet, 1, 2)
    return page.fig


def _change_table(page: _Page, sheet: CustomerSheet, top: float) -> float:
    """Per region: where it is, and per VE table the cells changed, mean and largest %."""
    assert sheet.changes is not None
    changes = sheet.changes.ve
    x = [MARGIN_IN, MARGIN_IN + 0.85, MARGIN_IN + 2.5]
    for k in range(len(changes)):
        base = MARGIN_IN + 2.55 + k * 2.5
        x.extend([base, base + 0.85, base + 1.6])
    y = top
    page.text(x[0], y, "Region", charts.SMALL_PT, weight="bold", color=charts.MUTED)
    page.text(x[1], y, "Where", charts.SMALL_PT, weight="bold", color=charts.MUTED)
    for k, change in enumerate(changes):
        page.text(x[3 + 3 * k], y - 0.17, f"{change.cylinder} VE", charts.SMALL_PT,
                  weight="bold")
        for j, head in enumerate(("changed", "mean", "largest")):
            page.text(x[3 + 3 * k + j], y, head, charts.SMALL_PT, weight="bold",
                      color=charts.MUTED)
    y += 0.2
    for r, region in enumerate(changes[0].by_region):
        page.text(x[0], y, region.region.name, charts.BODY_PT, weight="bold")
        page.text(x[1], y, region.region.where, charts.BODY_PT, color=charts.MUTED)
        for k, change in enumerate(changes):
            part = change.by_region[r]
            cells = [f"{part.changed} of {part.cells}", format_pct(part.mean_pct),
                     format_pct(part.largest_pct)]
            for j, words in enumerate(cells):
                page.text(x[3 + 3 * k + j], y, words, charts.BODY_PT)
        y += 0.19
    return y


def _page_two(sheet: CustomerSheet) -> Figure:
    page = _Page(sheet.paper)
    top = _header(page, sheet, "Dyno sheet")
    y = top + 0.3
    page.text(MARGIN_IN, y, "AIR-FUEL RATIO AT FULL THROTTLE", charts.SMALL_PT, weight="bold",
              color=charts.MUTED)
    half = (page.inner - 0.9) / 2
    front = page.axes(MARGIN_IN + 0.45, y + 0.45, half, AFR_CHART_IN)
    rear = page.axes(MARGIN_IN + 0.9 + half, y + 0.45, half, AFR_CHART_IN)
    charts.afr(front, sheet, "front")
    charts.afr(rear, sheet, "rear")
    lines, labels = front.get_legend_handles_labels()
    legend = page.fig.legend(lines, labels, loc="upper right", ncols=len(labels),
                             fontsize=charts.SMALL_PT, frameon=False,
                             bbox_to_anchor=(1 - MARGIN_IN / page.width,
                                             1 - (y - 0.08) / page.height))
    legend.set_in_layout(False)
    y += AFR_CHART_IN + 1.05
    page.rule(y - 0.1, "#bbbbbb", 0.6)
    page.text(MARGIN_IN, y, "WHAT CHANGED IN THE TUNE", charts.SMALL_PT, weight="bold",
              color=charts.MUTED)
    y += 0.2
    changes = sheet.changes
    if changes is None:
        page.text(MARGIN_IN, y, "No tune versions were given, so the changes are not shown.",
                  charts.BODY_PT, color=charts.MUTED)
        y += 0.35
    else:
        for line in _wrap(sheet.tune, page.inner, charts.BODY_PT + 1, bold=True):
            page.text(MARGIN_IN, y, line, charts.BODY_PT + 1, weight="bold")
            y += 0.2
        y += 0.1
        if changes.nothing:
            page.text(MARGIN_IN, y, "No table changed.", charts.BODY_PT)
            y += 0.3
        if changes.ve:
            y = _change_table(page, sheet, y + 0.17) + 0.1
            maps = [page.axes(MARGIN_IN + 0.45 + k * (half + 0.45), y + 0.25, half - 0.2,
                              HEAT_MAP_IN) for k in range(len(changes.ve))]
            image = charts.heat_maps(maps, changes.ve)
            if image is not None:
                bar = page.axes(page.width - MARGIN_IN - 0.12, y + 0.25, 0.1, HEAT_MAP_IN)
                colour_bar = page.fig.colorbar(image, cax=bar)
                colour_bar.ax.tick_params(labelsize=charts.SMALL_PT)
                colour_bar.set_label("VE change, % (red: more fuel)", fontsize=charts.SMALL_PT)
            y += HEAT_MAP_IN + 0.72
        for line in changes.other_lines:
            page.text(MARGIN_IN, y, line, charts.BODY_PT)
            y += 0.17
    _notes(page, sheet, y + 0.12)
    _footer(page, sheet, 2, 2)
    return page.fig


def _notes(page: _Page, sheet: CustomerSheet, top: float) -> None:
    page.rule(top - 0.1, "#bbbbbb", 0.6)
    page.text(MARGIN_IN, top, "TUNER'S NOTES", charts.SMALL_PT, weight="bold",
              color=charts.MUTED)
    lines = _wrap(sheet.notes or "—", page.inner)
    room = min(NOTES_LINES_MAX, max(1, int((page.height - 0.72 - top - 0.2) / LINE_IN)))
    if len(lines) > room:  # what does not fit is cut, and says so
        lines = [*lines[:room - 1], lines[room - 1] + " …"]
    y = top + 0.2
    for line in lines:
        page.text(MARGIN_IN, y, line, charts.BODY_PT)
        y += LINE_IN


def sheet_pdf_bytes(sheet: CustomerSheet) -> bytes:
    """The sheet as a PDF document."""
    out = io.BytesIO()
    with _style():
        figures = [_page_one(sheet), _page_two(sheet)]
        title = " · ".join(p for p in ("Dyno sheet", sheet.customer, sheet.vehicle) if p)
        with PdfPages(out, metadata={"Title": title, "Creator": f"DynoAI Desktop {__version__}",
                                     "Subject": "Before/after dyno sheet"}) as pdf:
            for figure in figures:
                pdf.savefig(figure)
    return out.getvalue()


def write_sheet_pdf(path: Path, sheet: CustomerSheet) -> None:
    """Write the sheet's PDF to ``path`` (atomically); InputError naming it when it cannot."""
    write_bytes_atomic(path, sheet_pdf_bytes(sheet))


def sheet_png_pages(sheet: CustomerSheet, dpi: float = 110.0) -> list[bytes]:
    """The same pages as PNG images (the Agg backend), for a preview on screen."""
    pages = []
    with _style():
        for figure in (_page_one(sheet), _page_two(sheet)):
            FigureCanvasAgg(figure)
            out = io.BytesIO()
            figure.savefig(out, format="png", dpi=dpi, facecolor="white")
            pages.append(out.getvalue())
    return pages


_warmed = False


def warm_up() -> None:
    """Load everything that drawing and writing a sheet uses (matplotlib, its PDF and PNG
    writers, the font subsetter, Pillow) by drawing a tiny sheet once, on the calling thread.

    The app calls it on the UI thread before a worker draws the first sheet: a module imported
    on a worker while the UI thread is inside Qt once hung the app
    (tests/app/test_no_imports_on_threads.py)."""
    global _warmed
    if _warmed:
        return
    x = np.array([2000.0, 2050.0, 2100.0])
    flat = np.full(x.size, 12.8)
    curve = PowerCurve("rpm", x, np.full(x.size, 90.0), x * 90.0 * HP_PER_FTLB_RPM, flat, flat,
                       Standard.SAE_J1349, 1.0, 0)
    table = Table(VE_FRONT_MAP, "%", "rpm", "map_kpa", [1000.0, 2000.0], [30.0, 100.0],
                  [[40.0, 60.0], [45.0, 70.0]])
    change = table_change(table, table.with_values(table.values * 1.01))
    assert change is not None
    pull = SheetCurve(curve, flat, "warm-up", Weather())
    sheet = CustomerSheet(pull, pull, changes=TuneChanges((change,), ()), tune="warm-up",
                          notes="warm-up")
    sheet_pdf_bytes(sheet)
    sheet_png_pages(sheet, dpi=10.0)
    _warmed = True
