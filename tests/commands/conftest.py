"""What the model command tests share: a catalog folder of their own."""

from __future__ import annotations

from pathlib import Path

import pytest

from dynoai_desktop.storage.catalog import CATALOG_FILE, Catalog


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """A catalog folder of its own (created, empty)."""
    folder = tmp_path / "shop"
    folder.mkdir()
    Catalog(folder / CATALOG_FILE).close()
    return folder
