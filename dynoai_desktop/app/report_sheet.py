"""The customer's sheet gathered: from a catalog session (its customer, vehicle, build, runs,
weather and tune versions) or from runs and logs named one by one; Qt-free, for the command
line (``dynoai report``) and the window alike.

Which pulls go on a session's sheet (docs/formats.md "`dynoai report`"):

- **before**: the runs named ``baseline…`` or ``before…`` (the simulated shop's "baseline
  pulls"); without such names, the runs recorded on the session's first tune version (the
  lowest version a run with a pull names); with no versions recorded, the first run with a pull;
- **after**: the runs named ``final…`` or ``after…``; else the runs on the newest tune version a
  run with a pull names; else the last run with a pull;
- in each set, the pull with the highest corrected peak power. When both sets come to the same
  runs (one tune version, no names), the sheet has the after curves only.

The table changes are the session's tune from its start (the version its first run names) to
its end (the newest version made by the time the session ended). Reading the catalog happens
where :func:`session_sources` is called (the UI thread: SQLite connections stay on their
thread); reading the runs and making the sheet (:func:`session_sheet`) may run on a worker.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.core.display import DisplayUnits
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.power_curves import (
    DEFAULT_SMOOTHING,
    PULL_MIN_DURATION_S,
    PULL_MIN_RISE_RPM_S,
    PULL_MIN_SPAN_RPM,
    PULL_MIN_TPS_PCT,
    Pull,
    Standard,
    find_pulls,
    power_curve,
    weather_of,
)
from dynoai_desktop.core.sheet import (
    DEFAULT_PAPER,
    CustomerSheet,
    SheetCurve,
    ShopHeader,
    afr_target_on_grid,
)
from dynoai_desktop.core.table_changes import TuneChanges, tune_changes
from dynoai_desktop.core.tune import TuneVersion
from dynoai_desktop.core.weather import Weather
from dynoai_desktop.storage.catalog import Catalog, Customer, RunRecord, Session, Vehicle
from dynoai_desktop.storage.log_files import PARQUET_SUFFIXES, read_any_log
from dynoai_desktop.storage.run_files import read_run_metadata

if TYPE_CHECKING:
    import pandas as pd

CURVE_CHANNELS = ("rpm", "tps_pct", "speed_mph", "torque_ftlb", "power_hp", "afr_front",
                  "afr_rear", "afr_target", "baro_kpa", "ambient_temp_c", "humidity_pct")
BEFORE_NAMES = ("baseline", "before")
AFTER_NAMES = ("final", "after")
USABLE_STATUSES = ("complete", "recovered")
PULL_RULE = (f"rpm rising at {PULL_MIN_RISE_RPM_S:g} rpm/s or more with the throttle at "
             f"{PULL_MIN_TPS_PCT:g} % or more, over {PULL_MIN_SPAN_RPM:,.0f} rpm and "
             f"{PULL_MIN_DURATION_S:g} s at least")


@dataclass(frozen=True)
class SheetOptions:
    """How the sheet is made: correction standard, smoothing, units, shop, paper, and the
    tuner's notes (None: the session's own)."""

    standard: Standard = Standard.SAE_J1349
    smoothing: int = DEFAULT_SMOOTHING
    units: DisplayUnits = field(default_factory=DisplayUnits)
    shop: ShopHeader = field(default_factory=ShopHeader)
    paper: str = DEFAULT_PAPER
    notes: str | None = None


@dataclass(frozen=True)
class RunSource:
    """A run or log to read: where, what to call it, the air recorded with it and the tune
    version it ran on (catalog runs)."""

    label: str
    path: Path
    name: str
    weather: Weather | None = None
    tune_version: int | None = None


@dataclass(frozen=True)
class Header:
    """Who and what the sheet is for."""

    customer: str = ""
    vehicle: str = ""
    vin: str = ""
    build: BuildSpec | None = None
    date: str = ""
    session: str = ""


@dataclass(frozen=True)
class SessionSources:
    """What the catalog says about a session: read on the catalog's thread, used anywhere."""

    session: Session
    header: Header
    runs: tuple[RunSource, ...]
    tune_name: str = ""
    start: TuneVersion | None = None
    end: TuneVersion | None = None


def printed_date(iso: str) -> str:
    """'2025-03-03T08:30:00+00:00' as '3 March 2025' (the text itself when it is not ISO)."""
    try:
        when = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{when.day} {when:%B %Y}"


def run_source(catalog: Catalog, record: RunRecord) -> RunSource:
    return RunSource(f"run {record.id} '{record.name}'", catalog.run_path(record), record.name,
                     record.weather, record.tune_version_id)


