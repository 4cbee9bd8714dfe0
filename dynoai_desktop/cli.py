"""The `dynoai` command line (FORMATS.md §0).

Bare ``dynoai`` opens the GUI; ``dynoai FILE`` opens it on a tune, run or log (a double-click in
a file manager); ``--demo`` opens it on the virtual dyno cell; ``--smoke`` opens
the main window, runs the event loop while the panels update and exits 0 (non-zero on any
exception or Qt warning). Subcommands other than the GUI modes never import Qt: ``ui`` is
imported inside :func:`_run_gui` only.

Errors a user can cause print one line ``dynoai CMD: ...`` on stderr and exit 2; never a
traceback.

The subcommands' modules (``simulate`` brings the whole virtual cell) are imported only when a
command line needs them: a line that opens the window is parsed with the top-level options and
FILE alone; a line naming a subcommand, or asking for ``--help``, by the full parser.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from dynoai_desktop import __version__
from dynoai_desktop.core.errors import InputError

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2

SMOKE_SECONDS_MIN = 5.0
QT_PACKAGES = {"PySide6", "shiboken6", "pyqtgraph", "OpenGL"}


class _Parser(argparse.ArgumentParser):
    """argparse with FORMATS.md §0 errors: one ``dynoai CMD: ...`` line, exit 2."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: {message} (see '{self.prog} --help')\n")
        raise SystemExit(EXIT_USAGE)


# Subcommands register here as later issues add them (autotune, simulate, simulate-shop,
# convert, validate-training-data, models, predict-ve, advise-timing, report): name -> (help,
# add_arguments(parser), run(args) -> exit code).
AddArguments = Callable[[argparse.ArgumentParser], None]
RunCommand = Callable[[argparse.Namespace], int]
Subcommand = tuple[str, AddArguments, RunCommand]


_SUBCOMMAND_MODULES: dict[str, str] = {
    "advise-timing": "dynoai_desktop.commands.advise_timing",
    "autotune": "dynoai_desktop.commands.autotune",
    "convert": "dynoai_desktop.commands.convert",
    "models": "dynoai_desktop.commands.models",
    "predict-ve": "dynoai_desktop.commands.predict_ve",
    "report": "dynoai_desktop.commands.report",
    "simulate": "dynoai_desktop.commands.simulate",
    "simulate-shop": "dynoai_desktop.commands.simulate_shop",
    "validate-training-data": "dynoai_desktop.commands.validate_training_data",
}


@functools.cache
def _subcommand(name: str) -> Subcommand:
    """One subcommand, its module imported on first use (``simulate`` brings the whole virtual
    cell, which ``autotune`` on a long log should not pay for)."""
    module = importlib.import_module(_SUBCOMMAND_MODULES[name])
    return (module.HELP, module.add_arguments, module.run)


@functools.cache
def _subcommands() -> dict[str, Subcommand]:
    """``SUBCOMMANDS``: their modules are imported on first use, not with the command line (the
    windows' start needs none of them)."""
    return {name: _subcommand(name) for name in _SUBCOMMAND_MODULES}


