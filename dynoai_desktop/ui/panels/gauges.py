"""The live panel's digital gauges: a title, a big value (or the sensor's state in its place),
its unit and a small note. What a gauge shows for a reading is core's rule
(``core.display.gauge_reading``); this only draws it, cheaply enough to redraw every frame."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPointF, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QPainter,
    QPaintEvent,
    QPalette,
    QResizeEvent,
    QStaticText,
    QTransform,
)
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QSizePolicy, QWidget

from dynoai_desktop.core.display import (
    NO_VALUE_TEXT,
    GaugeReading,
    GaugeState,
    Mixture,
    mixture,
    unit_symbol,
)
from dynoai_desktop.ui import theme
from dynoai_desktop.ui.widgets import ElidedLabel

VALUE_POINT_SIZE = 20
SAMPLE_VALUE = "8,888.8"  # how wide a value usually is: the gauge asks for this much room


@dataclass(frozen=True)
class GaugeSpec:
    channel: str
    title: str  # for AFR channels, the word before it follows the unit ("AFR front", "λ front")


GAUGES = (
    GaugeSpec("rpm", "Engine speed"),
    GaugeSpec("map_kpa", "MAP"),
    GaugeSpec("tps_pct", "Throttle"),
    GaugeSpec("afr_front", "front"),
    GaugeSpec("afr_rear", "rear"),
    GaugeSpec("torque_ftlb", "Torque"),
    GaugeSpec("power_hp", "Power"),
    GaugeSpec("speed_mph", "Roll speed"),
    GaugeSpec("engine_temp_c", "Engine temp"),
    GaugeSpec("iat_c", "Intake air"),
)
GAUGE_COLUMNS = 5

MIXTURE_COLOURS = {Mixture.ON_TARGET: theme.OK, Mixture.LEAN: theme.FAULT,
                   Mixture.RICH: theme.RICH, Mixture.UNKNOWN: theme.TEXT}
STATE_COLOURS = {GaugeState.SENSOR_ERROR: theme.FAULT, GaugeState.WARMING_UP: theme.WARN,
                 GaugeState.CALIBRATING: theme.WARN, GaugeState.NO_READING: theme.IDLE}


def afr_colour(afr: float, target: float) -> str:
    """Green on target, red lean, blue rich (core's rule); plain when there is no target."""
    return MIXTURE_COLOURS[mixture(afr, target)]


def gauge_title(spec: GaugeSpec, unit: str) -> str:
    """The gauge's title in the user's unit: "AFR front" or "λ front"."""
    if spec.channel.startswith("afr_"):
        return f"{unit_symbol(unit)} {spec.title}"
    return spec.title


class GaugeValue(QWidget):
    """The big number. Painted by hand from a prepared QStaticText: a new text repaints only
    this widget (a QLabel would ask the whole panel to lay out again on every change) and
    costs no text layout per paint; a text wider than the gauge is drawn smaller, never cut,
    so a narrow dock still reads "5,800"."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._text = NO_VALUE_TEXT
        self._colour = QColor(theme.IDLE)
        font = QFont(self.font())
        font.setPointSize(VALUE_POINT_SIZE)
        font.setBold(True)
        self.setFont(font)
        self._static = QStaticText(self._text)
        self._static.setTextFormat(Qt.TextFormat.PlainText)
        self._fitted = QFont(font)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def text(self) -> str:
        return self._text

    def colour(self) -> str:
        return self._colour.name()

    def set_text(self, text: str, colour: str) -> None:
        """Show ``text`` in ``colour``; nothing is repainted when neither changed."""
        if text == self._text and colour == self._colour.name():
            return
        if text != self._text:
            self._text = text
            self._static.setText(text)
            self._fit()
        self._colour = QColor(colour)
        self.update()

    def _fit(self) -> None:
        """The font the text fits the width in (the gauge's, or smaller)."""
        font = QFont(self.font())
        width = QFontMetricsF(font).horizontalAdvance(self._text)
        room = self.contentsRect().width()
        if width > room > 0:
            font.setPointSizeF(max(6.0, font.pointSizeF() * room / width))
        self._fitted = font
        self._static.prepare(QTransform(), font)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        metrics = self.fontMetrics()
        return QSize(metrics.horizontalAdvance(SAMPLE_VALUE), metrics.height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(24, self.fontMetrics().height())

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._fit()

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.setFont(self._fitted)
        painter.setPen(self._colour)
        rect = self.contentsRect()
        size = self._static.size()
        painter.drawStaticText(QPointF(rect.right() + 1 - size.width(),
                                       rect.center().y() + 0.5 - size.height() / 2), self._static)


class Gauge(QFrame):
    """One digital readout: title, value (or the sensor's state in its place), unit, note."""

    def __init__(self, spec: GaugeSpec, unit: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self.reading = GaugeReading(NO_VALUE_TEXT, "", GaugeState.NO_READING)
        self.setObjectName(f"gauge_{spec.channel}")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title_label = ElidedLabel()
        self.value_label = GaugeValue()
        self.unit_label = QLabel()  # a symbol: short, never cut
        self.note_label = ElidedLabel()
        self.note_label.setAlignment(Qt.AlignmentFlag.AlignRight)
        for label in (self.title_label, self.unit_label, self.note_label):
            _set_colour(label, theme.MUTED)
        layout = QGridLayout(self)
        layout.setContentsMargins(6, 3, 6, 3)
        layout.setVerticalSpacing(0)
        layout.addWidget(self.title_label, 0, 0, 1, 2)
        layout.addWidget(self.value_label, 1, 0)
        layout.addWidget(self.unit_label, 1, 1, Qt.AlignmentFlag.AlignBottom)
        layout.addWidget(self.note_label, 2, 0, 1, 2)
        layout.setColumnStretch(0, 1)
        self.set_unit(unit)

    def set_unit(self, unit: str) -> None:
        self.title_label.setText(gauge_title(self.spec, unit))
        self.unit_label.setText(unit_symbol(unit))

    def show_reading(self, reading: GaugeReading, colour: str = theme.TEXT) -> None:
        """Show ``reading``; a value in ``colour``, a state in its own (red error, amber
        warming up or calibrating, grey no reading). Nothing is redrawn when nothing changed."""
        if reading.state is not GaugeState.VALUE:
            colour = STATE_COLOURS[reading.state]
        self.value_label.set_text(reading.text, colour)
        if reading.note != self.reading.note:
            self.note_label.setText(reading.note)
        if reading.state is not self.reading.state:
            _set_colour(self.note_label, theme.MUTED if reading.state in
                        (GaugeState.VALUE, GaugeState.NO_READING) else colour)
        self.reading = reading


def _set_colour(widget: QWidget, colour: str) -> None:
    palette = widget.palette()
    palette.setColor(QPalette.ColorRole.WindowText, QColor(colour))
    widget.setPalette(palette)
