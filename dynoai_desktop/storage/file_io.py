"""Reading and writing the user's files with errors that name the file and say what to do."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from dynoai_desktop.core.errors import InputError


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    """The file's bytes; a missing or unreadable file is an InputError naming it."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file; check the path") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder; give a file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror}); check permissions") from None


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write via a temporary file and a rename: a crash mid-write leaves the old file intact."""
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(
            f"{path}: cannot be written ({exc.strerror}); check the folder exists and is writable"
        ) from None


def set_aside(path: Path, into: Path | None = None) -> Path:
    """Move a damaged file out of the way, its bytes exactly kept; returns where it went.

    The new name is ``<name>.unreadable-<YYYYmmdd-HHMMSS>`` in the same folder (or in ``into``),
    with ``-2``, ``-3``, ... added when that name is taken. An InputError names the file when it
    cannot be moved.
    """
    folder = into if into is not None else path.parent
    base = f"{path.name}.unreadable-{time.strftime('%Y%m%d-%H%M%S')}"
    target = folder / base
    try:
        folder.mkdir(parents=True, exist_ok=True)
        n = 1
        while target.exists() or target.is_symlink():
            n += 1
            target = folder / f"{base}-{n}"
        shutil.move(path, target)  # a rename; a copy and a delete only across disks
    except OSError as exc:
        raise InputError(
            f"{path}: cannot be moved aside to {target} ({exc.strerror or exc}); check that you "
            "may write in that folder"
        ) from None
    return target
