"""Opening the catalog when the app starts: no damaged, newer or unreachable file stops it.

A damaged catalog is set aside, unchanged and with its SQLite sidecar files, and a new one is
begun; a catalog from a newer DynoAI, or one that cannot be reached, is left exactly as it is and
the app runs without it. Either way the user is told in plain words what happened.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.storage.catalog.connection import CatalogBase
from dynoai_desktop.storage.catalog.errors import (
    CatalogDamaged,
    CatalogOpenError,
    CatalogTooNew,
    CatalogUnavailable,
)
from dynoai_desktop.storage.file_io import set_aside, write_bytes_atomic

# SQLite's files next to the database: moved with it, renamed so the copy still opens with them.
SIDECARS = ("-wal", "-shm", "-journal")
MAX_SIDECAR_BYTES = 256 * 1024 * 1024  # a WAL is ~4 MB (auto-checkpoint); keep memory bounded
WITHOUT_IT = "customers, vehicles, sessions, runs and tunes are unavailable until then"

C = TypeVar("C", bound=CatalogBase)


def open_at_start(open_catalog: Callable[[Path], C], path: Path) -> tuple[C | None, list[str]]:
    """The catalog at ``path`` (or None) and what to tell the user; never raises for a damaged,
    too-new or unavailable file."""
    # SQLite deletes a damaged file's -wal or -journal while it finds out the file is damaged:
    # their bytes are taken first, to be put beside the copy.
    before = _read_sidecars(path)
    try:
        return open_catalog(path), []
    except CatalogTooNew as exc:
        return None, [too_new_message(exc)]
    except CatalogUnavailable as exc:
        return None, [unavailable_message(exc)]
    except CatalogDamaged as exc:
        damaged = exc
    try:
        kept, sidecars = set_aside_with_sidecars(path, before)
    except InputError as exc:
        return None, [
            f"The catalog {path} is damaged ({damaged.reason}) and could not be set aside: {exc}. "
            f"Move it and its {', '.join(SIDECARS)} files away yourself and start DynoAI again; "
            f"{WITHOUT_IT}."
        ]
    moved = damaged_message(damaged, kept, sidecars)
    try:
        return open_catalog(path), [moved]
    except CatalogOpenError as exc:
        return None, [moved, f"A new catalog could not be started either: {exc}; {WITHOUT_IT}."]


def _read_sidecars(path: Path) -> dict[str, bytes]:
    taken = {}
    for suffix in SIDECARS:
        sidecar = path.with_name(path.name + suffix)
        with contextlib.suppress(OSError):  # none, or unreadable: then it is moved as it is
            if sidecar.stat().st_size <= MAX_SIDECAR_BYTES:
                taken[suffix] = sidecar.read_bytes()
    return taken


def set_aside_with_sidecars(path: Path, before: dict[str, bytes]) -> tuple[Path, list[str]]:
    """Set the database aside, then its ``-wal``/``-shm``/``-journal`` files beside the copy under
    the copy's name, so SQLite opens the copy with them: as they were before the failed open
    (``before``), else as they are now. None is left at ``path`` for the new catalog to pick up.
    Returns the copy and the sidecar suffixes put beside it."""
    kept = set_aside(path)
    moved = []
    for suffix in SIDECARS:
        sidecar = path.with_name(path.name + suffix)
        target = kept.with_name(kept.name + suffix)
        try:
            if suffix in before:
                write_bytes_atomic(target, before[suffix])
                sidecar.unlink(missing_ok=True)
            elif sidecar.exists():
                shutil.move(sidecar, target)
            else:
                continue
        except (OSError, InputError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise InputError(f"{sidecar} cannot be put beside the copy {kept} ({why})") from None
        moved.append(suffix)
    return kept, moved


def damaged_message(damaged: CatalogDamaged, kept: Path, sidecars: list[str]) -> str:
    path = damaged.path
    names = " and ".join([", ".join(sidecars[:-1]), sidecars[-1]] if sidecars[:-1] else sidecars)
    files = f" (with its {names} file{'s' if len(sidecars) > 1 else ''})" if sidecars else ""
    return (
        f"The catalog {path} was damaged ({damaged.reason}), so DynoAI moved it aside, unchanged, "
        f"to {kept}{files} and started a new, empty catalog. The customers, vehicles, sessions, "
        "runs and tunes recorded before are in that copy: keep it. Run files in the data folder "
        f"{path.parent} are untouched."
    )


def too_new_message(exc: CatalogTooNew) -> str:
    return (
        f"The catalog {exc.path} is from a newer DynoAI (schema {exc.version}; this DynoAI knows "
        f"schema {exc.known}). Update DynoAI to open it. Nothing was changed; {WITHOUT_IT}."
    )


def unavailable_message(exc: CatalogUnavailable) -> str:
    return (
        f"The catalog {exc.path} cannot be opened ({exc.reason}): {exc.hint}. Nothing was "
        f"changed; {WITHOUT_IT}."
    )
