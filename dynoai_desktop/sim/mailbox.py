"""Calls from other threads into a selector loop's own thread (the cell server's faults).

The loop owns its sockets, ptys and counters; nothing else touches them. Another thread
``submit``s an action and blocks until the loop has run it: a byte on a socketpair wakes the
loop's ``select``, the loop runs what is pending between two ticks (``run_pending``) and hands
an exception back to the caller. When the loop ends, ``close`` fails whatever still waits, and
later calls are refused at once.
"""

from __future__ import annotations

import selectors
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

REQUEST_TIMEOUT_S = 5.0
_DRAIN_CHUNK = 4096


@dataclass
class _Request:
    action: Callable[[], None]
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class Mailbox:
    """Actions waiting for the loop's thread; ``name`` is how errors call the loop."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()  # guards _open and _requests
        self._requests: list[_Request] = []
        self._open = False
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None

    def attach(self, selector: selectors.BaseSelector) -> None:
        """Make the wake-up socketpair; ``selector`` drains it when it fires."""
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        selector.register(self._wake_r, selectors.EVENT_READ, self._drain)

    def detach(self, selector: selectors.BaseSelector | None) -> None:
        """Close the socketpair (safe to call more than once)."""
        for sock in (self._wake_r, self._wake_w):
            if sock is None:
                continue
            if selector is not None:
                try:
                    selector.unregister(sock)
                except (KeyError, ValueError):
                    pass  # not registered
            sock.close()
        self._wake_r = self._wake_w = None

    def open(self) -> None:
        """Take requests from now on (the loop is about to run)."""
        with self._lock:
            self._open = True

    def submit(self, action: Callable[[], None], timeout_s: float = REQUEST_TIMEOUT_S) -> None:
        """Run ``action`` on the loop's thread and wait for it; its exception is raised here."""
        request = _Request(action)
        with self._lock:
            if not self._open:
                raise RuntimeError(f"{self.name} is not running")
            self._requests.append(request)
        self.wake()
        if not request.done.wait(timeout_s):
            raise TimeoutError(f"{self.name} did not answer in time")
        if request.error is not None:
            raise request.error

    def wake(self) -> None:
        """Make the loop's ``select`` return now."""
        wake = self._wake_w
        if wake is not None:
            try:
                wake.send(b"\0")
            except OSError:
                pass  # full (a wake-up is pending anyway) or closed (stopping)

    def run_pending(self) -> None:
        """In the loop: run what was submitted, handing each exception to its caller."""
        with self._lock:
            requests, self._requests = self._requests, []
        for request in requests:
            try:
                request.action()
            except Exception as exc:  # handed back to the caller
                request.error = exc
            request.done.set()

    def close(self) -> None:
        """In the loop, as it ends: fail what still waits and refuse what comes."""
        with self._lock:
            self._open = False
            requests, self._requests = self._requests, []
        for request in requests:
            request.error = RuntimeError(f"{self.name} stopped")
            request.done.set()

    def _drain(self) -> None:
        assert self._wake_r is not None
        try:
            while self._wake_r.recv(_DRAIN_CHUNK):
                pass
        except (BlockingIOError, InterruptedError):
            pass
