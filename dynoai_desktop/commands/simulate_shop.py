"""``dynoai simulate-shop``: a shop's tuning history played on the virtual cell, into a catalog.

    dynoai simulate-shop --sessions N --catalog DIR [--seed S] [--jobs J] [--builds FILE.json]
                         [--export-dataset FILE.json]

Draws the shop's bikes (``sim.shop``: builds from a typical shop's mix, each its own bike, the
day's weather), plays each one's tuning session on its own virtual cell in log mode
(``commands.shop_session``: base map, warm-up, autotune rounds, decel-pop fix, heat soak) in
worker processes, and writes every session into the catalog at ``DIR/catalog.sqlite`` as the app
keeps a real one: the customer, the vehicle with its build, the tune and its versions, the
session (its notes say it was simulated, and with which seed), each run with its Parquet run
file and markers, and each run's coverage of the VE tables. Only this process writes the
catalog; sessions are written in order, so the same seed gives the same catalog whatever
``--jobs`` is. Progress goes to stderr; the contract is docs/formats.md.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from dynoai_desktop.commands.shop_played import PlayedRun, PlayedSession, SessionProfile
from dynoai_desktop.commands.shop_session import play_session
from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.plan import DEFAULT_FAN_CFM
from dynoai_desktop.core.power import peak_power
from dynoai_desktop.core.table import Table
from dynoai_desktop.core.tune import Tune
from dynoai_desktop.sim.scatter import BIKE_SEED_MAX
from dynoai_desktop.sim.shop import ShopBike, base_map_names, draw_shop
from dynoai_desktop.storage.catalog import (
    CATALOG_FILE,
    Catalog,
    CatalogDamaged,
    CatalogTooNew,
    CatalogUnavailable,
)
from dynoai_desktop.storage.file_io import read_bytes, write_bytes_atomic
from dynoai_desktop.storage.resources import base_map_tables
from dynoai_desktop.storage.run_files import RunMetadata, write_run
from dynoai_desktop.storage.settings import DevicePort

HELP = ("play a shop's tuning history on the virtual cell (log mode) and write every session "
        "into a catalog, as the app keeps real ones")
PROG = "dynoai simulate-shop"
MAX_SESSIONS = 100_000
MAX_JOBS = 256
OPERATOR = "dynoai simulate-shop"
EXIT_INTERRUPTED = 130  # Ctrl-C, as a shell reports it


def notes_for(seed: int) -> str:
    """The notes every generated session carries (the training collection reads them)."""
    return f"simulated by dynoai simulate-shop (seed {seed})"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sessions", type=int, required=True, metavar="N",
                        help="how many tuning sessions to play (one bike each)")
    parser.add_argument("--catalog", type=Path, required=True, metavar="DIR",
                        help="the folder of the catalog to write into (created if missing; "
                             f"the catalog is DIR/{CATALOG_FILE}, run files under DIR/runs)")
    parser.add_argument("--seed", type=int, default=1, metavar="S",
                        help="the shop's seed (0 to 2^31-1, default 1): the same seed gives "
                             "the same bikes, weather and sessions")
    parser.add_argument("--jobs", type=int, default=None, metavar="J",
                        help="sessions played at once, one worker process each (default: the "
                             f"CPU count, {os.cpu_count() or 1} here)")
    parser.add_argument("--builds", type=Path, metavar="FILE.json",
                        help="a JSON list of build specs (docs/formats.md) to play in turn "
                             "instead of the shop's random mix")
    parser.add_argument("--export-dataset", type=Path, metavar="FILE.json",
                        help="afterwards, write the generated sessions' training records as a "
                             "dataset (docs/formats.md, Training data)")


# ----------------------------------------------------------------------------- inputs
def _check(args: argparse.Namespace) -> int:
    """The options checked before anything is simulated; returns the job count."""
    if not 1 <= args.sessions <= MAX_SESSIONS:
        raise InputError(f"--sessions {args.sessions}: give 1 to {MAX_SESSIONS} sessions")
    if not 0 <= args.seed <= BIKE_SEED_MAX:
        raise InputError(f"--seed {args.seed}: give a whole number 0 to {BIKE_SEED_MAX}")
    jobs = args.jobs if args.jobs is not None else (os.cpu_count() or 1)
    if not 1 <= jobs <= MAX_JOBS:
        raise InputError(f"--jobs {args.jobs}: give 1 to {MAX_JOBS} worker processes")
    if args.catalog.exists() and not args.catalog.is_dir():
        raise InputError(f"--catalog {args.catalog}: is a file; give a folder (the catalog "
                         f"{CATALOG_FILE} and its run files are kept in it)")
    out = args.export_dataset
    if out is not None:
        if out.suffix.lower() != ".json":
            raise InputError(f"--export-dataset {out}: give a file name ending in .json")
        if out.is_dir():
            raise InputError(f"--export-dataset {out}: is a folder; give a file name")
    return jobs


def read_builds(path: Path) -> list[BuildSpec]:
    """The builds of a ``--builds`` file: a JSON list of build specs."""
    try:
        text = read_bytes(path).decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"--builds {path}: not UTF-8 JSON text") from None
    except InputError as exc:  # missing, a folder, unreadable: said by file_io
        raise InputError(f"--builds {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"--builds {path}: not valid JSON (line {exc.lineno}, column "
                         f"{exc.colno}: {exc.msg})") from None
    if not isinstance(data, list) or not data:
        raise InputError(f"--builds {path}: give a JSON list of one or more build specs")
    return [BuildSpec.from_dict(item, f"--builds {path}: build {i + 1}")
            for i, item in enumerate(data)]


def open_catalog(folder: Path) -> Catalog:
    """The catalog in ``folder`` (created when new); InputError naming ``--catalog``."""
    try:
        return Catalog(folder / CATALOG_FILE)
    except CatalogTooNew as exc:
        raise InputError(f"--catalog {folder}: the catalog is from a newer DynoAI (schema "
                         f"{exc.version}); update DynoAI or give another folder") from None
    except CatalogDamaged as exc:
        raise InputError(f"--catalog {folder}: the catalog is damaged ({exc.reason}); give "
                         "another folder") from None
    except CatalogUnavailable as exc:
        raise InputError(f"--catalog {folder}: the catalog cannot be opened ({exc.reason}): "
                         f"{exc.hint}") from None


def base_maps(bike: ShopBike, cache: dict[tuple[str, int], tuple[Table, Table]]
              ) -> tuple[Table, Table]:
    """The shipped generic base maps (front, rear) for the bike's family and stage."""
    key = (bike.build.engine_family.value, bike.build.stage)
    if key not in cache:
        cache[key] = base_map_tables(*key)
    return cache[key]


