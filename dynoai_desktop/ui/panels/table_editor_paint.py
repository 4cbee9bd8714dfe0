"""How the table editor draws: each cell (heat colour, value, lock hatching, selection, the live
cursor and its fading trace, a layer's tint and note), the two-line load headers and the rpm
headers, and section sizes that fit every value and header without cutting them."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPointF, QRect, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import (
    QHeaderView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionHeader,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)

from dynoai_desktop.ui import theme
from dynoai_desktop.ui.panels.table_editor_units import TRACE_LEVELS
from dynoai_desktop.ui.panels.table_model import HEAT_PALETTE, TEXT_ON_HEAT, EditorModel

CELL_PAD_PX = 4  # each side of the widest value or header line
HEADER_PAD_PX = 4
COMPACT_SCALE = 0.78  # padding rows and columns: a smaller font
LOCK_HATCH = QBrush(QColor(16, 18, 20, 150), Qt.BrushStyle.BDiagPattern)
LOCK_EDGE = QColor(16, 18, 20, 200)
KNOCK_MARK = QColor(theme.WARN)  # a knock-prone cell's corner: overlays never advance it
KNOCK_MARK_PX = 7
SELECTED_FILL = QColor(20, 40, 90, 120)
SELECTED_EDGE = QColor(theme.ACCENT)
# A visited cell whitens, most when the engine was just there; even the oldest level shows.
TRACE_FILLS = [QColor(255, 255, 255, 0 if k == 0 else int(45 + 145 * k / TRACE_LEVELS))
               for k in range(TRACE_LEVELS + 1)]
TRACE_EDGES = [QColor(255, 255, 255, 0 if k == 0 else int(110 + 145 * k / TRACE_LEVELS))
               for k in range(TRACE_LEVELS + 1)]
CURSOR_OUTER = QColor("#000000")
CURSOR_INNER = QColor("#ffffff")
CURSOR_DOT = QColor(theme.RPM)
CURSOR_DOT_RADIUS_PX = 3.5  # the exact operating point inside the cursor cell
PADDING_TEXT = QColor(16, 18, 20, 170)

_Index = QModelIndex | QPersistentModelIndex
_SELECTED = QStyle.StateFlag.State_Selected
_HAS_FOCUS = QStyle.StateFlag.State_HasFocus
_LEFT = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_CENTRE = int(Qt.AlignmentFlag.AlignCenter)


_COMPACT: dict[str, QFont] = {}


def compact_font(font: QFont) -> QFont:
    """``font`` made smaller, for padding rows and columns (cached: painting asks per cell)."""
    key = font.key()
    small = _COMPACT.get(key)
    if small is None:
        small = _COMPACT[key] = _smaller(font)
    return small


def _smaller(font: QFont) -> QFont:
    small = QFont(font)
    size = font.pointSizeF()
    if size > 0:
        small.setPointSizeF(max(6.0, size * COMPACT_SCALE))
    else:
        small.setPixelSize(max(8, round(font.pixelSize() * COMPACT_SCALE)))
    return small


class CellDelegate(QStyledItemDelegate):
    """Paints a cell from the model's precomputed texts and colours: one lookup per cell."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: _Index) -> None:
        model = index.model()
        if not isinstance(model, EditorModel):
            super().paint(painter, option, index)
            return
        r, c = index.row(), index.column()
        rect: QRect = option.rect
        heat = model.heat[r][c]
        painter.save()
        painter.fillRect(rect, HEAT_PALETTE[heat])
        tint = model.layer_tint(r, c)
        if tint is not None:
            painter.fillRect(rect, tint)
        level = int(model.trace[r, c])
        if level:
            painter.fillRect(rect, TRACE_FILLS[level])
        locked = bool(model.locked[r, c])
        if locked:
            painter.fillRect(rect, LOCK_HATCH)
        state = option.state
        selected = bool(state & _SELECTED)
        if selected:
            painter.fillRect(rect, SELECTED_FILL)
        on_cursor = model.cursor == (r, c)
        if on_cursor:  # the live point, beneath the value so the value stays readable
            self._paint_point(painter, rect, model.cursor_offset)
        padding = bool(model.padding_rows[r] or model.padding_cols[c])
        font = compact_font(option.font) if padding else option.font
        painter.setFont(font)
        painter.setPen(PADDING_TEXT if padding and not selected and heat > 20
                       else TEXT_ON_HEAT[heat] if not selected else QColor("#ffffff"))
        note = model.layer_note(r, c)
        if note:  # the value to the left, the layer's note (a proposed change) to the right
            painter.drawText(rect.adjusted(3, 0, 0, 0), _LEFT, model.texts[r][c])
            painter.setFont(compact_font(font))
            painter.drawText(rect.adjusted(1, 0, -3, 0), _RIGHT, note)
        else:
            painter.drawText(rect, _CENTRE, model.texts[r][c])
        if locked:
            painter.setPen(QPen(LOCK_EDGE, 1))
            painter.drawRect(rect.adjusted(0, 0, -1, -1))
        if model.knock_prone[r, c]:  # a triangle in the top-right corner
            right, top = rect.right(), rect.top()
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(KNOCK_MARK)
            painter.drawPolygon([QPointF(right - KNOCK_MARK_PX, top), QPointF(right + 1, top),
                                 QPointF(right + 1, top + KNOCK_MARK_PX + 1)])
        if selected:
            painter.setPen(QPen(SELECTED_EDGE, 1))
            painter.drawRect(rect.adjusted(0, 0, -1, -1))
        if level:
            painter.setPen(QPen(TRACE_EDGES[level], 2))
            painter.drawRect(rect.adjusted(1, 1, -1, -1))
        if on_cursor:
            painter.setPen(QPen(CURSOR_OUTER, 2))
            painter.drawRect(rect.adjusted(1, 1, -1, -1))
            painter.setPen(QPen(CURSOR_INNER, 2))
            painter.drawRect(rect.adjusted(3, 3, -3, -3))
        if state & _HAS_FOCUS:
            painter.setPen(QPen(QColor("#ffffff"), 1, Qt.PenStyle.DotLine))
            painter.drawRect(rect.adjusted(1, 1, -2, -2))
        painter.restore()

    @staticmethod
    def _paint_point(painter: QPainter, rect: QRect, offset: tuple[float, float]) -> None:
        down, right = offset
        centre = QPointF(rect.center().x() + right * (rect.width() - 8),
                         rect.center().y() + down * (rect.height() - 8))
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(QPen(CURSOR_OUTER, 1.5))
        painter.setBrush(CURSOR_DOT)
        painter.drawEllipse(centre, CURSOR_DOT_RADIUS_PX, CURSOR_DOT_RADIUS_PX)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)


