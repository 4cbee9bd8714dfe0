"""ARCHITECTURE.md's layering, checked by import-linter from the contracts in pyproject.toml."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))


def _lint_imports(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache", "--config", str(project / "pyproject.toml")],
        cwd=project,
        env={"PYTHONPATH": str(project)},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """The package and its pyproject.toml copied aside, so a test can break the layering."""
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(
        ROOT / "dynoai_desktop",
        tmp_path / "dynoai_desktop",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    return tmp_path


def test_the_import_contracts_hold() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


LAYERS = "Layers, top to bottom"
QT = "Only ui imports Qt or pyqtgraph"
SIM = "Only the command line and demo start the virtual cell"


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("core", "from PySide6.QtCore import QObject", QT),
        ("core", "import pyqtgraph", QT),
        ("storage", "import shiboken6", QT),
        ("app", "from PySide6.QtCore import QObject", QT),
        ("demo", "import pyqtgraph", QT),
        ("core", "import threading", "core is pure"),
        ("core", "from dynoai_desktop.storage import settings", LAYERS),
        ("core", "from dynoai_desktop.app import events", LAYERS),
        ("devices", "from dynoai_desktop.sim import engine", LAYERS),
        ("acquisition", "from dynoai_desktop.ml import models", LAYERS),
        ("acquisition", "from dynoai_desktop.app import live_session", LAYERS),
        ("app", "from dynoai_desktop.ui import theme", LAYERS),
        ("commands", "from dynoai_desktop.ui import theme", LAYERS),
        ("ui", "from dynoai_desktop import demo", LAYERS),
        ("ui", "from dynoai_desktop.sim import cell", SIM),
        ("app", "from dynoai_desktop.sim import cell", SIM),
        ("acquisition", "from dynoai_desktop.sim import server", SIM),
        ("storage", "from dynoai_desktop.sim import plans", SIM),
        ("ml", "from dynoai_desktop.sim import truth", SIM),
    ],
)
def test_a_forbidden_import_breaks_the_contracts(
    project_copy: Path, module: str, line: str, contract: str
) -> None:
    package = project_copy / "dynoai_desktop"
    if module == "demo":  # a module, not a package: the probe line goes into it
        probe = package / "demo.py"
        probe.write_text(probe.read_text() + line + "\n")
    else:
        (package / module / "_forbidden.py").write_text(line + "\n")
    result = _lint_imports(project_copy)
    assert result.returncode != 0, result.stdout
    broken = [ln for ln in result.stdout.splitlines() if ln.endswith("BROKEN")]
    assert any(ln.startswith(contract) for ln in broken), result.stdout
