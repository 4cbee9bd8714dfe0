"""The 3D view of a table: a surface with the live point where OpenGL exists, a clear message
where it does not (Qt offscreen has none), and never a crash.

`make test` runs the whole suite offscreen (the message), then this file again under Xvfb
(`QT_QPA_PLATFORM=xcb xvfb-run -a ...`), where Mesa's llvmpipe gives a real context: the surface,
the marker, the mouse and the pixels. Each half skips, with its reason, on the other platform.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QPointF, Qt
from PySide6.QtGui import QGuiApplication, QImage, QMouseEvent
from PySide6.QtWidgets import QApplication, QDockWidget, QLabel, QMainWindow

from dynoai_desktop.core.tune import VE_FRONT_MAP
from dynoai_desktop.storage.resources import demo_base_tables
from dynoai_desktop.ui.panels.table_3d import Table3DView, opengl_missing_reason

NO_GL_MESSAGE = "3D view needs OpenGL: this display has none"  # what a tuner reads


def _platform() -> str:
    QApplication.instance() or pytest.fail("pytest-qt makes the QApplication")
    return QGuiApplication.platformName()


offscreen_only = pytest.mark.skipif(
    os.environ.get("QT_QPA_PLATFORM") != "offscreen",
    reason="checks the offscreen platform (the whole suite's run)",
)
# What Qt says on a display without OpenGL (the probe's context, a widget's), where the message
# is what the test checks.
NO_GL_WARNINGS = r"OpenGL context|Failed to create context|qglx_findConfig"


def xvfb_only(test):  # noqa: ANN001, ANN201
    test = pytest.mark.qt_log_ignore(NO_GL_WARNINGS)(test)
    return pytest.mark.skipif(
        os.environ.get("QT_QPA_PLATFORM", "offscreen") == "offscreen",
        reason="needs a display: `make test` runs this file under xvfb-run with "
               "QT_QPA_PLATFORM=xcb",
    )(test)


@pytest.fixture
def ve_front():  # noqa: ANN201
    tables, _ = demo_base_tables()
    return next(t for t in tables if t.name == VE_FRONT_MAP)


@pytest.fixture
def view(qtbot, ve_front):  # noqa: ANN001, ANN201
    widget = Table3DView()
    qtbot.addWidget(widget)
    widget.resize(640, 480)
    widget.show_table(ve_front)
    return widget


def _heat_pixels(image: QImage) -> int:
    """Pixels of the surface's heat colours (saturated), not the grey background or text."""
    image = image.convertToFormat(QImage.Format.Format_RGB32)
    pixels = 0
    for y in range(0, image.height(), 4):
        for x in range(0, image.width(), 4):
            colour = image.pixelColor(x, y)
            if colour.hsvSaturation() > 120 and colour.value() > 60:
                pixels += 1
    return pixels


# ---------------------------------------------------------------------- offscreen: the message
@offscreen_only
def test_offscreen_the_view_says_opengl_is_missing_instead_of_crashing(
    qtbot, view: Table3DView, ve_front  # noqa: ANN001
) -> None:
    view.show()
    qtbot.waitUntil(lambda: view.available is False)
    assert _platform() == "offscreen"
    assert "'offscreen' platform" in opengl_missing_reason()
    assert view.message.isVisible() and view.message.text().startswith(NO_GL_MESSAGE)
    assert "The grid shows the same table." in view.message.text()
    assert view.gl_widget is None and view.surface is None
    assert view.ensure_view() is False
    view.set_live_point(3000, 60)  # still fine without a view
    rpm, load, value = view.live_marker_position()
    assert (rpm, load) == (3000, 60) and value == pytest.approx(
        float(ve_front.lookup(3000, 60)))
    assert not view.render_image().isNull()


