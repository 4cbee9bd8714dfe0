"""The server's plumbing: per-client outboxes that drop whole frames, served lines (how bytes go
out on them without blocking, their counters and endpoints), listeners and raw ptys.
``sim.server.CellServer`` drives them from its one worker thread.

Slow readers never stall the cell:

- TCP: each client has an outgoing buffer of at most ``client_buffer_bytes`` (256 KiB). When a
  client falls behind, its *oldest whole emissions* are dropped (counted in ``bytes_dropped``);
  the emission being written is always finished first, so frames never interleave.
- pty: writes to the master are non-blocking; an emission that finds the pty full is dropped
  whole (counted), and the rest of a partly written emission goes out before anything else.
"""

from __future__ import annotations

import errno
import os
import selectors
import socket
import sys
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.sim.stream import ServedDevice


@dataclass(frozen=True)
class Endpoint:
    """Where one device is served: its pyserial URL and, with ``pty=True``, the pty slave path."""

    device: str
    protocol: str
    url: str
    pty_path: str | None = None


@dataclass(frozen=True)
class DeviceStats:
    """Counters of one served device (a snapshot)."""

    bytes_sent: int  # written to clients and the pty, each destination counted
    emissions_sent: int  # emissions put on the line (not stalled, port not dropped)
    bytes_dropped: int  # bytes a connected reader or the pty missed for being slow or full
    bytes_stalled: int  # bytes the cell made while the device was stalled (discarded)
    clients: int  # TCP clients connected now
    queued_bytes: int  # bytes waiting in the clients' outgoing buffers now
    peak_queued_bytes: int  # the most one client's buffer ever held


class Outbox:
    """Whole emissions waiting for one reader; the first may be partly written already."""

    def __init__(self) -> None:
        self.items: deque[bytes] = deque()
        self.head_sent = 0  # bytes of items[0] already written
        self.queued = 0  # unwritten bytes

    def put(self, data: bytes) -> None:
        self.items.append(data)
        self.queued += len(data)

    def drop_oldest_over(self, limit: int) -> int:
        """Drop the oldest whole, untouched emissions until ``limit`` holds (keeping the newest);
        returns the bytes dropped."""
        keep_head = 1 if self.head_sent else 0
        dropped = 0
        while self.queued > limit and len(self.items) > keep_head + 1:
            if keep_head:
                head = self.items.popleft()
                gone = self.items.popleft()
                self.items.appendleft(head)
            else:
                gone = self.items.popleft()
            self.queued -= len(gone)
            dropped += len(gone)
        return dropped

    def write_to(self, send: Callable[[memoryview], int]) -> int:
        """Write what the reader takes without blocking; returns the bytes written."""
        written = 0
        while self.items:
            head = self.items[0]
            try:
                n = send(memoryview(head)[self.head_sent :])
            except (BlockingIOError, InterruptedError):
                break
            written += n
            self.queued -= n
            self.head_sent += n
            if self.head_sent < len(head):
                break
            self.items.popleft()
            self.head_sent = 0
        return written

    def clear(self) -> int:
        dropped = self.queued
        self.items.clear()
        self.head_sent = self.queued = 0
        return dropped


@dataclass(eq=False)
class Client:
    sock: socket.socket
    ready_at: float  # wall time from which it gets bytes (after pyserial's input flush)
    outbox: Outbox = field(default_factory=Outbox)


@dataclass
class PtyEnd:
    master: int
    slave: int  # kept open here so the pty never hangs up when a host closes it
    path: str
    outbox: Outbox = field(default_factory=Outbox)
    next_greeting_at: float = 0.0

    def write(self) -> int:
        """Write what the pty takes now; returns the bytes written."""
        try:
            return self.outbox.write_to(partial(os.write, self.master))
        except OSError:  # EIO and the like: the line is unusable for now
            self.outbox.clear()
            return 0


