"""The shop's work as the tuner sees it: customers, their vehicles, sessions and runs (the run
library's tree, ``app.run_tree``), and the saved runs and imported logs opened for review.

The session bar, the run browser and the review panel go through here; none opens the catalog or
a file. When the catalog could not be opened at start-up, everything that needs it says so
(``available`` is False) and opening run files and logs still works.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from dynoai_desktop.app.events import Event
from dynoai_desktop.app.run_tree import CustomerNode, RunEntry, build_tree
from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.power import PeakPower, peak_power
from dynoai_desktop.storage.catalog import (
    RUNS_DIR,
    Catalog,
    Customer,
    RunRecord,
    Session,
    Vehicle,
)
from dynoai_desktop.storage.log_import import NO_CHANNEL, ImportedLog, import_log
from dynoai_desktop.storage.run_files import Marker, read_run, read_run_arrays

if TYPE_CHECKING:
    import pandas as pd

NO_CATALOG = ("the catalog is not open (see the message at start-up), so customers, vehicles, "
              "sessions and runs cannot be kept")


@dataclass(frozen=True)
class RunView:
    """A saved run or an imported log, ready to draw: samples in canonical channels and units,
    markers, a title line and the importer's notes."""

    frame: pd.DataFrame
    markers: tuple[Marker, ...]
    title: str
    notes: tuple[str, ...] = ()


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def readable_time(iso: str, seconds: bool = False) -> str:
    """'2026-11-22T10:00:00+01:00' as '2026-11-22 10:00' (or '10:00:00') in local time."""
    try:
        when = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if when.tzinfo is not None:
        when = when.astimezone()
    return when.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


