"""Status-bar indicators: one light per device, the reason on hover."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from dynoai_desktop.acquisition.status import DeviceState, DeviceStatus
from dynoai_desktop.storage.settings import DevicePort
from dynoai_desktop.ui import theme

ROLE_TITLES = {"dyno": "Dyno", "wideband": "Wideband"}
STATE_COLOURS = {
    DeviceState.STREAMING: theme.OK,
    DeviceState.WARMING_UP: theme.WARN,
    DeviceState.STALE: theme.WARN,
    DeviceState.CONNECTED: theme.IDLE,
    DeviceState.STOPPED: theme.IDLE,
    DeviceState.SENSOR_ERROR: theme.FAULT,
    DeviceState.NO_VALID_DATA: theme.FAULT,
    DeviceState.PORT_LOST: theme.FAULT,
}


class StatusLight(QWidget):
    """A coloured dot and the state in words ("● streaming", or "● Dyno: streaming" with a
    prefix); the reason on hover, and in ``reason_changed`` for a label that shows it."""

    reason_changed = Signal(str)

    def __init__(self, prefix: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.prefix = prefix
        self.dot = QLabel("●")
        self.text = QLabel()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.dot)
        layout.addWidget(self.text)
        self.colour = theme.IDLE
        self.state = ""
        self.reason = ""
        # As wide as the longest state from the start, so a change of state never widens the
        # bar (and the window).
        longest = max((s.value for s in DeviceState), key=len)
        widest = max(longest, "not connected", key=len)
        self.text.setMinimumWidth(self.text.fontMetrics().horizontalAdvance(
            f"{prefix}: {widest}" if prefix else widest) + 2)

    def set_state(self, colour: str, state: str, reason: str) -> None:
        if (colour, state, reason) == (self.colour, self.state, self.reason):
            return  # polled four times a second: restyle only on a change
        self.colour = colour
        self.state = state
        self.reason = reason
        self.dot.setStyleSheet(f"color: {colour};")
        self.text.setText(f"{self.prefix}: {state}" if self.prefix else state)
        self.setToolTip(reason)
        self.reason_changed.emit(reason)

    def show_statuses(self, statuses: Sequence[DeviceStatus]) -> None:
        """The worst of these devices (two AEM gauges make one wideband light), all reasons."""
        order = list(DeviceState)
        worst = min(statuses, key=lambda s: order.index(s.state))
        reason = "\n".join(s.reason for s in statuses)
        self.set_state(STATE_COLOURS[worst.state], worst.state.value, reason)


class DeviceIndicator(StatusLight):
    """The status bar's light for one device role, e.g. '● Dyno: not connected'."""

    def __init__(self, device: DevicePort, parent: QWidget | None = None) -> None:
        super().__init__(ROLE_TITLES.get(device.role, device.role.title()), parent)
        self.device = device
        self.setObjectName(f"device_{device.role}")
        self.layout().setContentsMargins(6, 0, 6, 0)
        self.show_idle()

    def show_idle(self) -> None:
        """Not connected (or no port chosen yet), with what to do on hover."""
        device = self.device
        if device.port:
            self.set_state(theme.IDLE, "not connected", f"{device.protocol} on {device.port}")
        else:
            self.set_state(
                theme.IDLE,
                "no port",
                f"{device.protocol}: no port chosen yet. Pick a serial port or URL "
                "(e.g. /dev/ttyUSB0, COM3, socket://127.0.0.1:7001) for this device.",
            )
