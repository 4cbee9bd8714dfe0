"""``dynoai convert IN OUT [--table NAME] [--into TEMPLATE]`` (FORMATS.md §5)."""

from __future__ import annotations

import argparse
from pathlib import Path

from dynoai_desktop.storage.tune_files import TEMPLATE_EXTENSIONS, read_table, write_table

HELP = "convert a table between Table CSV, Power Vision .pvv and TunerStudio .msq"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, metavar="IN", help=".csv, .pvv or .msq file to read")
    parser.add_argument("output", type=Path, metavar="OUT", help=".csv, .pvv or .msq to write")
    parser.add_argument(
        "--table",
        metavar="NAME",
        help="the table inside whichever file holds several (IN, or TEMPLATE when writing)",
    )
    parser.add_argument(
        "--into",
        type=Path,
        metavar="TEMPLATE",
        help="for .pvv/.msq output: the file to splice the table into (all else kept as is)",
    )


def run(args: argparse.Namespace) -> int:
    # --table names the table in whichever file holds several: IN when it is a .pvv/.msq,
    # else (a Table CSV in) the TEMPLATE item it goes into.
    reads_named = args.input.suffix.lower() in TEMPLATE_EXTENSIONS
    table = read_table(args.input, args.table if reads_named else None)
    write_table(args.output, table, args.into, args.table)
    return 0