def test_making_and_showing_the_view_offscreen_loads_no_opengl_module() -> None:
    """Start time: the window opens as fast as before; pyqtgraph.opengl and PyOpenGL load only
    when a 3D view can be drawn."""
    code = textwrap.dedent("""
        import sys
        from PySide6.QtWidgets import QApplication
        app = QApplication([])
        from dynoai_desktop.ui.panels.table_3d import Table3DView
        view = Table3DView()
        view.show()
        app.processEvents()
        assert view.ensure_view() is False and view.available is False
        loaded = [m for m in ("pyqtgraph.opengl", "OpenGL", "OpenGL.GL",
                              "dynoai_desktop.ui.panels.table_3d_gl") if m in sys.modules]
        print("loaded:", loaded)
        sys.exit(1 if loaded else 0)
    """)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


# ---------------------------------------------------------------------- Xvfb: the surface
@xvfb_only
def test_under_xvfb_the_surface_is_drawn_with_the_live_point(
    qtbot, view: Table3DView, ve_front  # noqa: ANN001
) -> None:
    assert _platform() == "xcb"
    reason = opengl_missing_reason()
    view.show()
    qtbot.waitExposed(view)
    if reason:
        # No OpenGL even under Xvfb (no Mesa llvmpipe here): the message is what must work.
        qtbot.waitUntil(lambda: view.available is False)
        assert view.message.text().startswith(NO_GL_MESSAGE) and reason in view.message.text()
        pytest.skip(f"this machine has no OpenGL under Xvfb ({reason}); checked the message")

    qtbot.waitUntil(lambda: view.available is True)
    surface = view.surface
    assert surface is not None and surface.visible()
    nrows, ncols = ve_front.normalised().shape
    assert surface._z.shape == (nrows, ncols)
    assert view.caption.full_text().startswith(VE_FRONT_MAP)

    marker = view.marker
    assert not marker.visible()  # no live point yet
    view.set_live_point(2500, 60)
    assert marker.visible()
    first = np.array(marker.pos, dtype=float).copy()
    view.set_live_point(5000, 90)
    second = np.array(marker.pos, dtype=float)
    assert second[0, 0] > first[0, 0] and second[0, 1] > first[0, 1]  # more rpm, more load
    from dynoai_desktop.ui.panels import table_3d_gl

    expected_z = (ve_front.lookup(5000, 90) - ve_front.values.min()) / np.ptp(ve_front.values)
    assert second[0, 2] == pytest.approx(expected_z * table_3d_gl.Z_SPAN + table_3d_gl.MARKER_LIFT)
    view.set_live_point(None)
    assert not marker.visible() and view.live_marker_position() is None

    # It renders: the heat-coloured surface fills a good part of the frame, in the GL frame
    # and in QWidget.grab() (what the main window's screenshots use).
    qtbot.waitUntil(lambda: _heat_pixels(view.render_image()) > 1500)
    qtbot.waitUntil(lambda: _heat_pixels(view.grab().toImage()) > 1500)


@xvfb_only
def test_under_xvfb_dragging_with_the_mouse_turns_the_view(
    qtbot, view: Table3DView  # noqa: ANN001
) -> None:
    view.show()
    qtbot.waitExposed(view)
    if not view.ensure_view():
        pytest.skip(f"no OpenGL under Xvfb here ({opengl_missing_reason()})")
    gl = view.gl_widget
    azimuth = gl.opts["azimuth"]
    start, end = QPointF(200, 200), QPointF(320, 200)
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    mods = Qt.KeyboardModifier.NoModifier
    QApplication.sendEvent(gl, QMouseEvent(QEvent.Type.MouseButtonPress, start, start, left,
                                           left, mods))
    QApplication.sendEvent(gl, QMouseEvent(QEvent.Type.MouseMove, end, end, none, left, mods))
    QApplication.sendEvent(gl, QMouseEvent(QEvent.Type.MouseButtonRelease, end, end, left,
                                           none, mods))
    assert gl.opts["azimuth"] != azimuth


def _paint_raises(_self: object) -> None:
    raise RuntimeError("GL_OUT_OF_MEMORY")


