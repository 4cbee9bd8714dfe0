"""Coverage per vehicle (schema 4): for each of the vehicle's VE tables, what each run put into
its cells (good-sample weight and raw hits per cell), kept once per run so the app can add them
up over every run the vehicle has made. Working the contributions out is core's; this keeps them.

A run is named by its key: 'run:12' for a run in the catalog, 'file:<sha256>' for an imported
log. Adding a run that is already kept for that table changes nothing, so the same pull is never
counted twice however often its coverage is added.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.table import COL_AXES
from dynoai_desktop.storage.catalog.connection import CatalogBase, text_value, time_value
from dynoai_desktop.storage.catalog.records import CoverageRecord

_COVERAGE_COLUMNS = (
    "vehicle_id, table_name, run_key, load_channel, axes_json, weight_json, hits_json, added_at"
)
_INT64_MAX = int(np.iinfo(np.int64).max)
# What a damaged row can raise while it is read back (JSON that is not JSON or nested without
# end, numbers too big for int64, a value of the wrong type or shape): it is left out.
_DAMAGE = (InputError, ValueError, TypeError, KeyError, OverflowError, RecursionError)


def _key(value: object, what: str) -> str:
    return text_value(value, what, required=True).strip()


def _numbers(values: object, what: str, kinds: str) -> np.ndarray:
    """``values`` as an array of numbers of the given dtype kinds ('iuf', or 'iu' for counts)."""
    try:
        array = np.asarray(values)
    except (ValueError, TypeError):
        raise InputError(f"{what} is not rows of numbers (its rows differ in length)") from None
    if array.dtype.kind not in kinds:
        wanted = "whole numbers" if kinds == "iu" else "numbers"
        raise InputError(f"{what} must be {wanted}, got {array.dtype} values")
    return array


def _axis(values: object, what: str) -> np.ndarray:
    """Breakpoints: at least one, finite, strictly ascending (the table's normalised view)."""
    array = _numbers(values, what, "iuf")
    if array.ndim != 1 or array.size == 0:
        raise InputError(f"{what} must be a list of one or more breakpoints, got shape "
                         f"{array.shape}")
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        raise InputError(f"{what} holds a value that is not a finite number")
    if (falls := np.flatnonzero(np.diff(array) <= 0)).size:
        at = int(falls[0])
        raise InputError(f"{what} must be strictly ascending: {array[at + 1]:g} follows "
                         f"{array[at]:g}")
    return array


def _grid(values: object, what: str, shape: tuple[int, int], kinds: str) -> np.ndarray:
    array = _numbers(values, what, kinds)
    if array.shape != shape:
        found = " x ".join(map(str, array.shape)) if array.ndim == 2 else f"shape {array.shape}"
        raise InputError(f"{what} is {found} but the breakpoints make {shape[0]} x {shape[1]} "
                         "(rpm x load)")
    return array


def _first_bad(bad: np.ndarray, array: np.ndarray, what: str, rule: str) -> None:
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        raise InputError(f"{what} at rpm row {row}, load column {col} is {array[row, col]:g}; "
                         f"{rule}")


def _weight(values: object, what: str, shape: tuple[int, int]) -> np.ndarray:
    array = _grid(values, what, shape, "iuf").astype(np.float64)
    finite = np.isfinite(array)
    _first_bad(~finite | (np.where(finite, array, 0.0) < 0), array, what,
               "a weight must be a finite number >= 0")
    return array


def _hits(values: object, what: str, shape: tuple[int, int]) -> np.ndarray:
    array = _grid(values, what, shape, "iu")
    if array.dtype.kind == "u" and int(array.max()) > _INT64_MAX:
        raise InputError(f"{what} holds a count too large to keep ({int(array.max())})")
    array = array.astype(np.int64)
    _first_bad(array < 0, array, what, "a hit count must be a whole number >= 0")
    return array


def _coverage(
    vehicle_id: int,
    table_name: object,
    run_key: object,
    load_channel: object,
    rpm_breakpoints: object,
    load_breakpoints: object,
    weight: object,
    hits: object,
    added_at: str,
) -> CoverageRecord:
    """The record, every part checked; an InputError naming the first thing that is wrong."""
    table = _key(table_name, "coverage table name")
    key = _key(run_key, "coverage run key")
    label = f"coverage of {table!r} from {key!r}"
    if load_channel not in COL_AXES:
        raise InputError(f"{label}: load channel {load_channel!r} is not one of "
                         f"{', '.join(COL_AXES)}")
    rpm = _axis(rpm_breakpoints, f"{label}: the rpm breakpoints")
    load = _axis(load_breakpoints, f"{label}: the load breakpoints")
    shape = (rpm.size, load.size)
    arrays = (rpm, load, _weight(weight, f"{label}: the weight", shape),
              _hits(hits, f"{label}: the hits", shape))
    for array in arrays:
        array.setflags(write=False)
    return CoverageRecord(vehicle_id, table, key, str(load_channel), *arrays, added_at)


def _stored(record: CoverageRecord) -> tuple[object, ...]:
    """The row's values: numbers as JSON (floats written so they read back exactly)."""

    def dumps(value: object) -> str:
        return json.dumps(value, allow_nan=False, separators=(",", ":"))

    axes = {"rpm": record.rpm_breakpoints.tolist(), "load": record.load_breakpoints.tolist()}
    return (record.vehicle_id, record.table_name, record.run_key, record.load_channel,
            dumps(axes), dumps(record.weight.tolist()), dumps(record.hits.tolist()),
            record.added_at)


def _json(value: object) -> Any:
    if not isinstance(value, str):  # a damaged record header can turn text into a number
        raise TypeError(f"stored {type(value).__name__}, not text")
    return json.loads(value)


def _read(row: Sequence[Any]) -> CoverageRecord:
    vehicle_id, table, key, channel, axes_json, weight_json, hits_json, added_at = row
    axes = _json(axes_json)
    if not isinstance(axes, dict):
        raise TypeError(f"its breakpoints are {type(axes).__name__}, not an object")
    return _coverage(vehicle_id, table, key, channel, axes["rpm"], axes["load"],
                     _json(weight_json), _json(hits_json), text_value(added_at, "added_at"))


class CoverageMixin(CatalogBase):
    def add_coverage(
        self,
        vehicle_id: int,
        table_name: str,
        run_key: str,
        load_channel: str,
        rpm_breakpoints: npt.ArrayLike,
        load_breakpoints: npt.ArrayLike,
        weight: npt.ArrayLike,
        hits: npt.ArrayLike,
        when: str | datetime | None = None,
    ) -> bool:
        """Keep what run ``run_key`` put into the cells of the vehicle's table ``table_name``:
        good-sample ``weight`` and raw ``hits``, rpm rows x load columns on the given ascending
        breakpoints (``load_channel`` 'map_kpa' or 'tps_pct'). True when kept; False when that
        run is already kept for that table, and then nothing changes (a run never counts twice).
        ``when`` defaults to now."""
        self._require("vehicles", vehicle_id, "vehicle")
        record = _coverage(vehicle_id, table_name, run_key, load_channel, rpm_breakpoints,
                           load_breakpoints, weight, hits, time_value(when, "coverage added_at"))
        try:
            with self._db:
                cur = self._db.execute(
                    f"INSERT INTO coverage_runs ({_COVERAGE_COLUMNS})"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (vehicle_id, table_name, run_key) DO NOTHING",
                    _stored(record),
                )
        except sqlite3.IntegrityError as exc:  # the vehicle was checked; a second cell may race
            raise InputError(f"the catalog {self.path} refused the change ({exc})") from None
        return cur.rowcount == 1

    def _coverage_where(
        self, vehicle_id: int, table_name: str | None
    ) -> tuple[str, tuple[object, ...]]:
        self._require("vehicles", vehicle_id, "vehicle")
        if table_name is None:
            return "vehicle_id = ?", (vehicle_id,)
        return "vehicle_id = ? AND table_name = ?", (
            vehicle_id,
            _key(table_name, "coverage table name"),
        )

    def coverage_runs(
        self, vehicle_id: int, table_name: str | None = None, skipped: list[str] | None = None
    ) -> list[CoverageRecord]:
        """What each run put into the vehicle's tables (only ``table_name`` when given), oldest
        first. A row whose numbers are damaged (the file was edited, or a disk flipped bytes)
        is left out rather than stopping the app; what was left out, and why, is appended to
        ``skipped`` when one is given."""
        where, params = self._coverage_where(vehicle_id, table_name)
        rows = self._db.execute(
            f"SELECT {_COVERAGE_COLUMNS} FROM coverage_runs WHERE {where} ORDER BY added_at, rowid",
            params,
        ).fetchall()
        records = []
        for row in rows:
            try:
                records.append(_read(row))
            except _DAMAGE as exc:
                if skipped is not None:
                    skipped.append(self._damaged_message(row, exc))
        return records

    def _damaged_message(self, row: Sequence[Any], exc: BaseException) -> str:
        vehicle_id, table, key = row[:3]
        why = str(exc) or type(exc).__name__
        return (
            f"the coverage of {table!r} from {key!r} for vehicle {vehicle_id} in the catalog "
            f"{self.path} cannot be read ({why}) and is left out; reset that table's coverage "
            "and add its runs again to have it back"
        )

    def coverage_tables(self, vehicle_id: int) -> list[str]:
        """The tables the vehicle has coverage for, by name."""
        self._require("vehicles", vehicle_id, "vehicle")
        rows = self._db.execute(
            "SELECT DISTINCT table_name FROM coverage_runs"
            " WHERE vehicle_id = ? AND typeof(table_name) = 'text'",
            (vehicle_id,),
        ).fetchall()
        return sorted(row[0] for row in rows)

    def has_coverage_run(self, vehicle_id: int, table_name: str, run_key: str) -> bool:
        """Whether run ``run_key`` is already counted in the vehicle's table ``table_name``."""
        where, params = self._coverage_where(vehicle_id, table_name)
        found = self._db.execute(
            f"SELECT 1 FROM coverage_runs WHERE {where} AND run_key = ?",
            (*params, _key(run_key, "coverage run key")),
        ).fetchone()
        return found is not None

    def reset_coverage(self, vehicle_id: int, table_name: str | None = None) -> int:
        """Forget the vehicle's coverage of ``table_name`` (of every table when None), e.g. after
        a new cam; returns how many runs' contributions were dropped."""
        where, params = self._coverage_where(vehicle_id, table_name)
        with self._db:
            cur = self._db.execute(f"DELETE FROM coverage_runs WHERE {where}", params)
        return cur.rowcount
