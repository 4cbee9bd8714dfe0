"""The one typed, versioned settings object and where it lives.

Settings are a JSON file in the platform's config directory (platformdirs), or in the directory
given with ``--config-dir`` / ``DYNOAI_CONFIG_DIR`` (how tests keep away from a user's real
settings). Older files are migrated step by step; a file that cannot be read is kept aside as
``settings.json.unreadable-<time>`` and defaults are used, so a bad file never stops the app and
nothing is lost.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import platformdirs

from dynoai_desktop.core.display import DisplayUnits, EditorSteps
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.overlay import AuthorityLimits
from dynoai_desktop.storage.file_io import set_aside

APP_NAME = "DynoAI Desktop"
APP_AUTHOR = "DynoAI"
CONFIG_DIR_ENV = "DYNOAI_CONFIG_DIR"
SETTINGS_FILE = "settings.json"
SCHEMA_VERSION = 1
MAX_RECENT_FILES = 10


@dataclass(frozen=True)
class DevicePort:
    """One device of the cell: its role, protocol and pyserial URL (empty until the user picks)."""

    role: str
    protocol: str
    port: str = ""
    options: dict[str, Any] = field(default_factory=dict)


def _default_devices() -> tuple[DevicePort, ...]:
    # FORMATS.md §4: the dyno line and one Innovate MTS chain of two LC-2s (front, then rear).
    return (
        DevicePort(role="dyno", protocol="dyno-line"),
        DevicePort(role="wideband", protocol="innovate-mts", options={"front": 1, "rear": 2}),
    )


@dataclass(frozen=True)
class CoveragePrefs:
    """The Coverage dock's choices, as plain JSON values (the app checks them when it reads
    them: a bad value falls back to the default with a notice)."""

    covered_at: float | None = None
    """The good-sample weight a cell is covered at (None: autotune's minimum weight)."""
    constraints: dict[str, Any] = field(default_factory=dict)
    """``core.coverage.planner.Constraints`` fields the tuner changed (pulls_done is never
    kept: a new start is a new session)."""
    regions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Per load axis (``map_kpa``/``tps_pct``), the tuner's regions (``Region.to_dict``)."""


SHEET_PAPERS = ("letter", "a4")  # core.sheet.PAPER_SIZES_IN's (not imported: it brings pandas)


@dataclass(frozen=True)
class ShopPrefs:
    """The shop as its customer sheets print it: name, one line of address and phone, and the
    paper the sheets are laid out for ("letter" or "a4")."""

    name: str = ""
    contact: str = ""
    paper: str = "letter"


def _shop_prefs(data: Any) -> ShopPrefs:
    """The shop of a settings file; text that is not text is left out, an unknown paper is
    Letter."""
    if not isinstance(data, dict):
        return ShopPrefs()
    name, contact, paper = (data.get(k) for k in ("name", "contact", "paper"))
    return ShopPrefs(name if isinstance(name, str) else "",
                     contact if isinstance(contact, str) else "",
                     paper if paper in SHEET_PAPERS else "letter")


@dataclass(frozen=True)
class Settings:
    schema_version: int = SCHEMA_VERSION
    units: DisplayUnits = field(default_factory=DisplayUnits)
    recent_files: tuple[str, ...] = ()
    devices: tuple[DevicePort, ...] = field(default_factory=_default_devices)
    # How far an overlay may move a table (core.overlay; older files' four keys still load).
    authority: AuthorityLimits = field(default_factory=AuthorityLimits)
    editor_steps: EditorSteps = field(default_factory=EditorSteps)
    coverage: CoveragePrefs = field(default_factory=CoveragePrefs)
    # Added after version 1 without a migration: a file without it gets the defaults.
    shop: ShopPrefs = field(default_factory=ShopPrefs)
    # Qt's saveGeometry()/saveState() bytes, base64: opaque to everything but the main window.
    window_geometry_b64: str = ""
    window_state_b64: str = ""
    # The welcome screen (ui/welcome.py) is done with: False only on a fresh install, until the
    # tuner chose something there or left "Don't show this again" ticked. A file written before
    # this field existed is an existing user's: it reads as True, so they are never shown it.
    welcome_done: bool = False

    def with_recent_file(self, path: str) -> Settings:
        """Put ``path`` first in the recent files, without duplicates, at most 10 kept."""
        recent = (path, *(p for p in self.recent_files if p != path))
        return replace(self, recent_files=recent[:MAX_RECENT_FILES])

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Settings:
        """Build from a current-version dict; unknown keys are ignored, missing ones default."""
        return Settings(
            schema_version=SCHEMA_VERSION,
            units=_build(DisplayUnits, data.get("units", {})),
            recent_files=tuple(str(p) for p in data.get("recent_files", ())),
            devices=tuple(_build(DevicePort, d) for d in data.get("devices", ()))
            or _default_devices(),
            authority=_build(AuthorityLimits, data.get("authority", {})),
            editor_steps=_build(EditorSteps, data.get("editor_steps", {})),
            coverage=_coverage_prefs(data.get("coverage", {})),
            shop=_shop_prefs(data.get("shop", {})),
            window_geometry_b64=str(data.get("window_geometry_b64", "")),
            window_state_b64=str(data.get("window_state_b64", "")),
            welcome_done=data.get("welcome_done", True) is not False,
        )


def _coverage_prefs(data: Any) -> CoveragePrefs:
    """The coverage choices of a settings file; a value of the wrong shape is left out."""
    if not isinstance(data, dict):
        return CoveragePrefs()
    covered_at = data.get("covered_at")
    if isinstance(covered_at, bool) or not isinstance(covered_at, int | float):
        covered_at = None
    constraints = data.get("constraints")
    regions = data.get("regions")
    return CoveragePrefs(
        float(covered_at) if covered_at is not None else None,
        dict(constraints) if isinstance(constraints, dict) else {},
        {str(k): list(v) for k, v in regions.items() if isinstance(v, list)}
        if isinstance(regions, dict) else {})


def _build(kind: type, data: dict[str, Any]) -> Any:
    known = {f.name for f in fields(kind)}
    return kind(**{k: v for k, v in data.items() if k in known})


# ---------------------------------------------------------------- migrations
# MIGRATIONS[n] turns a version-n dict into a version-(n+1) dict. Version 1 is the first
# released layout, so there is nothing to migrate yet; the next change of layout adds its step
# here and bumps SCHEMA_VERSION (tests/storage/test_settings.py exercises the chain).
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


def migrate(data: dict[str, Any]) -> dict[str, Any]:
    """Bring a settings dict of any earlier version up to SCHEMA_VERSION."""
    version = int(data.get("schema_version", 1))
    if version > SCHEMA_VERSION:
        raise ValueError(
            f"settings schema_version {version} is newer than this DynoAI ({SCHEMA_VERSION})"
        )
    while version < SCHEMA_VERSION:
        data = MIGRATIONS[version](data)
        version += 1
        data["schema_version"] = version
    return data


# ---------------------------------------------------------------- the file


# The defaults in place of a settings file that was there but unusable: its user has used the app
# before, so the welcome screen is not shown to them.
_USED_BEFORE = Settings(welcome_done=True)


def _unusable_because(exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"it is not UTF-8 text: byte {exc.start} is {exc.object[exc.start]:#04x}"
    if isinstance(exc, json.JSONDecodeError):
        return f"it is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
    if isinstance(exc, RecursionError):
        return "its JSON is nested too deeply"
    return str(exc) or type(exc).__name__


def default_config_dir() -> Path:
    """``DYNOAI_CONFIG_DIR`` when set (read now, not at import), else the platform's directory."""
    override = os.environ.get(CONFIG_DIR_ENV)
    if override:
        return Path(override)
    return Path(platformdirs.user_config_dir(APP_NAME, APP_AUTHOR))


class SettingsStore:
    """Loads and saves :class:`Settings` in one directory; atomic writes."""

    def __init__(self, config_dir: Path | None = None) -> None:
        self.config_dir = config_dir if config_dir is not None else default_config_dir()
        self.path = self.config_dir / SETTINGS_FILE
        # Set by load() when the file on disk could not be used: what happened, for the UI.
        self.problem: str | None = None
        self.found = False  # set by load(): there was a settings file (not a fresh install)

    def load(self) -> Settings:
        self.problem = None
        self.found = True
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            self.found = False
            return Settings()  # a fresh install: the welcome screen is due
        except OSError as exc:
            self.problem = f"could not read {self.path} ({exc.strerror}); using defaults"
            return _USED_BEFORE
        try:
            data = json.loads(raw.decode("utf-8"))
            if not isinstance(data, dict):
                raise ValueError("top level is not a JSON object")
            return Settings.from_dict(migrate(data))
        # Whatever the file holds, the app starts: the content is the user's, not our code.
        except (ValueError, TypeError, LookupError, AttributeError, RecursionError) as exc:
            why = _unusable_because(exc)
        try:
            kept = set_aside(self.path)
        except InputError as exc:
            self.problem = (
                f"settings file {self.path} was unusable ({why}) and could not be kept aside "
                f"({exc}); using defaults, which replace it when settings are next saved"
            )
        else:
            self.problem = (
                f"settings file {self.path} was unusable ({why}); kept it as {kept}; using defaults"
            )
        return _USED_BEFORE

    def save(self, settings: Settings) -> None:
        self.config_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(settings.to_dict(), indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)
