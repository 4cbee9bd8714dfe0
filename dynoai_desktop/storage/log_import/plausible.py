"""Plausibility across channels: which of several columns feeds a channel, which unit a
unit-less temperature is in, and whether a derived torque is one power and rpm can give.

A log from a dyno with an ECU beside it holds the same quantity twice or more (the dyno's
inductive pickup and the ECU's engine speed); the column that holds data through the run wins,
and the import says which and why (docs/log-import.md, "Choosing between columns").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dynoai_desktop.core import units
from dynoai_desktop.core.channels import CHANNELS
from dynoai_desktop.storage.log_import.convert import median, value_range

CLOSE_ENOUGH = 0.8  # a higher-ranked column keeps its place unless another scores 1/0.8 better
HP_FTLB_RPM = 5252.0  # torque_ftlb = power_hp × 5252 / rpm
TORQUE_TOLERANCE = 0.15  # torque and power × 5252 / rpm may differ this much (sync, smoothing)
TORQUE_BAD_ROWS = 0.1  # more rows than this off: the torque is not one power and rpm give
TORQUE_CHECK_MIN_RPM = 1000.0  # below this (and under 5 hp) the ratio means nothing
TORQUE_CHECK_MIN_HP = 5.0
# Intake air sits from a little below ambient (evaporation, a cold intake tract) to well above
# it (heat soak from an air-cooled engine at idle): -5 .. +45 °C from ambient.
IAT_BELOW_AMBIENT_C = 5.0
IAT_ABOVE_AMBIENT_C = 45.0
IAT_MAX_C = 70.0  # with no ambient in the log: intake air above 70 °C is not air but °F
HEAD_MAX_C = 260.0  # an air-cooled head does not exceed this; more is °F
F_ONLY_BELOW_C = -10.0  # a reading that as °F is colder than this (14 °F) is °C
WHOLE_TOLERANCE = 0.05  # a reading this close to a whole number (float32 logs) is one
WHOLE_C_SHARE = 0.95  # of the distinct readings whole in °C when read as °F


@dataclass(frozen=True, eq=False)
class Candidate:
    """A column's values already in the channel's unit, ready to be compared with others."""

    name: str
    values: np.ndarray
    unit: str
    warnings: tuple[str, ...] = ()
    rank: int = 0
    """Order of the name rules (lower is preferred when the data are equally good)."""


def coverage(values: np.ndarray) -> float:
    """Fraction of rows with a value."""
    return float(np.isfinite(values).mean()) if values.size else 0.0


def in_range(channel: str, values: np.ndarray) -> float:
    """Fraction of the values inside the channel's gauge range widened by its own span."""
    finite = values[np.isfinite(values)]
    if not finite.size or channel not in CHANNELS:
        return 1.0
    low, high = CHANNELS[channel].display_range
    span = high - low
    return float(((finite >= low - span) & (finite <= high + span)).mean())


def describe(channel: str, candidate: Candidate) -> str:
    """ "holds 100 % of the rows, 2400 to 5900" for the reasons given."""
    count = int(np.isfinite(candidate.values).sum())
    share = coverage(candidate.values)
    held = "every row" if share == 1.0 else f"{count} rows ({share:.0%})"
    outside = 1.0 - in_range(channel, candidate.values)
    text = f"holds {held}, {value_range(candidate.values)}"
    return text + (f", {outside:.0%} of them impossible for {channel}" if outside else "")


def pick(channel: str, candidates: list[Candidate]) -> tuple[Candidate, str, dict[str, str]]:
    """The candidate that feeds ``channel``, a warning when the choice needed the data (else ""),
    and for each other candidate why it is not used.

    Score = coverage × share of plausible values. The best-ranked name whose score is at least
    0.8 of the best score is chosen, so equal columns keep the order of the name rules.
    """
    ordered = sorted(candidates, key=lambda c: c.rank)
    scores = [coverage(c.values) * in_range(channel, c.values) for c in ordered]
    best = max(scores)
    index = next(i for i, s in enumerate(scores) if s >= CLOSE_ENOUGH * best)
    chosen = ordered[index]
    others = {}
    for candidate, score in zip(ordered, scores, strict=True):
        if candidate is chosen:
            continue
        if score < CLOSE_ENOUGH * best:
            why = f"it {describe(channel, candidate)}"
        else:
            why = "it holds as much of the run, and its name ranks later in the name rules"
        others[candidate.name] = f"'{chosen.name}' feeds {channel}: {why}"
    warning = ""
    if index > 0:
        losers = "; ".join(
            f"'{c.name}' {describe(channel, c)}" for c in ordered[:index]
        )
        warning = (
            f"{channel}: '{chosen.name}' chosen: it {describe(channel, chosen)}; {losers}"
        )
    return chosen, warning, others


# ------------------------------------------------------------------ temperatures
@dataclass(frozen=True)
class TemperatureUnit:
    """The unit a unit-less temperature column is read in, and the warning that says why."""

    unit: str
    warning: str


