"""The run library's tree: customers -> vehicles -> sessions -> runs, each run with what a tuner
picks it by (name, start, length, peak power, recorded or recovered).

Plain frozen data built from a handful of catalog queries (``RunLibrary.tree``), so the run
browser draws it and the run comparison lists runs from any session without opening a file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from dynoai_desktop.core.power import PeakPower
from dynoai_desktop.storage.catalog import Customer, RunRecord, Session, Vehicle

STATUS_WORDS = {"complete": "recorded", "recovered": "recovered", "recording": "recording"}
"""The catalog's run status as the library says it (RUN_STATUSES)."""


@dataclass(frozen=True)
class RunEntry:
    """A run in the library: its catalog record and its peak power."""

    record: RunRecord
    peak: PeakPower | None = None
    """Observed peak power (None: no power readings, or not worked out yet)."""
    peak_known: bool = False
    """False: the peak is not worked out yet (a run saved before the catalog kept peaks);
    ``RunLibrary.runs_of_session`` works it out from the run file."""
    problem: str = ""
    """Why the run file could not be read, when it could not."""

    @property
    def id(self) -> int:
        return self.record.id

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def session_id(self) -> int:
        return self.record.session_id

    @property
    def status(self) -> str:
        """'recorded', 'recovered' (rebuilt after a crash) or 'recording'."""
        return STATUS_WORDS.get(self.record.status, self.record.status)

    @property
    def corrected_peak_hp(self) -> float | None:
        """The peak times the run's SAE J1349 factor (None: no peak or no factor)."""
        if self.peak is None:
            return None
        return self.peak.corrected_hp(self.record.weather.correction_factor)


@dataclass(frozen=True)
class SessionNode:
    session: Session
    runs: tuple[RunEntry, ...]
    """In the order they were made."""

    @property
    def id(self) -> int:
        return self.session.id

    @property
    def best_peak(self) -> PeakPower | None:
        """The highest peak power of the session's runs (None: none known)."""
        peaks = [r.peak for r in self.runs if r.peak is not None]
        return max(peaks, key=lambda p: p.power_hp) if peaks else None


@dataclass(frozen=True)
class VehicleNode:
    vehicle: Vehicle
    sessions: tuple[SessionNode, ...]
    """Newest first."""


@dataclass(frozen=True)
class CustomerNode:
    customer: Customer
    vehicles: tuple[VehicleNode, ...]


def build_tree(customers: Sequence[Customer], vehicles: Sequence[Vehicle],
               sessions: Sequence[Session], runs: Sequence[RunRecord],
               peaks: Mapping[int, PeakPower | None]) -> tuple[CustomerNode, ...]:
    """Customers by name, their vehicles oldest first, each vehicle's sessions newest first,
    each session's runs in the order they were made; ``peaks`` as ``Catalog.run_peaks``."""
    runs_by_session: dict[int, list[RunEntry]] = {}
    for record in runs:
        runs_by_session.setdefault(record.session_id, []).append(
            RunEntry(record, peaks.get(record.id), record.id in peaks))
    sessions_by_vehicle: dict[int, list[SessionNode]] = {}
    for session in sorted(sessions, key=lambda s: (s.started_at, s.id), reverse=True):
        sessions_by_vehicle.setdefault(session.vehicle_id, []).append(
            SessionNode(session, tuple(runs_by_session.get(session.id, ()))))
    vehicles_by_customer: dict[int, list[VehicleNode]] = {}
    for vehicle in vehicles:
        vehicles_by_customer.setdefault(vehicle.customer_id, []).append(
            VehicleNode(vehicle, tuple(sessions_by_vehicle.get(vehicle.id, ()))))
    return tuple(CustomerNode(c, tuple(vehicles_by_customer.get(c.id, ())))
                 for c in sorted(customers, key=lambda c: (c.name.casefold(), c.id)))


def sessions_of(tree: Iterable[CustomerNode]) -> list[SessionNode]:
    """Every session in the tree."""
    return [s for c in tree for v in c.vehicles for s in v.sessions]


def newest_session(tree: Iterable[CustomerNode]) -> SessionNode | None:
    """The session started last (None: no session yet)."""
    return max(sessions_of(tree), key=lambda s: (s.session.started_at, s.id), default=None)


def readable_length(seconds: float | None) -> str:
    """A run's length as a dyno's run list gives it: '0:42', '12:05', '1:02:05' (m:ss, h:mm:ss);
    '' when unknown."""
    if seconds is None:
        return ""
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}:{secs:02d}"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"
