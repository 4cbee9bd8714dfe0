"""Saved runs: one Parquet file per run (FORMATS.md §2 columns) with the run's metadata inside.

A run file holds every canonical channel of FORMATS.md §2, in that order and under exactly those
names (``time_s`` first; all float64, status channels too, NaN where a value is missing), then
any extra columns the writer gave, kept as they were. The run's own description (name, start
time, devices, markers, weather, app version, where it came from) is JSON in the Parquet schema
metadata under the key ``dynoai.run``, so a file copied out of the data directory still says
what it is. Files are written atomically: a crash or a failed write leaves any old file intact.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dynoai_desktop import __version__
from dynoai_desktop.core.channels import CHANNELS, LOG_COLUMNS
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.log_csv import format_log_csv
from dynoai_desktop.core.weather import Weather
from dynoai_desktop.storage.file_io import write_bytes_atomic
from dynoai_desktop.storage.settings import DevicePort

if TYPE_CHECKING:
    # pandas and pyarrow are imported where a run is written or read, not at import: they cost
    # about a third of the GUI's start (benchmarks/start_time.py).
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

METADATA_KEY = b"dynoai.run"
METADATA_SCHEMA_VERSION = 1
RUN_SOURCES = ("recorded", "recovered", "imported")


# ------------------------------------------------------------------ metadata


@dataclass(frozen=True)
class Marker:
    """A note the tuner dropped during the run, at ``time_s`` seconds from its start."""

    time_s: float
    note: str = ""


@dataclass(frozen=True)
class RunMetadata:
    """What a run file says about itself (stored as JSON under ``dynoai.run``)."""

    name: str
    started_at: str  # ISO 8601
    devices: tuple[DevicePort, ...] = ()
    markers: tuple[Marker, ...] = ()
    weather: Weather = field(default_factory=Weather)
    app_version: str = __version__
    source: str = "recorded"  # one of RUN_SOURCES

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": METADATA_SCHEMA_VERSION,
            "name": self.name,
            "started_at": self.started_at,
            "devices": devices_to_list(self.devices),
            "markers": markers_to_list(self.markers),
            "weather": weather_to_dict(self.weather),
            "app_version": self.app_version,
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: object, source: str = "<dict>") -> RunMetadata:
        """RunMetadata from its JSON object; anything malformed is an InputError naming
        ``source``."""
        if not isinstance(data, Mapping):
            raise InputError(f"{source}: the run metadata is not a JSON object")
        version = data.get("schema_version", METADATA_SCHEMA_VERSION)
        if not isinstance(version, int) or version > METADATA_SCHEMA_VERSION:
            raise InputError(
                f"{source}: the run was saved by a newer DynoAI (run metadata schema "
                f"{version!r}, this one reads {METADATA_SCHEMA_VERSION}); update DynoAI to open it"
            )
        try:
            return cls(
                name=str(data["name"]),
                started_at=str(data["started_at"]),
                devices=devices_from_list(data.get("devices", [])),
                markers=markers_from_list(data.get("markers", [])),
                weather=weather_from_dict(data.get("weather", {})),
                app_version=str(data.get("app_version", "")),
                source=str(data.get("source", "")),
            )
        except KeyError as exc:
            raise InputError(f"{source}: the run metadata has no {exc.args[0]!r}") from None
        except (TypeError, ValueError, AttributeError) as exc:
            raise InputError(f"{source}: the run metadata is malformed ({exc})") from None


def devices_to_list(devices: Sequence[DevicePort]) -> list[dict[str, Any]]:
    """``[{role, protocol, port, options}, ...]`` as stored in run files and the catalog."""
    return [
        {"role": d.role, "protocol": d.protocol, "port": d.port, "options": dict(d.options)}
        for d in devices
    ]


def devices_from_list(data: Sequence[Mapping[str, Any]]) -> tuple[DevicePort, ...]:
    return tuple(
        DevicePort(
            role=str(d["role"]),
            protocol=str(d["protocol"]),
            port=str(d.get("port", "")),
            options=dict(d.get("options", {})),
        )
        for d in data
    )


def markers_to_list(markers: Sequence[Marker]) -> list[dict[str, Any]]:
    return [{"time_s": float(m.time_s), "note": m.note} for m in markers]


def markers_from_list(data: Sequence[Mapping[str, Any]]) -> tuple[Marker, ...]:
    return tuple(Marker(time_s=float(m["time_s"]), note=str(m.get("note", ""))) for m in data)


def weather_to_dict(weather: Weather) -> dict[str, float | None]:
    """The four readings; a missing (None or NaN) one is null."""

    def number(value: float | None) -> float | None:
        return None if value is None or value != value else float(value)

    return {
        "baro_kpa": number(weather.baro_kpa),
        "ambient_temp_c": number(weather.ambient_temp_c),
        "humidity_pct": number(weather.humidity_pct),
        "correction_factor": number(weather.correction_factor),
    }


def metadata_json(data: object, what: str) -> str:
    """JSON text of ``data``; a value JSON cannot hold (in device options, say) is an
    InputError naming ``what``."""
    try:
        return json.dumps(data, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"{what}: cannot be stored as JSON ({exc}); device options and notes must be plain "
            "text, numbers, true/false, lists or objects"
        ) from None


def weather_from_dict(data: Mapping[str, Any]) -> Weather:
    def number(key: str) -> float | None:
        value = data.get(key)
        return None if value is None else float(value)

    return Weather(
        baro_kpa=number("baro_kpa"),
        ambient_temp_c=number("ambient_temp_c"),
        humidity_pct=number("humidity_pct"),
        correction_factor=number("correction_factor"),
    )


def check_iso_time(value: str, what: str) -> str:
    """``value`` if it is ISO 8601 date-time text, else an InputError naming ``what``."""
    try:
        if not isinstance(value, str):
            raise ValueError
        datetime.fromisoformat(value)
    except ValueError:
        raise InputError(
            f"{what} = {value!r} is not an ISO 8601 date and time; give e.g. '2026-11-22T10:00:00'"
        ) from None
    return value


def _check_metadata(metadata: RunMetadata, path: Path) -> None:
    if not isinstance(metadata.name, str) or not metadata.name.strip():
        raise InputError(f"{path}: the run needs a name")
    check_iso_time(metadata.started_at, f"{path}: started_at")
    if metadata.source not in RUN_SOURCES:
        raise InputError(
            f"{path}: run source {metadata.source!r} is not valid: use one of "
            f"{', '.join(RUN_SOURCES)}"
        )
    for marker in metadata.markers:
        if not math.isfinite(float(marker.time_s)):
            raise InputError(f"{path}: marker {marker.note!r} has no valid time ({marker.time_s})")


# ------------------------------------------------------------------ writing


def _columns_of(frame_or_columns: pd.DataFrame | Mapping[str, Any], path: Path) -> dict[str, Any]:
    import pandas as pd

    if isinstance(frame_or_columns, pd.DataFrame):
        names = list(frame_or_columns.columns)
        if len(set(names)) != len(names):
            dupes = sorted({str(n) for n in names if names.count(n) > 1})
            raise InputError(f"{path}: column(s) {', '.join(dupes)} appear more than once")
        columns = {name: frame_or_columns[name] for name in names}
    elif isinstance(frame_or_columns, Mapping):
        columns = dict(frame_or_columns)
    else:
        raise InputError(
            f"{path}: a run is written from a pandas DataFrame or a mapping of column name to "
            f"values, not {type(frame_or_columns).__name__}"
        )
    for name, values in columns.items():
        if not isinstance(name, str) or not name:
            raise InputError(f"{path}: column name {name!r} is not valid: names are text")
        if np.ndim(values) != 1:
            raise InputError(f"{path}: column {name} must be one value per row (one-dimensional)")
    return columns


def _as_float64(name: str, values: Any, path: Path) -> np.ndarray:
    import pandas as pd

    try:
        series = values if isinstance(values, pd.Series) else pd.Series(values)
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        raise InputError(
            f"{path}: column {name} holds values that are not numbers; canonical channels "
            "are numbers (missing = NaN or empty)"
        ) from None


def _run_table(columns: Mapping[str, Any], metadata: RunMetadata, path: Path) -> pa.Table:
    import pyarrow as pa

    if "time_s" not in columns:
        raise InputError(f"{path}: the run has no time_s column; every run needs one")
    time_s = _as_float64("time_s", columns["time_s"], path)
    n_rows = len(time_s)
    if n_rows and not (
        np.isfinite(time_s).all() and time_s[0] >= 0 and (np.diff(time_s) > 0).all()
    ):
        raise InputError(
            f"{path}: time_s must be finite, start at or after 0 and strictly increase "
            "(FORMATS.md §2)"
        )
    names: list[str] = []
    arrays: list[pa.Array] = []
    for name in LOG_COLUMNS:  # §2 order; a channel not given is all-missing, as in a Log CSV
        if name in columns:
            values = time_s if name == "time_s" else _as_float64(name, columns[name], path)
        else:
            values = np.full(n_rows, np.nan)
        names.append(name)
        arrays.append(pa.array(values, type=pa.float64()))
    for name, values in columns.items():
        if name in CHANNELS:
            continue
        try:
            array = values if isinstance(values, pa.Array) else pa.array(values)
        except (pa.ArrowException, TypeError, ValueError) as exc:
            raise InputError(f"{path}: extra column {name} cannot be stored ({exc})") from None
        names.append(name)
        arrays.append(array)
    for name, array in zip(names, arrays, strict=True):
        if len(array) != n_rows:
            raise InputError(
                f"{path}: column {name} has {len(array)} values but time_s has {n_rows}; "
                "all columns must have one value per row"
            )
    meta = metadata_json(metadata.to_dict(), f"{path}: the run metadata").encode("utf-8")
    return pa.Table.from_arrays(arrays, names=names).replace_schema_metadata({METADATA_KEY: meta})


def write_run(
    path: str | os.PathLike[str],
    frame_or_columns: pd.DataFrame | Mapping[str, Any],
    metadata: RunMetadata,
) -> None:
    """Write a run file at ``path`` atomically (temporary file, fsync, rename).

    Canonical channels (FORMATS.md §2) are stored as float64 in §2 order with ``time_s`` first;
    channels not given are stored all-NaN; extra columns follow, kept as given. ``time_s`` must
    be finite, >= 0 and strictly increasing. Bad input is an InputError naming the file and the
    column; a failed write leaves any file already at ``path`` untouched.
    """
    import pyarrow.parquet as pq

    target = Path(path)
    _check_metadata(metadata, target)
    table = _run_table(_columns_of(frame_or_columns, target), metadata, target)
    tmp_name = ""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
        pq.write_table(table, tmp_name)
        with open(tmp_name, "rb+") as written:
            os.fsync(written.fileno())
        os.replace(tmp_name, target)
        tmp_name = ""
    except OSError as exc:
        raise InputError(
            f"{target}: cannot be written ({exc.strerror or exc}); check the folder is writable "
            "and the disk is not full"
        ) from None
    finally:
        if tmp_name:
            Path(tmp_name).unlink(missing_ok=True)


# ------------------------------------------------------------------ reading


def _not_a_run(path: Path, why: str) -> InputError:
    return InputError(f"{path}: is not a DynoAI run file ({why}); import it as a log instead")


def _open_schema(path: Path) -> tuple[pa.Schema, pq.ParquetFile]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not path.exists():
        raise InputError(f"{path}: no such file; check the path")
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give a run file")
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise _not_a_run(path, f"not a Parquet file: {exc}") from None
    return parquet.schema_arrow, parquet


def _metadata_of(schema: pa.Schema, path: Path) -> RunMetadata:
    raw = (schema.metadata or {}).get(METADATA_KEY)
    if raw is None:
        raise _not_a_run(path, "a Parquet file without the 'dynoai.run' metadata")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _not_a_run(path, f"its 'dynoai.run' metadata is not JSON: {exc}") from None
    metadata = RunMetadata.from_dict(data, source=str(path))
    if "time_s" not in schema.names:
        raise _not_a_run(path, "it has no time_s column")
    return metadata


def read_run_metadata(path: str | os.PathLike[str]) -> RunMetadata:
    """Only the run's metadata (reads the file footer, not the samples)."""
    schema, parquet = _open_schema(Path(path))
    parquet.close()
    return _metadata_of(schema, Path(path))


