"""Any log the app reads, as a frame on canonical channels: Log CSV, a run's Parquet, or a
foreign log through the importers (FORMATS.md §2)."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.storage.file_io import read_bytes
from dynoai_desktop.storage.run_files import read_run, read_run_arrays
from dynoai_desktop.storage.text_encoding import decode_text

if TYPE_CHECKING:
    # pandas and the importers load where a CSV or foreign log is read: a run file is read
    # into arrays without them (a long run's autotune starts faster).
    import pandas as pd

PARQUET_SUFFIXES = (".parquet", ".pq")


@dataclass(frozen=True, eq=False)
class LogRead:
    """A log on canonical channels and what reading it found."""

    frame: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    """What the importer assumed or repaired."""
    refusals: list[str] = field(default_factory=list)
    """Channels the log has but that cannot be used (a stuck wideband), with the reason."""


def read_any_log(path: str | os.PathLike[str], columns: Sequence[str] | None = None,
                 ) -> LogRead:
    """Any log the app reads on canonical channels; InputError naming the file.

    ``columns``: the channels the caller needs; a run file or Log CSV then reads only those
    (a foreign log is imported whole).
    """
    path = Path(path)
    if path.suffix.lower() in PARQUET_SUFFIXES:
        frame, _metadata = read_run(path, columns)
        return LogRead(frame)
    data = read_bytes(path)
    first = decode_text(data[:4096]).text.lstrip().split("\n", 1)[0]
    if path.suffix.lower() == ".csv" and first.split(",", 1)[0].strip() == "time_s":
        decoded = decode_text(data)
        notice = decoded.notice()
        return LogRead(_read_log_csv(path, columns, None if decoded.is_utf8 else decoded.text),
                       [notice] if notice else [])
    from dynoai_desktop.storage.log_import import import_log

    log = import_log(path)
    return LogRead(log.frame, list(log.warnings), list(log.refusals))


@dataclass(frozen=True, eq=False)
class LogArrays:
    """A log's numeric canonical channels as float64 arrays (missing values NaN)."""

    columns: dict[str, np.ndarray]
    warnings: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)

    def remarks(self, name: str | os.PathLike[str]) -> list[str]:
        """What the reader said of the log, a line each naming it: 'NAME: remark', its
        warnings (a unit assumed) then its refusals (a channel refused)."""
        return [f"{name}: {w}" for w in [*self.warnings, *self.refusals]]


def read_log_arrays(path: str | os.PathLike[str], columns: Sequence[str] | None = None,
                    ) -> LogArrays:
    """As :func:`read_any_log`, as arrays for a numpy analysis; a run file is read without
    pandas. InputError naming the file."""
    if Path(path).suffix.lower() in PARQUET_SUFFIXES:
        arrays, _metadata = read_run_arrays(path, columns)
        return LogArrays(arrays)
    read = read_any_log(path, columns)
    frame = read.frame
    wanted = frame.columns if columns is None else [c for c in frame.columns if c in
                                                    {"time_s", *columns}]
    arrays = {}
    for name in wanted:
        try:
            arrays[str(name)] = frame[name].to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError):
            continue  # a text column (a mark's note): not a channel to analyse
    return LogArrays(arrays, read.warnings, read.refusals)


def _read_log_csv(path: Path, columns: Sequence[str] | None, text: str | None = None,
                  ) -> pd.DataFrame:
    """The Log CSV at ``path``, or its ``text`` when it is not UTF-8 (decoded by the caller)."""
    import pandas as pd

    wanted = None if columns is None else {"time_s", *columns}
    try:
        frame = pd.read_csv(path if text is None else io.StringIO(text), low_memory=False,
                            usecols=None if wanted is None else (lambda n: n in wanted))
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read as a Log CSV ({exc}); check it is the app's "
                         "own export, unedited") from None
    for name in frame.columns:
        if frame[name].dtype == object:
            frame[name] = pd.to_numeric(frame[name], errors="coerce")
    return frame
