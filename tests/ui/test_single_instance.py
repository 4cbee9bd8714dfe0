"""A double-clicked tune while DynoAI is open goes to the open window (no second app fighting
for the serial ports); with no window open, the new start opens its own."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

from dynoai_desktop.storage.resources import RESOURCES_DIR
from dynoai_desktop.ui.single_instance import InstanceServer, hand_off, server_name

SECOND_START = """
import sys
from pathlib import Path
from PySide6.QtCore import QCoreApplication
from dynoai_desktop.ui.single_instance import hand_off
app = QCoreApplication([])
sys.exit(0 if hand_off(sys.argv[1], Path(sys.argv[2])) else 3)
"""


def test_a_second_start_hands_its_file_to_the_running_window(qtbot, window) -> None:  # noqa: ANN001
    name = f"dynoai-test-{uuid.uuid4().hex[:12]}"
    server = InstanceServer(name, window)
    assert server.listening
    tune = RESOURCES_DIR / "tables" / "ve_rear_map.csv"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    with subprocess.Popen([sys.executable, "-c", SECOND_START, name, str(tune)], env=env,
                          stderr=subprocess.PIPE, text=True) as second:
        qtbot.waitUntil(lambda: second.poll() is not None, timeout=90_000)  # the loop answers
        assert second.returncode == 0, second.stderr.read() if second.stderr else ""
    qtbot.waitUntil(lambda: str(tune) in window.app.tune.label)
    assert window.app.tune.table_names == ["VE (MAP based/Rear Cyl)"]


def test_with_no_window_running_the_start_opens_its_own(qtbot) -> None:  # noqa: ANN001
    assert not hand_off(f"dynoai-test-{uuid.uuid4().hex[:12]}", Path("tune.pvv"))


def test_the_name_is_one_per_user_and_pair_of_folders(tmp_path: Path) -> None:
    one = server_name(tmp_path / "config", tmp_path / "data")
    assert one == server_name(tmp_path / "config", tmp_path / "data")
    assert one != server_name(tmp_path / "config", tmp_path / "other data")
    assert one.startswith("dynoai-desktop-") and len(one) < 100  # a Unix socket path's limit
