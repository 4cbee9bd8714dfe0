"""No module is imported on a reader, recorder or analysis thread (such an import, while the UI
thread is inside PySide6, once hung the app): the threads find everything imported already."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CHILD = Path(__file__).with_name("thread_imports_child.py")


@pytest.mark.once_without_qt  # long: runs in the suite without Qt
def test_worker_threads_import_nothing() -> None:
    done = subprocess.run([sys.executable, str(CHILD)], env=dict(os.environ),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    imported = json.loads(done.stdout.strip().splitlines()[-1])
    assert imported == []