def file_source(path: Path) -> RunSource:
    """A run file or log given by name; InputError when it is not there."""
    if not path.is_file():
        state = "is a folder" if path.is_dir() else "no such file"
        raise InputError(f"{path}: {state}; give a run file or log")
    if path.suffix.lower() in PARQUET_SUFFIXES:
        metadata = read_run_metadata(path)
        return RunSource(path.name, path, metadata.name, metadata.weather)
    return RunSource(path.name, path, path.stem)


def session_header(catalog: Catalog, session: Session) -> Header:
    vehicle: Vehicle = catalog.vehicle(session.vehicle_id)
    customer: Customer = catalog.customer(vehicle.customer_id)
    about = f"Session {session.id}"
    if session.operator:
        about += f" · tuner {session.operator}"
    return Header(customer.name, vehicle.name, vehicle.vin, vehicle.build_spec,
                  printed_date(session.started_at), about)


def session_sources(catalog: Catalog, session_id: int) -> SessionSources:
    """The session's customer, vehicle, usable runs and its tune at start and end; InputError
    for a session the catalog does not hold."""
    session = catalog.session(session_id)
    records = [r for r in catalog.runs(session_id) if r.status in USABLE_STATUSES]
    runs = tuple(run_source(catalog, r) for r in records)
    if session.tune_id is None:
        return SessionSources(session, session_header(catalog, session), runs)
    history = catalog.history(session.tune_id)
    name = next((t.name for t in catalog.tunes() if t.id == session.tune_id), "")
    numbers = [r.tune_version_id for r in records if r.tune_version_id is not None]
    start = history.version(min(numbers)) if numbers else _made_by(history.versions,
                                                                   session.started_at)
    end = _made_by(history.versions, session.ended_at) if session.ended_at else history.latest
    if start is not None and (end is None or end.number < start.number):
        end = start
    return SessionSources(session, session_header(catalog, session), runs, name, start, end)


def _made_by(versions: Sequence[TuneVersion], iso: str) -> TuneVersion | None:
    """The newest version made at or before ``iso`` (the newest of all when the times cannot
    be compared)."""
    try:
        when = datetime.fromisoformat(iso)
        made = [v for v in versions if datetime.fromisoformat(v.when) <= when]
    except (ValueError, TypeError):
        return versions[-1] if versions else None
    return made[-1] if made else (versions[0] if versions else None)


# ------------------------------------------------------------------ reading the pulls
@dataclass(frozen=True, eq=False)
class PulledRun:
    """A run read, with its pulls."""

    source: RunSource
    frame: pd.DataFrame
    pulls: tuple[Pull, ...]


def read_pulls(source: RunSource) -> PulledRun:
    """The run's samples on the curve channels and its pulls; InputError naming the file."""
    read = read_any_log(source.path, CURVE_CHANNELS)
    return PulledRun(source, read.frame, tuple(find_pulls(read.frame)))


def best_pull(runs: Sequence[PulledRun], options: SheetOptions, role: str) -> SheetCurve:
    """The pull with the highest corrected peak power among ``runs``; InputError when none
    has a pull."""
    best: tuple[float, SheetCurve] | None = None
    count = sum(len(r.pulls) for r in runs)
    for run in runs:
        for n, pull in enumerate(run.pulls, start=1):
            curve = power_curve(run.frame, pull, run.source.weather,
                                options.standard, options.smoothing)
            peak = curve.peak_power[0]
            if best is not None and not (peak > best[0]):
                continue
            where = (f"{run.source.label}, pull {n} of {len(run.pulls)} "
                     f"({pull.rpm_from:,.0f}–{pull.rpm_to:,.0f} rpm)")
            if count > 1:
                where += f": the best of {count} pulls"
            air = weather_of(run.frame, pull, run.source.weather)
            target = afr_target_on_grid(run.frame, pull, curve)
            best = (peak if not math.isnan(peak) else -math.inf,
                    SheetCurve(curve, target, where, air))
    if best is None:
        names = ", ".join(r.source.label for r in runs) or "no run"
        raise InputError(f"no full-throttle pull in {names} for the {role} curves "
                         f"(a pull is {PULL_RULE}); give a run with a dyno pull")
    return best[1]


def _curves(after_runs: Sequence[PulledRun], before_runs: Sequence[PulledRun],
            options: SheetOptions, warnings: list[str]) -> tuple[SheetCurve, SheetCurve | None]:
    """The best pull of each set, like with like: when one of them could not be corrected (no
    weather recorded), both are drawn uncorrected."""
    after = best_pull(after_runs, options, "after")
    before = best_pull(before_runs, options, "before") if before_runs else None
    if before is None or before.curve.standard is after.curve.standard:
        return after, before
    observed = replace(options, standard=Standard.UNCORRECTED)
    if after.curve.standard is Standard.UNCORRECTED:
        warnings.append("before: drawn uncorrected too, to compare like with like")
        return after, best_pull(before_runs, observed, "before")
    warnings.append("after: drawn uncorrected too, to compare like with like")
    return best_pull(after_runs, observed, "after"), before


