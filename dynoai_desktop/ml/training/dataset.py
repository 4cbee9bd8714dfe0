"""Reading and checking a training-dataset file, and what it holds (FORMATS.md §6).

:func:`check_file` reads one file: InputError when it cannot be read as a dataset at all (not
``.json``, missing, not JSON: the command exits 2); else a :class:`FileReport` with its problems
(structure, required fields, types, ranges, completeness: exit 1), its warnings (which do not
fail it) and what it holds.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.ml.training.records import (
    DATASET_KIND,
    PATTERNS,
    SCHEMA_VERSION,
    Dataset,
    TuningSession,
)
from dynoai_desktop.ml.training.typed_json import json_schema, read, to_json_value

SCHEMA_ID = "https://dynoai.example/formats/training-data.schema.json"
SCHEMA_PATH = "docs/formats/training-data.schema.json"
MAX_PROBLEMS_SHOWN = 50


def schema() -> dict[str, Any]:
    """The published JSON Schema (docs/formats/training-data.schema.json is this, written)."""
    return json_schema(Dataset, SCHEMA_ID, f"DynoAI training data, schema version "
                                           f"{SCHEMA_VERSION}")


def schema_text() -> str:
    return json.dumps(schema(), indent=2, ensure_ascii=False) + "\n"


@dataclass(frozen=True)
class Contents:
    """What a dataset holds: sessions, dyno hours, patterns by kind, and the mix."""

    sessions: int = 0
    simulated: int = 0
    dyno_hours: float = 0.0
    patterns: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PATTERNS, 0))
    families: dict[str, int] = field(default_factory=dict)
    stages: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"sessions": self.sessions, "simulated": self.simulated,
                "dyno_hours": round(self.dyno_hours, 3), "patterns": dict(self.patterns),
                "families": dict(self.families), "stages": dict(self.stages)}

    def __add__(self, other: Contents) -> Contents:
        return Contents(self.sessions + other.sessions, self.simulated + other.simulated,
                        self.dyno_hours + other.dyno_hours,
                        {k: self.patterns.get(k, 0) + other.patterns.get(k, 0)
                         for k in PATTERNS},
                        dict(Counter(self.families) + Counter(other.families)),
                        dict(Counter(self.stages) + Counter(other.stages)))


def contents(sessions: list[TuningSession]) -> Contents:
    patterns = {name: sum(1 for s in sessions if getattr(s.patterns, name) is not None)
                for name in PATTERNS}
    families = Counter(str(s.build.get("engine_family", "?")) for s in sessions)
    stages = Counter(str(s.build.get("stage", 0)) for s in sessions)  # "0" is stock
    return Contents(len(sessions), sum(s.simulated for s in sessions),
                    sum(s.dyno_time_s for s in sessions) / 3600.0, patterns,
                    dict(sorted(families.items())), dict(sorted(stages.items())))


@dataclass(frozen=True)
class FileReport:
    """One file's check."""

    path: str
    problems: list[str]
    warnings: list[str]
    contents: Contents

    @property
    def valid(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.path, "valid": self.valid, "problems": self.problems,
                "warnings": self.warnings, "contents": self.contents.to_dict()}


def read_text(path: Path) -> str:
    """The file's text; InputError (exit 2) when it cannot be a dataset file at all."""
    if path.suffix.lower() != ".json":
        raise InputError(f"{path}: not a .json file; a training dataset is JSON "
                         "(docs/formats/training-data.schema.json)")
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, not a dataset file") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start}); a dataset is UTF-8 "
                         "JSON") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def check_text(text: str, source: str) -> FileReport:
    """Check one dataset's JSON text; InputError when it is not JSON."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{source}: not valid JSON (line {exc.lineno}, column {exc.colno}: "
                         f"{exc.msg})") from None
    except RecursionError:
        raise InputError(f"{source}: its JSON is nested too deeply") from None
    warnings: list[str] = []
    if isinstance(data, dict):
        version = data.get("schema_version")
        if isinstance(version, int) and not isinstance(version, bool) and \
                version > SCHEMA_VERSION:
            return FileReport(source, [f"schema_version {version} is newer than this DynoAI "
                                       f"reads ({SCHEMA_VERSION}); update DynoAI"], [],
                              Contents())
        if data.get("kind") not in (None, DATASET_KIND):
            return FileReport(source, [f"kind: {data.get('kind')!r} is not a training dataset "
                                       f"({DATASET_KIND!r})"], [], Contents())
    dataset, problems = read(Dataset, data)
    if dataset is None:
        return FileReport(source, _capped(problems), warnings, Contents())
    for i, session in enumerate(dataset.sessions):
        where = f"sessions[{i}] ({session.session_id})"
        if not session.runs:
            warnings.append(f"{where}: no runs listed")
        missing = [p for p in PATTERNS if getattr(session.patterns, p) is None
                   and p not in session.refusals]
        if missing:
            warnings.append(f"{where}: {', '.join(missing)} neither extracted nor refused "
                            "with a reason")
    if not dataset.sessions:
        warnings.append("the dataset holds no sessions")
    return FileReport(source, [], warnings, contents(dataset.sessions))


def _capped(problems: list[str]) -> list[str]:
    if len(problems) <= MAX_PROBLEMS_SHOWN:
        return problems
    return [*problems[:MAX_PROBLEMS_SHOWN],
            f"... and {len(problems) - MAX_PROBLEMS_SHOWN} more problems"]


def check_file(path: Path) -> FileReport:
    """Check one dataset file (InputError when it cannot be read as JSON at all)."""
    return check_text(read_text(path), str(path))


def load(path: Path) -> Dataset:
    """A dataset file read; InputError naming the first problems when it is not valid."""
    dataset, problems = read(Dataset, json.loads(read_text(path)))
    if dataset is None:
        raise InputError(f"{path}: " + "; ".join(problems[:3]))
    return dataset


def dataset_json(dataset: Dataset) -> str:
    """A dataset as the file's JSON text (reads back equal)."""
    return json.dumps(to_json_value(dataset), indent=1, ensure_ascii=False) + "\n"
