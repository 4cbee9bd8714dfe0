"""Runs compared as WinPEP users compare them: up to eight pulls from any sessions overlaid
against rpm (or roll speed), each in its own colour, with after − before curves and one cursor
that reads every run at the same rpm.

Each compared run is a saved run file (its weather from the file's metadata) or an imported log
(its weather from its own channels, where it has them); its pulls are found once, and the pull
with the most power is shown until the tuner picks another. The curves follow the comparison's
settings: correction standard, smoothing level and axis (core/power_curves.py says what each
means). A run with no pull stays in the list with the reason, so the tuner sees why nothing is
drawn. Values are in canonical units (hp, ft-lb, AFR, mph); :func:`shown` converts them to the
user's display units, for the panel.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from dynoai_desktop.app.events import Event
from dynoai_desktop.app.run_library import RunLibrary
from dynoai_desktop.core.channels import CHANNELS
from dynoai_desktop.core.display import DisplayUnits, display_unit
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.power_curves import (
    AXIS_STEPS,
    DEFAULT_SMOOTHING,
    SMOOTHING_LEVELS,
    CurveDelta,
    PowerCurve,
    Pull,
    Standard,
    delta,
    find_pulls,
    parse_standard,
    power_curve,
    union_span,
    why_no_pull,
)
from dynoai_desktop.core.units import convert
from dynoai_desktop.core.weather import Weather
from dynoai_desktop.storage.catalog import RUNS_DIR, default_data_dir
from dynoai_desktop.storage.run_files import read_run

if TYPE_CHECKING:
    import pandas as pd

MAX_RUNS = 8
# One colour per compared run, in the order runs are added: far apart in hue and light enough
# to read on the dark theme's background (#1e2125); a removed run's colour is the next one given.
PALETTE = (
    "#4cc9f0",  # sky blue
    "#ff9f1c",  # orange
    "#80ed99",  # light green
    "#f15bb5",  # pink
    "#fee440",  # yellow
    "#b388ff",  # lavender
    "#ff595e",  # coral red
    "#e6e6e6",  # near-white
)
AXES = {"rpm": "Engine speed", "speed_mph": "Roll speed"}
NO_PULL = "no full-throttle pull found"
TOO_MANY = (f"up to {MAX_RUNS} runs can be compared at once: remove one from the list before "
            "adding another")
_SESSION_FOLDER = re.compile(rf"^{RUNS_DIR}/session-(\d+)/")


@dataclass
class ComparedRun:
    """One run in the comparison: where it came from, its pulls, the pull shown and its curve
    (None, with ``problem`` saying why, when there is nothing to draw)."""

    key: int
    path: Path
    kind: str  # "run" (a saved run file) or "log" (an imported log)
    name: str  # the run's name, or the log's file name
    place: str  # "session 3, 2016 Low Rider S" or the file name; "" for a log
    colour: str
    frame: pd.DataFrame = field(repr=False)
    weather: Weather | None
    pulls: tuple[Pull, ...]
    notes: tuple[str, ...] = ()
    pull_index: int | None = None
    curve: PowerCurve | None = None
    problem: str = ""

    @property
    def label(self) -> str:
        """What the legend and the list call the run: its name and where it is from."""
        return f"{self.name} · {self.place}" if self.place else self.name

    @property
    def pull(self) -> Pull | None:
        return None if self.pull_index is None else self.pulls[self.pull_index]


@dataclass(frozen=True)
class RunReading:
    """One run at the cursor (canonical units; NaN where the run did not reach). The delta is
    against the "before" run; NaN for the before run itself and off the two pulls' overlap."""

    key: int
    label: str
    colour: str
    is_before: bool
    power_hp: float
    torque_ftlb: float
    afr_front: float
    afr_rear: float
    delta_power_hp: float
    delta_torque_ftlb: float