def _read_samples(path: str | os.PathLike[str], columns: Sequence[str] | None,
                  use_pandas_metadata: bool = True) -> tuple[pa.Table, RunMetadata]:
    import pyarrow as pa

    target = Path(path)
    schema, parquet = _open_schema(target)
    try:
        metadata = _metadata_of(schema, target)
        wanted = None
        if columns is not None:
            wanted = [n for n in schema.names if n == "time_s" or n in set(columns)]
        table = parquet.read(columns=wanted, use_pandas_metadata=use_pandas_metadata)
    except (pa.ArrowException, OSError) as exc:
        raise _not_a_run(target, f"its samples cannot be read: {exc}") from None
    finally:
        parquet.close()
    return table.replace_schema_metadata(None), metadata


def read_run(path: str | os.PathLike[str], columns: Sequence[str] | None = None,
             ) -> tuple[pd.DataFrame, RunMetadata]:
    """The run's samples (columns as stored, RangeIndex) and its metadata.

    ``columns``: read only those of them the file has (``time_s`` always), for an analysis
    that needs a few channels of a long run. A missing file, a file that is not Parquet, a
    Parquet file without ``dynoai.run`` metadata or without ``time_s`` is an InputError naming
    the file.
    """
    table, metadata = _read_samples(path, columns)
    return table.to_pandas(), metadata


