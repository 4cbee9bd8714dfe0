"""Wideband columns: λ or AFR, which cylinder, and whether the sensor read anything at all.

Every AFR channel is stored as λ × 14.7 (FORMATS.md §2). A column is read as λ when its values
say so (a median below 2: no engine runs at AFR 2), whatever its label; a value ≤ 0 or empty is
missing. A wideband that never moves (spread under 0.05 AFR, the stuck-sensor rule of
FORMATS.md §3: a disconnected input at 10.0, a controller at its rail) is refused, not used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from dynoai_desktop.core import units
from dynoai_desktop.storage.log_import.convert import median, value_range
from dynoai_desktop.storage.log_import.model import SourceColumn
from dynoai_desktop.storage.log_import.names import WidebandName, parse_unit
from dynoai_desktop.storage.log_import.plausible import Candidate, pick

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
    reason: str = ""
    """``problem`` without its "no AFR front:" lead, for a side another column feeds."""


@dataclass
class Widebands:
    """The wideband channels chosen for a log, and everything the tuner should know about it."""

    channels: dict[str, Reading] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    sides: list[str] = field(default_factory=list)
    fates: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Each candidate column -> ("mapped", channel) / ("refused" or "unused", reason)."""


def read_afr(column: SourceColumn, raw: np.ndarray, what: str, stuck_check: bool = True) -> Reading:
    """``raw`` (the column's kept rows) as gasoline-scale AFR, or the reason it cannot be."""
    name = column.name
    if not np.isfinite(raw).any():
        return Reading(name, problem=f"'{name}' is empty the whole log", absent=True)
    clean = np.where(raw > 0, raw, np.nan)
    if not np.isfinite(clean).any():
        why = "(sensor not connected?)" if stuck_check else "(not set in this log?)"
        shown = _constant_or_range(raw)
        reason = f"'{name}' reads {shown} the whole log, never a valid value {why}"
        return Reading(name, problem=f"no {what}: {reason}", reason=reason)
    symbol = parse_unit(column.unit)
    if symbol == "" and re.search(r"lambda|λ", column.key):
        symbol = "lambda"  # the name says λ (rusEFI "Lambda 2"); the values still decide
    unit, warnings = _scale(name, symbol, clean)
    afr = np.asarray(units.convert(clean, unit, "AFR"), dtype=float) if unit == "lambda" else clean
    finite = afr[np.isfinite(afr)]
    if stuck_check and finite.size >= STUCK_MIN_SAMPLES and np.ptp(finite) < STUCK_SPREAD_AFR:
        shown = f"{finite[0]:.1f}" if unit == "AFR" else f"λ {clean[np.isfinite(clean)][0]:.3f}"
        reason = f"the wideband '{name}' reads {shown} the whole log (sensor not connected?)"
        return Reading(name, problem=f"no {what}: {reason}", reason=reason)
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


def resolve(candidates: list[tuple[SourceColumn, WidebandName]], rows: np.ndarray) -> Widebands:
    """One decision per side among ``(column, what its name says)`` candidates.

    Front candidates are the columns named for the front, then those that name no cylinder (a
    log that numbers only its second sensor, rusEFI's ``Lambda`` beside ``Lambda 2``, has an
    unnumbered first); rear candidates are the columns named for the rear. Each side then takes
    one column (λ first, then gasoline scale, then any AFR; a column that holds clearly more of
    the run wins), so a side is either fed, refused or absent, never two at once.
    """
    result = Widebands()
    usable = _drop_voltages(candidates, result)
    if not usable:
        result.sides.append("no wideband AFR column in this log")
        result.warnings.append("no wideband AFR column in this log: nothing to tune fuel from")
        return result
    sided = {s: [(c, n, n.reason) for c, n in usable if n.side == s] for s in ("front", "rear")}
    unsided = [(c, n) for c, n in usable if not n.side]
    for column, name in unsided:
        if sided["rear"]:
            why = f"names no cylinder beside '{sided['rear'][0][0].name}' (rear): sensor 1, front"
        else:
            why = "names no cylinder: taken as front"
        sided["front"].append((column, name, why))
    for side in ("front", "rear"):
        _decide(side, sided[side], rows, result)
    if not result.channels:
        result.sides.append("no usable wideband AFR in this log")
    return result