@xvfb_only
@pytest.mark.parametrize(
    ("method", "broken", "words"),
    [("paintGL", _paint_raises, "OpenGL could not draw: RuntimeError: GL_OUT_OF_MEMORY"),
     ("isValid", lambda _self: False, "the view's OpenGL context could not be made")],
    ids=["paint raises", "no context for the widget"],
)
def test_under_xvfb_a_view_that_fails_at_paint_turns_into_the_message(
    qtbot, view: Table3DView, monkeypatch: pytest.MonkeyPatch,  # noqa: ANN001
    method: str, broken: object, words: str,
) -> None:
    view.show()
    qtbot.waitExposed(view)
    if not view.ensure_view():
        pytest.skip(f"no OpenGL under Xvfb here ({opengl_missing_reason()})")
    import pyqtgraph.opengl as gl

    monkeypatch.setattr(gl.GLViewWidget, method, broken)
    view.gl_widget.update()
    qtbot.waitUntil(lambda: view.available is False)
    assert view.message.isVisible() and view.message.text().startswith(NO_GL_MESSAGE)
    assert words in view.message.text()
    assert view.gl_widget is None
    view.set_live_point(3000, 60)  # the rest keeps working
    view.show_table(None)


@xvfb_only
def test_under_xvfb_views_made_one_after_another_and_side_by_side_all_draw(
    qtbot, ve_front  # noqa: ANN001
) -> None:
    """pyqtgraph keeps one compiled shader per process; a second view (another window, another
    context) must not draw with the first one's."""
    if opengl_missing_reason():
        pytest.skip(f"no OpenGL under Xvfb here ({opengl_missing_reason()})")
    views = []
    for _ in range(3):
        view = Table3DView()
        qtbot.addWidget(view)
        view.resize(400, 300)
        view.show_table(ve_front)
        view.show()
        qtbot.waitUntil(lambda v=view: v.available is True)
        views.append(view)
    first = views.pop(0)
    qtbot.waitUntil(lambda: _heat_pixels(first.render_image()) > 600)
    first.close()
    first.deleteLater()
    for view in views:  # side by side, and after the first one went
        qtbot.waitUntil(lambda v=view: _heat_pixels(v.render_image()) > 600)
        assert view.available is True


@xvfb_only
def test_under_xvfb_the_view_keeps_drawing_when_its_dock_is_floated(
    qtbot, ve_front  # noqa: ANN001
) -> None:
    """Floating a dock moves the view into a new window, where Qt gives it a new context."""
    if opengl_missing_reason():
        pytest.skip(f"no OpenGL under Xvfb here ({opengl_missing_reason()})")
    window = QMainWindow()
    qtbot.addWidget(window)
    window.setCentralWidget(QLabel("the grid"))
    dock = QDockWidget("3D")
    view = Table3DView()
    view.show_table(ve_front)
    view.set_live_point(3000, 70)
    dock.setWidget(view)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    window.resize(900, 500)
    window.resizeDocks([dock], [450], Qt.Orientation.Horizontal)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: view.available is True)
    qtbot.waitUntil(lambda: _heat_pixels(view.render_image()) > 600)
    before = view.gl_widget
    before.setCameraPosition(azimuth=-90.0)  # the tuner turned it
    dock.setFloating(True)
    dock.resize(420, 320)
    qtbot.waitExposed(dock)
    qtbot.waitUntil(lambda: view.available is True and view.gl_widget.isValid()
                    and _heat_pixels(view.render_image()) > 600)
    assert view.marker.visible()  # the live point came along
    assert view.gl_widget.opts["azimuth"] == -90.0  # and the way it was turned
    if not QCoreApplication.testAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts):
        assert view.gl_widget is not before  # made again in the new window's context


@xvfb_only
def test_the_smoke_run_on_a_screen_draws_the_3d_view(tmp_path) -> None:  # noqa: ANN001
    """`dynoai --smoke` on a real display opens the 3D view (the installer's check relies on it
    to prove the frozen program's OpenGL)."""
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "DYNOAI_CONFIG_DIR": str(tmp_path),
           "DYNOAI_DATA_DIR": str(tmp_path / "data")}
    result = subprocess.run([sys.executable, "-m", "dynoai_desktop", "--smoke"], env=env,
                            capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, result.stderr
    assert "3D view drawn" in result.stderr
