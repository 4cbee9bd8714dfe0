"""``dynoai advise-timing LOG [LOG ...] --build BUILD.json --spark-front FILE [--spark-rear FILE]
--out DIR`` (docs/formats.md "`dynoai advise-timing`"): the knock/timing advisor on one session's
logs: the knock-prone cells of each spark table, retard where it knocked, advance where it is
safe, written as advised spark tables and ``timing.json``."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from dynoai_desktop.commands.catalog_option import add_catalog_argument, open_catalog
from dynoai_desktop.commands.models import version_dict
from dynoai_desktop.commands.predict_ve import read_build, scopes_for
from dynoai_desktop.core.autotune import AutotuneSettings
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.overlay.limits import AuthorityLimits
from dynoai_desktop.core.table import Table
from dynoai_desktop.ml.features import Air
from dynoai_desktop.ml.knock import KIND, KnockAdvisor, TableAdvice
from dynoai_desktop.ml.registry import ModelRegistry
from dynoai_desktop.ml.training.patterns.knock import knock_timing
from dynoai_desktop.ml.training.session_data import RunData, SessionData
from dynoai_desktop.storage.file_io import write_bytes_atomic
from dynoai_desktop.storage.log_files import read_log_arrays
from dynoai_desktop.storage.table_files import read_table_csv, write_table_csv

HELP = ("timing advice from one session's logs: knock-prone cells, retard where it knocked, "
        "advance where safe (writes advised spark tables and timing.json)")
PROG = "dynoai advise-timing"
ADVICE_KIND = "dynoai-timing-advice"
SCHEMA_VERSION = 1
CHANNELS = ("time_s", "rpm", "map_kpa", "tps_pct", "spark_front_deg", "spark_rear_deg",
            "knock_retard_front_deg", "knock_retard_rear_deg", "torque_ftlb", "engine_temp_c",
            "iat_c", "baro_kpa")
TABLES = {"front": "spark_front", "rear": "spark_rear"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("logs", nargs="+", type=Path, metavar="LOG",
                        help="logs of one session with knock retard logged: Log CSV, run "
                        "Parquet, MSL, WinPEP, RomRaider or Power Vision CSV")
    parser.add_argument("--build", type=Path, required=True, metavar="BUILD.json",
                        help="the bike's build spec (JSON, docs/formats.md 'Build spec')")
    parser.add_argument("--spark-front", type=Path, metavar="FILE",
                        help="front cylinder spark table (Table CSV, map_kpa columns)")
    parser.add_argument("--spark-rear", type=Path, metavar="FILE",
                        help="rear cylinder spark table")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help="folder for spark_front.csv / spark_rear.csv and timing.json")
    parser.add_argument("--max-advance-deg", type=float,
                        default=AuthorityLimits().max_spark_advance_change_deg, metavar="D",
                        help="spark authority: the most a cell moves either way (default "
                        f"{AuthorityLimits().max_spark_advance_change_deg:g})")
    parser.add_argument("--scope", metavar="S",
                        help="the narrowest model scope: vehicle:<id> or family:<the build's "
                        "family> (default: the build's family, then the shop, then the prior)")
    add_catalog_argument(parser)


def _logs(paths: list[Path]) -> tuple[list[RunData], list[str]]:
    runs, notes = [], []
    for n, path in enumerate(paths, start=1):
        sys.stderr.write(f"{PROG}: reading {path} ({n}/{len(paths)})\n")
        try:
            read = read_log_arrays(path, CHANNELS)
        except InputError as exc:
            if len(paths) == 1:
                raise
            notes.append(f"{exc}; left out")
            continue
        notes.extend(read.remarks(path))
        columns = {k: np.asarray(v, dtype=np.float64) for k, v in read.columns.items()}
        runs.append(RunData(path.name, columns))
    if not runs:
        raise InputError(f"no log could be read ({notes[0] if notes else 'none given'})")
    return runs, notes


def _air(runs: list[RunData], altitude_m: float) -> Air:
    baro = np.concatenate([np.asarray(r.columns.get("baro_kpa", np.empty(0)), dtype=np.float64)
                           for r in runs])
    baro = baro[np.isfinite(baro)]
    return Air(round(float(np.median(baro)), 1)) if baro.size else Air.at_altitude(altitude_m)


def _grid(values: np.ndarray) -> list[list[float]]:
    return [[round(float(x), 3) for x in row] for row in values]


def table_json(advice: TableAdvice, table: Table, file: str) -> dict[str, Any]:
    return {"file": file, "rpm": [float(x) for x in table.row_breakpoints],
            "map_kpa": [float(x) for x in table.col_breakpoints],
            "knock_prone": advice.prone.tolist(), "knocked_here": advice.seen.tolist(),
            "change_deg": _grid(advice.change_deg), "p_knock": _grid(advice.probability),
            "summary": advice.summary()}


def run(args: argparse.Namespace) -> int:
    if not (math.isfinite(args.max_advance_deg) and 0 <= args.max_advance_deg <= 10):
        raise InputError(f"--max-advance-deg {args.max_advance_deg:g}: give 0 to 10 degrees")
    if args.out.exists() and not args.out.is_dir():
        raise InputError(f"--out {args.out}: is a file; give a folder")
    paths = {"front": args.spark_front, "rear": args.spark_rear}
    if not any(paths.values()):
        raise InputError("no spark table given; give --spark-front FILE and/or --spark-rear FILE")
    for log in args.logs:
        if not log.is_file():
            raise InputError(f"{log}: no such file; check the path")
    build = read_build(args.build)
    tables = {cyl: read_table_csv(p) for cyl, p in paths.items() if p is not None}
    for cyl, table in tables.items():
        if table.col_axis != "map_kpa":
            raise InputError(f"--spark-{cyl} {paths[cyl]}: its columns are {table.col_axis}; "
                             "timing advice is for MAP-based spark tables")
    runs, notes = _logs(list(args.logs))
    session = SessionData("advise-timing", "", build, tuple(runs), {}, {},
                          spark={TABLES[c]: t for c, t in tables.items()})
    record, why = knock_timing(session, AutotuneSettings())
    if record is None:
        notes.append(f"{why}; the mask is the model's alone")
    with open_catalog(args.catalog) as catalog:
        registry = ModelRegistry(catalog)
        version = registry.resolve(KIND, scopes_for(build, args.scope))
        model: KnockAdvisor = registry.load(version)
    with threadpool_limits(limits=1):
        advice = model.advise(build, _air(runs, build.altitude_m), tables, record,
                              args.max_advance_deg)
    notes += advice.notes
    args.out.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {}
    for table_advice in advice.tables:
        table = tables[table_advice.cylinder]
        name = TABLES[table_advice.cylinder]
        advised = table.with_values(np.round(table.values + table_advice.change_deg, 2))
        write_table_csv(args.out / f"{name}.csv", advised)
        out[name] = table_json(table_advice, table, f"{name}.csv")
        print(f"{name}: {table_advice.summary()}")
    report = {"kind": ADVICE_KIND, "schema_version": SCHEMA_VERSION,
              "model": version_dict(version), "build": build.to_dict(),
              "logs": [str(p) for p in args.logs], "max_advance_deg": args.max_advance_deg,
              "working": model.working, "tables": out, "notes": notes}
    write_bytes_atomic(args.out / "timing.json",
                       (json.dumps(report, indent=1, ensure_ascii=False) + "\n").encode())
    for note in notes:
        sys.stderr.write(f"{PROG}: note: {note}\n")
    sys.stderr.write(f"{PROG}: {version.kind} {version.scope} {version.label}; wrote "
                     f"{args.out}\n")
    return 0
