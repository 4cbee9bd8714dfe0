"""Python's cyclic garbage collected only on the GUI thread.

A Qt widget left in a reference cycle is freed by whichever thread happens to trigger Python's
cyclic collector; when that is a reader or the virtual cell's thread, the widget's destructor
runs there, takes Qt's locks and waits for the GIL while the GUI thread waits for those locks:
the app hangs (seen here: the cell's thread in QMenu::~QMenu from gc_collect_main, the GUI
thread in QObject::connectImpl). So automatic collection is off while the GUI runs and a timer
on the GUI thread collects instead, generation by generation when each is due, as pyqtgraph's
GarbageCollector does.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 500


class GuiThreadGarbageCollector(QObject):
    """While it lives, cyclic garbage is collected by its timer on the GUI thread only."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self._was_enabled = gc.isenabled()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.collect_if_due)
        self.timer.start(interval_ms)

    def collect_if_due(self) -> None:
        counts, thresholds = gc.get_count(), gc.get_threshold()
        due = [g for g in range(3) if counts[g] > thresholds[g]]
        if due:
            gc.collect(max(due))

    def stop(self) -> None:
        """Collect what is left here, on the GUI thread, and give collection back to Python."""
        self.timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()
