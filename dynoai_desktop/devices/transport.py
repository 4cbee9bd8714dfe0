"""Open a device on a pyserial URL, read what arrived, decode it.

Ports are pyserial URLs: ``/dev/ttyUSB0``, ``COM3``, ``socket://127.0.0.1:7001``, ``loop://``,
a pty slave path, or ``spy://...`` around any of them to trace the bytes. Reading follows
pyserial's own idiom, ``read(in_waiting or 1)`` with a short timeout: block for the first byte,
then drain everything available in one call (shared reference/protocols.md §7.3).
"""

from __future__ import annotations

# Everything a reader thread may need is imported here, on the importing thread, never lazily
# on the reader's: the first open of a socket:// port would import pyserial's URL handlers and
# (through getaddrinfo) the 'idna' codec on the reader thread, and an import on a worker thread
# while the UI thread is inside PySide6 can deadlock (seen here: a test run hung with the UI
# thread in pyqtgraph's setupUi and a reader thread in encodings.idna, under PySide6's import
# hook).
import encodings.idna  # noqa: F401
from collections.abc import Mapping
from typing import Any

import serial
from serial.urlhandler import protocol_alt, protocol_loop, protocol_socket, protocol_spy  # noqa: F401

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.devices.base import Decoder, DecoderStats, DeviceKind, DynoCommand, Reading

DEFAULT_READ_TIMEOUT_S = 0.1
MAX_READ_BYTES = 64 * 1024


class PortError(InputError):
    """The port cannot be opened: the message names it and says what to check."""


class PortLost(ConnectionError):
    """An open port went away (cable pulled, simulator stopped); reopen it to resume."""


class SerialDevice:
    """One device kind on one port: open, read readings, send dyno commands, close."""

    def __init__(
        self,
        kind: DeviceKind,
        url: str,
        options: Mapping[str, Any] | None = None,
        *,
        read_timeout_s: float = DEFAULT_READ_TIMEOUT_S,
    ) -> None:
        self.kind = kind
        self.url = url
        self.options = kind.resolve_options(options)
        self.read_timeout_s = read_timeout_s
        self._port: serial.SerialBase | None = None
        self._decoder: Decoder = kind.make_decoder(self.options)

    @property
    def is_open(self) -> bool:
        return self._port is not None and self._port.is_open

    @property
    def stats(self) -> DecoderStats:
        return self._decoder.stats

    def open(self) -> None:
        """Open the port; a fresh decoder starts (a partial frame from before is dropped)."""
        if not self.url.strip():
            raise PortError(f"{self.kind.title}: no port chosen; pick a serial port or URL")
        try:
            self._port = serial.serial_for_url(
                self.url, baudrate=self.kind.baudrate, timeout=self.read_timeout_s
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            raise PortError(
                f"{self.kind.title} on {self.url}: cannot open the port ({exc}); check the "
                "cable and that no other program holds it, or pick another port"
            ) from None
        self._decoder = self.kind.make_decoder(self.options)

    def read(self) -> list[Reading]:
        """Wait up to the read timeout for bytes, decode all that arrived; [] when none did."""
        port = self._require_open()
        try:
            data = self._read_available(port)
        except (serial.SerialException, OSError) as exc:
            self.close()
            raise PortLost(f"{self.kind.title} on {self.url}: port lost ({exc})") from None
        if not data:
            return []
        return self._decoder.feed(data)

    def _read_available(self, port: serial.SerialBase) -> bytes:
        if not isinstance(port, protocol_socket.Serial):
            return port.read(min(port.in_waiting or 1, MAX_READ_BYTES))
        # socket:// reports in_waiting as 0 or 1 (a select), so drain it non-blocking instead
        # of a byte per call: block for the first byte, then take whatever else is there.
        first = port.read(1)
        if not first:
            return b""
        port.timeout = 0
        try:
            return first + port.read(MAX_READ_BYTES)
        finally:
            port.timeout = self.read_timeout_s

    def send(self, command: DynoCommand) -> None:
        """Send a dyno-control command; only load-control dynos take them."""
        if self.kind.encode_command is None:
            raise InputError(f"{self.kind.title} does not take dyno-control commands")
        port = self._require_open()
        try:
            port.write(self.kind.encode_command(command))
        except (serial.SerialException, OSError) as exc:
            self.close()
            raise PortLost(f"{self.kind.title} on {self.url}: port lost ({exc})") from None

    def close(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except (serial.SerialException, OSError):
                pass  # already gone: nothing left to release

    def _require_open(self) -> serial.SerialBase:
        if self._port is None:
            raise PortLost(f"{self.kind.title} on {self.url}: port is not open")
        return self._port

    def __enter__(self) -> SerialDevice:
        self.open()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
