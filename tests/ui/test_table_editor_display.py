"""What the table editor shows: AFR in λ when the user reads λ (typed and pasted λ stored back
exactly), the live cursor and its fading trace repainting only their cells, a layer drawn over
the cells, and the real Power Vision tune readable at 1280 px with its padding marked."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QFontMetrics, QGuiApplication
from PySide6.QtTest import QTest

from dynoai_desktop.acquisition.ring_buffer import SampleRingBuffer
from dynoai_desktop.app.tune_session import TuneSession
from dynoai_desktop.core.display import DisplayUnits
from dynoai_desktop.core.table import Table
from dynoai_desktop.core.tune import AFR_TARGET, TUNE_TABLES, VE_FRONT_MAP, Tune
from dynoai_desktop.storage.catalog import Catalog
from dynoai_desktop.storage.resources import demo_base_tables
from dynoai_desktop.ui.panels.table_editor_paint import compact_font
from dynoai_desktop.ui.panels.table_editor_units import TRACE_LEVELS
from dynoai_desktop.ui.panels.table_model import preview_layer
from dynoai_desktop.ui.panels.tables import TablesPanel
from tests.realdata import REALDATA

CTRL = Qt.KeyboardModifier.ControlModifier
AFR = Table(AFR_TARGET, "AFR", "rpm", "map_kpa", np.array([1000.0, 2000.0, 3000.0]),
            np.array([20.0, 60.0, 100.0, 100.0]),
            np.array([[14.7, 14.2, 13.2, 13.2], [14.5, 13.8, 12.8, 12.8],
                      [14.3, 13.5, 12.5, 12.5]]))



@pytest.fixture
def session(session: TuneSession) -> TuneSession:
    """The demo base map with an AFR table."""
    session.show(session.tune.with_table(AFR), session.label)
    return session


def _panel(qtbot, session: TuneSession, units: DisplayUnits | None = None  # noqa: ANN001
           ) -> TablesPanel:
    widget = TablesPanel(session, units=units)
    qtbot.addWidget(widget)
    widget.resize(640, 600)
    widget.show()
    return widget


def _pick(panel: TablesPanel, name: str) -> None:
    panel.picker.setCurrentIndex([t.name for t in panel.tables].index(name))


def test_afr_is_shown_and_typed_in_lambda_when_the_user_reads_lambda(
        qtbot, session: TuneSession) -> None:  # noqa: ANN001
    panel = _panel(qtbot, session, DisplayUnits(afr="lambda"))
    _pick(panel, AFR_TARGET)
    view, model = panel.view, panel.view.editor_model
    assert model.index(0, 0).data() == "1.000" and model.index(2, 2).data() == "0.850"
    assert view.fmt is not None and view.fmt.unit == "λ"
    assert panel.picker.currentText() == f"{AFR_TARGET}  [λ]"
    before = np.array(session.table(AFR_TARGET).values)
    view.select_cells(1, 1, 1, 2)
    QTest.keyClick(view, "=")
    QTest.keyClicks(view, "0.85")
    QTest.keyClick(view, Qt.Key.Key_Return)
    expected = before.copy()
    expected[1, 1:3] = 12.495  # 0.85 λ × 14.7, stored in AFR exactly
    assert np.array_equal(session.table(AFR_TARGET).values, expected)
    QTest.keyClick(view, "+")  # 0.01 λ
    expected[1, 1:3] = np.round((12.495 / 14.7 + 0.01) * 14.7, 9)
    assert np.array_equal(session.table(AFR_TARGET).values, expected)
    assert view.last_status == "+0.01 λ on 2 cells"

    view.select_cells(0, 0, 2, 3)  # a λ block copied out pastes back to the same AFR
    QTest.keyClick(view, Qt.Key.Key_C, CTRL)
    kept = np.array(session.table(AFR_TARGET).values)
    QTest.keyClick(view, "=")
    QTest.keyClicks(view, "1")
    QTest.keyClick(view, Qt.Key.Key_Return)
    view.select_cells(0, 0, 0, 0)
    QTest.keyClick(view, Qt.Key.Key_V, CTRL)
    assert np.array_equal(session.table(AFR_TARGET).values, kept)

    panel.set_units(DisplayUnits(afr="AFR"))
    assert model.index(0, 0).data() == "14.70" and view.fmt.unit == "AFR"
    assert panel.picker.currentText() == f"{AFR_TARGET}  [AFR]"


def test_the_table_list_is_in_a_tuners_order(qtbot, catalog: Catalog) -> None:  # noqa: ANN001
    base = demo_base_tables()[0][0]
    names = ["Zeta", "Spark Advance (Rear Cyl)", "Alpha", AFR_TARGET, "VE (TPS based/Rear Cyl)",
             "VE (MAP based/Rear Cyl)", VE_FRONT_MAP]
    tune = TuneSession(catalog)
    tune.show(Tune({n: Table(n, base.units, "rpm", base.col_axis, base.row_breakpoints,
                             base.col_breakpoints, base.values) for n in names}), "test")
    panel = _panel(qtbot, tune)
    assert [t.name for t in panel.tables] == [
        VE_FRONT_MAP, "VE (MAP based/Rear Cyl)", "VE (TPS based/Rear Cyl)", AFR_TARGET,
        "Spark Advance (Rear Cyl)", "Alpha", "Zeta"]


def _live_rows(t: np.ndarray, rpm: np.ndarray, kpa: np.ndarray,
               buffer: SampleRingBuffer) -> None:
    buffer.append_block(t, {"rpm": rpm, "map_kpa": kpa, "tps_pct": np.full(t.size, 50.0)})


def test_the_live_cursor_and_its_fading_trace_follow_the_stream(
        qtbot, session: TuneSession) -> None:  # noqa: ANN001
    panel = _panel(qtbot, session)
    view, model = panel.view, panel.view.editor_model
    table = session.table(VE_FRONT_MAP)
    buffer = SampleRingBuffer(("rpm", "map_kpa", "tps_pct"), capacity=2000)
    now = [0.0]
    panel.set_live_source(buffer, lambda: now[0])
    assert view.live_timer.isActive()
    t = 10.0 + np.arange(101) / 100.0
    rpm = np.linspace(1000.0, 3050.0, t.size)
    kpa = np.linspace(30.0, 83.0, t.size)
    _live_rows(t, rpm, kpa, buffer)
    now[0] = 11.0
    view.poll_live()
    rows, cols = table.cell_index(rpm, kpa)
    assert model.cursor == table.cell_index(3050.0, 83.0)
    assert model.cursor_offset == pytest.approx((50 / 250, 3 / 10))  # down, right of centre
    visited = np.zeros(table.shape, dtype=bool)
    visited[rows, cols] = True
    assert np.array_equal(model.trace > 0, visited)
    assert model.trace[model.cursor] == TRACE_LEVELS

    # the next rows: only the cells that changed repaint, never the whole table
    changed: list[tuple[int, int, int, int]] = []
    resets: list[int] = []
    model.dataChanged.connect(lambda a, b, _roles=(): changed.append(
        (a.row(), a.column(), b.row(), b.column())))
    model.modelReset.connect(lambda: resets.append(1))
    _live_rows(np.array([11.01]), np.array([3300.0]), np.array([90.0]), buffer)
    now[0] = 11.01
    view.poll_live()
    assert model.cursor == table.cell_index(3300.0, 90.0)
    assert changed and all(a == c and b == d for a, b, c, d in changed)
    assert len(changed) <= 4 and not resets

    now[0] = 12.5  # rows stopped: the cursor goes, the trace fades
    view.poll_live()
    assert model.cursor is None
    assert 0 < model.trace.max() < TRACE_LEVELS
    now[0] = 14.1
    view.poll_live()
    assert not model.trace.any()

    view.select_cells(0, 0, 0, 0)  # an edit keeps the live marks' table
    QTest.keyClick(view, "+")
    _live_rows(np.array([14.2]), np.array([750.0]), np.array([20.0]), buffer)
    now[0] = 14.2
    view.poll_live()
    assert model.cursor == (0, 0)
    panel.set_live_source(None)
    assert not view.live_timer.isActive() and not model.trace.any()


def test_a_layer_draws_over_the_cells_and_goes_away(qtbot, session: TuneSession) -> None:  # noqa: ANN001
    panel = _panel(qtbot, session)
    model = panel.view.editor_model
    current = model.shown
    proposed = current.copy()
    proposed[3, 4] += 2.0
    proposed[5, 5] -= 1.5
    panel.set_layer(preview_layer(current, proposed, 1, "autotune"))
    assert model.layer_note(3, 4) == "+2.0" and model.layer_note(5, 5) == "-1.5"
    assert model.layer_note(0, 0) == "" and model.layer_tint(0, 0) is None
    assert "autotune: " in model.index(3, 4).data(Qt.ItemDataRole.ToolTipRole)
    panel.view.grab()  # paints with the layer
    panel.set_layer(None)
    assert model.layer_note(3, 4) == "" and model.layer is None
    with pytest.raises(ValueError, match="shape"):
        panel.set_layer(preview_layer(current[:2], proposed[:2], 1))


@pytest.mark.skipif(REALDATA is None, reason="shared/realdata is not beside the repo")
def test_the_real_power_vision_tune_is_readable_at_1280_px(qtbot, catalog: Catalog) -> None:  # noqa: ANN001
    assert REALDATA is not None
    tune = TuneSession(catalog)
    panel = _panel(qtbot, tune)
    panel.resize(1280 * 45 // 100, 700)  # the Tables dock's share of a 1280 px screen
    panel.open_tune(REALDATA / "dynoai3_pvv_template_16D110002401.pvv")
    assert [t.name for t in panel.tables][:7] == list(TUNE_TABLES)
    view = panel.view
    header, rows = view.horizontalHeader(), view.verticalHeader()
    big = QFontMetrics(view.font())
    small = QFontMetrics(compact_font(view.font()))
    for index, name in enumerate(TUNE_TABLES):
        panel.picker.setCurrentIndex(index)
        model = view.editor_model
        assert model.table is not None and model.table.name == name
        n_rows, n_cols = model.table.shape
        for c in range(n_cols):
            width = header.sectionSize(c)
            lines = header.lines(c)[0]
            fm = small if model.padding_cols[c] else big
            assert all(fm.horizontalAdvance(line) < width for line in lines), (name, c, lines)
            for r in range(n_rows):
                cell = small if model.padding_cols[c] or model.padding_rows[r] else big
                assert cell.horizontalAdvance(model.texts[r][c]) + 4 <= width, (
                    name, r, c, model.texts[r][c], width)
        label_width = rows.width()
        for r in range(n_rows):
            fm = small if model.padding_rows[r] else big
            line = rows.lines(r)[0][0]
            assert fm.horizontalAdvance(line) < label_width, (name, r, line)
    panel.picker.setCurrentIndex(0)  # VE front MAP: 104.4 kPa, VE >= 100, 8000 rpm padding
    model = view.editor_model
    assert model.headerData(16, Qt.Orientation.Horizontal, Qt.ItemDataRole.DisplayRole) == \
        "104.4 kPa"
    assert header.lines(16)[0] == ["104.4", "kPa"]
    assert any(float(text) >= 100 for row in model.texts for text in row)
    assert model.headerData(20, Qt.Orientation.Vertical, Qt.ItemDataRole.DisplayRole) == "8000"
    assert model.headerData(21, Qt.Orientation.Vertical, Qt.ItemDataRole.DisplayRole) == "↺ 8000"
    assert rows.sectionSize(21) < rows.sectionSize(20)
    panel.picker.setCurrentIndex(TUNE_TABLES.index(AFR_TARGET))
    model = view.editor_model
    assert model.index(0, 0).data() == f"{model.table.values[0, 0]:.2f}"  # AFR to 0.01
    assert model.headerData(11, Qt.Orientation.Horizontal, Qt.ItemDataRole.DisplayRole) == \
        "↺ 100 kPa"
    assert header.sectionSize(11) < header.sectionSize(0)
    assert model.rowCount(QModelIndex()) == 17
    QGuiApplication.clipboard().clear()
