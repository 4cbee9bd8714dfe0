"""Serve a virtual cell's device bytes on loopback TCP ports and, on POSIX, on ptys.

One worker thread ("sim-cell-server") runs a ``selectors`` loop: about every 2 ms it advances the
cell to the paced sim time and writes each emission to every client of its device. The cell runs
whether or not anyone listens (bytes due while nobody is connected are dropped), so a seed gives
the same bytes at the same sim times whatever the clients do. The app reads these ports through
its ordinary pyserial path (``socket://127.0.0.1:PORT`` or the pty slave path).

Slow readers never stall the cell: each client's buffer is bounded and drops its oldest whole
emissions, a full pty drops an emission whole (``sim.lines``); frames never interleave. The
kernel's send buffer of each client socket is kept small (64 KiB) so that stale data piles up in
the bounded buffer, not in megabytes of kernel memory. Calls from other threads reach the worker
through a ``sim.mailbox.Mailbox``.

A new TCP client gets the device's greeting (the dyno line's header) before anything else, but
only after ``connect_settle_s``: pyserial empties a socket's input when it opens it, so bytes
sent at once would be lost (shared PITFALLS.md). A pty cannot tell when a host opens it, so the
greeting is re-sent there every ``greeting_interval_s``.
"""

from __future__ import annotations

import math
import os
import selectors
import socket
import threading
import time
from collections.abc import Mapping
from functools import partial

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.sim.lines import (
    Client,
    DeviceStats,
    Endpoint,
    Line,
    listen,
    make_selector,
    open_pty,
)
from dynoai_desktop.sim.mailbox import Mailbox
from dynoai_desktop.sim.stream import ByteCell

TICK_S = 0.002  # wall time between two advances of the cell
CLIENT_BUFFER_BYTES = 256 * 1024
KERNEL_SEND_BUFFER_BYTES = 64 * 1024
CONNECT_SETTLE_S = 0.1
GREETING_INTERVAL_S = 2.0
READ_CHUNK = 4096
STOP_JOIN_S = 5.0
THREAD_NAME = "sim-cell-server"

__all__ = ["CLIENT_BUFFER_BYTES", "THREAD_NAME", "CellServer", "DeviceStats", "Endpoint"]


