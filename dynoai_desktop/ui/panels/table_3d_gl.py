"""The OpenGL half of the 3D table view: the scene (surface, floor grid, labels, live marker) and a
GLViewWidget that turns its own failures into a callback instead of a crash.

Imported only by ``table_3d.Table3DView`` once it knows OpenGL works here: this module loads
pyqtgraph.opengl and PyOpenGL, which the window's start must not pay for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pyqtgraph.opengl as gl
from OpenGL import GL
from pyqtgraph.opengl.shaders import ShaderProgram
from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QFont, QOpenGLContext, QPainter, QPaintEvent, QVector3D
from PySide6.QtOpenGL import QOpenGLPaintDevice

from dynoai_desktop.core.table import Table
from dynoai_desktop.ui import theme
from dynoai_desktop.ui.panels.table_model import heat_colour

# Scene box the table is drawn in (GL units): rpm along x, load along y, value up.
X_SPAN = 10.0
Y_SPAN = 10.0
Z_SPAN = 4.0
MARKER_LIFT = 0.05  # the live marker sits just above the surface
LIVE_COLOUR = (1.0, 1.0, 1.0, 1.0)
MAX_TICKS = 6
CENTRED = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter
_LOAD_TITLE = {"map_kpa": "MAP kPa", "tps_pct": "TPS %"}
# Drawn after the surface and without depth test: the live point never hides behind a hump.
_ON_TOP = {GL.GL_DEPTH_TEST: False, GL.GL_BLEND: True,
           "glBlendFunc": (GL.GL_SRC_ALPHA, GL.GL_ONE_MINUS_SRC_ALPHA)}


def first_line(exc: BaseException) -> str:
    """An exception in one short line (PyOpenGL's GLError spans a dozen)."""
    text = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text if len(text) <= 120 else text[:119] + "…"


_shader_context: list[QOpenGLContext] = []  # the context pyqtgraph's shaders were made in


def _shaders_belong_to(context: QOpenGLContext) -> None:
    """pyqtgraph compiles its shader programs once per process and keeps their ids (in
    ``ShaderProgram`` and in item classes' ``_shaderProgram``); in a context that shares nothing
    with the one they were made in (a second view, a view made again, without
    AA_ShareOpenGLContexts) those ids are invalid. Forget them there, to be made again."""
    owner = _shader_context[0] if _shader_context else None
    try:
        same = owner is not None and QOpenGLContext.areSharing(owner, context)
    except RuntimeError:  # the context they were made in is gone
        same = False
    if same:
        return
    for program in ShaderProgram.names.values():
        program.prog = None
    classes: list[type] = [gl.GLGraphicsItem.GLGraphicsItem]
    while classes:
        cls = classes.pop()
        classes.extend(cls.__subclasses__())
        if "_shaderProgram" in vars(cls):
            cls._shaderProgram = None  # type: ignore[attr-defined]
    _shader_context[:] = [context]


class GuardedGLView(gl.GLViewWidget):
    """A GLViewWidget whose start or paint failing calls ``on_failure(reason)`` rather than
    crashing, and that calls ``on_context_lost()`` when Qt replaced its context by one that
    shares nothing (moved to another window: a dock floated)."""

    def __init__(self, on_failure: Callable[[str], None],
                 on_context_lost: Callable[[], None]) -> None:
        super().__init__()
        self.broken = False
        self.context_lost = False
        self._started = False
        self._on_failure = on_failure
        self._on_context_lost = on_context_lost

    def initializeGL(self) -> None:  # noqa: N802 - Qt's name
        if self._started and not QCoreApplication.testAttribute(
                Qt.ApplicationAttribute.AA_ShareOpenGLContexts):
            # Every buffer the items made died with the old context.
            self.context_lost = True
            self._on_context_lost()
            return
        self._started = True
        try:
            super().initializeGL()
        except Exception as exc:  # noqa: BLE001 - any driver failure means no 3D
            self.broken = True
            self._on_failure(f"OpenGL did not start: {first_line(exc)}")

    def paintGL(self) -> None:  # noqa: N802 - Qt's name
        if self.broken or self.context_lost:
            return
        try:
            _shaders_belong_to(self.context())
            super().paintGL()
        except Exception as exc:  # noqa: BLE001 - any driver failure means no 3D
            self.broken = True
            self._on_failure(f"OpenGL could not draw: {first_line(exc)}")

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        super().paintEvent(event)  # makes the context on the first one, then paintGL
        if not (self.broken or self.context_lost) and not self.isValid():
            # Qt could not make this widget's context (it says why on stderr).
            self.broken = True
            self._on_failure("the view's OpenGL context could not be made")


class FramebufferText(gl.GLTextItem):
    """GLTextItem that paints into the GL framebuffer itself. pyqtgraph's paints on the widget,
    which QWidget.grab() redirects under the GL picture: screenshots would lose every label."""

    def paint(self) -> None:
        if not self.text:
            return
        self.setupGLState()
        view = self.view()
        at = self.align_text(self.compute_projection().map(QVector3D(*self.pos)).toPointF())
        ratio = view.devicePixelRatioF()
        device = QOpenGLPaintDevice(round(view.width() * ratio), round(view.height() * ratio))
        device.setDevicePixelRatio(ratio)
        painter = QPainter(device)
        painter.setPen(self.color)
        painter.setFont(self.font)
        painter.setRenderHints(QPainter.RenderHint.Antialiasing
                               | QPainter.RenderHint.TextAntialiasing)
        painter.drawText(at, self.text)
        painter.end()


def _rgba(fraction: float) -> tuple[float, float, float, float]:
    colour = heat_colour(fraction)
    return (colour.redF(), colour.greenF(), colour.blueF(), 1.0)


def _ticks(values: np.ndarray) -> np.ndarray:
    """At most MAX_TICKS breakpoints spread over the axis, both ends included."""
    if values.size <= MAX_TICKS:
        return values
    index = np.unique(np.round(np.linspace(0, values.size - 1, MAX_TICKS)).astype(int))
    return values[index]


def _scale(values: np.ndarray | float, lo: float, hi: float, span: float) -> np.ndarray:
    return (np.asarray(values, dtype=float) - lo) / ((hi - lo) or 1.0) * span


class SurfaceScene:
    """The GL widget and what it draws: a table as a heat-coloured surface with its cell grid,
    the floor's tick lines and labels, and the live marker with its drop line."""

    def __init__(self, on_failure: Callable[[str], None],
                 on_context_lost: Callable[[], None]) -> None:
        view = GuardedGLView(on_failure, on_context_lost)
        view.setObjectName("table_3d_gl")
        view.setBackgroundColor(theme.BACKGROUND)
        view.setCameraPosition(distance=19.0, elevation=28.0, azimuth=-120.0)
        view.opts["center"] = QVector3D(X_SPAN / 2, Y_SPAN / 2, Z_SPAN / 3)
        view.setMinimumSize(120, 120)
        self.widget = view
        # The cell grid drawn on the surface, so a tuner can count cells as on the grid.
        self.surface = gl.GLSurfacePlotItem(shader="shaded", smooth=False, showGrid=True,
                                            lineColor=(0.08, 0.09, 0.1, 0.6), lineWidth=1.0,
                                            glOptions="opaque")
        self.floor = gl.GLLinePlotItem(mode="lines", color=(0.55, 0.58, 0.62, 0.45),
                                       width=1.0, antialias=True, glOptions="translucent")
        self.drop = gl.GLLinePlotItem(mode="lines", color=LIVE_COLOUR, width=2.0,
                                      antialias=True, glOptions=_ON_TOP)
        self.marker = gl.GLScatterPlotItem(size=14.0, color=LIVE_COLOUR, pxMode=True,
                                           glOptions=_ON_TOP)
        for depth, item in ((0, self.floor), (1, self.surface), (10, self.drop),
                            (11, self.marker)):
            item.setDepthValue(depth)
            view.addItem(item)
        self._labels: list[FramebufferText] = []
        self._table: Table | None = None

    @property
    def camera(self) -> dict[str, Any]:
        return {k: self.widget.opts[k] for k in ("distance", "elevation", "azimuth", "center")}

    def set_camera(self, camera: dict[str, Any]) -> None:
        self.widget.opts.update(camera)
        self.widget.update()

    def show_table(self, table: Table | None) -> None:
        for label in self._labels:
            self.widget.removeItem(label)
        self._labels = []
        self._table = table
        if table is None:
            self.surface.setVisible(False)
            self.floor.setVisible(False)
            return
        view = table.normalised()  # ascending, no repeated padding breakpoints
        rpm, load, values = view.row_breakpoints, view.col_breakpoints, view.values
        lo, hi = float(values.min()), float(values.max())
        self.surface.setData(
            x=_scale(rpm, rpm[0], rpm[-1], X_SPAN), y=_scale(load, load[0], load[-1], Y_SPAN),
            z=_scale(values, lo, hi, Z_SPAN),
            colors=np.array([_rgba((v - lo) / ((hi - lo) or 1.0)) for v in values.ravel()]),
        )
        self.surface.setVisible(True)

        rpm_ticks, load_ticks = _ticks(rpm), _ticks(load)
        rpm_at = _scale(rpm_ticks, rpm[0], rpm[-1], X_SPAN)
        load_at = _scale(load_ticks, load[0], load[-1], Y_SPAN)
        segments: list[tuple[float, float, float]] = []
        for r in rpm_at:
            segments += [(r, 0.0, 0.0), (r, Y_SPAN, 0.0)]
        for c in load_at:
            segments += [(0.0, c, 0.0), (X_SPAN, c, 0.0)]
        segments += [(0.0, Y_SPAN, 0.0), (0.0, Y_SPAN, Z_SPAN)]  # the value axis, far corner
        self.floor.setData(pos=np.array(segments, dtype=float))
        self.floor.setVisible(True)

        small, title = QFont(), QFont()
        small.setPointSize(8)
        title.setPointSize(9)
        title.setBold(True)
        texts = [((at, -0.6, 0.0), f"{v:g}", small) for v, at in zip(rpm_ticks, rpm_at,
                                                                      strict=True)]
        texts += [((-0.8, at, 0.0), f"{v:g}", small) for v, at in zip(load_ticks, load_at,
                                                                      strict=True)]
        digits = 0 if hi - lo >= 10 else 1
        texts += [((0.0, Y_SPAN + 0.9, float(_scale(v, lo, hi, Z_SPAN))), f"{v:.{digits}f}",
                   small) for v in (lo, (lo + hi) / 2, hi)]
        texts += [((X_SPAN / 2, -1.8, 0.0), "rpm", title),
                  ((-1.8, Y_SPAN / 2, 0.0), _LOAD_TITLE.get(table.col_axis, table.col_axis),
                   title),
                  ((0.0, Y_SPAN + 0.9, Z_SPAN + 0.8), table.units or "value", title)]
        for pos, text, font in texts:
            label = FramebufferText(pos=np.array(pos, dtype=float), text=text, font=font,
                                    color=theme.TEXT, alignment=CENTRED)
            label.setDepthValue(5)
            self.widget.addItem(label)
            self._labels.append(label)

    def show_live(self, where: tuple[float, float, float] | None) -> None:
        """The marker at (rpm, load, value) in table units, on the shown table; None hides it."""
        if where is None or self._table is None:
            self.drop.setVisible(False)
            self.marker.setVisible(False)
            return
        view = self._table.normalised()
        rpm, load, value = where
        lo, hi = float(view.values.min()), float(view.values.max())
        x = float(_scale(rpm, view.row_breakpoints[0], view.row_breakpoints[-1], X_SPAN))
        y = float(_scale(load, view.col_breakpoints[0], view.col_breakpoints[-1], Y_SPAN))
        z = float(_scale(value, lo, hi, Z_SPAN))
        self.marker.setData(pos=np.array([[x, y, z + MARKER_LIFT]]))
        self.drop.setData(pos=np.array([[x, y, 0.0], [x, y, z]]))
        self.marker.setVisible(True)
        self.drop.setVisible(True)

    def close(self) -> None:
        self.widget.hide()
        self.widget.deleteLater()
