"""The shop's catalog: one SQLite file in the platform's data directory.

It holds the tunes and every version of them (schema 1; tables stored as Table CSV text, which
round-trips every value and the raw layout exactly) and the shop's work (schema 2): customers ->
vehicles (each with its BuildSpec) -> sessions (a visit to the dyno, optionally on a tune) -> runs
(one Parquet run file each, see :mod:`~dynoai_desktop.storage.run_files`, kept relative to the
catalog's folder so the whole store can move), and each tune version's locked and knock-prone
cells (schema 3), and each vehicle's coverage: what every run put into the cells of each of its
VE tables, good-sample weight and raw hits, kept once per run so they add up over all its runs
(schema 4), and each session's training record, with records imported from other shops' datasets
beside them (schema 5), and the model registry: every model version, the active one per kind and
scope, and their history (schema 6), and each run's peak power (schema 7). ARCHITECTURE.md
"Storage".

One module per part, each a mixin over :class:`CatalogBase` (``connection``: opening, damage
checks, migrating): ``tunes``, ``shop`` (customers, vehicles, sessions), ``runs``, ``coverage``,
``training``; ``records`` holds the frozen records they return and ``schema`` the migrations.
``models`` (the model registry's rows) joined the same way, with a further migration in
:data:`~dynoai_desktop.storage.catalog.schema.MIGRATIONS`.

The app opens it with :func:`open_catalog_at_start`, which no damaged file can stop.
"""

from __future__ import annotations

from pathlib import Path

from dynoai_desktop.storage.catalog.connection import (
    CATALOG_FILE,
    DATA_DIR_ENV,
    CatalogBase,
    default_data_dir,
)
from dynoai_desktop.storage.catalog.coverage import CoverageMixin
from dynoai_desktop.storage.catalog.errors import (
    CatalogDamaged,
    CatalogOpenError,
    CatalogTooNew,
    CatalogUnavailable,
)
from dynoai_desktop.storage.catalog.models import ModelEvent, ModelRow, ModelsMixin
from dynoai_desktop.storage.catalog.records import (
    RUN_STATUSES,
    RUNS_DIR,
    CoverageRecord,
    Customer,
    RunRecord,
    Session,
    TuneRecord,
    Vehicle,
)
from dynoai_desktop.storage.catalog.runs import RunsMixin
from dynoai_desktop.storage.catalog.shop import ShopMixin
from dynoai_desktop.storage.catalog.start import open_at_start
from dynoai_desktop.storage.catalog.training import TrainingMixin
from dynoai_desktop.storage.catalog.tunes import TunesMixin, describe_changes

__all__ = [
    "CATALOG_FILE",
    "DATA_DIR_ENV",
    "RUNS_DIR",
    "RUN_STATUSES",
    "Catalog",
    "CatalogDamaged",
    "CatalogOpenError",
    "CatalogTooNew",
    "CatalogUnavailable",
    "CoverageRecord",
    "Customer",
    "ModelEvent",
    "ModelRow",
    "RunRecord",
    "Session",
    "TuneRecord",
    "Vehicle",
    "default_data_dir",
    "describe_changes",
    "open_catalog_at_start",
]


class Catalog(TunesMixin, ShopMixin, RunsMixin, CoverageMixin, TrainingMixin, ModelsMixin,
              CatalogBase):
    """Open (creating or migrating as needed) the catalog at ``path``, by default
    ``default_data_dir() / CATALOG_FILE``; raises CatalogDamaged, CatalogTooNew or
    CatalogUnavailable when it cannot."""


def open_catalog_at_start(path: Path | None = None) -> tuple[Catalog | None, list[str]]:
    """What the app calls when it starts: the catalog (None when it cannot be had) and messages
    for the user. A damaged file is set aside with its sidecars and a new catalog begun; a
    catalog from a newer DynoAI or one that cannot be opened is left as it is. Never raises
    for these."""
    return open_at_start(Catalog, path if path is not None else default_data_dir() / CATALOG_FILE)
