"""The live-logging dock: device bar and session bar over the live panel, or a run in review
with the run library beside it."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from dynoai_desktop.ui.panels.device_bar import DeviceBar
from dynoai_desktop.ui.panels.live_logging import LiveLoggingPanel
from dynoai_desktop.ui.panels.review import ReviewPanel
from dynoai_desktop.ui.panels.run_browser import RunBrowser
from dynoai_desktop.ui.panels.session_bar import SessionBar

BROWSER_PX = 320  # the run library's width the first time Review shows
BROWSER_SHARE = 0.45  # at most this share of the Review page, so the charts keep the rest
CHARTS_BESIDE_LIBRARY_PX = 1100
"""A Review page narrower than this hides the run library when a run is opened from it: the
charts, markers and cursor read-out need the room (the Run library button brings it back)."""


class LiveDock(QWidget):
    """Live (devices, session, gauges and charts) and Review (a saved run or a log, the run
    library to its left), one at a time, switched by two buttons; opening a run switches to
    Review by itself."""

    def __init__(self, device_bar: DeviceBar, session_bar: SessionBar, live: LiveLoggingPanel,
                 review: ReviewPanel, parent: QWidget | None = None,
                 browser: RunBrowser | None = None) -> None:
        super().__init__(parent)
        self.device_bar, self.session_bar, self.live, self.review = (
            device_bar, session_bar, live, review)
        self.browser = browser
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
        self.pages.addWidget(self._review_page(review, browser))

        switch = QHBoxLayout()
        switch.addWidget(self.live_button)
        switch.addWidget(self.review_button)
        switch.addStretch(1)
        if self.library_button is not None:
            switch.addWidget(self.library_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(switch)
        layout.addWidget(self.pages, stretch=1)

    def _review_page(self, review: ReviewPanel, browser: RunBrowser | None) -> QWidget:
        """The review panel, with the run library to its left (collapsible) when given."""
        self.library_button: QPushButton | None = None
        if browser is None:
            return review
        self.review_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.review_splitter.addWidget(browser)
        self.review_splitter.addWidget(review)
        self.review_splitter.setCollapsible(0, True)
        self.review_splitter.setCollapsible(1, False)
        self.review_splitter.setStretchFactor(1, 1)
        self._library_sized = False
        self.library_button = QPushButton("Run library")
        self.library_button.setCheckable(True)
        self.library_button.setChecked(True)
        self.library_button.setToolTip("Show or hide the run library beside the review")
        self.library_button.toggled.connect(browser.setVisible)
        self.library_button.hide()  # shown in Review
        return self.review_splitter

    def show_live(self) -> None:
        self.live_button.setChecked(True)
        self.pages.setCurrentIndex(0)
        if self.library_button is not None:
            self.library_button.hide()

    def show_review(self) -> None:
        self.review_button.setChecked(True)
        self.pages.setCurrentIndex(1)
        if self.library_button is not None:
            self.library_button.show()
            if not self._library_sized:  # once, at the width the dock has now
                self._library_sized = True
                width = self.review_splitter.width()
                library = min(BROWSER_PX, int(width * BROWSER_SHARE))
                self.review_splitter.setSizes([library, width - library])

    def make_room_for_charts(self) -> None:
        """A run was opened: in a narrow dock the library steps aside for the charts."""
        if (self.library_button is not None and self.library_button.isChecked()
                and self.review_splitter.width() < CHARTS_BESIDE_LIBRARY_PX):
            self.library_button.setChecked(False)

    @property
    def reviewing(self) -> bool:
        return self.pages.currentIndex() == 1

    def add_under_live(self, widget: QWidget) -> None:
        """Put ``widget`` (the replay's transport bar) just under the live panel."""
        layout = self.live.parentWidget().layout()
        layout.insertWidget(layout.indexOf(self.live) + 1, widget)
