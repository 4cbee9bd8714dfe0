"""The window on a screen of a given size, driven the way that used to widen it; prints JSON.

    QT_QPA_PLATFORM=offscreen:configfile=SCREENS.json python layout_child.py

Opens the main window, then: starts a session for a customer and a vehicle with long names, and
picks the wideband protocol with the longest name. After each step it records the window's and
the screen's size and every problem found: a dock or a bar outside the window or overlapping
another, a widget of the bars cut below its minimum size or outside its bar.
"""

from __future__ import annotations

import json
import sys

from PySide6.QtCore import QRect
from PySide6.QtWidgets import QApplication, QWidget

from dynoai_desktop.app.application import DynoApp
from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.devices.registry import device_registry
from dynoai_desktop.ui.main_window import MainWindow
from dynoai_desktop.ui.theme import apply_theme

LONG_CUSTOMER = "Bartholomew Montgomery-Fitzgerald III of Sturgis Custom Cycles & Speed Shop"
LONG_VEHICLE = "2016 Harley-Davidson FXDLS Low Rider S, Screamin' Eagle 110 with 585 cams"


def _in_window(window: MainWindow, widget: QWidget) -> QRect:
    top_left = widget.mapTo(window, widget.rect().topLeft())
    return QRect(top_left, widget.size())


def problems(window: MainWindow) -> list[str]:
    found: list[str] = []
    inside = window.rect()
    # A dock tabbed behind another is not shown (Qt may leave it anywhere): only the front one.
    docks = [d for d in window.docks.values() if d.isVisible()
             and not (window.tabifiedDockWidgets(d) and d.visibleRegion().isEmpty())]
    for dock in docks:
        rect = _in_window(window, dock)
        if not inside.contains(rect):
            found.append(f"dock {dock.windowTitle()} {rect.getRect()} is outside the window "
                         f"{inside.getRect()}")
    for i, a in enumerate(docks):
        for b in docks[i + 1:]:
            overlap = _in_window(window, a).intersected(_in_window(window, b))
            if overlap.width() > 1 and overlap.height() > 1:
                found.append(f"docks {a.windowTitle()} and {b.windowTitle()} overlap")
    for bar in (window.device_bar, window.session_bar, window.statusBar()):
        if not bar.isVisible():
            continue
        bar_rect = _in_window(window, bar)
        if not inside.contains(bar_rect):
            found.append(f"{bar.objectName() or type(bar).__name__} is outside the window")
        for child in bar.findChildren(QWidget):
            if not child.isVisible() or child.parentWidget() is not bar:
                continue
            if child.width() + 1 < min(child.minimumSizeHint().width(), child.sizeHint().width()):
                found.append(f"{type(bar).__name__}: {type(child).__name__} "
                             f"{child.objectName()!r} is cut to {child.width()} px")
            if not bar.rect().contains(child.geometry()):
                found.append(f"{type(bar).__name__}: {type(child).__name__} "
                             f"{child.objectName()!r} sticks out of its bar")
    return found


def main() -> None:
    app = QApplication(sys.argv[:1])
    apply_theme(app)
    dyno = DynoApp()
    window = MainWindow(dyno)
    window.show()
    screen = window.screen().availableGeometry()
    steps = []

    def record(step: str) -> None:
        for _ in range(5):
            app.processEvents()
        frame = window.frameGeometry()
        steps.append({"step": step, "window": [frame.width(), frame.height()],
                      "screen": [screen.width(), screen.height()],
                      "on_screen": screen.contains(frame),
                      "problems": problems(window)})

    record("opened")
    customer = dyno.runs.add_customer(LONG_CUSTOMER)
    vehicle = dyno.runs.add_vehicle(customer, LONG_VEHICLE, BuildSpec.stock("twin_cam_110"))
    bar = window.session_bar
    bar.refresh_customers(select=customer)
    bar.refresh_vehicles(select=vehicle)
    record("long customer and vehicle chosen")
    bar.start_session()
    record("session started")
    registry = device_registry()
    wideband = next(r for r in window.device_bar.rows if r.role == "wideband")
    longest = max(registry.protocols("wideband"), key=lambda p: len(registry.get(p).title))
    wideband.protocol.setCurrentIndex(wideband.protocol.findData(longest))
    record(f"protocol {registry.get(longest).title} picked")
    window.apply_layout("tuning")
    record("tuning layout")
    window.reset_layout()
    record("layout reset")
    print(json.dumps({"dpr": window.devicePixelRatio(), "steps": steps}))
    window.close()
    dyno.close()


if __name__ == "__main__":
    main()
