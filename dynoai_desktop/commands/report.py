"""``dynoai report (--session ID | RUN_OR_LOG ...) [--before RUN_OR_LOG ...] --out sheet.pdf``
(docs/formats.md "`dynoai report`"): the customer's before/after dyno sheet as a PDF, made
without Qt."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

from dynoai_desktop.app.report_sheet import (
    Header,
    RunSource,
    SheetOptions,
    file_source,
    run_source,
    runs_sheet,
    session_header,
    session_sheet,
    session_sources,
)
from dynoai_desktop.commands.catalog_option import add_catalog_argument, open_catalog
from dynoai_desktop.core.display import DisplayUnits
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.power_curves import (
    DEFAULT_SMOOTHING,
    SMOOTHING_LEVELS,
    Standard,
    parse_standard,
)
from dynoai_desktop.core.sheet import PAPER_SIZES_IN, CustomerSheet, ShopHeader, headline
from dynoai_desktop.storage.catalog import Catalog
from dynoai_desktop.storage.file_io import write_bytes_atomic
from dynoai_desktop.storage.settings import Settings, SettingsStore
from dynoai_desktop.storage.sheet_pdf import sheet_pdf_bytes

HELP = ("the customer's before/after dyno sheet as a PDF: power and torque curves with their "
        "peaks, AFR traces, the weather and correction, what changed in the tune, the notes")
PROG = "dynoai report"
UNIT_PRESETS = ("settings", "us", "metric")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="*", metavar="RUN_OR_LOG",
                        help="the 'after' runs: a catalog run id (a whole number) or a run file "
                        "or log (Log CSV, run Parquet, WinPEP, Power Vision, RomRaider, MSL); "
                        "the best pull of them is drawn")
    parser.add_argument("--session", type=int, metavar="ID",
                        help="a catalog session: its before and after pulls, its tune's "
                        "changes and its notes (instead of RUN_OR_LOG)")
    parser.add_argument("--before", nargs="+", default=[], metavar="RUN_OR_LOG",
                        help="with RUN_OR_LOG: the 'before' runs (their best pull)")
    parser.add_argument("--out", type=Path, required=True, metavar="SHEET.pdf",
                        help="the PDF to write (created or replaced)")
    parser.add_argument("--standard", default=Standard.SAE_J1349.value,
                        metavar="|".join(s.value for s in Standard),
                        help="the correction standard the figures are quoted in (default sae: "
                        "SAE J1349)")
    parser.add_argument("--smoothing", type=int, default=DEFAULT_SMOOTHING, metavar="0-5",
                        help=f"WinPEP-style smoothing level (default {DEFAULT_SMOOTHING})")
    parser.add_argument("--notes", metavar="TEXT",
                        help="the tuner's notes (default: the session's notes)")
    parser.add_argument("--units", default="settings", choices=UNIT_PRESETS,
                        help="settings: the app's display units (default); us: hp, ft-lb, °F, "
                        "inHg; metric: kW, N·m, °C, kPa")
    parser.add_argument("--paper", choices=tuple(PAPER_SIZES_IN),
                        help="page size (default: the shop's setting, else letter)")
    parser.add_argument("--customer", metavar="NAME", help="the customer's name to print")
    parser.add_argument("--vehicle", metavar="NAME", help="the vehicle to print")
    add_catalog_argument(parser)


def _units(preset: str, settings: Settings) -> DisplayUnits:
    chosen = settings.units
    if preset == "us":
        return replace(chosen, temperature="F", torque="ft-lb", power="hp", pressure="inHg",
                       speed="mph")
    if preset == "metric":
        return replace(chosen, temperature="C", torque="N·m", power="kW", pressure="kPa",
                       speed="km/h")
    return chosen


def _options(args: argparse.Namespace, settings: Settings) -> SheetOptions:
    if args.smoothing not in SMOOTHING_LEVELS:
        raise InputError(f"--smoothing {args.smoothing}: give a level 0 to 5")
    standard = parse_standard(args.standard)
    shop = settings.shop
    return SheetOptions(standard, args.smoothing, _units(args.units, settings),
                        ShopHeader(shop.name, shop.contact), args.paper or shop.paper,
                        args.notes)


def _check(args: argparse.Namespace) -> None:
    if (args.session is None) == (not args.runs):
        raise InputError("give either --session ID or the runs and logs (RUN_OR_LOG), "
                         "not both and not neither")
    if args.session is not None and args.before:
        raise InputError("--before goes with runs and logs named one by one; with --session "
                         "the session's own runs are chosen (docs/formats.md)")
    if args.out.suffix.lower() != ".pdf":
        raise InputError(f"--out {args.out}: give a file name ending in .pdf")
    if args.out.is_dir():
        raise InputError(f"--out {args.out}: is a folder; give a file name ending in .pdf")
    if not args.out.parent.is_dir():
        raise InputError(f"--out {args.out}: the folder {args.out.parent} does not exist")


def _is_run_id(word: str) -> bool:
    return word.isdigit() and not Path(word).exists()


def _sources(words: list[str], catalog: Catalog | None) -> list[RunSource]:
    sources = []
    for word in words:
        if _is_run_id(word):
            assert catalog is not None
            sources.append(run_source(catalog, catalog.run(int(word))))
        else:
            sources.append(file_source(Path(word)))
    return sources


def _header_of_runs(words: list[str], catalog: Catalog | None) -> Header | None:
    """The customer and vehicle of the catalog runs given, when they are all of one session."""
    ids = [int(w) for w in words if _is_run_id(w)]
    if catalog is None or not ids or len(ids) != len(words):
        return None
    sessions = {catalog.run(i).session_id for i in ids}
    if len(sessions) != 1:
        return None
    return session_header(catalog, catalog.session(sessions.pop()))


def _make(args: argparse.Namespace, options: SheetOptions) -> CustomerSheet:
    words = [*args.runs, *args.before]
    needs_catalog = args.session is not None or any(_is_run_id(w) for w in words)
    if not needs_catalog:
        return runs_sheet(_sources(args.runs, None), _sources(args.before, None), options)
    with open_catalog(args.catalog) as catalog:
        if args.session is not None:
            return session_sheet(session_sources(catalog, args.session), options)
        header = _header_of_runs(words, catalog)
        return runs_sheet(_sources(args.runs, catalog), _sources(args.before, catalog), options,
                          header)


def run(args: argparse.Namespace) -> int:
    _check(args)
    store = SettingsStore()
    settings = store.load()
    if store.problem:
        sys.stderr.write(f"{PROG}: warning: {store.problem}\n")
    options = _options(args, settings)
    started = time.perf_counter()
    sheet = _make(args, options)
    if args.customer is not None or args.vehicle is not None:
        sheet = replace(sheet, customer=args.customer if args.customer is not None
                        else sheet.customer,
                        vehicle=args.vehicle if args.vehicle is not None else sheet.vehicle)
    pdf = sheet_pdf_bytes(sheet)
    write_bytes_atomic(args.out, pdf)
    for line in sheet.remarks:
        sys.stderr.write(f"{PROG}: {line}\n")
    for line in sheet.warnings:
        sys.stderr.write(f"{PROG}: warning: {line}\n")
    print(headline(sheet))
    sys.stderr.write(f"{PROG}: wrote {args.out} ({len(pdf) / 1024:.0f} KiB, 2 pages) in "
                     f"{time.perf_counter() - started:.1f} s\n")
    return 0
