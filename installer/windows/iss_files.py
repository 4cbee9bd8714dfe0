"""check_iss.py's checks of the files an Inno Setup script names: the build machine's sources and
icons, and the program files in the PyInstaller bundle (``--bundle DIR``)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path, PureWindowsPath
from typing import TYPE_CHECKING

import iss_tables as T

if TYPE_CHECKING:  # check_iss imports this module; the types only
    from check_iss import Script

APP_FILE = re.compile(r"\{app\}\\([^\"|,]+)", re.IGNORECASE)
WILDCARDS = ("*", "?")
Problem = Callable[[int, str], None]


class FileChecks:
    def __init__(self, base: Path, bundle: Path | None, problem: Problem) -> None:
        self.base = base
        self.bundle = bundle
        self.problem = problem

    def resolve(self, value: str, script: Script) -> Path:
        """A path of the script (Windows spelling) on this machine: relative to the script's
        folder, or to [Setup] SourceDir when the script sets one."""
        source_dir = script.setup.get("SourceDir", (0, ""))[1]
        base = self.base / PureWindowsPath(source_dir).as_posix() if source_dir else self.base
        return Path(os.path.normpath(base / PureWindowsPath(value).as_posix()))

    def run(self, script: Script) -> None:
        for name in sorted(T.SETUP_FILE_DIRECTIVES & script.setup.keys()):
            number, value = script.setup[name]
            if value and not self.resolve(value, script).is_file():
                self.problem(number, f"{name}={value}: no such file "
                                     f"({self.resolve(value, script)})")
        installed: set[str] = set()
        bundle_line = script.setup_line
        for entry in script.entries:
            if entry.section != "Files" or "Source" not in entry.params:
                continue
            source = entry.params["Source"]
            parts = PureWindowsPath(source).parts
            wild = any(c in source for c in WILDCARDS)
            if PureWindowsPath(source).is_absolute() or PureWindowsPath(source).drive:
                self.problem(entry.line, f"Source {source}: an absolute path; make it relative "
                                         "to the script, so it builds on any machine")
            elif (root := bundle_root(parts)) is not None:
                bundle_line = entry.line
                if self.bundle is not None:  # else: the form above is all that can be checked
                    self.in_bundle(entry.line, f"Source {source}", parts[root + 1:])
            elif not self.source_exists(self.resolve(source, script), wild):
                self.problem(entry.line, f"Source {source}: no such file "
                                         f"({self.resolve(source, script)})")
            if not wild and entry.params.get("DestDir", "").lower() == "{app}":
                installed.add(entry.params.get("DestName", parts[-1] if parts else "").lower())
        self.app_files(script, installed, bundle_line)

    @staticmethod
    def source_exists(path: Path, wild: bool) -> bool:
        return any(path.parent.glob(path.name)) if wild else path.is_file()

    def in_bundle(self, number: int, what: str, rest: tuple[str, ...]) -> None:
        assert self.bundle is not None
        pattern = "/".join(rest) or "."
        if not any(self.bundle.glob(pattern)) and not find_ignoring_case(self.bundle, rest):
            self.problem(number, f"{what}: not in the bundle {self.bundle} ({pattern})")

    def app_files(self, script: Script, installed: set[str], bundle_line: int) -> None:
        """Every {app}\\NAME the script starts or shows: one spelling each, in the bundle unless
        a [Files] entry of its own installs it."""
        references: list[tuple[int, str]] = []
        for entry in script.entries:
            if entry.section in ("Icons", "Run", "Registry", "UninstallRun"):
                for name in ("Filename", "IconFilename", "ValueData", "Parameters"):
                    references += [(entry.line, m.strip())
                                   for m in APP_FILE.findall(entry.params.get(name, ""))]
        if "UninstallDisplayIcon" in script.setup:
            number, value = script.setup["UninstallDisplayIcon"]
            references += [(number, m.strip()) for m in APP_FILE.findall(value)]
        spelling: dict[str, tuple[int, str]] = {}
        for number, name in sorted(references):
            first = spelling.setdefault(name.lower(), (number, name))
            if first[1] != name:
                self.problem(number, f"{{app}}\\{name} and {{app}}\\{first[1]} (line {first[0]}) "
                                     "differ only in case: Windows folders ignore case, so they "
                                     "are one file")
            elif self.bundle is not None and first == (number, name) and \
                    name.lower() not in installed:
                self.in_bundle(number, f"{{app}}\\{name}", PureWindowsPath(name).parts)
        if self.bundle is not None:
            by_case: dict[str, str] = {}
            for child in sorted(self.bundle.iterdir()):
                other = by_case.setdefault(child.name.lower(), child.name)
                if other != child.name:
                    self.problem(bundle_line, f"the bundle has {other} and {child.name}: "
                                 "Windows folders ignore case, so they would be one file")


def bundle_root(parts: tuple[str, ...]) -> int | None:
    """Index of NAME in a path through build\\dist\\NAME (the build output), else None."""
    lowered = [p.lower() for p in parts]
    for i in range(len(lowered) - 2):
        if lowered[i] == "build" and lowered[i + 1] == "dist":
            return i + 2
    return None


def find_ignoring_case(folder: Path, parts: tuple[str, ...]) -> bool:
    """Whether folder/parts exists when names are compared as Windows compares them."""
    for part in parts:
        if not folder.is_dir():
            return False
        match = [c for c in folder.iterdir() if c.name.lower() == part.lower()]
        if not match:
            return False
        folder = match[0]
    return True