# ----------------------------------------------------------------------------- playing
Task = tuple[ShopBike, tuple[Table, Table], SessionProfile]


def _play(task: Task) -> PlayedSession:
    bike, maps, profile = task
    return play_session(bike, maps, profile)


def played_in_order(tasks: Sequence[Task], jobs: int) -> Iterator[PlayedSession]:
    """Each task's session, in the tasks' order; ``jobs`` > 1 plays them in worker processes
    (spawned: nothing of this process's state, the catalog least of all, is shared)."""
    if jobs == 1 or len(tasks) == 1:
        for task in tasks:
            yield _play(task)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), mp_context=context) as pool:
        # Submitted a few ahead of what is written, so finished sessions do not pile up.
        ahead = 2 * jobs
        futures: list[Future[PlayedSession]] = []
        try:
            for n in range(len(tasks)):
                while len(futures) < min(len(tasks), n + ahead):
                    futures.append(pool.submit(_play, tasks[len(futures)]))
                yield futures[n].result()
                futures[n] = None  # type: ignore[call-overload]  # let it go
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


# ----------------------------------------------------------------------------- the catalog
def _iso(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds")


def write_session(catalog: Catalog, played: PlayedSession, seed: int) -> int:
    """Keep one played session in the catalog as the app keeps a recorded one; its id."""
    bike, build = played.bike, played.bike.build
    start = bike.started_at

    def at(seconds: float) -> str:
        return _iso(start + timedelta(seconds=seconds))

    customer = catalog.add_customer(bike.customer, notes="simulated customer", when=at(0.0))
    vehicle = catalog.add_vehicle(customer, bike.vehicle, build, when=at(0.0))
    base = played.base
    first = played.versions[0]
    tables = {t.name: t for t in (first.ve_front, first.ve_rear, base.afr_target,
                                  base.spark_front, base.spark_rear)}
    source = f"generic base map {', '.join(base_map_names(build.engine_family, build.stage))}"
    tune = Tune(tables, build, source)
    label = f"{bike.vehicle} ({build.engine_family.label}, stage {build.stage})"
    tune_id = catalog.add_tune(label, tune, at(0.0), first.note)
    session = catalog.start_session(vehicle, at(0.0), OPERATOR, notes_for(seed), tune_id)
    versions = list(played.versions[1:])
    for run in played.runs:
        while versions and versions[0].at_s <= run.start_s:
            version = versions.pop(0)
            tune = tune.with_table(version.ve_front).with_table(version.ve_rear)
            catalog.record_version(tune_id, tune, version.made_by, at(version.at_s), version.note)
        _write_run(catalog, session, vehicle, run, at, bike, played.devices)
    for version in versions:  # made after the last run (none, as sessions are played)
        tune = tune.with_table(version.ve_front).with_table(version.ve_rear)
        catalog.record_version(tune_id, tune, version.made_by, at(version.at_s), version.note)
    last = played.runs[-1]
    catalog.end_session(session, at(last.start_s + last.duration_s + 60.0))
    return session


def _write_run(catalog: Catalog, session: int, vehicle: int, run: PlayedRun,
               at: Callable[[float], str], bike: ShopBike, devices: tuple[DevicePort, ...]
               ) -> None:
    """A run as the recorder leaves it: its run file, the run (recording, then complete with
    its length, rows and markers) and its coverage of each VE table (as the app counts a
    saved run in)."""
    started = at(run.start_s)
    file = catalog.new_run_file(session, started, run.name)
    metadata = RunMetadata(run.name, started, devices, run.markers, bike.weather)
    write_run(catalog.data_dir / file, run.columns, metadata)
    run_id = catalog.add_run(session, run.name, started, file, "recording", devices,
                             bike.weather, run.tune_version)
    ended = at(run.start_s + run.duration_s)
    catalog.finish_run(run_id, ended, run.duration_s, run.rows, run.markers, "complete")
    power = run.columns.get("power_hp")
    catalog.set_run_peak(run_id, None if power is None else peak_power(
        power, run.columns.get("rpm")), ended)
    for name, cov in run.coverage.items():
        catalog.add_coverage(vehicle, name, f"run:{run_id}", cov.axes.load_channel,
                             cov.axes.rpm, cov.axes.load, cov.weight, cov.hits, ended)


# ----------------------------------------------------------------------------- progress
class Progress:
    """``session 12/200 ... eta 4 min`` on stderr: one line redrawn on a terminal, a line per
    session otherwise."""

    def __init__(self, total: int, stream: object = None) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.started = time.monotonic()
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def update(self, done: int, what: str) -> None:
        elapsed = time.monotonic() - self.started
        left = elapsed / done * (self.total - done) if done else 0.0
        eta = f"eta {left / 60.0:.0f} min" if left >= 90 else f"eta {left:.0f} s"
        line = f"{PROG}: session {done}/{self.total} ({what}) ... {eta}"
        write = self.stream.write  # type: ignore[attr-defined]
        if self.tty:
            write("\r" + line[:118].ljust(118))
            if done == self.total:
                write("\n")
        else:
            write(line + "\n")
        self.stream.flush()  # type: ignore[attr-defined]


# ----------------------------------------------------------------------------- the command
def simulate_shop(folder: Path, sessions: int, seed: int, jobs: int,
                  builds: Sequence[BuildSpec] | None = None,
                  profile: SessionProfile | None = None,
                  progress: Progress | None = None,
                  written: list[int] | None = None) -> list[int]:
    """Play ``sessions`` sessions of the shop with ``seed`` and write them into the catalog in
    ``folder``; the new sessions' ids, in order (also appended to ``written`` as each is
    written, so a caller knows what was kept when it is interrupted)."""
    bikes = draw_shop(seed, sessions, builds)
    profile = profile or SessionProfile()
    cache: dict[tuple[str, int], tuple[Table, Table]] = {}
    tasks = [(bike, base_maps(bike, cache), profile) for bike in bikes]
    written = [] if written is None else written
    with open_catalog(folder) as catalog:
        for n, played in enumerate(played_in_order(tasks, jobs), start=1):
            written.append(write_session(catalog, played, seed))
            if progress is not None:
                build = played.bike.build
                progress.update(n, f"{build.engine_family.label} stage {build.stage}, "
                                   f"{played.duration_s / 60.0:.1f} sim min")
    return written


def export_dataset(folder: Path, session_ids: Sequence[int], out: Path, seed: int) -> int:
    """The generated sessions' training records as one dataset file; how many were written.

    Each session is read from the catalog as the app reads a saved one
    (``ml.training.from_catalog``), with what the generator knows beside it: the decel
    fan of the virtual cell (not a logged channel)."""
    from dynoai_desktop.ml.training.dataset import dataset_json
    from dynoai_desktop.ml.training.extract import extract
    from dynoai_desktop.ml.training.from_catalog import read_session
    from dynoai_desktop.ml.training.records import DATASET_KIND, SCHEMA_VERSION, Dataset

    records = []
    with open_catalog(folder) as catalog:
        for sid in session_ids:
            data = replace(read_session(catalog, sid), fan_cfm=DEFAULT_FAN_CFM)
            records.append(extract(data))
    dataset = Dataset(schema_version=SCHEMA_VERSION, kind=DATASET_KIND, sessions=records,
                      created_at=records[-1].started_at if records else "",
                      source=notes_for(seed))
    write_bytes_atomic(out, dataset_json(dataset).encode("utf-8"))
    return len(records)


def run(args: argparse.Namespace) -> int:
    jobs = _check(args)
    builds = read_builds(args.builds) if args.builds is not None else None
    started = time.monotonic()
    progress = Progress(args.sessions)
    ids: list[int] = []
    try:
        simulate_shop(args.catalog, args.sessions, args.seed, jobs, builds, progress=progress,
                      written=ids)
    except KeyboardInterrupt:
        sys.stderr.write(f"\n{PROG}: stopped; the {len(ids)} sessions written so far are kept "
                         f"in {args.catalog / CATALOG_FILE}\n")
        return EXIT_INTERRUPTED
    minutes = (time.monotonic() - started) / 60.0
    sys.stderr.write(f"{PROG}: wrote {len(ids)} sessions to {args.catalog / CATALOG_FILE} in "
                     f"{minutes:.1f} min\n")
    if args.export_dataset is not None:
        count = export_dataset(args.catalog, ids, args.export_dataset, args.seed)
        sys.stderr.write(f"{PROG}: wrote {count} training records to {args.export_dataset}\n")
    return 0