def read_run_arrays(path: str | os.PathLike[str], columns: Sequence[str] | None = None,
                    ) -> tuple[dict[str, np.ndarray], RunMetadata]:
    """As :func:`read_run`, the numeric channels as float64 arrays (missing values NaN), read
    without pandas (which costs a long run's autotune a third of its time). Text and boolean
    columns (a mark's note, a flag) are left out."""
    table, metadata = _read_samples(path, columns, use_pandas_metadata=False)
    arrays: dict[str, np.ndarray] = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        values = _float_column(column)
        if values is not None:
            arrays[name] = values
    return arrays, metadata


def _float_column(column: pa.ChunkedArray) -> np.ndarray | None:
    """An integer or floating Arrow column as float64, nulls NaN; None for other types.

    Straight from the Arrow buffers: pyarrow's own ``to_numpy`` and compute kernels load
    pandas. A float64 column without nulls is a read-only view of the buffer, not a copy."""
    import pyarrow as pa

    kind = column.type
    if pa.types.is_floating(kind):
        dtype = np.dtype(f"f{kind.bit_width // 8}")
    elif pa.types.is_integer(kind):
        dtype = np.dtype(f"{'u' if pa.types.is_unsigned_integer(kind) else 'i'}"
                         f"{kind.bit_width // 8}")
    else:
        return None
    parts = []
    for chunk in column.chunks:
        validity, data = chunk.buffers()[:2]
        n, offset = len(chunk), chunk.offset
        values = np.frombuffer(data, dtype=dtype, count=n + offset)[offset:] if n else \
            np.zeros(0)
        nulls = bool(chunk.null_count) and validity is not None
        if values.dtype != np.float64 or nulls:
            values = values.astype(np.float64)  # a copy, writable
        if nulls:
            bits = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), bitorder="little")
            values[bits[offset:offset + n] == 0] = np.nan
        parts.append(values)
    if len(parts) == 1:
        return parts[0]
    return np.concatenate(parts) if parts else np.zeros(0)


# ------------------------------------------------------------------ Log CSV export


def log_csv_text(frame: pd.DataFrame) -> str:
    """A run's samples as Log CSV text (FORMATS.md §2), through core's one Log CSV writer;
    numeric columns as numbers (missing empty), extra text columns CSV-quoted."""
    import pandas as pd

    columns: dict[str, Any] = {}
    for name in frame.columns:
        series = frame[name]
        if pd.api.types.is_bool_dtype(series.dtype):
            columns[str(name)] = series.to_numpy(dtype=bool)
        elif pd.api.types.is_numeric_dtype(series.dtype):
            columns[str(name)] = series.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            columns[str(name)] = np.asarray(series.tolist(), dtype=object)
    return format_log_csv(columns)


def export_log_csv(
    path_in_parquet: str | os.PathLike[str], out_csv: str | os.PathLike[str]
) -> None:
    """Write the run at ``path_in_parquet`` as a Log CSV at ``out_csv`` (atomically).

    Columns as in the run file (the §2 channels in order, then extras); missing values empty,
    '.' decimal, no index, '\\n' line ends.
    """
    frame, _ = read_run(path_in_parquet)
    write_bytes_atomic(out_csv, log_csv_text(frame).encode("utf-8"))
