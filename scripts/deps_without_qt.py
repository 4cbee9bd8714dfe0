"""Print pyproject.toml's runtime and test requirements, one a line, minus Qt/GL ones."""

import re
import tomllib
from pathlib import Path

QT_OR_GL = {"pyside6-essentials", "pyside6", "shiboken6", "pyqtgraph", "pyopengl", "pytest-qt"}

project = tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))["project"]
for req in project["dependencies"] + project["optional-dependencies"]["test"]:
    name = re.split(r"[<>=!~\[ ;]", req, maxsplit=1)[0].lower()
    if name not in QT_OR_GL:
        print(req)