class RunLibrary:
    """Customers, vehicles, the open session and its runs; ``changed`` after a customer,
    vehicle or session change, ``runs_changed`` (the run, or None) after a run was saved."""

    def __init__(self, catalog: Catalog | None) -> None:
        self.catalog = catalog
        self.session_id: int | None = None  # the session runs are recorded into
        self.changed = Event("run library changed")
        self.runs_changed = Event("a run was saved")  # (RunRecord | None)
        self._unreadable: dict[int, str] = {}  # run id -> why its file could not be read
        self._log_folder: Path | None = None

    @property
    def available(self) -> bool:
        return self.catalog is not None

    def _catalog(self) -> Catalog:
        if self.catalog is None:
            raise InputError(NO_CATALOG)
        return self.catalog

    # ------------------------------------------------------------------ the shop
    def customers(self) -> list[Customer]:
        return self._catalog().customers() if self.catalog is not None else []

    def add_customer(self, name: str, phone: str = "") -> int:
        customer_id = self._catalog().add_customer(name, phone=phone)
        self.changed.emit()
        return customer_id

    def vehicles(self, customer_id: int) -> list[Vehicle]:
        return self._catalog().vehicles(customer_id) if self.catalog is not None else []

    def add_vehicle(self, customer_id: int, name: str, build_spec: BuildSpec, vin: str = ""
                    ) -> int:
        vehicle_id = self._catalog().add_vehicle(customer_id, name, build_spec, vin=vin)
        self.changed.emit()
        return vehicle_id

    # ------------------------------------------------------------------ sessions
    def start_session(self, vehicle_id: int) -> int:
        """Open a session for the vehicle, now (ending the one open); runs are recorded
        into it."""
        self._end_open_session()
        self.session_id = self._catalog().start_session(vehicle_id, _now())
        self.changed.emit()
        return self.session_id

    def close_session(self) -> None:
        """End the open session, now (another vehicle needs its own)."""
        if self.session_id is not None:
            self._end_open_session()
            self.changed.emit()

    def _end_open_session(self) -> None:
        session_id, self.session_id = self.session_id, None
        if session_id is not None and self.catalog is not None:
            self.catalog.end_session(session_id, _now())

    @property
    def session(self) -> Session | None:
        if self.session_id is None or self.catalog is None:
            return None
        return self.catalog.session(self.session_id)

    def session_label(self) -> str:
        """'Session 3: 2016 Low Rider S, started 2026-11-22 10:00', or 'no session'."""
        session = self.session
        if session is None:
            return "no session"
        vehicle = self._catalog().vehicle(session.vehicle_id)
        return (f"Session {session.id}: {vehicle.name}, started "
                f"{readable_time(session.started_at)}")

    def runs_of_vehicle(self, vehicle_id: int) -> list[RunRecord]:
        return self._catalog().runs_for_vehicle(vehicle_id) if self.catalog is not None else []

    def run_path(self, run: RunRecord | RunEntry | int) -> Path:
        """The run's file (a record, a library entry or a run id)."""
        if isinstance(run, RunEntry):
            run = run.record
        return self._catalog().run_path(run)

    # ------------------------------------------------------------------ the run library
    def tree(self) -> tuple[CustomerNode, ...]:
        """Every customer -> vehicle -> session -> run (empty without a catalog). Five queries
        and no file read: a peak not worked out yet stays unknown (``runs_of_session``)."""
        catalog = self.catalog
        if catalog is None:
            return ()
        return build_tree(catalog.customers(), catalog.all_vehicles(), catalog.all_sessions(),
                          catalog.all_runs(), self._peaks())

    def runs_of_session(self, session_id: int) -> tuple[RunEntry, ...]:
        """The session's runs in the order they were made, each with its peak power; a peak
        not kept yet is worked out from the run file now and kept in the catalog."""
        catalog = self._catalog()
        records = catalog.runs(session_id)
        peaks = self._peaks()
        missing = [r for r in records if r.id not in peaks and r.status != "recording"
                   and r.id not in self._unreadable]
        found: dict[int, PeakPower | None] = {}
        for record in missing:
            readable, peak = self._peak_from_file(record)
            if readable:
                found[record.id] = peak
        if found:
            catalog.set_run_peaks(found)
            peaks.update(found)
        return tuple(RunEntry(r, peaks.get(r.id), r.id in peaks, self._unreadable.get(r.id, ""))
                     for r in records)

    def entry(self, run_id: int) -> RunEntry:
        """One run of the library, its peak worked out if need be."""
        record = self._catalog().run(run_id)
        return next(e for e in self.runs_of_session(record.session_id) if e.id == run_id)

    def _peaks(self) -> dict[int, PeakPower | None]:
        return self.catalog.run_peaks() if self.catalog is not None else {}

    def _peak_from_file(self, record: RunRecord) -> tuple[bool, PeakPower | None]:
        """(True, the run's peak from its file); (False, None) when the file cannot be read,
        why kept for the browser (and not tried again while the app runs)."""
        try:
            columns, _meta = read_run_arrays(self.run_path(record), ("power_hp", "rpm"))
        except (InputError, OSError) as exc:
            self._unreadable[record.id] = str(exc)
            return False, None
        power = columns.get("power_hp")
        return True, None if power is None else peak_power(power, columns.get("rpm"))

    def run_saved(self, record: RunRecord | None) -> None:
        """A run was saved (the live session's ``run_saved``): the library's views refresh."""
        self.runs_changed.emit(record)

    def place(self, record: RunRecord) -> str:
        """Where a run is in the library: 'Dana Ortiz › 2016 Low Rider S › session 7 of
        2026-11-22 10:00'."""
        catalog = self._catalog()
        session = catalog.session(record.session_id)
        vehicle = catalog.vehicle(session.vehicle_id)
        customer = catalog.customer(vehicle.customer_id)
        return (f"{customer.name} › {vehicle.name} › session {session.id} of "
                f"{readable_time(session.started_at)}")

    def runs_folder(self) -> Path | None:
        """Where saved runs are, for an Open dialog: the open session's folder, else the data
        folder's ``runs`` (None without a catalog)."""
        if self.catalog is None:
            return None
        runs = self.catalog.data_dir / RUNS_DIR
        if self.session_id is not None and (runs / f"session-{self.session_id:04d}").is_dir():
            return runs / f"session-{self.session_id:04d}"
        return runs if runs.is_dir() else self.catalog.data_dir

    def log_folder(self) -> Path:
        """Where the last log was imported from, else the home folder."""
        return self._log_folder if self._log_folder is not None else Path.home()

    # ------------------------------------------------------------------ review
    def open_run(self, path: str | Path, columns: Sequence[str] | None = None) -> RunView:
        """A saved run file; InputError naming the file when it is not one. ``columns``: only
        those channels (and ``time_s``), for a view that draws a few of a long run's."""
        frame, metadata = read_run(path, columns)
        title = " · ".join([metadata.name, f"DynoAI run ({metadata.source})",
                            f"started {readable_time(metadata.started_at, seconds=True)}"])
        return RunView(frame, tuple(metadata.markers), title)

    def import_log(self, path: str | Path) -> RunView:
        """A foreign log (WinPEP, RomRaider, MSL, MLG, Power Vision) mapped onto canonical
        channels, with its markers and what the importer could not use said in the notes."""
        log = import_log(path)
        self._log_folder = Path(path).parent
        notes = [*(f"Not used: {r}" for r in log.refusals), *log.warnings]
        notes.append(f"Widebands: {log.wideband_sides}")
        notes.extend(_unused_notes(log))
        title = f"{Path(path).name} · {log.source_format} · start time not in the log"
        return RunView(log.frame, log.markers, title, tuple(notes))


def _unused_notes(log: ImportedLog) -> list[str]:
    """Every source column the import did not use, none left out (refused ones are in the
    'Not used:' notes with their reason): one line for those with no channel here, one line
    each for the others with why."""
    unused = {name: fate.detail for name, fate in log.columns.items() if fate.status == "unused"}
    no_channel = [name for name, why in unused.items() if why == NO_CHANNEL]
    notes = [f"Unused: '{name}' ({why})" for name, why in unused.items() if why != NO_CHANNEL]
    if no_channel:
        listed = ", ".join(f"'{c}'" for c in no_channel)
        notes.append(f"{len(no_channel)} column(s) with no channel here: {listed}")
    return notes
