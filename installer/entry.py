"""The frozen program's entry point: the `dynoai` command, as PyInstaller builds it."""

import multiprocessing

if __name__ == "__main__":
    # The training and simulate-shop workers are spawned processes: in a frozen program they
    # start this same executable, and freeze_support() turns them into the workers.
    multiprocessing.freeze_support()
    from dynoai_desktop.cli import main

    raise SystemExit(main())