def __getattr__(name: str) -> Any:
    if name == "SUBCOMMANDS":
        return _subcommands()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_DESCRIPTION = (
    "DynoAI Desktop for the motorcycle dyno cell: live logging and recording, run review, tune "
    "tables and a virtual dyno cell. With no subcommand, opens the main window; 'dynoai FILE' "
    "opens it on FILE: a tune (.pvv, .msq, Table CSV) in the table editor, a run (.parquet) or "
    "a log (.msl, .mlg, WinPEP/RomRaider/Power Vision .csv) in Review."
)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser: the top-level options and every subcommand (or, with ``only``, that
    one: a command line that starts with a subcommand's name needs no other)."""
    parser = _Parser(prog="dynoai", description=_DESCRIPTION)
    _add_top_level_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in [only] if only is not None else list(_SUBCOMMAND_MODULES):
        help_text, add_arguments, _run = _subcommand(name)
        add_arguments(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def _add_top_level_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", action="version", version=f"dynoai {__version__}")
    modes = parser.add_mutually_exclusive_group()
    modes.add_argument(
        "--demo", action="store_true", help="open the main window on the virtual dyno cell"
    )
    modes.add_argument(
        "--smoke",
        action="store_true",
        help="open the main window, run it for a few seconds while the panels update, then exit "
        "0; non-zero on any exception or Qt warning (CI and the installer's check)",
    )
    parser.add_argument(
        "--smoke-seconds",
        type=float,
        default=SMOKE_SECONDS_MIN + 0.5,
        metavar="S",
        help=f"how long --smoke runs the event loop (at least {SMOKE_SECONDS_MIN:g} s)",
    )
    parser.add_argument(
        "--screenshot",
        type=Path,
        metavar="FILE.png",
        help="save a PNG of the main window once it has settled, then exit (for the docs)",
    )
    parser.add_argument(
        "--screenshot-after-s",
        type=float,
        default=1.5,
        metavar="S",
        help="with --screenshot: wait S seconds first (e.g. 19 catches the demo's first pull)",
    )
    parser.add_argument(
        "--config-dir",
        type=Path,
        metavar="DIR",
        help="read and write settings in DIR instead of the platform's config directory",
    )


def _parse(argv: Sequence[str] | None) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    """A command line with a subcommand (or asking for help) goes to the full parser; one that
    opens the window (GUI options and at most a FILE) to the top-level options alone, so the
    window's start imports no subcommand. The parser comes back for later usage errors."""
    words = list(sys.argv[1:] if argv is None else argv)
    if any(word in _SUBCOMMAND_MODULES for word in words) or {"-h", "--help"} & set(words):
        first = words[0] if words else None
        parser = build_parser(first if first in _SUBCOMMAND_MODULES else None)
        return parser, parser.parse_args(words)
    window = _Parser(prog="dynoai", description=_DESCRIPTION)
    _add_top_level_options(window)
    window.add_argument("file", nargs="?", type=Path, metavar="FILE",
                        help="open this tune, run or log (see the description)")
    return window, window.parse_args(words)


def main(argv: Sequence[str] | None = None) -> int:
    parser, args = _parse(argv)
    command = getattr(args, "command", None)
    if command is not None:
        try:
            return _subcommand(command)[2](args)
        except InputError as exc:
            sys.stderr.write(f"dynoai {command}: {exc}\n")
            return EXIT_USAGE
    if args.smoke and args.smoke_seconds < SMOKE_SECONDS_MIN:
        parser.error(f"--smoke-seconds must be at least {SMOKE_SECONDS_MIN:g}")
    if args.smoke and args.screenshot is not None:
        parser.error("--smoke runs its full time; take a --screenshot with --demo or alone")
    if not 0.1 <= args.screenshot_after_s <= 600:
        parser.error("--screenshot-after-s must be 0.1 to 600 s")
    if args.file is not None:
        problem = _unopenable(args.file)
        if problem:
            sys.stderr.write(f"dynoai: {problem}\n")
            return EXIT_USAGE
    if args.screenshot is not None and args.screenshot.suffix.lower() != ".png":
        parser.error(f"--screenshot {args.screenshot}: give a file name ending in .png")
    return _run_gui(args)


def _unopenable(path: Path) -> str | None:
    """Why ``dynoai FILE`` cannot open FILE (before any window), or None. What is wrong inside
    a file that can be opened is said in the window, by the editor or Review."""
    from dynoai_desktop.storage.file_kinds import kind_of_file  # not for the subcommands

    if not path.exists() and not path.suffix and str(path) == path.name:
        return (f"'{path}' is neither a command ({', '.join(_SUBCOMMAND_MODULES)}) nor a file; "
                "see 'dynoai --help'")
    try:
        kind_of_file(path)
    except InputError as exc:
        return str(exc)
    return None


def _run_gui(args: argparse.Namespace) -> int:
    # Imported here, not at the top: subcommands must run where Qt is not installed.
    try:
        from dynoai_desktop.app.application import DemoStart
        from dynoai_desktop.ui.launch import GuiOptions, run_gui
    except ImportError as exc:
        if exc.name is None or exc.name.split(".")[0] not in QT_PACKAGES:
            raise
        sys.stderr.write(
            f"dynoai: the main window needs {exc.name}, which is not installed in this Python "
            f"({sys.executable}); set up the app with 'make run' (see README) and start it from "
            "there\n"
        )
        return EXIT_USAGE

    def options(demo: DemoStart | None) -> GuiOptions:
        return GuiOptions(
            demo=demo,
            smoke_seconds=args.smoke_seconds if args.smoke else None,
            screenshot=args.screenshot,
            screenshot_after_s=args.screenshot_after_s,
            config_dir=args.config_dir,
            open_path=args.file,
        )

    if not args.demo:
        return run_gui(options(None))
    # Demo mode: the virtual cell starts here, beside the command line; the app only gets its
    # ports and banner and reads them like real hardware.
    from dynoai_desktop.demo import DemoCell

    with DemoCell() as cell:
        return run_gui(options(cell.start()))


if __name__ == "__main__":  # pragma: no cover - `python -m dynoai_desktop.cli`
    raise SystemExit(main())
