"""A run cut short by a crash is recovered when the app next starts, and the window says so."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa

from dynoai_desktop.storage.catalog import Catalog
from dynoai_desktop.storage.file_io import write_bytes_atomic
from dynoai_desktop.storage.journal import SCHEMA, journal_folder
from dynoai_desktop.storage.run_files import RunMetadata, read_run
from tests.shop import RUN_STARTED, a_recording_run


def _cut_short_run(catalog: Catalog) -> int:
    """A 'recording' run whose journal holds 2 s at 100 Hz, as a kill -9 leaves it."""
    run_id = a_recording_run(catalog)
    started = RUN_STARTED
    folder = journal_folder(catalog, run_id)
    folder.mkdir(parents=True)
    meta = RunMetadata("cut short", started).to_dict()
    meta.update(zero_acq_s=5.0, markers_acq_s=[{"time_s": 6.0, "note": "before the crash"}])
    write_bytes_atomic(folder / "meta.json", json.dumps(meta).encode())
    t = 5.0 + np.arange(200) * 0.01
    columns = [pa.array(t if f.name == "time_s" else np.full(200, 2500.0 if f.name == "rpm"
                                                            else np.nan)) for f in SCHEMA]
    with pa.OSFile(str(folder / "samples.arrows"), "wb") as sink:
        writer = pa.ipc.new_stream(sink, SCHEMA)
        writer.write_batch(pa.record_batch(columns, schema=SCHEMA))
        sink.write(b"\x00\x01torn")  # a batch cut off mid-write
    return run_id


def test_the_next_start_recovers_the_run(tmp_path: Path) -> None:
    with Catalog() as catalog:
        run_id = _cut_short_run(catalog)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-m", "dynoai_desktop", "--screenshot", str(tmp_path / "w.png")],
        env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Recovered 1 run(s) cut short by a crash: 'cut short' (2 s)" in done.stderr
    with Catalog() as catalog:
        record = catalog.run(run_id)
        assert record.status == "recovered" and record.rows == 200
        frame, meta = read_run(catalog.run_path(record))
    assert frame["time_s"].iloc[0] == 0.0 and frame["rpm"].iloc[-1] == 2500.0
    assert meta.markers[0].note == "before the crash" and meta.markers[0].time_s == 1.0