class RunComparison:
    """The runs compared and how: ``standard``, ``smoothing``, ``axis`` and the ``before`` run
    the others are subtracted from; ``changed`` after any change."""

    def __init__(self, library: RunLibrary) -> None:
        self.library = library
        self.runs: list[ComparedRun] = []
        self.standard = Standard.SAE_J1349
        self.smoothing = DEFAULT_SMOOTHING
        self.axis = "rpm"
        self.before_key: int | None = None
        self.deltas: dict[int, CurveDelta] = {}  # key -> this run − before, where they overlap
        self.delta_problems: dict[int, str] = {}  # key -> why it has no delta
        self.changed = Event("run comparison changed")
        self._next_key = 1

    # ------------------------------------------------------------------ adding and removing
    def add_run(self, path: str | Path, *, announce: bool = True) -> ComparedRun:
        """A saved run file; InputError when the comparison is full or the file is not a run.
        ``announce=False``: no ``changed`` yet (several are being added)."""
        self._check_room()
        frame, metadata = read_run(path)
        place = self._place_in_catalog(Path(path)) or Path(path).name
        return self._add(Path(path), "run", metadata.name, place, frame, metadata.weather, (),
                         announce)

    def add_log(self, path: str | Path) -> ComparedRun:
        """A foreign log (WinPEP, RomRaider, MSL, Power Vision), through the run library's
        importer; InputError when the comparison is full or the log cannot be read."""
        self._check_room()
        view = self.library.import_log(path)
        return self._add(Path(path), "log", Path(path).name, "", view.frame, None, view.notes)

    def add_runs(self, paths: Iterable[str | Path]) -> list[str]:
        """Saved runs sent from elsewhere (the run library's browser); what could not be added,
        one line each ("<file>: <why>"). Stops at the limit, saying so once."""
        problems, added = [], 0
        for path in paths:
            if len(self.runs) >= MAX_RUNS:
                problems.append(TOO_MANY)
                break
            try:
                self.add_run(path, announce=False)
                added += 1
            except InputError as exc:
                problems.append(str(exc))
        if added:
            self.changed.emit()  # once for them all: the panel redraws once
        return problems

    def remove(self, key: int) -> None:
        self.runs = [r for r in self.runs if r.key != key]
        if self.before_key == key:
            self.before_key = self.runs[0].key if self.runs else None
        self._update_deltas()
        self.changed.emit()

    def clear(self) -> None:
        self.runs, self.before_key = [], None
        self._update_deltas()
        self.changed.emit()

    def _check_room(self) -> None:
        if len(self.runs) >= MAX_RUNS:
            raise InputError(TOO_MANY)

    def _add(self, path: Path, kind: str, name: str, place: str, frame: pd.DataFrame,
             weather: Weather | None, notes: tuple[str, ...], announce: bool = True
             ) -> ComparedRun:
        used = {r.colour for r in self.runs}
        colour = next(c for c in PALETTE if c not in used)
        run = ComparedRun(self._next_key, path, kind, name, place, colour, frame, weather,
                          tuple(find_pulls(frame)), notes)
        self._next_key += 1
        run.pull_index = self._strongest_pull(run)
        self._compute(run)
        self.runs.append(run)
        if self.before_key is None:
            self.before_key = run.key
        self._update_deltas()
        if announce:
            self.changed.emit()
        return run

    # ------------------------------------------------------------------ choices
    def run(self, key: int) -> ComparedRun:
        for run in self.runs:
            if run.key == key:
                return run
        raise InputError(f"run {key} is not in the comparison")

    def choose_pull(self, key: int, index: int) -> None:
        """Show the run's pull number ``index`` (in time order) instead."""
        run = self.run(key)
        if not 0 <= index < len(run.pulls):
            raise InputError(f"{run.label} has {len(run.pulls)} pull(s); there is no pull "
                             f"{index + 1}")
        run.pull_index = index
        self._compute(run)
        self._update_deltas()
        self.changed.emit()

    def set_before(self, key: int) -> None:
        """The run the others are compared against (after − before)."""
        self.before_key = self.run(key).key
        self._update_deltas()
        self.changed.emit()

    @property
    def before(self) -> ComparedRun | None:
        return next((r for r in self.runs if r.key == self.before_key), None)

    def set_standard(self, standard: Standard | str) -> None:
        """Correct every run to ``standard`` (a Standard, or 'sae', 'SAE J1349', 'din' ...)."""
        self.standard = standard if isinstance(standard, Standard) else parse_standard(standard)
        self._recompute()

    def set_smoothing(self, level: int) -> None:
        if level not in SMOOTHING_LEVELS:
            raise InputError(f"smoothing level {level!r} must be 0 to 5")
        self.smoothing = level
        self._recompute()

    def set_axis(self, axis: str) -> None:
        """Draw against ``rpm`` (engine speed) or ``speed_mph`` (roll speed)."""
        if axis not in AXIS_STEPS:
            raise InputError(f"curve axis {axis!r} must be one of: {', '.join(AXIS_STEPS)}")
        self.axis = axis
        self._recompute()

    # ------------------------------------------------------------------ reading
    def curves(self) -> list[tuple[ComparedRun, PowerCurve]]:
        """The runs that have a curve, in list order."""
        return [(r, r.curve) for r in self.runs if r.curve is not None]

    def span(self) -> tuple[float, float]:
        """The axis range covering every run's curve (NaN, NaN with none)."""
        return union_span([c for _, c in self.curves()])

    def read_all(self, x: float) -> list[RunReading]:
        """Every run at ``x`` on the axis (rpm, or mph), in list order."""
        readings = []
        for run in self.runs:
            values = run.curve.read_at(x) if run.curve is not None else {}
            change = self.deltas.get(run.key)
            reached = change is not None and change.x.size > 0 and change.x[0] <= x <= change.x[-1]
            readings.append(RunReading(
                run.key, run.label, run.colour, run.key == self.before_key,
                values.get("power_hp", math.nan), values.get("torque_ftlb", math.nan),
                values.get("afr_front", math.nan), values.get("afr_rear", math.nan),
                float(np.interp(x, change.x, change.power_hp)) if reached else math.nan,
                float(np.interp(x, change.x, change.torque_ftlb)) if reached else math.nan))
        return readings

    def runs_folder(self) -> Path:
        """Where the file dialogs open: the data directory's runs folder (or the data
        directory, or the home folder, whichever exists first)."""
        data_dir = (self.library.catalog.data_dir if self.library.catalog is not None
                    else default_data_dir())
        for folder in (data_dir / RUNS_DIR, data_dir):
            if folder.is_dir():
                return folder
        return Path.home()

    # ------------------------------------------------------------------ computing
    def _strongest_pull(self, run: ComparedRun) -> int | None:
        """The pull with the highest peak power (the first when none can be measured)."""
        best, best_hp = None, -math.inf
        for index, pull in enumerate(run.pulls):
            try:
                hp = power_curve(run.frame, pull, run.weather, self.standard,
                                 self.smoothing).peak_power[0]
            except InputError:
                continue
            if hp > best_hp:  # a NaN peak never wins
                best, best_hp = index, hp
        return best if best is not None else (0 if run.pulls else None)

    def _compute(self, run: ComparedRun) -> None:
        run.curve, run.problem = None, ""
        if run.pull is None:
            run.problem = f"{NO_PULL}: {why_no_pull(run.frame)}"
            return
        try:
            run.curve = power_curve(run.frame, run.pull, run.weather, self.standard,
                                    self.smoothing, self.axis)
        except InputError as exc:
            run.problem = str(exc)

    def _recompute(self) -> None:
        for run in self.runs:
            self._compute(run)
        self._update_deltas()
        self.changed.emit()

    def _update_deltas(self) -> None:
        self.deltas, self.delta_problems = {}, {}
        before = self.before
        for run in self.runs:
            if before is None or run is before or run.curve is None:
                continue
            if before.curve is None:
                self.delta_problems[run.key] = f"the before run ({before.name}) has no curve"
                continue
            try:
                self.deltas[run.key] = delta(run.curve, before.curve)
            except InputError as exc:
                self.delta_problems[run.key] = str(exc)

    def _place_in_catalog(self, path: Path) -> str:
        """'session 3, 2016 Low Rider S' when the catalog knows the run file, else ''."""
        catalog = self.library.catalog
        if catalog is None:
            return ""
        try:
            relative = path.resolve().relative_to(catalog.data_dir.resolve()).as_posix()
        except (ValueError, OSError):
            return ""
        match = _SESSION_FOLDER.match(relative)
        if match is None:
            return ""
        try:
            session_id = int(match[1])
            if not any(r.file == relative for r in catalog.runs(session_id)):
                return ""
            session = catalog.session(session_id)
            vehicle = catalog.vehicle(session.vehicle_id)
        except InputError:
            return ""
        return f"session {session.id}, {vehicle.name}"  # the session first: a list cuts the end


# ------------------------------------------------------------------ display units
def shown(channel: str, values: float | np.ndarray, units: DisplayUnits
          ) -> tuple[float | np.ndarray, str]:
    """``values`` of a canonical channel (power_hp, torque_ftlb, afr_front, speed_mph ...) in
    the user's display unit, and that unit. Differences convert alike: every unit here is a
    scale of the canonical one (hp/kW, ft-lb/N·m, AFR/λ, mph/km/h)."""
    unit = display_unit(channel, units)
    return convert(values, CHANNELS[channel].unit, unit), unit
