"""Autotune where the tuner works: pending corrections from the live runs, the offline analysis of
saved runs or imported logs with adjustable settings, one previewed and undoable apply through
the editor's overlays, and in demo mode the tune sent to the virtual ECM.

Qt-free; the autotune panel and the editor's pending-correction layer observe it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from dynoai_desktop.app.events import Event
from dynoai_desktop.app.heat_soak import (
    KIND,
    Finder,
    Found,
    SoakChoice,
    heat_soak_compensation,
    load_for,
)
from dynoai_desktop.app.live_session import LiveSession
from dynoai_desktop.app.tune_session import TuneSession
from dynoai_desktop.core.autotune import (
    AUTOTUNE_CHANNELS,
    SOAK_CHANNELS,
    AutotuneResult,
    AutotuneSettings,
    LogData,
    autotune,
)
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.overlay import Overlay, OverlayPreview, OverlayRecord
from dynoai_desktop.core.table import Table
from dynoai_desktop.core.tune import VE_FRONT_MAP, VE_FRONT_TPS, VE_REAR_MAP, VE_REAR_TPS
from dynoai_desktop.storage.file_io import write_bytes_atomic
from dynoai_desktop.storage.log_files import read_log_arrays

VE_TABLES: dict[str, tuple[str, str]] = {
    "ve_front": (VE_FRONT_MAP, VE_FRONT_TPS),
    "ve_rear": (VE_REAR_MAP, VE_REAR_TPS),
}
"""Autotune's table keys -> the tune's MAP- and TPS-based table of that cylinder."""


def ve_table_names(table_names: Sequence[str], based: str = "map") -> dict[str, str]:
    """The tune's VE table per autotune key (``ve_front``/``ve_rear``) that the ECM fuels from:
    MAP-based unless ``based`` is ``tps``; keys whose table the tune lacks are left out."""
    pick = 0 if based == "map" else 1
    names = set(table_names)
    return {key: pair[pick] for key, pair in VE_TABLES.items() if pair[pick] in names}


def settings_text(settings: AutotuneSettings) -> str:
    """The settings a tuner changes, in one line for the history."""
    delay = "measured or default" if settings.delay_ms is None else f"{settings.delay_ms:g} ms"
    return (f"authority ±{settings.max_change_pct:g} %, min weight {settings.min_weight:g}, "
            f"max interval ±{settings.max_ci95_pct:g} %, delay {delay}, smoothing "
            f"{'on' if settings.smooth else 'off'}, warm-up below {settings.warmup_below_c:g} °C, "
            f"shut throttle under {settings.closed_throttle_below_pct:g} %")


@dataclass(frozen=True, eq=False)
class AutotuneOutcome:
    """One analysis: its corrections, where the samples came from and the settings used."""

    result: AutotuneResult
    sources: tuple[str, ...]
    """Run ids ("run 12") or file names the samples came from."""
    settings: AutotuneSettings
    tables: dict[str, str]
    """Autotune key -> the tune's table it corrects."""
    live: bool = False
    heat_soak: SoakChoice | None = None
    """What was taken out for a heat soak (None: live corrections, which take nothing out)."""
    notes: tuple[str, ...] = ()
    """What the importer said of each file ('NAME: a unit assumed', a channel refused)."""

    @property
    def warnings(self) -> tuple[str, ...]:
        """Everything the tuner should know about the logs: the importer's notes, then
        autotune's (a cylinder's wideband unusable, a log left out, rows no cell could take)."""
        return (*self.notes, *self.result.warnings)

    @property
    def heat_soak_line(self) -> str:
        """'heat soak: took out 1.9 % VE on average ...' (empty for the live corrections)."""
        if self.heat_soak is None or not self.heat_soak.soaked:
            return ""
        return f"heat soak: {self.heat_soak.line(self.result.heat_soak)}"

    @property
    def description(self) -> str:
        """For the overlay and the tune's history: 'autotune, runs 3, 4; settings ...'."""
        return f"autotune, {', '.join(self.sources) or 'no runs'}; {settings_text(self.settings)}"

    def report(self) -> dict[str, object]:
        """report.json's content (FORMATS §3) with the settings used."""
        out = self.result.report()
        if self.heat_soak is not None and self.heat_soak.soaked:
            out["heat_soak"] = self.heat_soak.report(self.result.heat_soak)
        out["settings"] = asdict(self.settings)
        out["sources"] = list(self.sources)
        if self.warnings:
            out["warnings"] = list(self.warnings)
        return out

    def save(self, folder: Path) -> Path:
        """Write ``folder/report.json`` (the result with its settings); returns the path."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "report.json"
        write_bytes_atomic(path, (json.dumps(self.report(), indent=1) + "\n").encode("utf-8"))
        return path


class AutotuneSession:
    """The app's autotune: live, offline, apply, send."""

    def __init__(self, tune: TuneSession, live: LiveSession) -> None:
        self.tune = tune
        self.live = live
        self.settings = AutotuneSettings()
        self.take_out_heat_soak = False
        """Offline analyses take a heat soak out of the readings after it (the panel's switch;
        off until a heat-soak model does better on bikes it never saw: docs/models.md)."""
        self._soak_model: tuple[object, Found] | None = None
        self.offline: AutotuneOutcome | None = None
        self.saved: Path | None = None
        """Where the last offline analysis was kept (report.json with its settings)."""
        self.changed = Event("autotune settings or results changed")

    # ------------------------------------------------------------------ tables
    def table_names(self) -> dict[str, str]:
        """Autotune key -> the open tune's VE table the ECM fuels from (MAP-based first)."""
        names = self.tune.table_names
        found = ve_table_names(names, "map")
        return found or ve_table_names(names, "tps")

    def tables(self) -> dict[str, Table]:
        """The open tune's VE tables under autotune's keys."""
        return {key: self.tune.table(name) for key, name in self.table_names().items()}

    def _locked(self) -> dict[str, np.ndarray]:
        return {key: self.tune.tune.locked_mask(name) for key, name in self.table_names().items()}

    # ------------------------------------------------------------------ live
    def start_live(self) -> None:
        """Corrections from the runs recorded from now on, relative to the open tune's tables
        (which must be what the ECM fuels from: send it first in demo mode). The delay is the
        panel's, else the one the last offline analysis measured, else the default curve."""
        tables = self.tables()
        if not tables:
            raise InputError("The open tune has no VE tables to correct; open a tune with "
                             "front and rear VE tables first.")
        self.live.autotune_live(tables, self.settings, self._locked(), self.measured_delay())
        self.changed.emit()

    def measured_delay(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The wideband delay the last offline analysis measured from its logs' throttle steps
        ((rpm, ms)), for the live corrections; None: the default curve (or the panel's)."""
        if self.offline is None or self.offline.result.delay_source != "measured":
            return None
        pairs = np.array(self.offline.result.delay_ms_by_rpm, dtype=np.float64)
        return pairs[:, 0], pairs[:, 1]

    def stop_live(self) -> None:
        self.live.autotune_live(None)
        self.changed.emit()

    def live_outcome(self) -> AutotuneOutcome | None:
        """The pending corrections from the live runs (None before the live autotune runs)."""
        corrections = self.live.live_corrections()
        if corrections is None:
            return None
        return AutotuneOutcome(corrections.result, tuple(f"run {r}" for r in corrections.runs),
                               corrections.settings, self.table_names(), live=True)

    # ------------------------------------------------------------------ offline
    def heat_soak_model(self) -> Finder:
        """The heat-soak model an analysis uses, looked up and loaded now, on the catalog's
        thread (an analysis on a worker thread is given this, so it imports and opens nothing
        there); kept until the active version changes."""
        found = self._soak_model
        key = self._soak_key()
        if found is None or found[0] != key:
            found = (key, load_for(self.tune.catalog))
            self._soak_model = found
        loaded = found[1]
        return lambda: loaded

    def _soak_key(self) -> object:
        catalog = self.tune.catalog
        return None if catalog is None else catalog.active_model_version(KIND, "shop")

    def analyse(self, paths: Sequence[Path | str], labels: Sequence[str] | None = None,
                progress: Callable[[str], None] | None = None,
                soak_model: Finder | None = None) -> AutotuneOutcome:
        """The same analysis on saved runs or imported logs (the panel's settings); each file
        a log of its own. InputError naming the file when one cannot be read or used. It may
        run on a worker thread, so it emits nothing and touches no catalog: the panel polls
        ``offline`` and gives ``soak_model`` (``heat_soak_model``)."""
        tables = self.tables()
        if not tables:
            raise InputError("The open tune has no VE tables to correct; open a tune first.")
        names = tuple(labels) if labels is not None else tuple(Path(p).name for p in paths)
        logs, notes = [], []
        for n, (path, name) in enumerate(zip(paths, names, strict=True), start=1):
            if progress is not None:
                progress(f"reading {Path(path).name} ({n}/{len(paths)})")
            read = read_log_arrays(path)
            # named as the panel lists it: what autotune says of a log names the run the tuner
            # picked ('pull 1' (session 3)), not the run file's path in the data folder
            logs.append(LogData.from_frame(name, read.columns, read.refusals,
                                           AUTOTUNE_CHANNELS + SOAK_CHANNELS))
            notes.extend(read.remarks(name))
        soak = heat_soak_compensation(logs, self.settings, off=not self.take_out_heat_soak,
                                      find=soak_model or (lambda: self.heat_soak_model()()),
                                      off_why="not asked for (the panel's Take heat soak out)")
        result = autotune(logs, tables, None, self.settings, self._locked(), progress,
                          soak.compensation)
        self.offline = AutotuneOutcome(result, names, self.settings, self.table_names(),
                                       heat_soak=soak, notes=tuple(notes))
        self.saved = self._keep(self.offline)
        return self.offline

    def _keep(self, outcome: AutotuneOutcome) -> Path | None:
        """The analysis with its settings, as report.json in the data folder's ``autotune``
        (None without a catalog; a write error is not the analysis's failure)."""
        catalog = self.tune.catalog
        if catalog is None:
            return None
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        try:
            return outcome.save(catalog.data_dir / "autotune" / stamp)
        except OSError:
            return None

    def set_settings(self, settings: AutotuneSettings) -> None:
        self.settings = settings
        self.changed.emit()

    def set_take_out_heat_soak(self, on: bool) -> None:
        """Whether the next offline analysis takes a heat soak out (re-run to see it)."""
        self.take_out_heat_soak = on
        self.changed.emit()

    # ------------------------------------------------------------------ apply
    def overlays(self, outcome: AutotuneOutcome) -> list[Overlay]:
        """One overlay per cylinder whose table changes, named by the tune's table."""
        out = []
        for key, correction in outcome.result.tables.items():
            name = outcome.tables.get(key)
            if name is None or not correction.mask.any():
                continue
            out.append(correction.to_overlay(outcome.description, table=name))
        return out

    def preview(self, outcome: AutotuneOutcome) -> list[OverlayPreview]:
        return [self.tune.preview_overlay(o) for o in self.overlays(outcome)]

    def apply(self, outcome: AutotuneOutcome) -> list[OverlayRecord]:
        """Both cylinders' corrections as one undoable step (one version in the history)."""
        return self.tune.apply_overlays(self.overlays(outcome))

    # ------------------------------------------------------------------ the demo's ECM
    @property
    def can_send_tune(self) -> bool:
        return self.live.tune_sink is not None

    def send_tune(self) -> None:
        """Load the open tune's VE tables into the (virtual) ECM and start the live corrections
        afresh: from now on they are relative to what was sent."""
        self.live.send_tune(self.tables())
        self.start_live()