def temperature_unit(
    channel: str, name: str, raw: np.ndarray, ambient_c: np.ndarray | None
) -> TemperatureUnit | None:
    """°C or °F for a unit-less IAT or head temperature, judged against the other channels;
    None when the values cannot tell (the caller keeps its °C default and warning)."""
    as_c = median(raw)
    as_f_in_c = float(units.convert(as_c, "F", "C"))
    shown = value_range(raw)
    if not np.isfinite(as_c):
        return None
    if channel == "iat_c":
        ambient = median(ambient_c) if ambient_c is not None else float("nan")
        if np.isfinite(ambient):
            low, high = ambient - IAT_BELOW_AMBIENT_C, ambient + IAT_ABOVE_AMBIENT_C
            c_ok, f_ok = low <= as_c <= high, low <= as_f_in_c <= high
            where = f"the log's ambient is {ambient:.0f} °C"
            if f_ok and not c_ok:
                return TemperatureUnit("F", _read_as(name, shown, "°F", as_f_in_c, where))
            if c_ok and not f_ok:
                return TemperatureUnit("C", _read_as(name, shown, "°C", as_c, where))
            return _whole_celsius_shown_in_f(name, raw, shown, as_f_in_c)
        if as_c > IAT_MAX_C:
            why = f"intake air is not above {IAT_MAX_C:.0f} °C"
            return TemperatureUnit("F", _read_as(name, shown, "°F", as_f_in_c, why))
        return _whole_celsius_shown_in_f(name, raw, shown, as_f_in_c)
    if channel == "engine_temp_c":
        top = float(np.nanmax(raw))
        if top > HEAD_MAX_C:
            why = f"an air-cooled head does not pass {HEAD_MAX_C:.0f} °C"
            return TemperatureUnit("F", _read_as(name, shown, "°F", as_f_in_c, why))
        if float(units.convert(float(np.nanmin(raw)), "F", "C")) < F_ONLY_BELOW_C:
            why = f"as °F it would read below {F_ONLY_BELOW_C:.0f} °C"
            return TemperatureUnit("C", _read_as(name, shown, "°C", as_c, why))
        return _whole_celsius_shown_in_f(name, raw, shown, as_f_in_c)
    return None


def _whole_celsius_shown_in_f(name: str, raw: np.ndarray, shown: str, as_f_in_c: float
                              ) -> TemperatureUnit | None:
    """°F when the readings are not whole numbers but are whole °C in °F (179.6 = 82 °C): an
    ECU that counts whole °C (Speeduino, MegaSquirt) logged by a tool set to °F. None when the
    values cannot tell."""
    values = np.unique(np.round(raw[np.isfinite(raw)], 3))
    if values.size == 0:
        return None
    whole = np.abs(values - np.round(values)) < WHOLE_TOLERANCE
    as_c = (values - 32.0) / 1.8
    whole_c = np.abs(as_c - np.round(as_c)) < WHOLE_TOLERANCE
    if whole_c.mean() >= WHOLE_C_SHARE and whole.mean() < 0.5:
        example = f"{values[~whole][0]:g} °F = {round(float(as_c[~whole][0]))} °C"
        why = f"its readings are whole °C shown in °F ({example})"
        return TemperatureUnit("F", _read_as(name, shown, "°F", as_f_in_c, why))
    return None


def _read_as(name: str, shown: str, unit: str, median_c: float, why: str) -> str:
    return (
        f"column '{name}' has no unit and reads {shown}: read as {unit} (median "
        f"{median_c:.0f} °C; {why})"
    )


# ------------------------------------------------------------------ torque
@dataclass(frozen=True)
class TorqueCheck:
    """A torque column judged against power and rpm: recomputed values, or a refusal."""

    values: np.ndarray | None
    message: str
    refused: bool = False


def check_torque(
    torque: np.ndarray, power: np.ndarray | None, rpm: np.ndarray, names: tuple[str, str, str]
) -> TorqueCheck | None:
    """None when ``torque`` agrees with power × 5252 / rpm (or cannot be checked and is
    plausible); else the torque recomputed from power and rpm, or refused with the reason."""
    torque_name, power_name, rpm_name = names
    top = float(np.nanmax(np.abs(torque))) if np.isfinite(torque).any() else 0.0
    limit = 2.0 * CHANNELS["torque_ftlb"].display_max + CHANNELS["torque_ftlb"].display_max
    if power is None:
        if top <= limit:
            return None
        return TorqueCheck(
            None,
            f"torque '{torque_name}' reads up to {top:.0f} ft-lb, which no motorcycle makes, "
            "and there is no power column to recompute it from: not used",
            refused=True,
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = power * HP_FTLB_RPM / rpm
        comparable = (
            np.isfinite(torque) & np.isfinite(expected)
            & (rpm >= TORQUE_CHECK_MIN_RPM) & (np.abs(power) >= TORQUE_CHECK_MIN_HP)
        )
        off = np.abs(torque - expected) > TORQUE_TOLERANCE * np.abs(expected)
    bad_share = float(off[comparable].mean()) if comparable.any() else 0.0
    if bad_share <= TORQUE_BAD_ROWS and top <= limit:
        return None
    sound_rows = np.isfinite(power) & np.isfinite(rpm) & (rpm >= TORQUE_CHECK_MIN_RPM)
    said = (
        f"torque '{torque_name}' reads up to {top:.0f} ft-lb and disagrees with power "
        f"'{power_name}' × 5252 / rpm '{rpm_name}' in {bad_share:.0%} of the rows"
    )
    if not sound_rows.any():
        return TorqueCheck(None, f"{said}; power and rpm have no rows to recompute it: not used",
                           refused=True)
    recomputed = np.where(sound_rows, expected, np.nan)
    return TorqueCheck(
        recomputed,
        f"{said}: a torque that power and rpm cannot give (computed from another rpm?); "
        f"recomputed as power × 5252 / rpm ({value_range(recomputed)} ft-lb)",
    )
