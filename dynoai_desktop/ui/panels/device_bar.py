"""The device bar: which port and protocol each device of the cell is on, and how it is doing.

A thin view over the live session's ports: the tuner edits each device's port (a listed serial
port, a pty path or any pyserial URL), its protocol and the protocol's options; Connect hands the
edited ``DevicePort`` values to the live controller, which answers with ``set_connected`` and
``show_statuses``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QWidget,
    QWidgetAction,
)
from serial.tools import list_ports

from dynoai_desktop.acquisition.status import DeviceStatus
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.devices.base import DeviceKind, DeviceOption
from dynoai_desktop.devices.registry import device_registry
from dynoai_desktop.storage.settings import DevicePort
from dynoai_desktop.ui import theme
from dynoai_desktop.ui.device_status import ROLE_TITLES, StatusLight
from dynoai_desktop.ui.widgets import CompactCombo, ElidedLabel

PORT_EXAMPLES = "COM3, /dev/ttyUSB0, /dev/pts/3 or socket://127.0.0.1:7001"
PORT_CHARS = 10  # the port box is at least this wide; longer URLs scroll inside it
PROTOCOL_CHARS = 9
OPTIONS_SUMMARY_CHARS = 12

OptionWidget = QComboBox | QLineEdit


def available_ports() -> list[str]:
    """The serial ports the OS lists. Pty paths and URLs are never listed: the user types them."""
    return sorted(port.device for port in list_ports.comports())


def role_title(role: str) -> str:
    return ROLE_TITLES.get(role, role.title())


class PortCombo(CompactCombo):
    """An editable port box that lists the serial ports again each time it opens."""

    def __init__(self, port: str, parent: QWidget | None = None) -> None:
        super().__init__(PORT_CHARS, parent)
        self.setEditable(True)
        self.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.lineEdit().setPlaceholderText(PORT_EXAMPLES)
        self.setToolTip(f"A serial port, a pty path or a pyserial URL ({PORT_EXAMPLES})")
        self.setEditText(port)
        self.refresh()
        self.lineEdit().setCursorPosition(0)  # a long URL shows from its start, not cut mid-word

    def refresh(self) -> None:
        """List the OS's ports plus the current value, keeping what the user typed."""
        text = self.currentText()
        ports = available_ports()
        if text and text not in ports:
            ports.append(text)
        self.blockSignals(True)
        self.clear()
        self.addItems(ports)
        self.setEditText(text)
        self.blockSignals(False)

    def showPopup(self) -> None:
        self.refresh()  # a USB adapter plugged in after start shows up
        super().showPopup()

    def port(self) -> str:
        return self.currentText().strip()


class OptionsEditor(QWidget):
    """One widget per option of a device kind: a combo for choices, a line edit otherwise; a
    label and its widget per line (it opens under the row's Options button)."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.kind: DeviceKind | None = None
        self.widgets: dict[str, OptionWidget] = {}
        self._passthrough: dict[str, Any] = {}  # options of a protocol that is not registered
        self._layout = QGridLayout(self)
        self._layout.setContentsMargins(8, 6, 8, 6)
        self._layout.setHorizontalSpacing(6)
        self._layout.setVerticalSpacing(4)

    def show_options(self, kind: DeviceKind | None, values: Mapping[str, Any]) -> None:
        """Rebuild the widgets for ``kind``, showing ``values`` where given, else defaults."""
        while (item := self._layout.takeAt(0)) is not None:
            if (widget := item.widget()) is not None:
                widget.deleteLater()
        self.kind = kind
        self.widgets = {}
        self._passthrough = {} if kind is not None else dict(values)
        for line, option in enumerate(kind.options if kind is not None else ()):
            label = QLabel(_label(option))
            label.setToolTip(option.help)
            widget = _option_widget(option, values.get(option.name, option.default))
            widget.setObjectName(f"option_{option.name}")
            widget.setToolTip(option.help)
            if isinstance(widget, QComboBox):
                widget.currentIndexChanged.connect(lambda _index: self.changed.emit())
            else:
                widget.textChanged.connect(lambda _text: self.changed.emit())
            self._layout.addWidget(label, line, 0)
            self._layout.addWidget(widget, line, 1)
            self.widgets[option.name] = widget
        self.changed.emit()

    def summary(self) -> str:
        """The options in a few words ("front 1, rear 2"); "no options" when there are none."""
        if not self.widgets:
            return "no options"
        parts = []
        for name, widget in self.widgets.items():
            value = widget.currentText() if isinstance(widget, QComboBox) else widget.text()
            parts.append(f"{name.replace('_', ' ')} {value or '—'}")
        return ", ".join(parts)

    def values(self, title: str) -> dict[str, Any]:
        """The options as plain values; an InputError names the option and what to give."""
        if self.kind is None:
            return dict(self._passthrough)
        out: dict[str, Any] = {}
        for option in self.kind.options:
            widget = self.widgets[option.name]
            if isinstance(widget, QComboBox):
                out[option.name] = widget.currentData()
            else:
                out[option.name] = _parse_option(title, option, widget.text())
        return out


def _label(option: DeviceOption) -> str:
    return option.name.replace("_", " ")


def _choices(option: DeviceOption) -> tuple[Any, ...] | None:
    if option.choices is not None:
        return option.choices
    return (False, True) if isinstance(option.default, bool) else None


def _option_text(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _option_widget(option: DeviceOption, value: Any) -> OptionWidget:
    choices = _choices(option)
    if choices is None:
        edit = QLineEdit(_option_text(value))
        if isinstance(option.default, dict):
            edit.setPlaceholderText('{"field": "channel"}')
        return edit
    combo = QComboBox()
    for choice in choices:
        combo.addItem(str(choice), choice)
    if value not in choices:  # e.g. a hand-edited settings file: Connect reports it
        combo.addItem(f"{value} (not allowed)", value)
    combo.setCurrentIndex(combo.findData(value))
    return combo


def _parse_option(title: str, option: DeviceOption, text: str) -> Any:
    """``text`` as the type of the option's default (JSON object, whole number, number, text)."""
    text = text.strip()
    default = option.default
    try:
        if isinstance(default, dict):
            value = json.loads(text) if text else {}
            if isinstance(value, dict):
                return value
            raise ValueError
        if isinstance(default, int):
            return int(text)
        if isinstance(default, float):
            return float(text)
    except ValueError:
        expected = (
            "a JSON object"
            if isinstance(default, dict)
            else "a whole number"
            if isinstance(default, int)
            else "a number"
        )
        raise InputError(
            f"{title} option {_label(option)}: {text!r} is not {expected}; {option.help}"
        ) from None
    return text