def _named(runs: Sequence[PulledRun], words: tuple[str, ...]) -> list[PulledRun]:
    return [r for r in runs if r.source.name.strip().lower().startswith(words)]


def choose_runs(runs: Sequence[PulledRun]) -> tuple[list[PulledRun], list[PulledRun]]:
    """(before, after) runs of a session by the rule in the module's docstring; ``runs`` are
    those with a pull, in the order they were made. Before is empty when it would be after."""
    if not runs:
        return [], []
    versions = sorted({r.source.tune_version for r in runs if r.source.tune_version is not None})
    before = _named(runs, BEFORE_NAMES) or (
        [r for r in runs if r.source.tune_version == versions[0]] if versions else [runs[0]])
    after = _named(runs, AFTER_NAMES) or (
        [r for r in runs if r.source.tune_version == versions[-1]] if versions else [runs[-1]])
    if {id(r) for r in before} == {id(r) for r in after}:
        before = []
    return before, after


def _read_all(sources: Sequence[RunSource], warnings: list[str]) -> list[PulledRun]:
    """Each source read; one that cannot be read is a warning when others can."""
    runs = []
    for source in sources:
        try:
            runs.append(read_pulls(source))
        except InputError as exc:
            if len(sources) == 1:
                raise
            warnings.append(f"{source.label} left out: {exc}")
    return runs


def session_sheet(sources: SessionSources, options: SheetOptions) -> CustomerSheet:
    """The sheet of a session; InputError when no run of it has a pull."""
    warnings: list[str] = []
    with_pulls = [r for r in _read_all(sources.runs, warnings) if r.pulls]
    if not with_pulls:
        raise InputError(f"session {sources.session.id} has no run with a full-throttle pull "
                         f"(a pull is {PULL_RULE}); record a pull first")
    before_runs, after_runs = choose_runs(with_pulls)
    after, before = _curves(after_runs, before_runs, options, warnings)
    remarks = [f"before: {before.source}" if before is not None else
               "before: none (every pull ran on the same tune; name the runs 'baseline …' "
               "and 'final …' to choose)", f"after: {after.source}"]
    tune, changes = "", None
    if sources.start is not None and sources.end is not None:
        changes = tune_changes(sources.start.tune.tables, sources.end.tune.tables)
        tune = _tune_words(sources.tune_name, sources.start, sources.end)
    notes = options.notes if options.notes is not None else sources.session.notes
    return _sheet(after, before, sources.header, options, (tune, changes), notes, remarks,
                  warnings)


def _tune_words(name: str, start: TuneVersion, end: TuneVersion) -> str:
    named = f"Tune '{name}'" if name else "Tune"
    if start.number == end.number:
        return f"{named}, version {start.number}: not changed in this session"
    made = end.number - start.number
    return (f"{named}: version {start.number} ({start.made_by}) → version {end.number} "
            f"({end.made_by}), {made} new version{'s' if made > 1 else ''}")


def runs_sheet(after: Sequence[RunSource], before: Sequence[RunSource], options: SheetOptions,
               header: Header | None = None) -> CustomerSheet:
    """The sheet of runs and logs named one by one: after = the best pull of ``after``,
    before = that of ``before`` (none given: a sheet of one set of curves)."""
    warnings: list[str] = []
    after_curve, before_curve = _curves(_read_all(after, warnings), _read_all(before, warnings)
                                        if before else [], options, warnings)
    remarks = [f"after: {after_curve.source}"]
    if before_curve is not None:
        remarks.insert(0, f"before: {before_curve.source}")
    header = header or Header(date=printed_date(datetime.now().astimezone().isoformat()))
    return _sheet(after_curve, before_curve, header, options, ("", None), options.notes or "",
                  remarks, warnings)


def _sheet(after: SheetCurve, before: SheetCurve | None, header: Header, options: SheetOptions,
           tune: tuple[str, TuneChanges | None], notes: str, remarks: list[str],
           warnings: list[str]) -> CustomerSheet:
    for curve, role in ((before, "before"), (after, "after")):
        if curve is not None:
            warnings.extend(f"{role}: {note}" for note in curve.curve.notes)
    return CustomerSheet(
        after=after, before=before, shop=options.shop, customer=header.customer,
        vehicle=header.vehicle, vin=header.vin, build=header.build, date=header.date,
        session=header.session, tune=tune[0], changes=tune[1], notes=notes.strip(),
        units=options.units, paper=options.paper, remarks=tuple(remarks),
        warnings=tuple(warnings))
