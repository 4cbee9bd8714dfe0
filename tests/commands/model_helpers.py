"""Shared by the model command tests: running ``dynoai`` in-process and a stored model version
made quickly (the shipped prior's estimators saved again), so tests need not train one."""

from __future__ import annotations

from pathlib import Path

import pytest

from dynoai_desktop.cli import main
from dynoai_desktop.ml.base_ve import KIND
from dynoai_desktop.ml.registry import MODEL_FILE, ModelRegistry, ModelVersion, artifact_bytes
from dynoai_desktop.storage.catalog import CATALOG_FILE, Catalog


def run_cli(argv: list[object], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``dynoai ARGV``: (exit code, stdout, stderr)."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


_PRIOR_COPY: dict[str, bytes] = {}
"""The artifact files of the prior's model saved again, made once (reading the prior and writing
its estimators take a second or two): what ``ModelRegistry.save`` would write each time."""


def copy_of_prior(folder: Path, scope: str = "shop", activate: bool = False) -> ModelVersion:
    """The prior's model stored in the catalog in ``folder`` as the next version of ``scope``
    (as ``ModelRegistry.save`` stores it: activated, and so verified, when asked)."""
    with Catalog(folder / CATALOG_FILE) as catalog:
        registry = ModelRegistry(catalog)
        if not _PRIOR_COPY:
            prior = registry.prior(KIND)
            assert prior is not None
            meta = {**prior.metadata, "prior": False, "source": "a copy of the prior (test)"}
            _PRIOR_COPY.update(artifact_bytes(registry.load(prior), meta))
        stored = registry.store(KIND, scope, dict(_PRIOR_COPY))
        if activate:
            registry.activate(KIND, scope, stored.version)
        return registry.version(KIND, scope, stored.version)


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