class OptionsButton(QToolButton):
    """Shows a device's options in a few words; opens them for editing below itself."""

    def __init__(self, editor: OptionsEditor, parent: QWidget) -> None:
        super().__init__(parent)
        self.editor = editor
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        menu = QMenu(self)
        action = QWidgetAction(menu)
        action.setDefaultWidget(editor)
        menu.addAction(action)
        self.setMenu(menu)
        editor.changed.connect(self._show_summary)
        self._show_summary()

    def _show_summary(self) -> None:
        summary = self.editor.summary()
        shown = summary if len(summary) <= OPTIONS_SUMMARY_CHARS else (
            summary[: OPTIONS_SUMMARY_CHARS - 1] + "…")
        self.setText(shown)
        self.setToolTip(f"Options: {summary}. Click to change them.")


class DeviceRow:
    """The widgets of one device: title, port, protocol, options, status light, the light's
    reason in words under it, and a problem line."""

    def __init__(self, device: DevicePort, parent: QWidget) -> None:
        self.role = device.role
        self.original = device
        self.title = QLabel(role_title(device.role))
        self.title.setStyleSheet("font-weight: bold;")
        self.port = PortCombo(device.port, parent)
        self.port.setObjectName(f"port_{device.role}")
        self.protocol = CompactCombo(PROTOCOL_CHARS, parent)
        self.protocol.setObjectName(f"protocol_{device.role}")
        registry = device_registry()
        for protocol in registry.protocols(device.role):
            self.protocol.addItem(registry.get(protocol).title, protocol)
            self.protocol.setItemData(
                self.protocol.count() - 1, protocol, Qt.ItemDataRole.ToolTipRole
            )
        if self.protocol.findData(device.protocol) < 0:
            self.protocol.addItem(f"{device.protocol} (not installed)", device.protocol)
        self.options = OptionsEditor()
        self.options_button = OptionsButton(self.options, parent)
        self.options_button.setObjectName(f"options_{device.role}")
        self.light = StatusLight(parent=parent)
        self.reason = ElidedLabel("", parent)
        self.reason.setObjectName(f"reason_{device.role}")
        self.reason.setStyleSheet(f"color: {theme.MUTED};")
        self.light.reason_changed.connect(self.reason.setText)
        self.problem = QLabel(parent)
        self.problem.setStyleSheet(f"color: {theme.FAULT};")
        self.problem.setWordWrap(True)
        self.problem.hide()

        self.protocol.setCurrentIndex(self.protocol.findData(device.protocol))
        self._show_options()
        self.show_idle()
        self.protocol.currentIndexChanged.connect(self._show_options)
        # Edits happen only while disconnected, so the light goes back to its idle words.
        self.protocol.currentIndexChanged.connect(self._edited)
        self.port.editTextChanged.connect(self._edited)

    def _edited(self) -> None:
        self.set_problem("")
        self.show_idle()

    @property
    def kind(self) -> DeviceKind | None:
        protocol = self.protocol.currentData()
        registry = device_registry()
        return registry.get(protocol) if protocol in registry.protocols() else None

    def _show_options(self) -> None:
        # Back on the saved protocol, its saved options come back; another starts from defaults.
        same = self.protocol.currentData() == self.original.protocol
        self.options.show_options(self.kind, self.original.options if same else {})

    def show_idle(self) -> None:
        port, protocol = self.port.port(), self.protocol.currentData()
        if port:
            self.light.set_state(theme.IDLE, "not connected", f"{protocol} on {port}")
        else:
            self.light.set_state(
                theme.IDLE, "no port", f"{protocol}: no port chosen yet ({PORT_EXAMPLES})"
            )

    def set_problem(self, text: str) -> None:
        self.problem.setText(text)
        self.problem.setVisible(bool(text))
        self.port.setToolTip(
            text or f"A serial port, a pty path or a pyserial URL ({PORT_EXAMPLES})"
        )

    def set_editable(self, editable: bool) -> None:
        for widget in (self.port, self.protocol, self.options, self.options_button):
            widget.setEnabled(editable)

    def device(self) -> DevicePort:
        """The edited values; an InputError when an option's text cannot be read."""
        title = role_title(self.role)
        options = self.options.values(title)
        kind = self.kind
        if kind is not None:
            # The kind's own checks (allowed values, a channel map's names, a positive stoich):
            # a bad option is refused here, in its row, rather than by the reader thread.
            kind.make_decoder(kind.resolve_options(options))
        return DevicePort(
            role=self.role,
            protocol=self.protocol.currentData(),
            port=self.port.port(),
            options=options,
        )


