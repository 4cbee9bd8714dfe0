"""The ``--catalog DIR`` option of the commands that use the app's catalog and its models
(``dynoai models``, ``dynoai predict-ve``; docs/formats.md "Models").

Without the option they use the catalog the app uses: ``catalog.sqlite`` in the app's data
folder (``DYNOAI_DATA_DIR`` when set). With it, ``DIR`` must be an existing folder; a catalog is
begun there when it has none, as the app begins one.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.storage.catalog import (
    CATALOG_FILE,
    DATA_DIR_ENV,
    Catalog,
    CatalogDamaged,
    CatalogTooNew,
    CatalogUnavailable,
)


def add_catalog_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--catalog", type=Path, metavar="DIR",
                        help=f"the folder of the catalog (DIR/{CATALOG_FILE}); default: the "
                             f"app's data folder (${DATA_DIR_ENV} when set)")


def open_catalog(folder: Path | None) -> Catalog:
    """The catalog in ``folder`` (None: the app's); InputError naming it when it cannot be
    opened."""
    if folder is not None and not folder.is_dir():
        state = "is a file" if folder.exists() else "no such folder"
        raise InputError(f"--catalog {folder}: {state}; give the folder that holds the app's "
                         f"{CATALOG_FILE}")
    what = f"--catalog {folder}" if folder is not None else "the app's catalog"
    try:
        return Catalog(folder / CATALOG_FILE if folder is not None else None)
    except CatalogTooNew as exc:
        raise InputError(f"{what}: the catalog is from a newer DynoAI (schema {exc.version}); "
                         "update DynoAI") from None
    except CatalogDamaged as exc:
        raise InputError(f"{what}: the catalog {exc.path} is damaged ({exc.reason}); start "
                         "DynoAI to set it aside, or give another folder") from None
    except CatalogUnavailable as exc:
        raise InputError(f"{what}: the catalog {exc.path} cannot be opened ({exc.reason}): "
                         f"{exc.hint}") from None
