"""Change events for the application objects: plain callbacks, called on the emitting thread.

App objects are changed from the UI thread, so their events reach panels there. Work done on
other threads (rows, statuses, live analysis) is not evented: it is polled through version
counters on the UI's timer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Event:
    """Something that happened to an app object; ``connect`` a callback to hear of it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._callbacks: list[Callable[..., Any]] = []

    def connect(self, callback: Callable[..., Any]) -> None:
        if callback not in self._callbacks:
            self._callbacks.append(callback)

    def disconnect(self, callback: Callable[..., Any]) -> None:
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def emit(self, *args: Any) -> None:
        for callback in list(self._callbacks):
            callback(*args)

    def __repr__(self) -> str:
        return f"Event({self.name!r}, {len(self._callbacks)} listener(s))"
