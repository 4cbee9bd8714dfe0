"""The Autotune panel: corrections from the live runs or an offline analysis, the settings they
are made with, the AFR error per cylinder, and one previewed, undoable apply (a thin view of
``app.autotune_session``; the work is there and in ``core.autotune``)."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QWidget,
)

from dynoai_desktop.app.autotune_session import AutotuneOutcome, AutotuneSession
from dynoai_desktop.core.autotune import AutotuneSettings
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.ui.panels.afr_error_view import AfrErrorView
from dynoai_desktop.ui.panels.autotune_layer import pending_layer
from dynoai_desktop.ui.panels.tables import TablesPanel
from dynoai_desktop.ui.widgets import scrolling_content

REFRESH_MS = 400
LIVE, OFFLINE = "Live runs", "Offline analysis"
LOG_FILTER = "Runs and logs (*.parquet *.csv *.msl *.mlg);;All files (*)"
WARNINGS_SHOWN = 3
"""Warnings written out under the status; the rest are in its tooltip."""


def _spin(low: float, high: float, step: float, decimals: int, suffix: str) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(low, high)
    box.setSingleStep(step)
    box.setDecimals(decimals)
    box.setSuffix(suffix)
    return box


class AutotunePanel(QWidget):
    """Autotune's dock: source, settings, AFR error, apply and (demo) send."""

    def __init__(self, session: AutotuneSession, tables: TablesPanel,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.tables = tables
        self.status = QLabel("Autotune: start the live corrections or analyse saved runs.")
        self.status.setWordWrap(True)
        self.warnings = QLabel()
        """What the tuner should know of the analysed logs (a wideband unusable, a log left
        out, rows no cell could take, the importer's remarks); hidden when there is none."""
        self.warnings.setWordWrap(True)
        self.warnings.hide()
        self.source = QComboBox()
        self.source.addItems([LIVE, OFFLINE])
        self.show_pending = QCheckBox("Show pending corrections on the editor")
        self.show_pending.setChecked(True)

        self.authority = _spin(0.5, 30.0, 0.5, 1, " %")
        self.min_weight = _spin(1.0, 1000.0, 5.0, 0, "")
        self.max_ci = _spin(0.2, 10.0, 0.1, 1, " %")
        self.delay_ms = _spin(0.0, 2000.0, 10.0, 0, " ms")
        self.delay_ms.setSpecialValueText("measured / default")
        self.smooth = QCheckBox("Light smoothing")
        self.heat_soak = QCheckBox("Take heat soak out")
        self.heat_soak.setToolTip("Offline analyses: after an idle heat soak in a log (2 min or "
                                  "more at idle), the shop's heat-soak model takes out the VE "
                                  "the soak put into the readings after it")
        self.heat_soak.setChecked(session.take_out_heat_soak)
        self.warmup = _spin(0.0, 120.0, 5.0, 0, " °C")
        self.shut = _spin(0.0, 10.0, 0.5, 1, " %")
        form = QGridLayout()  # two columns of settings: the AFR error grid keeps the height
        for n, (label, box) in enumerate((
                ("Authority per run ±", self.authority), ("Min weight per cell", self.min_weight),
                ("Max 95 % interval ±", self.max_ci), ("Wideband delay", self.delay_ms),
                ("Warm-up below", self.warmup), ("Shut throttle under", self.shut))):
            form.addWidget(QLabel(label), n // 2, 2 * (n % 2))
            form.addWidget(box, n // 2, 2 * (n % 2) + 1)
        form.addWidget(self.smooth, 3, 1)
        form.addWidget(self.heat_soak, 3, 3)
        self._show_settings(session.settings)
        for box in (self.authority, self.min_weight, self.max_ci, self.delay_ms, self.warmup,
                    self.shut):
            box.valueChanged.connect(self._settings_edited)
        self.smooth.toggled.connect(self._settings_edited)
        self.heat_soak.toggled.connect(self.session.set_take_out_heat_soak)

        self.restart = QPushButton("Restart live")
        self.restart.setToolTip("Corrections from the runs recorded from now on, against the "
                                "tune open now (what the ECM fuels from)")
        self.analyse_button = QPushButton("Analyse runs or logs…")
        self.rerun_button = QPushButton("Re-run")
        self.rerun_button.setToolTip("The same files again with the settings as they are now")
        self.rerun_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.hide()
        self.preview_button = QPushButton("Preview on the editor")
        self.apply_button = QPushButton("Apply both cylinders")
        self.apply_button.setToolTip("One undoable step, one version in the tune's history")
        self.send_button = QPushButton("Send tune to the virtual ECM")
        self.send_button.setToolTip("Demo mode: the virtual bike's ECM fuels from the open tune "
                                    "from its next step; a real ECM is flashed with its own tool")
        self.send_button.setVisible(session.can_send_tune)
        self.errors = AfrErrorView()

        row1 = QHBoxLayout()
        for w in (self.source, self.restart, self.analyse_button, self.rerun_button):
            row1.addWidget(w)
        row2 = QHBoxLayout()
        for w in (self.preview_button, self.apply_button, self.send_button):
            row2.addWidget(w)
        layout = scrolling_content(self)  # scrolls inside its dock
        layout.addWidget(self.status)
        layout.addWidget(self.warnings)
        layout.addLayout(row1)
        layout.addWidget(self.progress)
        layout.addLayout(form)
        layout.addLayout(row2)
        layout.addWidget(self.show_pending)
        layout.addWidget(QLabel("AFR error per cell (measured − target):"))
        layout.addWidget(self.errors, 1)

        self.restart.clicked.connect(lambda: self._guarded(self.session.start_live))
        self.analyse_button.clicked.connect(self._ask_files)
        self.rerun_button.clicked.connect(lambda: self.analyse(self._paths, self._labels))
        self.preview_button.clicked.connect(lambda: self._guarded(self.preview))
        self.apply_button.clicked.connect(lambda: self._guarded(self.apply))
        self.send_button.clicked.connect(lambda: self._guarded(self.send_tune))
        self.source.currentTextChanged.connect(lambda _t: self.refresh(force=True))
        self.show_pending.toggled.connect(lambda _on: self.refresh(force=True))
        self._job: threading.Thread | None = None
        self._paths: list[Path] = []
        self._labels: list[str] | None = None
        self._job_progress = ""
        self._job_error: str | None = None
        self._shown: tuple[object, ...] | None = None
        self._layer_on = False
        self._notice = ""
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()

    # ------------------------------------------------------------------ settings
    def _show_settings(self, s: AutotuneSettings) -> None:
        self.authority.setValue(s.max_change_pct)
        self.min_weight.setValue(s.min_weight)
        self.max_ci.setValue(s.max_ci95_pct)
        self.delay_ms.setValue(0.0 if s.delay_ms is None else s.delay_ms)
        self.smooth.setChecked(s.smooth)
        self.warmup.setValue(s.warmup_below_c)
        self.shut.setValue(s.closed_throttle_below_pct)

    def _settings_edited(self) -> None:
        delay = self.delay_ms.value()
        self.session.set_settings(replace(
            self.session.settings, max_change_pct=self.authority.value(),
            min_weight=self.min_weight.value(), max_ci95_pct=self.max_ci.value(),
            delay_ms=None if delay <= 0.0 else delay, smooth=self.smooth.isChecked(),
            warmup_below_c=self.warmup.value(),
            closed_throttle_below_pct=self.shut.value()))

    # ------------------------------------------------------------------ outcome
    def outcome(self) -> AutotuneOutcome | None:
        """The corrections shown: the live runs' or the offline analysis's."""
        if self.source.currentText() == OFFLINE:
            return self.session.offline
        return self.session.live_outcome()

    def refresh(self, force: bool = False) -> None:
        """Poll the live corrections and a running analysis; redraw what changed."""
        self._poll_job()
        outcome = self.outcome()
        table = self.tables.current_table
        key = (id(outcome.result) if outcome is not None else None,
               table.name if table is not None else None, self.show_pending.isChecked(),
               self.tables.overlay is None)
        if not force and key == self._shown:
            return
        if self._shown is not None and key[0] != self._shown[0] and key[0] is not None \
                and self._job is None:
            self._notice = ""  # new corrections came in: they say more than an old message
        self._shown = key
        self._show_outcome(outcome)
        self._draw_layer(outcome)

    def _say(self, text: str) -> None:
        """A message that stays until the next action (an error, what was applied)."""
        self._notice = text
        self.status.setText(text)

    def _show_outcome(self, outcome: AutotuneOutcome | None) -> None:
        if self._notice:
            self.status.setText(self._notice)
        elif outcome is None:
            self.status.setText("Live corrections are not running: Restart live, or analyse "
                                "saved runs." if self.source.currentText() == LIVE else
                                "No offline analysis yet: Analyse runs or logs…")
        self._show_warnings(() if outcome is None else outcome.warnings)
        if outcome is None:
            self.errors.show_errors({})
            self.apply_button.setEnabled(False)
            self.preview_button.setEnabled(False)
            return
        tables = outcome.result.tables
        pending = {k: int(t.mask.sum()) for k, t in tables.items()}
        samples = sum(c.samples_used for t in tables.values() for c in t.cells)
        error = self.errors.mean_abs_error(tables)
        cylinders = ", ".join(f"{k.removeprefix('ve_')} {n}" for k, n in pending.items())
        where = ", ".join(outcome.sources) or "no run recorded yet"
        if not self._notice:
            self.status.setText(
                f"{'Live' if outcome.live else 'Offline'}: {where}; {samples} samples used; "
                f"{sum(pending.values())} cells to correct ({cylinders}); mean |AFR error| "
                f"{error:.2f}" + ("" if error == error else " (none yet)") +
                f"; delay {outcome.result.delay_source}"
                + (f"; {outcome.heat_soak_line}" if outcome.heat_soak_line else ""))
        self.errors.show_errors(tables)
        self.apply_button.setEnabled(any(pending.values()))
        self.preview_button.setEnabled(any(pending.values()))

    def _show_warnings(self, warnings: tuple[str, ...]) -> None:
        shown = [f"⚠ {w}" for w in warnings[:WARNINGS_SHOWN]]
        if len(warnings) > WARNINGS_SHOWN:
            shown.append(f"… and {len(warnings) - WARNINGS_SHOWN} more (hover for all)")
        self.warnings.setText("\n".join(shown))
        self.warnings.setToolTip("\n".join(warnings))
        self.warnings.setVisible(bool(warnings))

    def _draw_layer(self, outcome: AutotuneOutcome | None) -> None:
        if self.tables.overlay is not None:
            return  # an overlay's preview owns the editor's layer
        table = self.tables.current_table
        correction = None
        if outcome is not None and table is not None and self.show_pending.isChecked():
            key = next((k for k, n in outcome.tables.items() if n == table.name), None)
            correction = outcome.result.tables.get(key) if key is not None else None
        if correction is not None and correction.base.shape == table.shape:
            self.tables.set_layer(pending_layer(correction))
            self._layer_on = True
        elif self._layer_on:
            self.tables.set_layer(None)
            self._layer_on = False

    # ------------------------------------------------------------------ actions
    def preview(self) -> None:
        """The correction of the table in view (or the front one) as the editor's overlay
        preview: the diff over the cells, under the authority limits."""
        outcome = self._require()
        overlays = self.session.overlays(outcome)
        if not overlays:
            raise InputError("No cell to correct yet: record some pulls and holds first.")
        table = self.tables.current_table
        shown = next((o for o in overlays if table is not None and o.table == table.name),
                     overlays[0])
        self._layer_on = False
        self.tables.preview_overlay(shown)

    def apply(self) -> None:
        """Both cylinders' corrections in one undoable step."""
        outcome = self._require()
        if self.tables.overlay is not None:
            self.tables.discard_overlay()
        records = self.session.apply(outcome)
        changed = sum(r.cells_changed for r in records)
        self._say(f"Applied: {changed} cells over {len(records)} tables (Edit ▸ Undo takes it "
                  "back)." + (" Send the tune to the virtual ECM for the next pulls."
                              if self.session.can_send_tune else
                              " Export the tune and flash the ECM for the next pulls."))
        self._shown = None

    def send_tune(self) -> None:
        self.session.send_tune()
        self.source.setCurrentText(LIVE)
        self._say("Sent to the virtual ECM; live corrections start again from the next "
                  "recorded run.")
        self._shown = None

    def _require(self) -> AutotuneOutcome:
        outcome = self.outcome()
        if outcome is None:
            raise InputError("No corrections yet: restart live and record runs, or analyse "
                             "saved runs.")
        return outcome

    # ------------------------------------------------------------------ offline
    def _ask_files(self) -> None:
        names, _ = QFileDialog.getOpenFileNames(self, "Analyse runs or logs", "", LOG_FILTER)
        if names:
            self.analyse([Path(n) for n in names])

    def analyse(self, paths: list[Path], labels: list[str] | None = None) -> None:
        """The offline analysis of ``paths`` on a worker thread, the progress shown; each
        named by ``labels`` (default: its file name) in the panel and the tune's history."""
        if self._job is not None or not paths:
            return
        self._paths = list(paths)
        self._labels = None if labels is None else list(labels)
        self._job_error = None
        self._notice = ""
        self._job_progress = "starting"
        # The model is looked up and loaded on this thread (never on the worker), when asked for.
        soak_model = (self.session.heat_soak_model() if self.session.take_out_heat_soak
                      else lambda: (None, "switched on after the analysis started: re-run it"))

        def run() -> None:
            try:
                self.session.analyse(paths, labels, progress=self._progress,
                                     soak_model=soak_model)
            except InputError as exc:
                self._job_error = str(exc)

        self._job = threading.Thread(target=run, name="autotune-offline", daemon=True)
        self.progress.show()
        self.analyse_button.setEnabled(False)
        self.rerun_button.setEnabled(False)
        self._job.start()

    @property
    def analysing(self) -> bool:
        """An offline analysis is running (a new one waits for it)."""
        return self._job is not None

    def _progress(self, text: str) -> None:
        self._job_progress = text  # read by the timer on the UI thread

    def _poll_job(self) -> None:
        if self._job is None:
            return
        if self._job.is_alive():
            self.progress.setFormat(self._job_progress)
            self.status.setText(f"Analysing: {self._job_progress}")
            return
        self._job = None
        self.progress.hide()
        self.analyse_button.setEnabled(True)
        self.rerun_button.setEnabled(bool(self._paths))
        if self._job_error is not None:
            self._say(self._job_error)
        else:
            self._notice = ""
            self.source.setCurrentText(OFFLINE)
            self._shown = None

    def wait_for_analysis(self, timeout_s: float = 60.0) -> bool:
        """Tests: wait for a running analysis and take its result in."""
        job = self._job
        if job is not None:
            job.join(timeout_s)
        self.refresh(force=True)
        return self._job is None

    def _guarded(self, action) -> None:  # noqa: ANN001
        self._notice = ""
        try:
            action()
        except InputError as exc:
            self._say(str(exc))
        self.refresh(force=True)
