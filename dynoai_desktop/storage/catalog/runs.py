"""Runs of a session (schema 2): one Parquet run file each (see :mod:`run_files`), kept relative
to the catalog's folder so the whole store can move; and each run's peak power (schema 7)."""

from __future__ import annotations

import json
import math
import operator
import os
import re
import unicodedata
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.power import PeakPower
from dynoai_desktop.core.weather import Weather
from dynoai_desktop.storage.catalog.connection import CatalogBase, text_value, time_value
from dynoai_desktop.storage.catalog.records import RUNS_DIR, RunRecord, check_status
from dynoai_desktop.storage.run_files import (
    Marker,
    devices_from_list,
    devices_to_list,
    markers_from_list,
    markers_to_list,
    metadata_json,
    weather_from_dict,
    weather_to_dict,
)
from dynoai_desktop.storage.settings import DevicePort

_RUN_COLUMNS = (
    'id, session_id, name, started_at, ended_at, duration_s, "rows", file, status,'
    " devices_json, markers_json, weather_json, tune_version_id"
)
NAME_IN_FILE_CHARS = 40
"""At most this much of a run's name goes into its file name (paths stay short on Windows)."""


def name_in_file(name: str) -> str:
    """A run's name as it can stand in a file name on Windows, macOS and Linux: letters (accents
    dropped) and digits, every other run of characters one '-', at most NAME_IN_FILE_CHARS;
    'pull 3' -> 'pull-3', 'WOT: 2nd/3rd?' -> 'WOT-2nd-3rd', '' when nothing is left."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^A-Za-z0-9]+", "-", folded).strip("-")
    return slug[:NAME_IN_FILE_CHARS].rstrip("-")


def _run_record(row: Sequence[Any], catalog: Path) -> RunRecord:
    (run_id, session_id, name, started, ended, duration, rows, file, status,
     devices, markers, weather, tune_version) = row  # fmt: skip
    try:
        return RunRecord(
            id=run_id,
            session_id=session_id,
            name=name,
            started_at=started,
            ended_at=ended,
            duration_s=duration,
            rows=rows,
            file=file,
            status=status,
            devices=devices_from_list(json.loads(devices)),
            markers=markers_from_list(json.loads(markers)),
            weather=weather_from_dict(json.loads(weather)),
            tune_version_id=tune_version,
        )
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise InputError(
            f"run {run_id} in the catalog {catalog} cannot be read: its devices, markers or "
            f"weather are damaged ({exc}); its run file {file} is not affected"
        ) from None


class RunsMixin(CatalogBase):
    def _relative_file(self, file: str | os.PathLike[str]) -> str:
        path = Path(file)
        if path.is_absolute():
            try:
                path = path.relative_to(self.data_dir)
            except ValueError:
                raise InputError(
                    f"run file {file}: is outside the data folder {self.data_dir}; run files "
                    "are kept in it (save the run there, or give a path relative to it)"
                ) from None
        relative = PurePosixPath(path.as_posix())
        if not relative.parts or ".." in relative.parts:
            raise InputError(f"run file {str(file)!r}: give a file path inside {self.data_dir}")
        return str(relative)

    def run_path(self, run: RunRecord | int) -> Path:
        """Absolute path of a run's Parquet file."""
        record = run if isinstance(run, RunRecord) else self.run(run)
        return self.data_dir / record.file

    def new_run_file(self, session_id: int, started_at: str | datetime, name: str = "") -> str:
        """A free path, relative to the data dir, for a new run file of the session.

        ``runs/session-0007/20261122T100000_pull-3.parquet`` for a run named 'pull 3' (the start
        first, so a folder lists its runs in the order they were made; the name as
        :func:`name_in_file` writes it; without a name, ``20261122T100000.parquet``), then
        ``20261122T100000-2_pull-3.parquet`` and so on when that name is already taken in the
        catalog (in any letter case, as on Windows) or on disk.
        """
        self._require("sessions", session_id, "session")
        stamp = "".join(c for c in time_value(started_at, "run started_at")[:19] if c.isalnum())
        slug = name_in_file(name)
        folder = PurePosixPath(RUNS_DIR, f"session-{session_id:04d}")
        taken = {row[0].lower() for row in self._db.execute("SELECT file FROM runs")}

        def file(n: int) -> str:
            return str(folder / "".join((stamp, f"-{n}" if n > 1 else "",
                                          f"_{slug}" if slug else "", ".parquet")))

        n = 1
        while file(n).lower() in taken or (self.data_dir / file(n)).exists():
            n += 1
        return file(n)

    def add_run(
        self,
        session_id: int,
        name: str,
        started_at: str | datetime,
        file: str | os.PathLike[str],
        status: str = "recording",
        devices: Sequence[DevicePort] = (),
        weather: Weather | None = None,
        tune_version_id: int | None = None,
    ) -> int:
        """Record a run of the session (its samples in ``file``, relative to the data dir or an
        absolute path inside it); returns its id. A recording starts as 'recording'."""
        self._require("sessions", session_id, "session")
        check_status(status)
        if tune_version_id is not None:
            self._check_tune_version(session_id, tune_version_id)
        values = (
            session_id,
            text_value(name, "run name", required=True).strip(),
            time_value(started_at, "run started_at"),
            self._relative_file(file),
            status,
            metadata_json(devices_to_list(devices), f"run {name!r} devices"),
            metadata_json(weather_to_dict(weather or Weather()), f"run {name!r} weather"),
            tune_version_id,
        )
        return self._insert(
            "INSERT INTO runs (session_id, name, started_at, file, status, devices_json,"
            " weather_json, tune_version_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            values,
        )

    def _check_tune_version(self, session_id: int, number: int) -> None:
        tune_id = self._db.execute(
            "SELECT tune_id FROM sessions WHERE id = ?", (session_id,)
        ).fetchone()[0]
        if tune_id is None:
            raise InputError(
                f"session {session_id} has no tune, so a run of it cannot name tune version "
                f"{number}; start the session with a tune"
            )
        found = self._db.execute(
            "SELECT 1 FROM tune_versions WHERE tune_id = ? AND number = ?",
            (tune_id, number),
        ).fetchone()
        if found is None:
            raise InputError(
                f"there is no version {number} of tune {tune_id} in the catalog {self.path}"
            )

    def finish_run(
        self,
        run_id: int,
        ended_at: str | datetime,
        duration_s: float,
        rows: int,
        markers: Sequence[Marker] = (),
        status: str = "complete",
    ) -> None:
        """Record how the run ended: its length, row count, markers and final status."""
        self._require("runs", run_id, "run")
        check_status(status)
        if (
            isinstance(duration_s, bool)
            or not isinstance(duration_s, int | float)
            or not (math.isfinite(duration_s) and duration_s >= 0)
        ):
            raise InputError(f"run {run_id}: duration_s = {duration_s!r} must be a number >= 0")
        try:
            row_count = -1 if isinstance(rows, bool) else operator.index(rows)
        except TypeError:
            row_count = -1
        if row_count < 0:
            raise InputError(f"run {run_id}: rows = {rows!r} must be a whole number >= 0")
        with self._db:
            self._db.execute(
                'UPDATE runs SET ended_at = ?, duration_s = ?, "rows" = ?, markers_json = ?,'
                " status = ? WHERE id = ?",
                (
                    time_value(ended_at, "run ended_at"),
                    float(duration_s),
                    row_count,
                    metadata_json(markers_to_list(markers), f"run {run_id} markers"),
                    status,
                    run_id,
                ),
            )

    def _runs(self, sql: str, params: Sequence[object]) -> list[RunRecord]:
        rows = self._db.execute(sql, params).fetchall()
        return [_run_record(row, self.path) for row in rows]

    def runs(self, session_id: int) -> list[RunRecord]:
        """The session's runs in the order they were made."""
        self._require("sessions", session_id, "session")
        return self._runs(
            f"SELECT {_RUN_COLUMNS} FROM runs WHERE session_id = ? ORDER BY started_at, id",
            (session_id,),
        )

    def run(self, run_id: int) -> RunRecord:
        self._require("runs", run_id, "run")
        return self._runs(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,))[0]

    def runs_in_status(self, status: str) -> list[RunRecord]:
        """Every run in ``status`` (crash recovery looks for 'recording'), oldest first."""
        check_status(status)
        return self._runs(
            f"SELECT {_RUN_COLUMNS} FROM runs WHERE status = ? ORDER BY started_at, id",
            (status,),
        )

    def all_runs(self) -> list[RunRecord]:
        """Every run of every session, by session, each session's in the order they were made
        (the run library's tree: one query)."""
        return self._runs(
            f"SELECT {_RUN_COLUMNS} FROM runs ORDER BY session_id, started_at, id", ())

    def runs_for_vehicle(self, vehicle_id: int) -> list[RunRecord]:
        """Every run of the vehicle across its sessions, oldest first."""
        self._require("vehicles", vehicle_id, "vehicle")
        columns = ", ".join(f"runs.{c.strip()}" for c in _RUN_COLUMNS.split(","))
        return self._runs(
            f"SELECT {columns} FROM runs JOIN sessions ON sessions.id = runs.session_id"
            " WHERE sessions.vehicle_id = ? ORDER BY runs.started_at, runs.id",
            (vehicle_id,),
        )

    # ------------------------------------------------------------------ peak power (schema 7)

    def set_run_peak(self, run_id: int, peak: PeakPower | None,
                     when: str | datetime | None = None) -> None:
        """Keep the run's peak power (None: its file has no power readings), replacing one
        kept before."""
        self.set_run_peaks({run_id: peak}, when)

    def set_run_peaks(self, peaks: Mapping[int, PeakPower | None],
                      when: str | datetime | None = None) -> None:
        """``set_run_peak`` for several runs in one transaction."""
        at = time_value(when, "peak computed_at")
        rows = []
        for run_id, peak in peaks.items():
            self._require("runs", run_id, "run")
            rows.append((run_id, None if peak is None else float(peak.power_hp),
                         None if peak is None or peak.rpm is None else float(peak.rpm), at))
        with self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO run_peaks (run_id, peak_power_hp, peak_power_rpm,"
                " computed_at) VALUES (?, ?, ?, ?)", rows)

    def run_peaks(self) -> dict[int, PeakPower | None]:
        """Run id -> its peak power (None: no power readings) for every run worked out; a run
        not worked out yet (or whose row is damaged) is not in it."""
        peaks: dict[int, PeakPower | None] = {}
        for run_id, power, rpm in self._db.execute(
                "SELECT run_id, peak_power_hp, peak_power_rpm FROM run_peaks"):
            if power is None:
                peaks[run_id] = None
            elif isinstance(power, int | float) and math.isfinite(power):
                speed = float(rpm) if isinstance(rpm, int | float) and math.isfinite(rpm) \
                    else None
                peaks[run_id] = PeakPower(float(power), speed)
        return peaks
