"""The frozen program's entry point: the `dynoai` command, as PyInstaller builds it."""

import sys
from pathlib import Path

LOG_NAME = "dynoai.log"


def give_windowed_program_a_log() -> Path | None:
    """The windowed build (dynoaiw.exe: shortcuts, double-clicked tunes) has no console, so
    sys.stdout and sys.stderr are None and the app's start-up lines would fail to print: they go
    to a log file in the platform's log folder instead (its path, or None with a console)."""
    if sys.stdout is not None and sys.stderr is not None:
        return None
    import platformdirs

    folder = Path(platformdirs.user_log_dir("DynoAI Desktop", "DynoAI"))
    folder.mkdir(parents=True, exist_ok=True)
    stream = open(folder / LOG_NAME, "a", encoding="utf-8", buffering=1)  # noqa: SIM115
    sys.stdout = sys.stdout or stream
    sys.stderr = sys.stderr or stream
    return folder / LOG_NAME


if __name__ == "__main__":
    give_windowed_program_a_log()
    # The training and simulate-shop workers are spawned processes: in a frozen program they
    # start this same executable, and freeze_support() turns them into the workers.
    import multiprocessing

    multiprocessing.freeze_support()
    from dynoai_desktop.cli import main

    raise SystemExit(main())
