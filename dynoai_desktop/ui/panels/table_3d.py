"""3D view of a table beside its grid: a heat-coloured surface (rpm × load × value) that turns with
the mouse, and the live operating point on it.

OpenGL is not everywhere: Qt's offscreen platform has none, and a PC without a driver cannot
create a context (shared PITFALLS.md). The view checks once per process, before it makes any GL
widget, and shows a message in words where there is none; a view that fails later, at its first
paint, swaps in the same message. The GL half (``table_3d_gl``: pyqtgraph.opengl, PyOpenGL) is
imported only when the view is first shown where OpenGL works, so the window opens as fast as
before.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QCoreApplication, Qt, QTimer
from PySide6.QtGui import (
    QGuiApplication,
    QImage,
    QOffscreenSurface,
    QOpenGLContext,
    QShowEvent,
)
from PySide6.QtWidgets import QLabel, QStackedLayout, QVBoxLayout, QWidget

from dynoai_desktop.core.table import Table
from dynoai_desktop.ui import theme
from dynoai_desktop.ui.widgets import ElidedLabel

if TYPE_CHECKING:
    from dynoai_desktop.ui.panels.table_3d_gl import SurfaceScene

NO_GL_PLATFORMS = ("offscreen", "minimal")
NO_GL_MESSAGE = "3D view needs OpenGL: this display has none ({reason}).\n" \
                "The grid shows the same table."

_probe_result: str | None = None  # "" OpenGL works; else why not (checked once per process)


def share_opengl_contexts() -> None:
    """Let every OpenGL context of the app share its resources; call it before the QApplication
    is made. A 3D view then keeps its buffers when its dock is floated (a new window, a new
    context) and several views share one set of shader programs. Without it the view still
    works: it is made again in the new window and the shaders are compiled again."""
    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)


def opengl_missing_reason() -> str:
    """Why this process cannot draw OpenGL, in words; "" when it can. Checked once: the Qt
    platform, then a real context made current on an offscreen surface (OpenGL 2.1 or newer,
    what pyqtgraph.opengl needs), then PyOpenGL."""
    global _probe_result
    if _probe_result is None:
        _probe_result = _probe_opengl()
    return _probe_result


def _probe_opengl() -> str:
    platform = QGuiApplication.platformName()
    if platform in NO_GL_PLATFORMS:
        return f"Qt's '{platform}' platform draws without OpenGL"
    context = QOpenGLContext()
    if not context.create():
        return "no OpenGL driver answered; install the graphics driver (or Mesa)"
    surface = QOffscreenSurface()
    surface.setFormat(context.format())
    surface.create()
    try:
        if not context.makeCurrent(surface):
            return "an OpenGL context was made but could not be used"
        fmt = context.format()
        version = (fmt.majorVersion(), fmt.minorVersion())
        context.doneCurrent()
    finally:
        surface.destroy()
    if not context.isOpenGLES() and version < (2, 1):
        return f"the driver offers OpenGL {version[0]}.{version[1]}; 2.1 or newer is needed"
    try:
        from dynoai_desktop.ui.panels import table_3d_gl  # noqa: F401  (pyqtgraph.opengl)
    except Exception as exc:  # noqa: BLE001 - an absent or broken PyOpenGL, whatever it raises
        return f"PyOpenGL could not be loaded ({type(exc).__name__}: {exc})"
    return ""


class Table3DView(QWidget):
    """A table as a surface with the live point; ``show_table`` and ``set_live_point`` work
    before the 3D view exists (it is made when first shown, or by :meth:`ensure_view`) and where
    it never can (the message is shown instead)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("table_3d")
        self._table: Table | None = None
        self._live: tuple[float, float] | None = None
        self._scene: SurfaceScene | None = None
        self._unavailable = ""  # why there is no 3D view ("" while it may still come)
        self.message = QLabel("The 3D view opens when it is shown.")
        self.message.setObjectName("table_3d_message")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.message.setStyleSheet(f"color: {theme.MUTED}; padding: 12px;")
        self.caption = ElidedLabel()
        self.caption.setObjectName("table_3d_caption")
        self.caption.setStyleSheet(f"color: {theme.MUTED};")
        pages = QWidget()
        self._stack = QStackedLayout(pages)
        self._stack.addWidget(self.message)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(pages, stretch=1)
        self._show_caption()

    # ------------------------------------------------------------------ public
    @property
    def available(self) -> bool | None:
        """True once the 3D view is drawing, False where it cannot, None before it was tried."""
        if self._scene is not None:
            return True
        return False if self._unavailable else None

    @property
    def gl_widget(self) -> Any:
        """The pyqtgraph GLViewWidget (None where OpenGL is missing or before it was made)."""
        return self._scene.widget if self._scene is not None else None

    @property
    def surface(self) -> Any:
        """The GLSurfacePlotItem of the shown table (None without a 3D view)."""
        return self._scene.surface if self._scene is not None else None

    @property
    def marker(self) -> Any:
        """The live point's GLScatterPlotItem (None without a 3D view)."""
        return self._scene.marker if self._scene is not None else None

    def show_table(self, table: Table | None) -> None:
        """Draw ``table`` (None: nothing)."""
        self._table = table
        self._show_caption()
        if self._scene is not None:
            self._scene.show_table(table)
            self._scene.show_live(self.live_marker_position())

    def set_live_point(self, rpm: float | None, load: float | None = None) -> None:
        """Put the live marker at (rpm, load in the table's load units); None hides it. A point
        off the table sits on its edge, as the ECM reads it."""
        if rpm is None or load is None or not (math.isfinite(rpm) and math.isfinite(load)):
            self._live = None
        else:
            self._live = (float(rpm), float(load))
        if self._scene is not None:
            self._scene.show_live(self.live_marker_position())

    def live_marker_position(self) -> tuple[float, float, float] | None:
        """Where the live marker is, in table units (rpm, load, value); None when hidden."""
        if self._table is None or self._live is None:
            return None
        view = self._table.normalised()
        rpm = float(np.clip(self._live[0], view.row_breakpoints[0], view.row_breakpoints[-1]))
        load = float(np.clip(self._live[1], view.col_breakpoints[0], view.col_breakpoints[-1]))
        return rpm, load, float(self._table.lookup(rpm, load))

    def ensure_view(self) -> bool:
        """Make the 3D view now if it can be made; False (the message shown) where it cannot."""
        if self._scene is not None:
            return True
        if self._unavailable:
            return False
        reason = opengl_missing_reason()
        if reason:
            self._give_up(reason)
            return False
        self._make_scene()
        return True

    def render_image(self) -> QImage:
        """A picture of what the view shows now (the GL frame, or the message)."""
        if self._scene is not None:
            return self._scene.widget.grabFramebuffer()
        return self.grab().toImage()

    # ------------------------------------------------------------------ Qt
    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if self._scene is None and not self._unavailable:
            # After this turn of the event loop: the window paints first, GL loads after.
            QTimer.singleShot(0, self, self.ensure_view)

    # ------------------------------------------------------------------ inside
    def _make_scene(self) -> None:
        from dynoai_desktop.ui.panels.table_3d_gl import SurfaceScene

        scene = SurfaceScene(self._failed_in_paint, self._context_lost)
        self._scene = scene
        self._stack.addWidget(scene.widget)
        self._stack.setCurrentWidget(scene.widget)
        self._show_caption()
        scene.show_table(self._table)
        scene.show_live(self.live_marker_position())

    def _drop_scene(self) -> None:
        scene, self._scene = self._scene, None
        if scene is not None:
            self._stack.removeWidget(scene.widget)
            scene.close()

    def _show_caption(self) -> None:
        if self._table is None:
            self.caption.setText("No table shown")
            return
        hint = "  ·  drag to turn, wheel to zoom" if self._scene is not None else ""
        self.caption.setText(f"{self._table.name} [{self._table.units}]{hint}")

    def _give_up(self, reason: str) -> None:
        self._unavailable = reason
        self.message.setText(NO_GL_MESSAGE.format(reason=reason))
        self._stack.setCurrentWidget(self.message)
        self._drop_scene()
        self._show_caption()

    def _failed_in_paint(self, reason: str) -> None:
        # Called from inside the GL widget's own paint: swap it out after that returns.
        QTimer.singleShot(0, self, lambda: self._give_up(reason))

    def _context_lost(self) -> None:
        # Called from inside the GL widget's initializeGL: make a new one after it returns.
        QTimer.singleShot(0, self, self._make_scene_again)

    def _make_scene_again(self) -> None:
        if self._scene is None:
            return
        camera = self._scene.camera
        self._drop_scene()
        self._make_scene()
        if self._scene is not None:
            self._scene.set_camera(camera)