@dataclass
class Line:
    """One served device: its listener, clients, pty, faults and counters."""

    device: ServedDevice
    port: int
    listener: socket.socket | None = None
    clients: list[Client] = field(default_factory=list)
    pty: PtyEnd | None = None
    dropped: bool = False
    stalled_until: float = 0.0
    bytes_sent: int = 0
    emissions_sent: int = 0
    bytes_dropped: int = 0
    bytes_stalled: int = 0
    queued_bytes: int = 0
    peak_queued_bytes: int = 0

    def endpoint(self, host: str) -> Endpoint:
        """Where this device is served, once its listener is open."""
        path = self.pty.path if self.pty is not None else None
        return Endpoint(self.device.name, self.device.protocol, socket_url(host, self.port), path)

    def stats(self) -> DeviceStats:
        """A snapshot of the counters."""
        return DeviceStats(
            bytes_sent=self.bytes_sent,
            emissions_sent=self.emissions_sent,
            bytes_dropped=self.bytes_dropped,
            bytes_stalled=self.bytes_stalled,
            clients=len(self.clients),
            queued_bytes=self.queued_bytes,
            peak_queued_bytes=self.peak_queued_bytes,
        )

    # The way out, never blocking: whole emissions queue per client and go out as the socket
    # takes them; the pty gets an emission whole or not at all. The counters add up here.
    def deliver(self, data: bytes, now: float, client_buffer_bytes: int) -> None:
        """Queue ``data`` whole for every ready client (``flush`` writes it); write the pty."""
        for client in self.clients:
            if now >= client.ready_at:
                self.queue(client, data, client_buffer_bytes)
        if self.pty is not None and not self.dropped:
            self.write_pty(data)

    def queue(self, client: Client, data: bytes, client_buffer_bytes: int) -> None:
        """Add ``data`` to a client's buffer, dropping its oldest whole emissions past the cap."""
        client.outbox.put(data)
        self.bytes_dropped += client.outbox.drop_oldest_over(client_buffer_bytes)
        self.peak_queued_bytes = max(self.peak_queued_bytes, client.outbox.queued)

    def flush(self, now: float, gone: Callable[[Client], None]) -> None:
        """Write what each ready client and the pty take now; ``gone(client)`` closes a client
        whose socket failed (reset, broken pipe)."""
        for client in list(self.clients):
            if now >= client.ready_at and client.outbox.queued:
                try:
                    self.bytes_sent += client.outbox.write_to(client.sock.send)
                except OSError:
                    gone(client)
        if self.pty is not None and self.pty.outbox.queued:
            self.bytes_sent += self.pty.write()
        self.queued_bytes = sum(c.outbox.queued for c in self.clients)

    def write_pty(self, data: bytes) -> None:
        """Write ``data`` to the pty whole, or drop it whole (counted) if the pty is full."""
        pty = self.pty
        assert pty is not None
        self.bytes_sent += pty.write()  # the rest of a partly written emission first
        if pty.outbox.queued:
            self.bytes_dropped += len(data)
            return
        pty.outbox.put(data)
        self.bytes_sent += pty.write()
        if pty.outbox.queued and not pty.outbox.head_sent:  # the pty was full: drop it whole
            self.bytes_dropped += pty.outbox.clear()


def listen(host: str, port: int, device: str) -> socket.socket:
    """A non-blocking listening socket (SO_REUSEADDR on POSIX, so a dropped port comes back)."""
    try:
        listener = socket.create_server((host, port))
    except OSError as exc:
        if exc.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1)):
            raise InputError(
                f"{device}: port {port} on {host} is in use; pick another with "
                f"--port {device}=PORT or leave it out"
            ) from None
        raise InputError(
            f"{device}: cannot listen on port {port} on {host} ({exc.strerror or exc}); "
            "pick another port or leave it out"
        ) from None
    listener.setblocking(False)
    return listener


def open_pty(device: str) -> PtyEnd:
    """A raw pty pair with a non-blocking master; InputError where the OS has no ptys."""
    if not hasattr(os, "openpty") or sys.platform == "win32":
        raise InputError(
            f"{device}: this OS has no ptys; leave out --pty and open the socket:// URL instead"
        )
    import tty  # POSIX only (termios)

    master, slave = os.openpty()
    try:
        tty.setraw(slave)  # no echo, no CR/LF translation (shared PITFALLS.md)
        os.set_blocking(master, False)
        return PtyEnd(master, slave, os.ttyname(slave))
    except OSError:
        os.close(master)
        os.close(slave)
        raise


def make_selector() -> selectors.BaseSelector:
    # macOS's kqueue and poll do not report ttys; select() does.
    if sys.platform == "darwin":
        return selectors.SelectSelector()
    return selectors.DefaultSelector()


def socket_url(host: str, port: int) -> str:
    return f"socket://[{host}]:{port}" if ":" in host else f"socket://{host}:{port}"
