"""Wideband columns: λ or AFR, which cylinder, and whether the sensor read anything at all.

Every AFR channel is stored as λ × 14.7 (FORMATS.md §2). A column is read as λ when its values
say so (a median below 2: no engine runs at AFR 2), whatever its label; a value ≤ 0 or empty is
missing. A wideband that never moves (spread under 0.05 AFR, the stuck-sensor rule of
FORMATS.md §3: a disconnected input at 10.0, a controller at its rail) is refused, not used.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dynoai_desktop.core import units
from dynoai_desktop.storage.log_import.convert import median, value_range
from dynoai_desktop.storage.log_import.model import SourceColumn
from dynoai_desktop.storage.log_import.names import parse_unit

LAMBDA_BELOW = 2.0  # a median under this is λ; AFR medians are 10-16 on any running engine
STUCK_SPREAD_AFR = 0.05  # FORMATS.md §3: a spread below 0.05 AFR over the run is a stuck sensor
STUCK_MIN_SAMPLES = 10  # fewer samples than this prove nothing either way
RICH_FOR_GASOLINE = 10.5  # a median AFR this rich looks like an E85/methanol scale
_AFR_UNITS = frozenset({"", None, "lambda", "AFR"})  # None: a unit text not known here


@dataclass(frozen=True)
class Reading:
    """One column read as AFR: ``values`` set, or ``problem`` saying why it cannot be used."""

    column: str
    values: np.ndarray | None = None
    unit: str = ""
    warnings: tuple[str, ...] = ()
    problem: str = ""
    absent: bool = False


@dataclass
class Widebands:
    """The wideband channels chosen for a log, and everything the tuner should know about it."""

    channels: dict[str, Reading] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    sides: list[str] = field(default_factory=list)


def read_afr(column: SourceColumn, raw: np.ndarray, what: str, stuck_check: bool = True) -> Reading:
    """``raw`` (the column's kept rows) as gasoline-scale AFR, or the reason it cannot be."""
    name = column.name
    if not np.isfinite(raw).any():
        return Reading(name, problem=f"'{name}' is empty the whole log", absent=True)
    clean = np.where(raw > 0, raw, np.nan)
    if not np.isfinite(clean).any():
        why = "(sensor not connected?)" if stuck_check else "(not set in this log?)"
        return Reading(
            name,
            problem=f"no {what}: '{name}' reads {_constant_or_range(raw)} "
            f"the whole log, never a valid value {why}",
        )
    unit, warnings = _scale(name, parse_unit(column.unit), clean)
    afr = np.asarray(units.convert(clean, unit, "AFR"), dtype=float) if unit == "lambda" else clean
    finite = afr[np.isfinite(afr)]
    if stuck_check and finite.size >= STUCK_MIN_SAMPLES and np.ptp(finite) < STUCK_SPREAD_AFR:
        shown = f"{finite[0]:.1f}" if unit == "AFR" else f"λ {clean[np.isfinite(clean)][0]:.3f}"
        return Reading(
            name,
            problem=f"no {what}: the wideband '{name}' reads {shown} the whole "
            "log (sensor not connected?)",
        )
    if median(afr) < RICH_FOR_GASOLINE:
        warnings.append(
            f"column '{name}' reads AFR {value_range(afr)}, richer than a gasoline "
            "engine runs: if it is on an E85 or methanol scale, log λ instead"
        )
    return Reading(name, afr, "λ" if unit == "lambda" else "AFR", tuple(warnings))


def _constant_or_range(raw: np.ndarray) -> str:
    finite = raw[np.isfinite(raw)]
    return f"{finite[0]:g}" if np.ptp(finite) == 0 else value_range(raw)


def _scale(name: str, symbol: str | None, clean: np.ndarray) -> tuple[str, list[str]]:
    looks_lambda = median(clean) < LAMBDA_BELOW
    shown = value_range(clean)
    if symbol == "lambda":
        if looks_lambda:
            return "lambda", []
        return "AFR", [f"column '{name}' is labelled λ but reads {shown}, like AFR: kept as AFR"]
    if looks_lambda:
        return "lambda", [f"column '{name}' looks like λ ({shown}): converted to AFR"]
    return "AFR", []


def resolve(candidates: list[tuple[SourceColumn, str]], rows: np.ndarray) -> Widebands:
    """Pick the front and rear widebands among ``(column, side)`` candidates (side "" = none)."""
    result = Widebands()
    usable = _drop_voltages(candidates, result)
    if not usable:
        result.sides.append("no wideband AFR column in this log")
        result.warnings.append("no wideband AFR column in this log: nothing to tune fuel from")
        return result
    by_side = {s: [c for c, side in usable if side == s] for s in ("front", "rear", "")}
    if by_side[""] and not (by_side["front"] or by_side["rear"]):
        first, *rest = by_side[""]
        by_side["front"] = [first]
        result.sides.append(f"one wideband column '{first.name}' names no cylinder: taken as front")
        by_side[""] = rest
    for column in by_side[""]:
        result.warnings.append(
            f"column '{column.name}' looks like a wideband but names no "
            "cylinder, and the sides are taken: not used"
        )
    for side in ("front", "rear"):
        _choose(side, by_side[side], rows, result)
    if not result.channels:
        result.sides.append("no usable wideband AFR in this log")
    return result


def _drop_voltages(
    candidates: list[tuple[SourceColumn, str]], result: Widebands
) -> list[tuple[SourceColumn, str]]:
    others = [c for c, _ in candidates if parse_unit(c.unit) not in _AFR_UNITS]
    if others:
        names = ", ".join(f"'{c.name}' ({c.unit})" for c in others)
        result.warnings.append(
            f"{names}: not AFR or λ (narrowband O2 volts or unscaled inputs), so not a "
            "wideband: not used"
        )
    return [(c, side) for c, side in candidates if c not in others]


def _choose(side: str, columns: list[SourceColumn], rows: np.ndarray, result: Widebands) -> None:
    channel = f"afr_{side}"
    # A λ column first: an AFR column may be on another fuel's scale, λ is the same for all.
    ordered = sorted(columns, key=lambda c: parse_unit(c.unit) != "lambda")
    problems = []
    for column in ordered:
        reading = read_afr(column, column.values[rows], f"AFR {side}")
        if reading.values is not None:
            result.channels[channel] = reading
            result.warnings.extend(reading.warnings)
            result.sides.append(f"{side}: '{column.name}' ({reading.unit})")
            return
        problems.append(reading)
    _report_missing(side, problems, result)


def _report_missing(side: str, problems: list[Reading], result: Widebands) -> None:
    refused = [p for p in problems if not p.absent]
    result.refusals.extend(p.problem for p in refused)
    if refused:
        result.sides.append(f"{side}: refused ({'; '.join(p.column for p in refused)})")
        return
    why = "; ".join(p.problem for p in problems) or "no column for it"
    result.sides.append(f"{side}: absent ({why})")
    result.warnings.append(f"no {side} wideband ({why}): afr_{side} is left out")
