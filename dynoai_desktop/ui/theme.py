"""The dark look of the dyno room: Fusion style, a dark palette, pyqtgraph colours to match."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

BACKGROUND = "#1e2125"
PANEL = "#272b30"
TEXT = "#e6e6e6"
MUTED = "#8a9099"
ACCENT = "#3d8bfd"

# Trace and state colours used across panels (tuners read red = lean, blue = rich).
AFR_FRONT = "#ff9f1c"
AFR_REAR = "#2ec4b6"
AFR_TARGET = "#e6e6e6"
RPM = "#c77dff"
OK = "#43aa8b"
WARN = "#f9c74f"
FAULT = "#f94144"
RICH = "#4d96ff"
IDLE = "#5c636e"


def apply_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    palette = QPalette()
    for role, colour in (
        (QPalette.ColorRole.Window, PANEL),
        (QPalette.ColorRole.WindowText, TEXT),
        (QPalette.ColorRole.Base, BACKGROUND),
        (QPalette.ColorRole.AlternateBase, PANEL),
        (QPalette.ColorRole.ToolTipBase, PANEL),
        (QPalette.ColorRole.ToolTipText, TEXT),
        (QPalette.ColorRole.Text, TEXT),
        (QPalette.ColorRole.Button, PANEL),
        (QPalette.ColorRole.ButtonText, TEXT),
        (QPalette.ColorRole.Highlight, ACCENT),
        (QPalette.ColorRole.HighlightedText, "#ffffff"),
        (QPalette.ColorRole.PlaceholderText, MUTED),
    ):
        palette.setColor(role, QColor(colour))
    app.setPalette(palette)
    pg.setConfigOptions(background=BACKGROUND, foreground=TEXT, antialias=False)