class EditorHeader(QHeaderView):
    """Load headers on two lines (breakpoint, unit) and rpm headers, never cut; a padding
    breakpoint marked "↺" in a smaller font."""

    def __init__(self, orientation: Qt.Orientation, parent: QWidget | None = None) -> None:
        super().__init__(orientation, parent)
        self.setSectionsClickable(True)
        self.setHighlightSections(True)

    def _model(self) -> EditorModel | None:
        model = self.model()
        return model if isinstance(model, EditorModel) and model.table is not None else None

    def lines(self, section: int) -> tuple[list[str], bool]:
        """The text lines of ``section`` and whether it is a padding breakpoint."""
        model = self._model()
        if model is None or not 0 <= section < (
                model.columnCount() if self.orientation() == Qt.Orientation.Horizontal
                else model.rowCount()):
            return [], False
        if self.orientation() == Qt.Orientation.Horizontal:
            padding = bool(model.padding_cols[section])
            number, _, unit = model.col_label(section).partition(" ")
            return [f"↺{number}" if padding else number, unit], padding
        padding = bool(model.padding_rows[section])
        text = model.row_label(section)
        return [f"↺ {text}" if padding else text], padding

    def line_widths(self, section: int) -> list[int]:
        """Pixels each line of ``section`` needs, in the font it is drawn with."""
        lines, padding = self.lines(section)
        metrics = QFontMetrics(compact_font(self.font()) if padding else self.font())
        return [metrics.horizontalAdvance(line) for line in lines]

    def sectionSizeFromContents(self, section: int) -> QSize:  # noqa: N802 - Qt's name
        lines, padding = self.lines(section)
        metrics = QFontMetrics(self.font())
        if self.orientation() == Qt.Orientation.Horizontal:
            width = max(self.line_widths(section), default=0) + 2 * HEADER_PAD_PX
            return QSize(width, 2 * metrics.height() + 6)
        width = max(self.line_widths(section), default=0) + 2 * HEADER_PAD_PX
        return QSize(width, metrics.height() + 6)

    def paintSection(self, painter: QPainter, rect: QRect, section: int) -> None:  # noqa: N802
        if not rect.isValid():
            return
        painter.save()
        option = QStyleOptionHeader()
        self.initStyleOption(option)
        option.rect = rect
        option.section = section
        option.text = ""
        self.style().drawControl(QStyle.ControlElement.CE_HeaderSection, option, painter, self)
        lines, padding = self.lines(section)
        font = compact_font(self.font()) if padding else self.font()
        painter.setFont(font)
        colour = QColor(theme.MUTED) if padding else self.palette().buttonText().color()
        inner = rect.adjusted(HEADER_PAD_PX // 2, 1, -HEADER_PAD_PX // 2, -1)
        if self.orientation() == Qt.Orientation.Horizontal:
            metrics = QFontMetrics(self.font())
            top = inner.adjusted(0, 2, 0, 0)
            top.setHeight(metrics.height())
            bottom = QRect(top.left(), top.bottom() + 1, top.width(), metrics.height())
            painter.setPen(colour)
            painter.drawText(top, int(Qt.AlignmentFlag.AlignCenter), lines[0] if lines else "")
            painter.setPen(QColor(theme.MUTED))
            painter.drawText(bottom, int(Qt.AlignmentFlag.AlignCenter),
                             lines[1] if len(lines) > 1 else "")
        else:
            painter.setPen(colour)
            painter.drawText(inner, int(Qt.AlignmentFlag.AlignRight
                                        | Qt.AlignmentFlag.AlignVCenter),
                             lines[0] if lines else "")
        painter.restore()


def fit_sections(view: QTableView, model: EditorModel, room_px: int = 0) -> None:
    """Size columns to the widest value and header line (one width for the table's own
    columns, a compact one for padding columns) and rows to the text; padding rows compact.
    With ``room_px`` to spare beyond that, the table's own columns share it (up to twice
    their width), so a table of few columns fills its dock."""
    if model.table is None:
        return
    metrics = QFontMetrics(view.font())
    small = QFontMetrics(compact_font(view.font()))
    header = view.horizontalHeader()
    assert isinstance(header, EditorHeader)
    n_rows, n_cols = model.table.shape
    # The widest text in each font: a table repeats its values, so measure each text once.
    texts = {False: set(), True: set()}  # in the full font, in the compact one
    for r, row in enumerate(model.texts):
        pad_row = bool(model.padding_rows[r])
        for c, text in enumerate(row):
            texts[pad_row or bool(model.padding_cols[c])].add(text)
    widest = max((metrics.horizontalAdvance(t) for t in texts[False]), default=0)
    widest_small = max((small.horizontalAdvance(t) for t in texts[True]), default=0)
    widths = {False: 0, True: 0}
    for c in range(n_cols):
        padding = bool(model.padding_cols[c])
        cells = widest_small if padding else max(widest, widest_small)
        heads = max(header.line_widths(c), default=0) + 2 * HEADER_PAD_PX
        widths[padding] = max(widths[padding], cells + 2 * CELL_PAD_PX, heads)
    own = int((~model.padding_cols).sum())
    total = own * widths[False] + (n_cols - own) * widths[True]
    if own and room_px > total:
        widths[False] += min((room_px - total) // own, widths[False])
    for c in range(n_cols):
        width = widths[bool(model.padding_cols[c])]
        if header.sectionSize(c) != width:
            header.resizeSection(c, width)
    rows = view.verticalHeader()
    heights = {False: metrics.height() + 6, True: small.height() + 2}
    for r in range(n_rows):
        height = heights[bool(model.padding_rows[r])]
        if rows.sectionSize(r) != height:
            rows.resizeSection(r, height)
