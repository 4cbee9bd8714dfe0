"""The device bar: ports, protocols and options per device, Connect, and the status lights."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from PySide6.QtWidgets import QComboBox, QLineEdit

from dynoai_desktop.acquisition.status import DeviceState, DeviceStatus
from dynoai_desktop.devices.registry import device_registry
from dynoai_desktop.storage.settings import DevicePort, Settings
from dynoai_desktop.ui import theme
from dynoai_desktop.ui.panels import device_bar
from dynoai_desktop.ui.panels.device_bar import DeviceBar


@pytest.fixture(autouse=True)
def _listed_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    """The OS lists two USB adapters (whatever this machine really has)."""
    ports = [SimpleNamespace(device="/dev/ttyUSB1"), SimpleNamespace(device="/dev/ttyUSB0")]
    monkeypatch.setattr(device_bar.list_ports, "comports", lambda: ports)


@pytest.fixture
def bar(qtbot) -> DeviceBar:
    widget = DeviceBar(list(Settings().devices))
    qtbot.addWidget(widget)
    return widget


def _row(bar: DeviceBar, role: str) -> device_bar.DeviceRow:
    return next(r for r in bar.rows if r.role == role)


def _status(name: str, state: DeviceState, reason: str) -> DeviceStatus:
    role = name.split("_")[0]
    return DeviceStatus(name=name, role=role, protocol="p", port="x", state=state, reason=reason)


def test_one_row_per_device_with_its_title_port_and_protocol(qtbot) -> None:
    devices = [
        DevicePort("dyno", "dyno-line", "socket://127.0.0.1:7001"),
        DevicePort("wideband", "aem-ascii", "/dev/pts/4", {"cylinder": "rear", "mode": "lambda"}),
    ]
    bar = DeviceBar(devices)
    qtbot.addWidget(bar)
    assert [r.title.text() for r in bar.rows] == ["Dyno", "Wideband"]
    assert [r.port.port() for r in bar.rows] == ["socket://127.0.0.1:7001", "/dev/pts/4"]
    assert [r.protocol.currentData() for r in bar.rows] == ["dyno-line", "aem-ascii"]
    assert bar.devices() == [
        DevicePort("dyno", "dyno-line", "socket://127.0.0.1:7001", {"channel_map": {}}),
        DevicePort(
            "wideband", "aem-ascii", "/dev/pts/4",
            {"cylinder": "rear", "mode": "lambda", "stoich_afr": 14.7},
        ),
    ]  # fmt: skip


def test_the_port_box_lists_the_os_ports_and_keeps_a_typed_pty_path(qtbot) -> None:
    bar = DeviceBar([DevicePort("wideband", "innovate-mts", "/dev/pts/7")])
    qtbot.addWidget(bar)
    port = bar.rows[0].port
    items = [port.itemText(i) for i in range(port.count())]
    assert items == ["/dev/ttyUSB0", "/dev/ttyUSB1", "/dev/pts/7"]  # pts is never listed
    assert port.isEditable() and port.port() == "/dev/pts/7"
    port.refresh()  # what opening the list does
    assert port.port() == "/dev/pts/7"


def test_each_role_offers_its_protocols_by_their_titles(bar: DeviceBar) -> None:
    registry = device_registry()
    for row in bar.rows:
        combo = row.protocol
        assert [combo.itemData(i) for i in range(combo.count())] == registry.protocols(row.role)
        assert [combo.itemText(i) for i in range(combo.count())] == [
            registry.get(p).title for p in registry.protocols(row.role)
        ]
    wideband = _row(bar, "wideband").protocol
    assert {"innovate-mts", "aem-ascii", "plx-imfd"} <= {
        wideband.itemData(i) for i in range(wideband.count())
    }
    assert wideband.findData("dyno-line") == -1


def test_options_follow_the_protocol(bar: DeviceBar) -> None:
    row = _row(bar, "wideband")
    widgets = row.options.widgets
    assert list(widgets) == ["front", "rear"]  # MTS sub-packet numbers, as saved
    assert all(isinstance(w, QComboBox) for w in widgets.values())
    assert (widgets["front"].currentData(), widgets["rear"].currentData()) == (1, 2)

    row.protocol.setCurrentIndex(row.protocol.findData("aem-ascii"))
    widgets = row.options.widgets
    assert list(widgets) == ["cylinder", "mode", "stoich_afr"]
    cylinder, mode, stoich = widgets["cylinder"], widgets["mode"], widgets["stoich_afr"]
    assert isinstance(cylinder, QComboBox) and isinstance(mode, QComboBox)
    assert [cylinder.itemText(i) for i in range(cylinder.count())] == ["front", "rear"]
    assert [mode.itemText(i) for i in range(mode.count())] == ["afr", "lambda"]
    assert isinstance(stoich, QLineEdit) and stoich.text() == "14.7"

    row.options.widgets["cylinder"].setCurrentIndex(1)
    row.protocol.setCurrentIndex(row.protocol.findData("innovate-mts"))
    assert row.device().options == {"front": 1, "rear": 2}  # back on the saved protocol

    dyno = _row(bar, "dyno").options.widgets
    assert list(dyno) == ["channel_map"] and isinstance(dyno["channel_map"], QLineEdit)


def test_connect_emits_the_edited_devices_with_a_typed_url(qtbot, bar: DeviceBar) -> None:
    dyno, wideband = _row(bar, "dyno"), _row(bar, "wideband")
    dyno.port.setEditText("socket://127.0.0.1:7001")
    dyno.options.widgets["channel_map"].setText('{"eng_speed": "rpm"}')
    wideband.port.setEditText("/dev/pts/3")
    wideband.protocol.setCurrentIndex(wideband.protocol.findData("aem-ascii"))
    wideband.options.widgets["cylinder"].setCurrentIndex(1)
    wideband.options.widgets["mode"].setCurrentIndex(1)
    wideband.options.widgets["stoich_afr"].setText("9.8")

    with qtbot.waitSignal(bar.connect_requested, timeout=1000) as blocker:
        bar.connect_button.click()
    assert blocker.args == [
        [
            DevicePort("dyno", "dyno-line", "socket://127.0.0.1:7001",
                       {"channel_map": {"eng_speed": "rpm"}}),
            DevicePort("wideband", "aem-ascii", "/dev/pts/3",
                       {"cylinder": "rear", "mode": "lambda", "stoich_afr": 9.8}),
        ]
    ]  # fmt: skip
    assert all(not r.problem.isVisibleTo(bar) for r in bar.rows)


def test_an_empty_port_is_refused_in_its_row(qtbot, bar: DeviceBar) -> None:
    # The default settings have no ports yet.
    with qtbot.assertNotEmitted(bar.connect_requested):
        bar.connect_button.click()
    for row in bar.rows:
        assert row.problem.isVisibleTo(bar)
        assert "no port chosen" in row.problem.text()
        assert "socket://127.0.0.1:7001" in row.port.toolTip()
    assert _row(bar, "dyno").problem.text().startswith("Dyno:")

    _row(bar, "dyno").port.setEditText("COM3")  # editing clears that row's problem
    assert not _row(bar, "dyno").problem.isVisibleTo(bar)
    assert _row(bar, "dyno").light.state == "not connected"
    assert _row(bar, "wideband").problem.isVisibleTo(bar)


def test_bad_option_text_and_a_shared_port_are_refused(qtbot, bar: DeviceBar) -> None:
    dyno, wideband = _row(bar, "dyno"), _row(bar, "wideband")
    dyno.port.setEditText("/dev/ttyUSB0")
    wideband.port.setEditText("/dev/ttyUSB0")
    dyno.options.widgets["channel_map"].setText("eng_speed=rpm")
    with qtbot.assertNotEmitted(bar.connect_requested):
        bar.connect_button.click()
    assert "channel map" in dyno.problem.text() and "JSON object" in dyno.problem.text()

    dyno.options.widgets["channel_map"].setText('{"eng speed": "rpm"}')  # the codec's own check
    with qtbot.assertNotEmitted(bar.connect_requested):
        bar.connect_button.click()
    assert "channel_map" in dyno.problem.text()

    dyno.options.widgets["channel_map"].setText("")
    with qtbot.assertNotEmitted(bar.connect_requested):
        bar.connect_button.click()
    assert not dyno.problem.text()
    assert wideband.problem.text() == (
        "Wideband and Dyno are both on /dev/ttyUSB0; each device needs its own port."
    )


def test_statuses_colour_the_lights_with_the_reason_on_hover(bar: DeviceBar) -> None:
    dyno, wideband = _row(bar, "dyno"), _row(bar, "wideband")
    assert (wideband.light.colour, wideband.light.state) == (theme.IDLE, "no port")
    bar.show_statuses([
        _status("dyno", DeviceState.STREAMING, "dyno-line on socket://127.0.0.1:7001: 50 Hz"),
        _status("wideband_front", DeviceState.STREAMING, "front: 14.2 AFR"),
        _status("wideband_rear", DeviceState.PORT_LOST, "/dev/ttyUSB1 was unplugged; plug it in"),
    ])  # fmt: skip
    assert (dyno.light.colour, dyno.light.text.text()) == (theme.OK, "streaming")
    assert (wideband.light.colour, wideband.light.text.text()) == (theme.FAULT, "port lost")
    assert theme.FAULT in wideband.light.dot.styleSheet()
    assert "/dev/ttyUSB1 was unplugged; plug it in" in wideband.light.toolTip()
    assert "front: 14.2 AFR" in wideband.light.toolTip()

    bar.show_statuses([_status("dyno", DeviceState.STALE, "no line for 1.2 s")])
    assert (dyno.light.colour, dyno.light.toolTip()) == (theme.WARN, "no line for 1.2 s")
    assert wideband.light.colour == theme.FAULT  # no news for the wideband: kept
    # The reason is in words under the light, not only on hover, and follows each poll.
    assert dyno.reason.full_text() == "no line for 1.2 s"
    bar.show_statuses([_status("dyno", DeviceState.STREAMING, "dyno-line: streaming")])
    assert dyno.reason.full_text() == "dyno-line: streaming"


def test_options_show_in_a_few_words_on_their_button(bar: DeviceBar) -> None:
    wideband = _row(bar, "wideband")
    assert wideband.options_button.text() == "front 1, re…"
    assert "front 1, rear 2" in wideband.options_button.toolTip()
    wideband.options.widgets["rear"].setCurrentIndex(wideband.options.widgets["rear"].findData(3))
    assert "rear 3" in wideband.options_button.toolTip()


def test_while_connected_editing_is_off_and_the_button_disconnects(qtbot, bar: DeviceBar) -> None:
    bar.set_connected(True)
    assert bar.connect_button.text() == "Disconnect"
    for row in bar.rows:
        assert not row.port.isEnabled() and not row.protocol.isEnabled()
        assert not any(w.isEnabled() for w in row.options.widgets.values())
    with qtbot.assertNotEmitted(bar.connect_requested):
        with qtbot.waitSignal(bar.disconnect_requested, timeout=1000):
            bar.connect_button.click()

    bar.show_statuses([_status("dyno", DeviceState.STREAMING, "ok")])
    bar.set_connected(False)
    assert bar.connect_button.text() == "Connect"
    dyno = _row(bar, "dyno")
    assert dyno.port.isEnabled() and dyno.options.widgets["channel_map"].isEnabled()
    assert dyno.light.colour == theme.IDLE  # a closed device shows no live state
