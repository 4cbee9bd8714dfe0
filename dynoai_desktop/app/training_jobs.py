"""The training collection's worker jobs and what they hand back (``app.training_session``
runs them on its one worker thread): extracting a session's record and checking it as a dataset
reader would, reading the kept records, writing an export."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.ml.training.dataset import dataset_json
from dynoai_desktop.ml.training.from_catalog import SessionSource, session_data
from dynoai_desktop.ml.training.records import Dataset, TuningSession
from dynoai_desktop.ml.training.session_data import SessionData
from dynoai_desktop.ml.training.typed_json import read, to_json_value
from dynoai_desktop.storage.file_io import write_bytes_atomic

WORKER_NAME = "training"
Extractor = Callable[[SessionData], TuningSession]


@dataclass
class Kept:
    key: str
    session_id: int | None
    record: TuningSession | None
    excluded: bool
    problem: str = ""
    notes: tuple[str, ...] = ()
    vehicle: str = ""
    started_at: str = ""


@dataclass(frozen=True)
class Extracted:
    text: str | None
    record: TuningSession | None
    problem: str
    notes: tuple[str, ...] = ()


@dataclass
class Job:
    kind: str  # 'extract', 'load', 'import', 'export'
    future: Future[Any]
    session_id: int | None = None
    path: str = ""


def now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def record_text(record: TuningSession) -> str:
    return json.dumps(to_json_value(record), ensure_ascii=False, separators=(",", ":"))


def parse_record(text: str) -> tuple[TuningSession | None, str]:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        return None, f"its record in the catalog is not JSON ({exc})"
    record, problems = read(TuningSession, data)
    if record is None:
        return None, "its record in the catalog cannot be read (" + "; ".join(problems[:2]) + ")"
    return record, ""


def extract_job(source: SessionSource, extract: Extractor) -> Extracted:
    """On the worker: read the run files, extract, check the record as a dataset reader would."""
    try:
        data, skipped = session_data(source)
        record = extract(data)
    except InputError as exc:
        return Extracted(None, None, str(exc))
    if record.session_id != source.session_id:
        record = replace(record, session_id=source.session_id)
    value = to_json_value(record)
    checked, problems = read(TuningSession, value)
    if checked is None:
        return Extracted(None, None, "the extracted record is not valid training data: "
                          + "; ".join(problems[:3]), tuple(skipped))
    return Extracted(json.dumps(value, ensure_ascii=False, separators=(",", ":")), checked, "",
                      tuple(skipped))


def load_job(rows: list[tuple[str, int | None, str, bool]]) -> list[Kept]:
    kept = []
    for key, session_id, text, excluded in rows:
        record, problem = parse_record(text)
        kept.append(Kept(key, session_id, record, excluded, problem))
    return kept


def dataset_file(path: str | Path) -> Path:
    """``path`` as a dataset file to write: InputError unless it ends in .json."""
    target = Path(path)
    if target.suffix.lower() != ".json":
        raise InputError(f"{target}: a training dataset is a .json file; give the name "
                         "ending in .json")
    return target


def export_job(dataset: Dataset, path: Path) -> int:
    write_bytes_atomic(path, dataset_json(dataset).encode("utf-8"))
    return len(dataset.sessions)
