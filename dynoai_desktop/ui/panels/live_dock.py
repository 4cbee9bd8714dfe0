"""The live-logging dock: device bar and session bar over the live panel, or a run in review."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from dynoai_desktop.ui.panels.device_bar import DeviceBar
from dynoai_desktop.ui.panels.live_logging import LiveLoggingPanel
from dynoai_desktop.ui.panels.review import ReviewPanel
from dynoai_desktop.ui.panels.session_bar import SessionBar


class LiveDock(QWidget):
    """Live (devices, session, gauges and charts) and Review (a saved run or a log), one at a
    time, switched by two buttons; opening a run switches to Review by itself."""

    def __init__(self, device_bar: DeviceBar, session_bar: SessionBar, live: LiveLoggingPanel,
                 review: ReviewPanel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.device_bar, self.session_bar, self.live, self.review = (
            device_bar, session_bar, live, review)
        self.live_button = QPushButton("Live")
        self.review_button = QPushButton("Review")
        group = QButtonGroup(self)
        for button in (self.live_button, self.review_button):
            button.setCheckable(True)
            group.addButton(button)
        self.live_button.setChecked(True)
        self.live_button.clicked.connect(self.show_live)
        self.review_button.clicked.connect(self.show_review)

        live_page = QWidget()
        live_layout = QVBoxLayout(live_page)
        live_layout.setContentsMargins(0, 0, 0, 0)
        live_layout.addWidget(device_bar)
        live_layout.addWidget(session_bar)
        live_layout.addWidget(live, stretch=1)
        self.pages = QStackedWidget()
        self.pages.addWidget(live_page)
        self.pages.addWidget(review)

        switch = QHBoxLayout()
        switch.addWidget(self.live_button)
        switch.addWidget(self.review_button)
        switch.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(switch)
        layout.addWidget(self.pages, stretch=1)

    def show_live(self) -> None:
        self.live_button.setChecked(True)
        self.pages.setCurrentIndex(0)

    def show_review(self) -> None:
        self.review_button.setChecked(True)
        self.pages.setCurrentIndex(1)

    @property
    def reviewing(self) -> bool:
        return self.pages.currentIndex() == 1

    def add_under_live(self, widget: QWidget) -> None:
        """Put ``widget`` (the replay's transport bar) just under the live panel."""
        layout = self.live.parentWidget().layout()
        layout.insertWidget(layout.indexOf(self.live) + 1, widget)
