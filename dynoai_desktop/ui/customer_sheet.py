"""Session ▸ Customer sheet…: choose a session, make its before/after sheet (on a worker), see
its pages, save the PDF or open it in the system's viewer to print. A thin view: the sheet is
made, drawn and written by ``app.customer_sheet``; the preview is the same pages as PNG."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, QUrl
from PySide6.QtGui import QDesktopServices, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from dynoai_desktop.app.customer_sheet import CustomerSheetMaker
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.power_curves import DEFAULT_SMOOTHING, Standard
from dynoai_desktop.ui import theme
from dynoai_desktop.ui.widgets import CompactCombo

POLL_MS = 100
READY_AFTER_MS = 50  # the dialog paints before the drawing library loads
PAGE_WIDTH_PX = 620  # a page of the preview, scaled to this width


class CustomerSheetDialog(QDialog):
    """The sheet of one session: options and notes on the left, its pages on the right."""

    def __init__(self, maker: CustomerSheetMaker, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.maker = maker
        self.setWindowTitle("Customer sheet")
        self.setObjectName("customer_sheet")
        self._ready = False  # the drawing library loaded (_get_ready)
        self.session = CompactCombo(40)
        self.session.setObjectName("sheet_session")
        for choice in maker.sessions():
            self.session.addItem(choice.label, choice.id)
        self.standard = QComboBox()
        for standard in Standard:
            self.standard.addItem(standard.label, standard.value)
        self.smoothing = QSpinBox()
        self.smoothing.setRange(0, 5)
        self.smoothing.setValue(DEFAULT_SMOOTHING)
        self.notes = QPlainTextEdit()
        self.notes.setObjectName("sheet_notes")
        self.notes.setPlaceholderText("What was done, what the customer should know: printed "
                                      "on the sheet, kept with the session when it is made")
        self.make_button = QPushButton("Make sheet")
        self.save_button = QPushButton("Save PDF…")
        self.print_button = QPushButton("Open / Print…")
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setStyleSheet(f"color: {theme.MUTED};")
        self.pages_box = QWidget()
        self.pages = QVBoxLayout(self.pages_box)
        self.pages.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        scroll = QScrollArea()
        scroll.setWidget(self.pages_box)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(PAGE_WIDTH_PX + 40)

        form = QFormLayout()
        form.addRow("Session", self.session)
        form.addRow("Correction", self.standard)
        form.addRow("Smoothing", self.smoothing)
        form.addRow(QLabel("Tuner's notes"))
        form.addRow(self.notes)
        buttons = QHBoxLayout()
        for button in (self.make_button, self.save_button, self.print_button):
            buttons.addWidget(button)
        side = QVBoxLayout()
        side.addLayout(form)
        side.addLayout(buttons)
        side.addWidget(self.status)
        side.addStretch(1)
        layout = QHBoxLayout(self)
        layout.addLayout(side, 1)
        layout.addWidget(scroll, 2)
        self.resize(1100, 780)

        self.session.currentIndexChanged.connect(self._session_chosen)
        self.make_button.clicked.connect(self.make)
        self.save_button.clicked.connect(self._ask_save)
        self.print_button.clicked.connect(self.open_for_print)
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self._poll)
        self.finished.connect(lambda _code: self._stop())
        chosen = maker.default_session()
        index = self.session.findData(chosen) if chosen is not None else -1
        self.session.setCurrentIndex(max(0, index))
        self._session_chosen()
        self._show_buttons()
        if self.session.count() == 0:
            self._say("No session to make a sheet of: record a session's runs first.")
        else:
            self._say("Getting the drawing library ready…")
            QTimer.singleShot(READY_AFTER_MS, self, self._get_ready)

    def _get_ready(self) -> None:
        """The drawing library loaded on this (the UI) thread, once the dialog has shown: the
        worker must find it loaded (app.customer_sheet)."""
        try:
            self.maker.prepare()
        finally:
            self._ready = True
            self._say("")
            self._show_buttons()

    # ------------------------------------------------------------------ actions
    def _session_id(self) -> int | None:
        data = self.session.currentData()
        return int(data) if data is not None else None

    def _session_chosen(self) -> None:
        session_id = self._session_id()
        if session_id is None:
            return
        if self.maker.result is not None and self.maker.result.session_id != session_id:
            self.maker.forget()  # Save and Print are for the session chosen
            self._show_pages(())
            self._show_buttons()
        try:
            self.notes.setPlainText(self.maker.notes(session_id))
        except InputError as exc:
            self._say(str(exc))

    def make(self) -> None:
        """Make the chosen session's sheet on the worker."""
        session_id = self._session_id()
        if session_id is None or self.maker.busy:
            return
        try:
            self.maker.start(session_id, Standard(self.standard.currentData()),
                             self.smoothing.value(), self.notes.toPlainText())
        except InputError as exc:
            self._say(str(exc))
            return
        self._say(f"Making the sheet of session {session_id}…")
        self._show_buttons()
        self.timer.start()

    def _poll(self) -> None:
        if not self.maker.poll():
            return
        self.timer.stop()
        self._show_buttons()
        if self.maker.error is not None:
            self._say(self.maker.error)
            return
        result = self.maker.result
        assert result is not None
        self._show_pages(result.pages_png)
        said = [*result.sheet.remarks, *(f"Note: {w}" for w in result.sheet.warnings)]
        self._say(f"Sheet made in {result.seconds:.1f} s ({len(result.pdf) / 1024:.0f} KiB "
                  "PDF).\n" + "\n".join(s[0].upper() + s[1:] for s in said))

    def _show_pages(self, pngs: tuple[bytes, ...]) -> None:
        while self.pages.count():
            item = self.pages.takeAt(0)
            if item.widget() is not None:
                item.widget().hide()
                item.widget().deleteLater()
        for n, png in enumerate(pngs, start=1):
            pixmap = QPixmap()
            pixmap.loadFromData(png, "PNG")
            page = QLabel()
            page.setObjectName(f"sheet_page_{n}")
            page.setPixmap(pixmap.scaledToWidth(PAGE_WIDTH_PX,
                                                Qt.TransformationMode.SmoothTransformation))
            page.setStyleSheet("border: 1px solid #555;")
            self.pages.addWidget(page)

    def _ask_save(self) -> None:
        result = self.maker.result
        if result is None:
            return
        name, _ = QFileDialog.getSaveFileName(
            self, "Save the customer sheet", f"customer-sheet-session-{result.session_id}.pdf",
            "PDF (*.pdf)")
        if name:
            self.save_pdf(Path(name))

    def save_pdf(self, path: Path) -> None:
        if path.suffix.lower() != ".pdf":
            path = path.with_name(path.name + ".pdf")
        try:
            self.maker.save_pdf(path)
        except InputError as exc:
            self._say(str(exc))
            return
        self._say(f"Saved {path}")

    def open_for_print(self) -> None:
        """The PDF in the system's viewer, which prints it."""
        try:
            path = self.maker.file_for_viewer()
        except InputError as exc:
            self._say(str(exc))
            return
        if QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))):
            self._say(f"Opened {path} in the PDF viewer: print from there.")
        else:
            self._say(f"No PDF viewer opened {path}; open it yourself to print.")

    def _show_buttons(self) -> None:
        busy = self.maker.busy
        self.make_button.setEnabled(self._ready and not busy and self.session.count() > 0)
        made = self.maker.result is not None and not busy
        self.save_button.setEnabled(made)
        self.print_button.setEnabled(made)

    def _say(self, text: str) -> None:
        self.status.setText(text)

    def _stop(self) -> None:
        self.timer.stop()
        self.maker.close()
