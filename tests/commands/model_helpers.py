"""Shared by the model command tests: running ``dynoai`` in-process and a stored model version
made quickly (the shipped prior's estimators saved again), so tests need not train one."""

from __future__ import annotations

from pathlib import Path

import pytest

from dynoai_desktop.cli import main
from dynoai_desktop.ml.base_ve import KIND
from dynoai_desktop.ml.registry import MODEL_FILE, ModelRegistry, ModelVersion
from dynoai_desktop.storage.catalog import CATALOG_FILE, Catalog


def run_cli(argv: list[object], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``dynoai ARGV``: (exit code, stdout, stderr)."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def copy_of_prior(folder: Path, scope: str = "shop", activate: bool = False) -> ModelVersion:
    """The prior's model stored in the catalog in ``folder`` as the next version of ``scope``."""
    with Catalog(folder / CATALOG_FILE) as catalog:
        registry = ModelRegistry(catalog)
        prior = registry.prior(KIND)
        assert prior is not None
        meta = {**prior.metadata, "prior": False, "source": "a copy of the prior (test)"}
        return registry.save(KIND, scope, registry.load(prior), meta, activate=activate)


def flip_a_byte(path: Path, offset: int = 200) -> None:
    """Change one byte of ``path`` (a model file changed after it was saved)."""
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def tamper(v: ModelVersion) -> Path:
    """Flip a byte of the version's model file; its path."""
    path = v.folder / MODEL_FILE
    flip_a_byte(path)
    return path
