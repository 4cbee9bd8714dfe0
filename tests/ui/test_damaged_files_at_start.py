"""No damaged file stops the app: each case starts the real app (`dynoai --smoke`) on it and
checks exit 0, the message, the damaged file kept aside byte for byte, and nothing else lost."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtWidgets import QLabel

from dynoai_desktop.core.rows import RowBlock
from dynoai_desktop.storage.catalog import Catalog
from dynoai_desktop.storage.journal import META_FILE, Journal, journal_folder
from dynoai_desktop.storage.run_files import RunMetadata, read_run
from tests.shop import RUN_STARTED, a_recording_run

CATALOG = "catalog.sqlite"


def _smoke(config: Path, data: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "DYNOAI_CONFIG_DIR": str(config),
           "DYNOAI_DATA_DIR": str(data)}
    return subprocess.run([sys.executable, "-m", "dynoai_desktop", "--smoke"], env=env,
                          capture_output=True, text=True, timeout=120)


def _ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "dynoai --smoke: OK" in done.stderr
    return done.stderr


def _shop(data: Path) -> tuple[int, Path]:
    """A catalog with a customer and one complete run; the run file's path."""
    with Catalog(data / CATALOG) as catalog:
        run_id = a_recording_run(catalog, "pull 1")
        journal = Journal(journal_folder(catalog, run_id), RunMetadata("pull 1", RUN_STARTED),
                          0.0)
        journal.append([RowBlock.of({"time_s": np.arange(50) * 0.01,
                                     "rpm": np.full(50, 3000.0)})])
        journal.close()
        return run_id, data / catalog.run(run_id).file


def _kept(folder: Path, name: str) -> Path:
    (kept,) = folder.glob(f"{name}.unreadable-*")
    return kept


def test_a_catalog_that_is_not_a_database(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    garbage = bytes(np.random.default_rng(1).integers(0, 256, 20000, dtype=np.uint8))
    (data / CATALOG).write_bytes(garbage)
    said = _ok(_smoke(tmp_path / "config", data))
    kept = _kept(data, CATALOG)
    assert kept.read_bytes() == garbage
    assert str(kept) in said and "new, empty catalog" in said
    with Catalog(data / CATALOG) as fresh:
        assert fresh.customers() == []


def test_a_malformed_catalog_with_flipped_bytes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    _run_id, run_file = _shop(data)
    finished = _ok(_smoke(tmp_path / "config", data))  # recovers the run: the file exists
    assert "Recovered 1 run(s)" in finished and run_file.exists()
    path = data / CATALOG
    db = sqlite3.connect(path)  # where the customers' b-tree page starts
    page = db.execute("PRAGMA page_size").fetchone()[0]
    root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'customers'").fetchone()[0]
    db.close()
    raw = bytearray(path.read_bytes())
    for offset in range((root - 1) * page, (root - 1) * page + 12):  # its page header
        raw[offset] ^= 0xA5
    path.write_bytes(bytes(raw))
    run_bytes = run_file.read_bytes()
    said = _ok(_smoke(tmp_path / "config", data))
    kept = _kept(data, CATALOG)
    assert kept.read_bytes() == bytes(raw)
    assert str(kept) in said and "damaged" in said
    assert run_file.read_bytes() == run_bytes  # the run files are untouched
    assert len(read_run(run_file)[0]) == 50


def test_a_catalog_from_a_newer_dynoai_is_left_alone(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    _shop(data)
    db = sqlite3.connect(data / CATALOG)
    db.execute("PRAGMA user_version = 42")
    db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file
    db.close()
    before = (data / CATALOG).read_bytes()
    said = _ok(_smoke(tmp_path / "config", data))
    assert "Update DynoAI" in said and "Nothing was changed" in said
    assert (data / CATALOG).read_bytes() == before
    assert not list(data.glob(f"{CATALOG}.unreadable-*"))


def test_settings_that_are_not_utf8(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    damaged = b'{"units": {"temperature": "\xb0F"}, "recent_files": ["\xff"]}'
    (config / "settings.json").write_bytes(damaged)
    said = _ok(_smoke(config, tmp_path / "data"))
    kept = _kept(config, "settings.json")
    assert kept.read_bytes() == damaged and str(kept) in said
    assert json.loads((config / "settings.json").read_text())["schema_version"] >= 1


@pytest.mark.parametrize("damage", [b'{"name": "pull 1", "started_at": "2026-11-2',
                                    b"\x00\x9f\x92\x96 garbage"])
def test_a_journal_whose_metadata_is_lost_is_recovered_from_its_samples(
        tmp_path: Path, damage: bytes) -> None:
    data = tmp_path / "data"
    data.mkdir()
    with Catalog(data / CATALOG) as catalog:
        run_id = a_recording_run(catalog)
        folder = journal_folder(catalog, run_id)
    journal = Journal(folder, RunMetadata("cut short", RUN_STARTED), 0.0)
    journal.append([RowBlock.of({"time_s": 3.0 + np.arange(120) * 0.01,
                                 "rpm": np.full(120, 2600.0)})])  # never closed: a crash
    (folder / META_FILE).write_bytes(damage)
    said = _ok(_smoke(tmp_path / "config", data))
    kept = _kept(folder, META_FILE)
    assert kept.read_bytes() == damage and str(kept) in said
    assert "Recovered 1 run(s) cut short by a crash: 'cut short'" in said
    with Catalog(data / CATALOG) as catalog:
        record = catalog.run(run_id)
        assert record.status == "recovered" and record.rows == 120
        frame, meta = read_run(catalog.run_path(record))
    assert meta.name == "cut short" and frame["rpm"].iloc[0] == 2600.0


def test_the_window_shows_what_happened_at_start(qtbot, make_window) -> None:
    config = Path(os.environ["DYNOAI_CONFIG_DIR"])
    config.mkdir(parents=True, exist_ok=True)
    (config / "settings.json").write_bytes(b"\xff\xfe not json")
    window = make_window()
    label = window.statusBar().findChild(QLabel, "start_notices")
    assert label is not None and "settings.json" in label.text()
    assert "unreadable" in label.toolTip()