def _drop_voltages(
    candidates: list[tuple[SourceColumn, WidebandName]], result: Widebands
) -> list[tuple[SourceColumn, WidebandName]]:
    others = [c for c, _ in candidates if parse_unit(c.unit) not in _AFR_UNITS]
    if others:
        names = ", ".join(f"'{c.name}' ({c.unit})" for c in others)
        result.warnings.append(
            f"{names}: not AFR or λ (narrowband O2 volts or unscaled inputs), so not a "
            "wideband: not used"
        )
        for column in others:
            result.fates[column.name] = (
                "unused",
                f"in {column.unit}, not AFR or λ (a narrowband O2 voltage or an unscaled input)",
            )
    return [(c, name) for c, name in candidates if c not in others]


def _rank(column: SourceColumn, name: WidebandName) -> int:
    # λ first: an AFR column may be on another fuel's scale, λ is the same for all fuels.
    if parse_unit(column.unit) == "lambda" or re.search(r"lambda|λ", column.key):
        return 0
    return 1 if name.gas_scale else 2


def _decide(
    side: str,
    entries: list[tuple[SourceColumn, WidebandName, str]],
    rows: np.ndarray,
    result: Widebands,
) -> None:
    channel = f"afr_{side}"
    readings = [(read_afr(c, c.values[rows], f"AFR {side}"), c, n, why) for c, n, why in entries]
    good = [
        (Candidate(r.column, r.values, r.unit, r.warnings, _rank(c, n) * 100 + i), n, why)
        for i, (r, c, n, why) in enumerate(readings)
        if r.values is not None
    ]
    if not good:
        _report_missing(side, [r for r, *_ in readings], result)
        return
    chosen, choice_warning, others = pick(channel, [g[0] for g in good])
    name, why = next((n, w) for g, n, w in good if g is chosen)
    result.channels[channel] = Reading(chosen.name, chosen.values, chosen.unit, chosen.warnings)
    result.warnings.extend(chosen.warnings)
    result.fates[chosen.name] = ("mapped", channel)
    result.sides.append(f"{side}: '{chosen.name}' ({chosen.unit}; {why})")
    if choice_warning:
        result.warnings.append(choice_warning)
    if name.from_volts:
        result.warnings.extend(_sniffer(chosen))
    for candidate, _name, _why in good:
        if candidate is chosen:
            continue
        reason = others[candidate.name]
        result.fates[candidate.name] = ("unused", reason)
        lead = "looks like a wideband but names no cylinder; " if not _name.side else ""
        result.warnings.append(f"column '{candidate.name}' {lead}not used: {reason}")
    for reading, *_ in readings:
        if reading.values is None:
            _also_refused(side, reading, chosen.name, result)


def _also_refused(side: str, reading: Reading, fed_by: str, result: Widebands) -> None:
    """A wideband on a side another column feeds: refused or empty, said without 'no AFR'."""
    if reading.absent:
        result.fates[reading.column] = ("unused", f"{reading.problem}")
        return
    text = f"{reading.reason}: not used (the {side} is fed by '{fed_by}')"
    result.fates[reading.column] = ("refused", text)
    result.refusals.append(text)


SNIFFER_LEAN_AFR = 14.7  # a loaded pull richer than this is normal; a median leaner is not


def _sniffer(chosen: Candidate) -> list[str]:
    """The dyno's own wideband input reading lean through the run, as a tailpipe probe does."""
    middle = median(chosen.values)
    if not middle > SNIFFER_LEAN_AFR:
        return []
    return [
        f"column '{chosen.name}' is the dyno's own wideband input (an LC-1/LC-2 analog output "
        f"the dyno turns into AFR) and reads AFR {middle:.1f} (median), leaner than an engine "
        "under load runs: it reads like a tailpipe sniffer (air drawn into an open pipe reads "
        "lean); check it against a sensor in the header bung before tuning from it"
    ]


def _report_missing(side: str, problems: list[Reading], result: Widebands) -> None:
    refused = [p for p in problems if not p.absent]
    result.refusals.extend(p.problem for p in refused)
    for p in problems:
        result.fates[p.column] = ("refused", p.problem) if not p.absent else ("unused", p.problem)
    if refused:
        result.sides.append(f"{side}: refused ({'; '.join(p.column for p in refused)})")
        return
    why = "; ".join(p.problem for p in problems) or "no column for it"
    result.sides.append(f"{side}: absent ({why})")
    result.warnings.append(f"no {side} wideband ({why}): afr_{side} is left out")
