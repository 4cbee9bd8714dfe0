"""The server's plumbing: per-client outboxes that drop whole frames, served lines, listeners
and raw ptys. ``sim.server.CellServer`` drives them from its one worker thread."""

from __future__ import annotations

import errno
import os
import selectors
import socket
import sys
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.sim.stream import ServedDevice


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
