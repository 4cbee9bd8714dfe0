"""Where the real files of ``../shared/realdata`` are, for the tests that read them.

They live beside the repository (the project's rule: never copied into it); the workplace's own
copy is looked for too. ``REALDATA`` is None when neither is there: tests skip with a reason.
"""

from __future__ import annotations

from pathlib import Path

_CANDIDATES = (
    Path(__file__).resolve().parents[2] / "shared" / "realdata",
    Path("/work/shared/realdata"),
)
REALDATA: Path | None = next((p for p in _CANDIDATES if p.is_dir()), None)
