"""The app's training process at normal priority, for the tests that start one (the
``training_at_normal_priority`` fixture of tests/conftest.py).

The app lowers its training process to the lowest priority (``app.training_process``), so the
UI and the acquisition come first. The suite's pytest process only waits for it, but another job
keeping both cores of the machine busy leaves the process almost no CPU: a training that takes
8 s took over 120 s (the tests' timeout), and starting a process that only finds too little data
took 45-110 s. Nothing the tests check depends on the priority.

``start`` runs in the training process (``spawn``: it imports this module afresh) in place of the
app's initializer: it leaves the priority as it is, then does all the rest of what the app's
does.
"""

from __future__ import annotations

from typing import Any

from dynoai_desktop.app import training_process

_APP_START = training_process._start  # noqa: SLF001 - the app's initializer, before any patch


def keep_priority(pid: int) -> None:
    """In place of ``training_process._lowest_priority``: leave the process's priority."""


def start(cancel: Any, progress: Any) -> None:
    """The app's initializer of the training process, without lowering its priority."""
    training_process._lowest_priority = keep_priority  # noqa: SLF001 - in this process only
    _APP_START(cancel, progress)