class DeviceBar(QWidget):
    """One row per device (port, protocol, options, status light) and one Connect button."""

    connect_requested = Signal(list)  # list[DevicePort], the edited values
    disconnect_requested = Signal()

    def __init__(self, devices: Sequence[DevicePort], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.connected = False
        self.connect_button = QPushButton("Connect")
        self.connect_button.setObjectName("connect_devices")
        self.connect_button.clicked.connect(self._on_connect_clicked)
        grid = QGridLayout(self)
        grid.setContentsMargins(6, 4, 6, 4)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(1)
        self.rows: list[DeviceRow] = []
        for index, device in enumerate(devices):
            row = DeviceRow(device, self)
            line = 3 * index
            for column, widget in enumerate(
                (row.title, row.port, row.protocol, row.options_button, row.light)
            ):
                grid.addWidget(widget, line, column)
            grid.addWidget(row.reason, line + 1, 1, 1, 4)
            grid.addWidget(row.problem, line + 2, 1, 1, 4)
            self.rows.append(row)
        grid.addWidget(
            self.connect_button, 0, 5, max(1, 3 * len(self.rows)), 1, Qt.AlignmentFlag.AlignVCenter
        )
        grid.setColumnStretch(1, 3)
        grid.setColumnStretch(2, 2)

    def devices(self) -> list[DevicePort]:
        """The edited devices; an InputError when an option's text cannot be read."""
        return [row.device() for row in self.rows]

    def focus_port(self, role: str = "dyno") -> None:
        """Put the cursor in the first ``role`` row's port box, its text selected to type over
        (the welcome screen's "Connect the dyno and widebands")."""
        row = next((r for r in self.rows if r.role == role), None)
        if row is not None and row.port.isEnabled():
            row.port.setFocus(Qt.FocusReason.OtherFocusReason)
            row.port.lineEdit().selectAll()

    def set_connected(self, connected: bool) -> None:
        """Flip the button; editing is off while the devices are open."""
        was_connected, self.connected = self.connected, connected
        self.connect_button.setText("Disconnect" if connected else "Connect")
        for row in self.rows:
            row.set_editable(not connected)
            if was_connected and not connected:
                row.show_idle()

    def show_statuses(self, statuses: Sequence[DeviceStatus]) -> None:
        """Light each row from the devices of its role: the worst of them when the role has one
        row, else row by row in order (the statuses come in the rows' order)."""
        for role in dict.fromkeys(row.role for row in self.rows):
            rows = [row for row in self.rows if row.role == role]
            mine = [s for s in statuses if s.role == role]
            if len(rows) == 1 and mine:
                rows[0].light.show_statuses(mine)
                continue
            for row, status in zip(rows, mine, strict=False):
                row.light.show_statuses([status])

    def _on_connect_clicked(self) -> None:
        if self.connected:
            self.disconnect_requested.emit()
            return
        edited = self._validated()
        if edited is not None:
            self.connect_requested.emit(edited)

    def _validated(self) -> list[DevicePort] | None:
        """The edited devices, or None after showing each row's problem."""
        edited: list[DevicePort] = []
        problems: list[str] = []
        for row in self.rows:
            title = role_title(row.role)
            problem = ""
            try:
                device = row.device()
            except InputError as exc:
                problem = str(exc)
            else:
                edited.append(device)
                if not device.port:
                    problem = (
                        f"{title}: no port chosen. Pick a serial port or type a path or URL "
                        f"(e.g. {PORT_EXAMPLES})."
                    )
                else:
                    other = next((d for d in edited[:-1] if d.port == device.port), None)
                    if other is not None:
                        problem = (
                            f"{title} and {role_title(other.role)} are both on {device.port}; "
                            "each device needs its own port."
                        )
            row.set_problem(problem)
            if problem:
                problems.append(problem)
        return None if problems else edited
