"""A run cut short is rebuilt from its journal, even when the journal itself is damaged: a lost
or garbled meta.json still gives the run from its samples, and every damaged file is kept aside."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest

from dynoai_desktop.core.rows import RowBlock
from dynoai_desktop.storage.catalog import Catalog
from dynoai_desktop.storage.journal import (
    META_FILE,
    SAMPLES_FILE,
    SCHEMA,
    Journal,
    journal_folder,
    recover_runs,
)
from dynoai_desktop.storage.run_files import RunMetadata, read_run
from dynoai_desktop.storage.settings import DevicePort
from tests.shop import RUN_STARTED, a_recording_run

DEVICES = (DevicePort("dyno", "dyno-line", "socket://127.0.0.1:7001"),)


def _recording(catalog: Catalog, name: str = "cut short") -> tuple[int, Journal]:
    run_id = a_recording_run(catalog, name, DEVICES)
    journal = Journal(journal_folder(catalog, run_id), RunMetadata(name, RUN_STARTED, DEVICES),
                      zero_acq_s=5.0)
    for start in (0, 100):  # two batches of 1 s at 100 Hz
        t = 5.0 + (start + np.arange(100)) * 0.01
        journal.append([RowBlock.of({"time_s": t, "rpm": np.full(100, 2500.0)})])
    journal.add_marker(6.0, "before the crash")
    return run_id, journal



def test_a_whole_journal_becomes_the_run_with_its_markers(catalog: Catalog) -> None:
    run_id, journal = _recording(catalog)  # never closed: the process died
    recovery = recover_runs(catalog)
    assert [r.id for r in recovery.runs] == [run_id] and recovery.problems == ()
    frame, meta = read_run(catalog.run_path(recovery.runs[0]))
    assert len(frame) == 200 and frame["time_s"].iloc[0] == 0.0
    assert meta.markers[0].note == "before the crash" and meta.markers[0].time_s == 1.0
    assert not journal.folder.exists()


@pytest.mark.parametrize("damage", [b"", b'{"name": "cut sh', b"\xff\xfe garbage \x00",
                                    b'{"schema_version": 1}', b"[1, 2, 3]"])
def test_a_damaged_meta_json_still_recovers_the_samples(catalog: Catalog, damage: bytes) -> None:
    run_id, journal = _recording(catalog)
    meta_path = journal.folder / META_FILE
    meta_path.write_bytes(damage)
    recovery = recover_runs(catalog)
    (record,) = recovery.runs
    assert record.status == "recovered" and record.rows == 200
    frame, meta = read_run(catalog.run_path(record))
    assert meta.name == "cut short" and meta.devices == DEVICES  # from the catalog
    assert frame["rpm"].iloc[-1] == 2500.0
    kept = [p for p in journal.folder.iterdir() if p.name.startswith(f"{META_FILE}.unreadable-")]
    assert len(kept) == 1 and kept[0].read_bytes() == damage
    said = " ".join(recovery.problems)
    assert str(meta_path) in said and str(kept[0]) in said and "markers were lost" in said
    assert not (journal.folder / SAMPLES_FILE).exists()  # now in the run file


def test_a_samples_file_that_is_not_arrow_is_kept_aside_and_the_run_still_finishes(
        catalog: Catalog) -> None:
    _run_id, journal = _recording(catalog)
    samples = journal.folder / SAMPLES_FILE
    samples.write_bytes(b"\x13\x37 not an arrow stream " * 20)
    recovery = recover_runs(catalog)
    (record,) = recovery.runs
    assert record.rows == 0 and record.status == "recovered"
    kept = [p for p in journal.folder.iterdir() if p.name.startswith(f"{SAMPLES_FILE}.unread")]
    assert len(kept) == 1 and kept[0].read_bytes().startswith(b"\x13\x37")
    assert any("unreadable" in p for p in recovery.problems)


def test_a_torn_last_batch_is_dropped_quietly(catalog: Catalog) -> None:
    _run_id, journal = _recording(catalog)
    with open(journal.folder / SAMPLES_FILE, "ab") as sink:
        sink.write(b"\xff\xff\xff\xff\x10\x00\x00\x00 torn")
    recovery = recover_runs(catalog)
    assert recovery.runs[0].rows == 200 and recovery.problems == ()


def test_a_journal_with_foreign_columns_is_not_taken_for_samples(catalog: Catalog) -> None:
    _run_id, journal = _recording(catalog)
    foreign = pa.schema([("x", pa.float64())])
    with pa.OSFile(str(journal.folder / SAMPLES_FILE), "wb") as sink:
        writer = pa.ipc.new_stream(sink, foreign)
        writer.write_batch(pa.record_batch([pa.array([1.0])], schema=foreign))
        writer.close()
    recovery = recover_runs(catalog)
    assert recovery.runs[0].rows == 0
    assert any("not a journal's" in p for p in recovery.problems)
    assert SCHEMA.names[0] == "time_s"


def test_meta_json_is_rewritten_atomically_with_each_marker(catalog: Catalog) -> None:
    _run_id, journal = _recording(catalog)
    journal.add_marker(7.5, "second")
    meta = json.loads((journal.folder / META_FILE).read_text())
    assert [m["note"] for m in meta["markers_acq_s"]] == ["before the crash", "second"]
    journal.close()
