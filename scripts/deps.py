"""Print requirements from pyproject.toml, one a line, for the venvs scripts/bootstrap.sh makes.

    python scripts/deps.py noqt     runtime and test requirements minus Qt/GL ones (.venv-noqt)
    python scripts/deps.py bundle   runtime and bundle requirements: what the frozen program
                                    holds, plus PyInstaller (.venv-bundle; no test tools)
"""

import re
import sys
import tomllib
from pathlib import Path

QT_OR_GL = {"pyside6-essentials", "pyside6", "shiboken6", "pyqtgraph", "pyopengl", "pytest-qt"}


def name_of(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement, maxsplit=1)[0].lower()


project = tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))["project"]
extras = project["optional-dependencies"]
mode = sys.argv[1] if len(sys.argv) > 1 else ""
if mode == "noqt":
    wanted = [r for r in project["dependencies"] + extras["test"] if name_of(r) not in QT_OR_GL]
elif mode == "bundle":
    wanted = project["dependencies"] + extras["bundle"]
else:
    sys.exit("usage: python scripts/deps.py noqt|bundle")
print("\n".join(wanted))
