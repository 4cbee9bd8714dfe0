"""The command line that starts DynoAI again in another mode: the welcome screen's "Try the demo
cell" starts ``dynoai --demo`` and the window that asked closes."""

from __future__ import annotations

import sys
from pathlib import Path


def dynoai_command(*options: str, frozen: bool | None = None,
                   executable: str | None = None) -> list[str]:
    """The argv of ``dynoai OPTIONS`` as this copy runs it: in the installed bundle (PyInstaller
    sets ``sys.frozen``) ``sys.executable`` is the ``dynoai`` program itself; from source it is
    Python, which runs the package."""
    program = executable if executable is not None else sys.executable
    if frozen is None:
        frozen = bool(getattr(sys, "frozen", False))
    return [program, *options] if frozen else [program, "-m", "dynoai_desktop", *options]


def demo_command(config_dir: Path | None = None, *, frozen: bool | None = None,
                 executable: str | None = None) -> list[str]:
    """``dynoai --demo``, with ``--config-dir`` when this run was given one (the settings stay
    where the tuner put them; the data folder's ``DYNOAI_DATA_DIR`` is inherited)."""
    options = ["--demo"]
    if config_dir is not None:
        options += ["--config-dir", str(config_dir.absolute())]
    return dynoai_command(*options, frozen=frozen, executable=executable)
