"""What the Training data view shows (docs/training-data.md): per learnable pattern, the
sessions showing it against the minimum a model needs; the mix of engine families, stages and cam
classes; each session's record and its state. Plain values, worked out from training records
(``ml.training``); :mod:`~dynoai_desktop.app.training_session` keeps the records.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dynoai_desktop.ml.training.dataset import contents
from dynoai_desktop.ml.training.records import PATTERNS, TuningSession

MINIMUM_SESSIONS = {"ve_scaling": 50, "cylinder_imbalance": 50, "decel_popping": 30,
                    "heat_soak": 25, "knock_timing": 40, "afr_targets": 50}
"""Sessions showing a pattern before a model of it is worth training (issue 18)."""
PATTERN_LABELS = {"ve_scaling": "VE scaling", "cylinder_imbalance": "Cylinder imbalance",
                  "decel_popping": "Decel popping", "heat_soak": "Heat soak",
                  "knock_timing": "Knock and timing", "afr_targets": "AFR targets"}
CAM_CLASSES = ("OEM", "bolt-in", "hot street")
# Mean of intake and exhaust duration (H-D convention, .053 in) between the class cards of the
# simulator's cam classes (208°, 222°, 240°: docs/simulator.md §3.1, vtwin.md §2).
BOLT_IN_FROM_DEG, HOT_STREET_FROM_DEG = 215.0, 231.0


def cam_class(build: Mapping[str, Any]) -> str:
    """The build's cam class for the mix: by its card's duration when known, else stock is
    OEM and another cam is bolt-in up to stage 2 and hot street beyond (the simulator's rule)."""
    cam = build.get("cam")
    cam = cam if isinstance(cam, Mapping) else {}
    durations = [d for d in (cam.get("intake_duration_deg"), cam.get("exhaust_duration_deg"))
                 if isinstance(d, int | float) and not isinstance(d, bool)]
    if durations:
        mean = sum(durations) / len(durations)
        return CAM_CLASSES[(mean >= BOLT_IN_FROM_DEG) + (mean >= HOT_STREET_FROM_DEG)]
    if str(cam.get("name", "stock")).strip().lower() in ("", "stock", "oem"):
        return "OEM"
    stage = build.get("stage", 0)
    return "hot street" if isinstance(stage, int | float) and stage >= 3 else "bolt-in"


@dataclass(frozen=True)
class PatternProgress:
    """How many sessions show a pattern, against the minimum a model needs."""

    name: str
    label: str
    sessions: int
    minimum: int

    @property
    def fraction(self) -> float:
        return min(1.0, self.sessions / self.minimum) if self.minimum else 1.0

    @property
    def text(self) -> str:
        return f"{self.sessions} of {self.minimum} sessions"


@dataclass(frozen=True)
class TrainingProgress:
    """The dataset (records not excluded) against the minimums, and its mix of builds."""

    patterns: tuple[PatternProgress, ...]
    sessions: int
    simulated: int
    excluded: int
    dyno_hours: float
    families: Mapping[str, int]
    """Engine family (BuildSpec ``engine_family`` value) -> sessions."""
    stages: Mapping[str, int]
    """Stage ("0" stock .. "4") -> sessions."""
    cams: Mapping[str, int]
    """Cam class (:func:`cam_class`) -> sessions."""
    flagged: int = 0
    """Records the anomaly detector keeps out (not counted in ``sessions``)."""


@dataclass(frozen=True)
class TrainingEntry:
    """One session in the dataset view: a catalog session's record (or why it has none), or an
    imported record."""

    key: str
    """'session:<id>' for a catalog session, else the imported record's id."""
    session_id: int | None
    """The catalog session; None for an imported record."""
    vehicle: str
    started_at: str
    record: TuningSession | None
    excluded: bool = False
    extracting: bool = False
    problem: str = ""
    """Why there is no record, or why the last extraction did not replace it."""
    notes: tuple[str, ...] = ()
    """Runs left out of the record (their files could not be read)."""
    flags: tuple[str, ...] = ()
    """Why the anomaly detector keeps it out of training (empty: nothing found)."""
    used_anyway: bool = False
    """The tuner uses it although it is flagged."""

    @property
    def kept_out_by_flags(self) -> bool:
        return bool(self.flags) and not self.used_anyway and not self.excluded

    @property
    def imported(self) -> bool:
        return self.session_id is None

    @property
    def patterns(self) -> tuple[str, ...]:
        """The patterns extracted."""
        if self.record is None:
            return ()
        return tuple(p for p in PATTERNS if getattr(self.record.patterns, p) is not None)

    @property
    def refusals(self) -> Mapping[str, str]:
        return {} if self.record is None else dict(self.record.refusals)

    @property
    def state(self) -> str:
        """In words: 'extracted: 4 of 6 patterns', 'excluded', 'flagged, kept out: …',
        'extracting…', 'no record: …'."""
        if self.extracting:
            return "extracting…"
        if self.record is None:
            return f"no record: {self.problem}" if self.problem else "no record yet"
        if self.excluded:
            return "excluded"
        if self.flags:
            return (f"{'flagged, used anyway' if self.used_anyway else 'flagged, kept out'}: "
                    f"{self.flags[0]}")
        text = f"extracted: {len(self.patterns)} of {len(PATTERNS)} patterns"
        return f"{text} (last update failed)" if self.problem else text


@dataclass(frozen=True)
class ImportReport:
    source: str
    added: int
    replaced: int
    already_here: int
    """Sessions the shop already has (the same record under any id), not imported twice."""

    @property
    def text(self) -> str:
        parts = [f"{self.added} session(s) added"]
        if self.replaced:
            parts.append(f"{self.replaced} replaced")
        if self.already_here:
            parts.append(f"{self.already_here} already here")
        return f"Imported {Path(self.source).name}: " + ", ".join(parts)


def progress_of(sessions: Sequence[TuningSession], excluded: int = 0, flagged: int = 0
                ) -> TrainingProgress:
    """Per pattern, ``sessions`` showing it against its minimum; their mix of builds."""
    held = contents(list(sessions))
    cams = Counter(cam_class(s.build) for s in sessions)
    return TrainingProgress(
        tuple(PatternProgress(p, PATTERN_LABELS[p], held.patterns.get(p, 0),
                              MINIMUM_SESSIONS[p]) for p in PATTERNS),
        held.sessions, held.simulated, excluded, held.dyno_hours, held.families, held.stages,
        {c: cams[c] for c in CAM_CLASSES if cams[c]}, flagged)
