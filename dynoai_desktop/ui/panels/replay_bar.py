"""The replay's transport bar under the live panel: play/pause, speed, a seek slider with the
run's markers on it, replay time "02:13 / 10:45", and Back to live. A thin view of an
``app.replay.RunReplay``: its buttons call the replay, ``refresh`` shows where it is."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QStyle,
    QStyleOptionSlider,
    QWidget,
)

from dynoai_desktop.app.replay import REPLAY_SPEEDS, RunReplay
from dynoai_desktop.ui import theme

SLIDER_STEPS_PER_S = 10  # the seek slider moves in tenths of a second
MARKER_TICK_PX = 5


def clock_text(seconds: float) -> str:
    """Replay time as a tuner reads a clock: '02:13', '1:02:13' past an hour."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class MarkedSlider(QSlider):
    """A horizontal slider with a small tick above and below the groove at each marker."""

    def __init__(self) -> None:
        super().__init__(Qt.Orientation.Horizontal)
        self.marks: list[int] = []  # slider values

    def set_marks(self, values: list[int]) -> None:
        self.marks = values
        self.update()

    def mark_x(self, value: int) -> int:
        """Where the handle's centre is at ``value``, in the slider's pixels."""
        option = QStyleOptionSlider()
        self.initStyleOption(option)
        style = self.style()
        groove = style.subControlRect(QStyle.ComplexControl.CC_Slider, option,
                                      QStyle.SubControl.SC_SliderGroove, self)
        handle = style.subControlRect(QStyle.ComplexControl.CC_Slider, option,
                                      QStyle.SubControl.SC_SliderHandle, self)
        span = groove.width() - handle.width()
        return (groove.left() + handle.width() // 2
                + QStyle.sliderPositionFromValue(self.minimum(), self.maximum(), value, span))

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        super().paintEvent(event)
        if not self.marks:
            return
        painter = QPainter(self)
        painter.setPen(QPen(QColor(theme.WARN), 2))
        rect: QRect = self.rect()
        for value in self.marks:
            x = self.mark_x(value)
            painter.drawLine(x, rect.top(), x, rect.top() + MARKER_TICK_PX)
            painter.drawLine(x, rect.bottom() - MARKER_TICK_PX, x, rect.bottom())
        painter.end()


class ReplayBar(QWidget):
    """Transport of one replay; ``back_requested`` when the tuner wants the live bike again."""

    back_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("replay_bar")
        self.replay: RunReplay | None = None
        self.play_button = QPushButton()
        self.play_button.setMinimumWidth(90)
        self.play_button.clicked.connect(self._play_clicked)
        self.speed = QComboBox()
        for speed in REPLAY_SPEEDS:
            self.speed.addItem(f"{speed:g}×", speed)
        self.speed.setToolTip("Replay speed: run seconds per second")
        self.speed.currentIndexChanged.connect(self._speed_chosen)
        self.slider = MarkedSlider()
        self.slider.setObjectName("replay_seek")
        self.slider.valueChanged.connect(self._slider_moved)  # the user's moves only
        self.time_label = QLabel()
        self.time_label.setObjectName("replay_time")
        font = self.time_label.font()
        font.setBold(True)
        font.setStyleHint(font.StyleHint.Monospace)
        self.time_label.setFont(font)
        self.back_button = QPushButton("Back to live")
        self.back_button.setToolTip("Stop the replay: the gauges, charts and the table "
                                    "editor's cursor follow the live bike again")
        self.back_button.clicked.connect(self.back_requested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 2)
        layout.addWidget(self.play_button)
        layout.addWidget(self.speed)
        layout.addWidget(self.slider, stretch=1)
        layout.addWidget(self.time_label)
        layout.addWidget(self.back_button)

    def set_replay(self, replay: RunReplay | None) -> None:
        """Drive ``replay`` (None: none; the bar is then hidden by its owner)."""
        self.replay = replay
        if replay is None:
            return
        self.slider.blockSignals(True)
        self.slider.setRange(0, self._steps(replay.end_s))
        self.slider.setPageStep(10 * SLIDER_STEPS_PER_S)
        self.slider.setSingleStep(SLIDER_STEPS_PER_S)
        self.slider.blockSignals(False)
        self.slider.set_marks([self._steps(m.time_s) for m in replay.markers
                               if replay.start_s <= m.time_s <= replay.end_s])
        self.slider.setToolTip("Seek in the run" + "".join(
            f"\n{clock_text(m.time_s - replay.start_s)}  {m.note}" for m in replay.markers))
        self.refresh()

    def refresh(self) -> None:
        """Show where the replay is and what it does (the owner's timer calls this)."""
        replay = self.replay
        if replay is None:
            return
        if not self.slider.isSliderDown():  # not under the tuner's mouse
            self.slider.blockSignals(True)
            self.slider.setValue(self._steps(replay.position_s))
            self.slider.blockSignals(False)
        text = (f"{clock_text(replay.position_s - replay.start_s)} / "
                f"{clock_text(replay.duration_s)}")
        if self.time_label.text() != text:
            self.time_label.setText(text)
        playing = replay.playing
        label = "Pause" if playing else "Play"
        if self.play_button.text() != label:
            self.play_button.setText(label)
            icon = (QStyle.StandardPixmap.SP_MediaPause if playing
                    else QStyle.StandardPixmap.SP_MediaPlay)
            self.play_button.setIcon(self.style().standardIcon(icon))
        index = self.speed.findData(replay.speed)
        if index >= 0 and index != self.speed.currentIndex():
            self.speed.blockSignals(True)
            self.speed.setCurrentIndex(index)
            self.speed.blockSignals(False)

    # ------------------------------------------------------------------ the tuner's input
    def _play_clicked(self) -> None:
        if self.replay is None:
            return
        if self.replay.playing:
            self.replay.pause()
        else:
            self.replay.play()
        self.refresh()

    def _speed_chosen(self, _index: int) -> None:
        if self.replay is not None:
            self.replay.set_speed(float(self.speed.currentData()))

    def _slider_moved(self, value: int) -> None:
        if self.replay is not None:
            self.replay.seek(self.replay.start_s + value / SLIDER_STEPS_PER_S)

    def _steps(self, time_s: float) -> int:
        start = self.replay.start_s if self.replay is not None else 0.0
        return round((time_s - start) * SLIDER_STEPS_PER_S)
