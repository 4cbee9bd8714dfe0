"""``dynoai autotune LOG [LOG ...] ... --out DIR`` (FORMATS.md §3): VE corrections from logs."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from dynoai_desktop.app.heat_soak import Found, heat_soak_compensation, load_for
from dynoai_desktop.commands.catalog_option import add_catalog_argument, open_catalog
from dynoai_desktop.core.autotune import (
    AUTOTUNE_CHANNELS,
    SOAK_CHANNELS,
    AutotuneSettings,
    LogData,
    autotune,
)
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.table import Table
from dynoai_desktop.storage.catalog import CATALOG_FILE, default_data_dir
from dynoai_desktop.storage.file_io import write_bytes_atomic
from dynoai_desktop.storage.log_files import read_log_arrays
from dynoai_desktop.storage.table_files import read_table_csv, write_table_csv

HELP = "VE corrections per cylinder from logs: writes corrected tables and report.json"
PROG = "dynoai autotune"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("logs", nargs="+", type=Path, metavar="LOG",
                        help="logs of one session: Log CSV, run Parquet, MSL, WinPEP, "
                        "RomRaider or Power Vision CSV")
    parser.add_argument("--ve-front", type=Path, metavar="FILE",
                        help="front cylinder VE table (Table CSV, map_kpa or tps_pct columns)")
    parser.add_argument("--ve-rear", type=Path, metavar="FILE", help="rear cylinder VE table")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--afr-target", type=Path, metavar="FILE",
                        help="AFR target table (Table CSV); overrides the log's afr_target")
    target.add_argument("--afr-target-value", type=float, metavar="AFR",
                        help="one AFR target everywhere; overrides the log's afr_target")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help="folder for ve_front.csv / ve_rear.csv and report.json")
    parser.add_argument("--max-change-pct", type=float, default=10.0, metavar="P",
                        help="authority: the most a cell moves in this run (default 10)")
    parser.add_argument("--min-weight", type=float, default=AutotuneSettings.min_weight,
                        metavar="W", help="least summed sample weight a cell needs "
                        f"(default {AutotuneSettings.min_weight:g})")
    parser.add_argument("--delay-ms", type=float, metavar="MS",
                        help="wideband delay at all rpm; default: measured from the logs' "
                        "throttle steps, else a default curve")
    parser.add_argument("--no-smooth", action="store_true",
                        help="no smoothing among corrected cells")
    parser.add_argument("--heat-soak", action="store_true",
                        help="after an idle heat soak in a log, the shop's heat-soak model "
                        "takes out what the soak put into the readings (default: kept as read)")
    add_catalog_argument(parser)


def _heat_soak_model(folder: Path | None) -> Found:
    """The shop's heat-soak model from ``--catalog`` or the app's catalog, else the prior (no
    catalog is begun for it)."""
    if folder is None and not (default_data_dir() / CATALOG_FILE).is_file():
        return load_for(None)
    with open_catalog(folder) as catalog:
        return load_for(catalog)


def _fail(message: str) -> int:
    sys.stderr.write(f"{PROG}: {message}\n")
    return 2


def run(args: argparse.Namespace) -> int:
    if args.ve_front is None and args.ve_rear is None:
        return _fail("no VE table given; give --ve-front FILE and/or --ve-rear FILE")
    if not 0 < args.max_change_pct < 100:
        return _fail(f"--max-change-pct {args.max_change_pct:g}: give a percent above 0 "
                     "and below 100")
    if not args.min_weight > 0:
        return _fail(f"--min-weight {args.min_weight:g}: give a weight above 0")
    if args.delay_ms is not None and not 0 <= args.delay_ms <= 2000:
        return _fail(f"--delay-ms {args.delay_ms:g}: give 0 to 2000 ms")
    if args.afr_target_value is not None and not 0 < args.afr_target_value:
        return _fail(f"--afr-target-value {args.afr_target_value:g}: a target must be above 0")
    for path in args.logs:
        if not path.is_file():
            return _fail(f"{path}: no such file; check the path")
    tables: dict[str, Table] = {}
    for name, path in (("ve_front", args.ve_front), ("ve_rear", args.ve_rear)):
        if path is not None:
            tables[name] = read_table_csv(path)
    target: float | Table | None = args.afr_target_value
    if args.afr_target is not None:
        target = read_table_csv(args.afr_target)
    settings = AutotuneSettings(max_change_pct=args.max_change_pct, min_weight=args.min_weight,
                                delay_ms=args.delay_ms, smooth=not args.no_smooth)

    channels = AUTOTUNE_CHANNELS + SOAK_CHANNELS if args.heat_soak else AUTOTUNE_CHANNELS
    logs, notes = [], []
    for n, path in enumerate(args.logs, start=1):
        sys.stderr.write(f"{PROG}: reading {path} ({n}/{len(args.logs)})\n")
        try:
            read = read_log_arrays(path, channels)
            logs.append(LogData.from_frame(str(path), read.columns, read.refusals, channels))
        except InputError as exc:
            if len(args.logs) == 1:
                raise
            notes.append(f"{exc}; left out")
            continue
        notes.extend(read.remarks(path))
    if not logs:
        return _fail(f"no log could be read ({notes[0] if notes else 'none given'})")
    for note in notes:
        sys.stderr.write(f"{PROG}: warning: {note}\n")

    soak = heat_soak_compensation(logs, settings, off=not args.heat_soak,
                                  find=lambda: _heat_soak_model(args.catalog),
                                  off_why="not asked for (--heat-soak takes it out)")
    result = autotune(logs, tables, target, settings,
                      progress=lambda text: sys.stderr.write(f"{PROG}: analysing {text}\n"),
                      compensation=soak.compensation)
    for warning in result.warnings:
        sys.stderr.write(f"{PROG}: warning: {warning}\n")

    args.out.mkdir(parents=True, exist_ok=True)
    for name, correction in result.tables.items():
        write_table_csv(args.out / f"{name}.csv", correction.corrected)
    report = result.report()
    if soak.soaked:
        report["heat_soak"] = soak.report(result.heat_soak)
        sys.stderr.write(f"{PROG}: heat soak: {soak.line(result.heat_soak)}\n")
    report["logs"] = [str(p) for p in args.logs]
    if notes or result.warnings:
        report["warnings"] = [*notes, *result.warnings]
    write_bytes_atomic(args.out / "report.json",
                       (json.dumps(report, indent=1) + "\n").encode("utf-8"))
    changed = {name: int(c.mask.sum()) for name, c in result.tables.items()}
    sys.stderr.write(f"{PROG}: {', '.join(f'{k} {v} cells changed' for k, v in changed.items())};"
                     f" delay {result.delay_source}; wrote {args.out}\n")
    return 0
