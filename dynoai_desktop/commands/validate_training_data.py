"""``dynoai validate-training-data FILE.json [FILE.json ...] [--json]`` (FORMATS.md §6)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from dynoai_desktop.ml.training.dataset import SCHEMA_PATH, Contents, FileReport, check_file

HELP = (f"check training-dataset files against the published schema ({SCHEMA_PATH}) and say "
        "what they hold")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", type=Path, nargs="+", metavar="FILE.json",
                        help="dataset files to check (only these are read)")
    parser.add_argument("--json", action="store_true",
                        help="print the reports and the summary as JSON")


def run(args: argparse.Namespace) -> int:
    # Every file is readable JSON before any is judged: an unreadable one is a usage error
    # (exit 2, from the InputError), whatever the others hold.
    reports = [check_file(path) for path in args.files]
    total = sum((r.contents for r in reports), Contents())
    valid = all(r.valid for r in reports)
    if args.json:
        print(json.dumps({"valid": valid, "files": [r.to_dict() for r in reports],
                          "summary": total.to_dict()}, indent=2, ensure_ascii=False))
    else:
        for report in reports:
            _print_report(report)
        _print_summary(total, len(reports))
    if not valid:
        bad = [r for r in reports if not r.valid]
        print(f"dynoai validate-training-data: {bad[0].path}: {bad[0].problems[0]}"
              f"{f' (and {len(bad) - 1} more invalid files)' if len(bad) > 1 else ''}",
              file=sys.stderr)
    return 0 if valid else 1


def _print_report(report: FileReport) -> None:
    state = "valid" if report.valid else f"INVALID ({len(report.problems)} problems)"
    print(f"{report.path}: {state}")
    for problem in report.problems:
        print(f"  problem: {problem}")
    for warning in report.warnings:
        print(f"  warning: {warning}")
    if report.valid:
        c = report.contents
        print(f"  {c.sessions} sessions ({c.simulated} simulated), {c.dyno_hours:.2f} dyno hours")


def _print_summary(total: Contents, files: int) -> None:
    patterns = ", ".join(f"{name} {count}" for name, count in total.patterns.items())
    print(f"summary: {files} file{'s' if files != 1 else ''}, {total.sessions} sessions, "
          f"{total.dyno_hours:.2f} dyno hours; patterns: {patterns}")
    if total.families:
        print("  engine families: " + ", ".join(f"{k} {v}" for k, v in total.families.items()))
        print("  stages: " + ", ".join(f"{'stock' if k == '0' else 'stage ' + k} {v}"
                                       for k, v in total.stages.items()))
