"""Regression: PySide6 6.12.0 drops a reference to ``True`` on every ``Signal.emit()``.

After a few hundred to a few thousand emits ``True``'s refcount reaches zero and the interpreter
aborts with ``Fatal Python error: bool_dealloc`` (shared PITFALLS.md). The emits run in a child
process so that such an abort fails this test with a clear message instead of killing the test
run. On Python 3.12+ ``True`` is immortal and its refcount says nothing: skipped there.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

EMITS = 10_000
REPORT_EVERY = 100

CHILD = f"""
import sys
from PySide6.QtCore import QCoreApplication, QObject, Signal

class Emitter(QObject):
    ticked = Signal()
    value = Signal(float)
    flag = Signal(bool)

app = QCoreApplication([])
emitter = Emitter()
received = []
emitter.ticked.connect(lambda: received.append(None))
emitter.value.connect(received.append)
emitter.flag.connect(received.append)
print("before", sys.getrefcount(True), flush=True)
for i in range({EMITS}):
    emitter.ticked.emit()
    emitter.value.emit(float(i))
    emitter.flag.emit(i % 2 == 0)
    if (i + 1) % {REPORT_EVERY} == 0:
        received.clear()
        print("emits", i + 1, sys.getrefcount(True), flush=True)
"""


@pytest.mark.skipif(
    sys.version_info >= (3, 12), reason="True is immortal on 3.12+: its refcount never moves"
)
def test_ten_thousand_signal_emits_do_not_leak_references_to_true() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHILD],
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [line.split() for line in result.stdout.splitlines()]
    before = int(lines[0][1])
    emits, after = (int(lines[-1][1]), int(lines[-1][2])) if len(lines) > 1 else (0, before)
    verdict = (
        f"sys.getrefcount(True) went from {before} to {after} after {emits} of {EMITS} "
        f"emit rounds; exit code {result.returncode}. This PySide6 leaks a reference to True "
        "on every Signal.emit() and aborts once it reaches zero (6.12.0 does). "
        "Keep PySide6-Essentials>=6.11,<6.12.\n" + result.stderr[-500:]
    )
    assert result.returncode == 0, verdict
    assert emits == EMITS, verdict
    # A healthy binding leaves the count where it was (give or take a few cached objects).
    assert after >= before - 10, verdict