class CellServer:
    """Serves each device of ``cell`` on a loopback TCP port (and a pty with ``pty=True``).

    ``start()`` opens the ports and starts the worker thread; ``stop()`` (or leaving a ``with``
    block) ends it and closes everything. Fault injection (``drop_port``, ``restore_port``,
    ``inject_garbage``, ``stall``) may be called from any thread: each call returns once the
    worker has applied it. A pty path cannot vanish and come back, so ``drop_port`` silences a pty
    (a serial cable pulled between adapter and device) while it closes a TCP port outright.
    An exception from the cell stops serving: ``error`` holds it and ``wait()`` returns.
    """

    def __init__(
        self,
        cell: ByteCell,
        *,
        rate_multiplier: float = 1.0,
        pty: bool = False,
        host: str = "127.0.0.1",
        ports: Mapping[str, int] | None = None,
        duration_s: float | None = None,
        greeting_interval_s: float = GREETING_INTERVAL_S,
        connect_settle_s: float = CONNECT_SETTLE_S,
        client_buffer_bytes: int = CLIENT_BUFFER_BYTES,
    ) -> None:
        _check_positive("rate multiplier", rate_multiplier)
        _check_positive("greeting interval", greeting_interval_s)
        if duration_s is not None:
            _check_positive("duration", duration_s)
        self.cell = cell
        self.rate_multiplier = float(rate_multiplier)
        self.pty = pty
        self.host = host
        self.duration_s = duration_s
        self.greeting_interval_s = greeting_interval_s
        self.connect_settle_s = max(0.0, connect_settle_s)
        self.client_buffer_bytes = client_buffer_bytes
        self._lines = {d.name: Line(d, 0) for d in cell.devices}
        self._set_ports(ports or {})
        self._endpoints: tuple[Endpoint, ...] = ()
        self._selector: selectors.BaseSelector | None = None
        self._mailbox = Mailbox("the cell server")
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._close_lock = threading.Lock()
        self._error: BaseException | None = None
        self._t0 = 0.0

    def _set_ports(self, ports: Mapping[str, int]) -> None:
        for name, port in ports.items():
            line = self._line(name)
            if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
                raise InputError(f"{name}: port {port!r} is not a TCP port; give 1-65535 or 0")
            line.port = port

    # ------------------------------------------------------------------ public API
    @property
    def endpoints(self) -> tuple[Endpoint, ...]:
        """Where each device is served (empty before ``start``)."""
        return self._endpoints

    @property
    def error(self) -> BaseException | None:
        """The exception that stopped the worker (from the cell), or None."""
        return self._error

    def start(self) -> list[Endpoint]:
        """Open every port, start the worker; the endpoints, one per device."""
        if self._thread is not None:
            raise RuntimeError("the cell server was started already; make a new one")
        self._selector = make_selector()
        try:
            self._open_ports()
        except BaseException:
            self._close_all()
            raise
        self._endpoints = tuple(line.endpoint(self.host) for line in self._lines.values())
        self._t0 = time.monotonic()
        self._mailbox.open()
        self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=False)
        self._thread.start()
        return list(self._endpoints)

    def stop(self) -> None:
        """End the worker and close every socket and fd; safe to call more than once."""
        self._stop.set()
        self._mailbox.wake()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(STOP_JOIN_S)
        self._close_all()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the worker ends (stop, duration reached, or an error); True if it did."""
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    def stats(self, device: str) -> DeviceStats:
        """The counters of ``device`` (see :class:`DeviceStats`)."""
        return self._line(device).stats()

    def drop_port(self, device: str) -> None:
        """A pulled USB adapter: close the device's TCP clients and listener; silence its pty."""
        line = self._line(device)
        self._mailbox.submit(partial(self._drop, line))

    def restore_port(self, device: str) -> None:
        """Listen again on the same TCP port, resume the pty; InputError if the port was taken."""
        line = self._line(device)
        self._mailbox.submit(partial(self._restore, line))

    def inject_garbage(self, device: str, data: bytes) -> None:
        """Write ``data`` raw into the device's stream, between two emissions, at once (even
        during a stall: it is a test's deliberate line noise)."""
        line = self._line(device)
        self._mailbox.submit(partial(self._inject, line, bytes(data)))

    def stall(self, device: str, seconds: float) -> None:
        """The device sends nothing for ``seconds`` of wall time: emissions and replies due then
        are discarded (a hung device); commands still reach the cell."""
        line = self._line(device)
        _check_positive("stall", seconds)
        self._mailbox.submit(partial(self._stall, line, seconds))

    def __enter__(self) -> CellServer:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ setup and teardown
    def _line(self, device: str) -> Line:
        try:
            return self._lines[device]
        except KeyError:
            known = ", ".join(self._lines)
            raise InputError(f"no simulated device {device!r}; devices: {known}") from None

    def _open_ports(self) -> None:
        selector = self._require_selector()
        self._mailbox.attach(selector)
        for line in self._lines.values():
            self._open_listener(line)
        if self.pty:
            for line in self._lines.values():
                line.pty = open_pty(line.device.name)
                selector.register(
                    line.pty.master, selectors.EVENT_READ, partial(self._on_pty, line)
                )

    def _open_listener(self, line: Line) -> None:
        listener = listen(self.host, line.port, line.device.name)
        line.listener = listener
        line.port = listener.getsockname()[1]
        self._require_selector().register(
            listener, selectors.EVENT_READ, partial(self._accept, line)
        )

    def _close_all(self) -> None:
        with self._close_lock:
            for line in self._lines.values():
                for client in list(line.clients):
                    self._close_client(line, client)
                self._close_listener(line)
                if line.pty is not None:
                    self._unregister(line.pty.master)
                    os.close(line.pty.master)
                    os.close(line.pty.slave)
                    line.pty = None
            self._mailbox.detach(self._selector)
            if self._selector is not None:
                self._selector.close()
                self._selector = None

    def _close_listener(self, line: Line) -> None:
        if line.listener is not None:
            self._unregister(line.listener)
            line.listener.close()
            line.listener = None

    def _close_client(self, line: Line, client: Client) -> None:
        self._unregister(client.sock)
        client.sock.close()
        if client in line.clients:
            line.clients.remove(client)

    def _unregister(self, fileobj: socket.socket | int) -> None:
        if self._selector is not None:
            try:
                self._selector.unregister(fileobj)
            except (KeyError, ValueError):
                pass  # not registered (or already closed)

    def _require_selector(self) -> selectors.BaseSelector:
        if self._selector is None:
            raise RuntimeError("the cell server is not running")
        return self._selector

    # ------------------------------------------------------------------ the worker
    def _run(self) -> None:
        try:
            self._loop()
        except Exception as exc:  # from the cell, most likely: keep it for error/wait()
            self._error = exc
        finally:
            self._mailbox.close()
            self._close_all()

    def _loop(self) -> None:
        selector = self._require_selector()
        next_tick = time.monotonic()
        while not self._stop.is_set():
            timeout = min(TICK_S, max(0.0, next_tick - time.monotonic()))
            for key, _events in selector.select(timeout):
                key.data()
            self._mailbox.run_pending()
            now = time.monotonic()
            if now < next_tick:
                continue
            next_tick = now + TICK_S
            if self._tick(now):
                return

    def _tick(self, now: float) -> bool:
        """Advance the cell and send what became due; True once ``duration_s`` is reached."""
        sim_now = (now - self._t0) * self.rate_multiplier
        # A machine too slow for the rate falls behind rather than freezing: one tick runs at
        # most a few ticks' worth of sim time, so sockets keep being served.
        sim_now = min(sim_now, self.cell.time_s + 4.0 * TICK_S * max(self.rate_multiplier, 1.0))
        finished = False
        if self.duration_s is not None and sim_now >= self.duration_s:
            sim_now, finished = self.duration_s, True
        for emission in self.cell.advance(sim_now):
            line = self._lines.get(emission.device)
            if line is not None:
                self._emit(line, emission.data, now)
        for line in self._lines.values():
            self._greet_pty(line, now)
            self._flush(line, now)
        return finished

    def _emit(self, line: Line, data: bytes, now: float) -> None:
        if line.dropped:
            return
        if now < line.stalled_until:
            line.bytes_stalled += len(data)
            return
        line.emissions_sent += 1
        line.deliver(data, now, self.client_buffer_bytes)

    def _inject(self, line: Line, data: bytes) -> None:
        now = time.monotonic()
        line.deliver(data, now, self.client_buffer_bytes)
        self._flush(line, now)

    def _answer(self, line: Line, data: bytes) -> bytes:
        """The device's reply to bytes from a host; a stalled device's reply is lost."""
        reply = self.cell.receive(line.device.name, data)
        if reply and time.monotonic() < line.stalled_until:
            line.bytes_stalled += len(reply)
            return b""
        return reply

    def _flush(self, line: Line, now: float) -> None:
        """Write what each ready client and the pty take now, without blocking."""
        line.flush(now, partial(self._close_client, line))

    def _greet_pty(self, line: Line, now: float) -> None:
        pty = line.pty
        if pty is None or now < pty.next_greeting_at:
            return
        pty.next_greeting_at = now + self.greeting_interval_s
        greeting = self.cell.greeting(line.device.name)
        if greeting and not line.dropped and now >= line.stalled_until:
            line.write_pty(greeting)

    # ------------------------------------------------------------------ selector callbacks
    def _accept(self, line: Line) -> None:
        while line.listener is not None:
            try:
                sock, _addr = line.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return  # a connection reset before it was accepted
            self._add_client(line, sock)

    def _add_client(self, line: Line, sock: socket.socket) -> None:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, KERNEL_SEND_BUFFER_BYTES)
        client = Client(sock, time.monotonic() + self.connect_settle_s)
        greeting = self.cell.greeting(line.device.name)
        if greeting:
            client.outbox.put(greeting)
        line.clients.append(client)
        self._require_selector().register(
            sock, selectors.EVENT_READ, partial(self._on_client, line, client)
        )

    def _on_client(self, line: Line, client: Client) -> None:
        try:
            data = client.sock.recv(READ_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._close_client(line, client)
            return
        reply = self._answer(line, data)
        if reply:
            line.queue(client, reply, self.client_buffer_bytes)
            self._flush(line, time.monotonic())

    def _on_pty(self, line: Line) -> None:
        pty = line.pty
        assert pty is not None
        try:
            data = os.read(pty.master, READ_CHUNK)
        except OSError:  # EAGAIN, or EIO while no host has it open
            return
        if not data or line.dropped:
            return  # a pulled cable: the device never hears it
        reply = self._answer(line, data)
        if reply:
            line.write_pty(reply)

    # ------------------------------------------------------------------ faults, in the worker
    def _drop(self, line: Line) -> None:
        for client in list(line.clients):
            self._close_client(line, client)
        self._close_listener(line)
        if line.pty is not None:
            line.pty.outbox.clear()
        line.dropped = True

    def _restore(self, line: Line) -> None:
        if not line.dropped:
            return
        if line.listener is None:
            self._open_listener(line)
        line.dropped = False

    def _stall(self, line: Line, seconds: float) -> None:
        line.stalled_until = max(line.stalled_until, time.monotonic() + seconds)


def _check_positive(what: str, value: float) -> None:
    if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise InputError(f"{what} must be a number above 0, got {value!r}")
