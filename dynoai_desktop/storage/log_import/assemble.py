"""A parsed foreign log (SourceLog) mapped onto canonical channels (ImportedLog).

Every format ends here, so the rules are the same for all: a time column and an rpm column or
an InputError; rows whose time is missing or does not increase are dropped with a warning;
``time_s`` starts at 0; units go through core.units; widebands through ``afr``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType

import numpy as np

from dynoai_desktop.core import units
from dynoai_desktop.core.channels import LOG_COLUMNS, STATUS_CHANNEL_FOR
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.storage.log_import import afr
from dynoai_desktop.storage.log_import.convert import Unusable, to_channel
from dynoai_desktop.storage.log_import.markers import marker_times
from dynoai_desktop.storage.log_import.model import (
    NO_CHANNEL,
    ColumnFate,
    ImportedLog,
    Rule,
    SourceColumn,
    SourceLog,
)
from dynoai_desktop.storage.log_import.names import BOTH_CYLINDERS, parse_unit, wideband_name
from dynoai_desktop.storage.log_import.names import unit_label as label
from dynoai_desktop.storage.log_import.plausible import (
    Candidate,
    check_torque,
    pick,
    temperature_unit,
)

_TIME_SCALE = {"s": 1.0, "ms": 1e-3, "us": 1e-6}


@dataclass
class _Mapping:
    """The channels filled so far and what was said about them."""

    values: dict[str, np.ndarray] = field(default_factory=dict)
    mapped: dict[str, str] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    unusable: dict[str, list[str]] = field(default_factory=dict)
    feeds: dict[str, list[str]] = field(default_factory=dict)
    """Source column -> the channels it feeds."""
    refused: dict[str, str] = field(default_factory=dict)
    """Source column -> why it cannot be used (each reason is also in ``refusals``)."""
    unused: dict[str, str] = field(default_factory=dict)
    """Source column -> why it is not used, where more can be said than "no channel"."""
    unitless_temps: dict[str, tuple[SourceColumn, np.ndarray, str]] = field(default_factory=dict)
    """Temperature channel -> (column, raw values, the °C-default warning) to judge later."""

    def fill(self, channel: str, values: np.ndarray, column: str, unit: str) -> None:
        self.values[channel] = values
        self.mapped[channel] = f"{column} [{label(unit)}]"
        self.used.add(column)
        self.feeds.setdefault(column, []).append(channel)

    def refuse(self, column: str, reason: str) -> None:
        if column not in self.refused:
            self.refused[column] = reason
            self.refusals.append(reason)


def build(source: SourceLog) -> ImportedLog:
    """Map ``source`` onto canonical channels; InputError when it has no time or no rpm."""
    import pandas as pd  # here, not at import: pandas is heavy and the GUI starts without it

    source = _unique_names(source)
    time_column, time_rule = _required(
        source, "time_s", "Time, Time (msec), Time(ms)", "export the log with its time stamps"
    )
    time_unit = _time_unit(source.path, time_column, time_rule)
    rows, time_s, warnings = _time_rows(source.path, time_column, _TIME_SCALE[time_unit])
    state = _Mapping(warnings=list(source.warnings) + warnings)
    state.fill("time_s", time_s, time_column.name, time_unit)
    _apply_rules(source, rows, state)
    if "rpm" not in state.values:
        _required(source, "rpm", "RPM, Engine Speed, Engine RPM", "log engine speed")
        raise InputError(
            f"{source.path}: no usable rpm column ({_unusable_text(state, 'rpm')}); "
            "log engine speed in rpm and import it again"
        )
    _decide_temperatures(state)
    widebands = _widebands(source, rows, state)
    _apply_derived(source, rows, state)
    _check_torque(state)
    frame = pd.DataFrame({c: state.values[c] for c in LOG_COLUMNS if c in state.values})
    fates = _fates(source, state, widebands)
    unmapped = [name for name, fate in fates.items() if fate.status != "mapped"]
    return ImportedLog(
        frame=frame,
        source_format=source.source_format,
        path=source.path,
        mapped={c: state.mapped[c] for c in LOG_COLUMNS if c in state.mapped},
        unmapped=unmapped,
        warnings=state.warnings,
        wideband_sides="; ".join(widebands.sides),
        refusals=state.refusals + widebands.refusals,
        columns=MappingProxyType(fates),
        markers=marker_times(source.markers, rows, time_s),
    )


def _fates(source: SourceLog, state: _Mapping, widebands: afr.Widebands) -> dict[str, ColumnFate]:
    """Every source column -> mapped, refused or unused, one status each."""
    fates = {}
    for column in source.columns:
        name = column.name
        if not name.strip():
            continue
        if name in state.feeds:
            fates[name] = ColumnFate("mapped", " and ".join(state.feeds[name]))
        elif name in state.refused:
            fates[name] = ColumnFate("refused", state.refused[name])
        elif name in widebands.fates and widebands.fates[name][0] != "mapped":
            fates[name] = ColumnFate(*widebands.fates[name])
        elif name in state.unused:
            fates[name] = ColumnFate("unused", state.unused[name])
        else:
            fates[name] = ColumnFate("unused", NO_CHANNEL)
    return fates


def _unique_names(source: SourceLog) -> SourceLog:
    """A name the file has twice becomes ``name (2)``, so each column is accounted for once."""
    seen: dict[str, int] = {}
    columns = []
    for column in source.columns:
        seen[column.name] = seen.get(column.name, 0) + 1
        if seen[column.name] > 1 and column.name.strip():
            column = replace(
                column,
                name=f"{column.name} ({seen[column.name]})",
                match_name=column.match_name or column.name,
            )
        columns.append(column)
    return replace(source, columns=tuple(columns)) if max(seen.values(), default=1) > 1 else source


def _required(
    source: SourceLog, channel: str, examples: str, todo: str
) -> tuple[SourceColumn, Rule]:
    for rule in source.rules:
        if rule.channel == channel:
            for column in source.columns:
                if re.fullmatch(rule.pattern, column.key):
                    return column, rule
    what = "time" if channel == "time_s" else channel
    raise InputError(
        f"{source.path}: no {what} column (looked for names like {examples}); "
        f"{todo} and import it again"
    )


def _unusable_text(state: _Mapping, channel: str) -> str:
    return "; ".join(state.unusable.get(channel, ["no column could be read"]))


def _time_unit(path: Path, column: SourceColumn, rule: Rule) -> str:
    """The time column's unit (the format's when the file gives none); s, ms or us."""
    unit = parse_unit(column.unit)
    unit = rule.unit if unit == "" else unit
    if unit not in _TIME_SCALE:
        raise InputError(
            f"{path}: time column '{column.name}' is in '{column.unit}'; give time in s or ms"
        )
    return unit


def _time_rows(
    path: Path, column: SourceColumn, scale: float
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Rows to keep (time present and strictly increasing), their time_s from 0, warnings."""
    seconds = column.values * scale
    present = np.flatnonzero(np.isfinite(seconds))
    if present.size == 0:
        raise InputError(
            f"{path}: no data rows (column '{column.name}' holds no time); "
            "export a log with at least one sample"
        )
    warnings = []
    if present.size < seconds.size:
        warnings.append(
            f"{seconds.size - present.size} rows have no time in '{column.name}': dropped"
        )
    times = seconds[present]
    increasing = np.ones(times.size, dtype=bool)
    increasing[1:] = times[1:] > np.maximum.accumulate(times)[:-1]
    if not increasing.all():
        first = int(present[np.flatnonzero(~increasing)[0]]) + 1
        warnings.append(
            f"time in '{column.name}' repeats or goes backwards at "
            f"{int((~increasing).sum())} rows (first at data row {first}): "
            "those rows dropped"
        )
    rows = present[increasing]
    return rows, seconds[rows] - seconds[rows][0], warnings


def _apply_rules(source: SourceLog, rows: np.ndarray, state: _Mapping) -> None:
    """Each channel from the best of the columns whose names match its rules (plausible.pick)."""
    groups: dict[str, list[tuple[int, Rule, SourceColumn]]] = {}
    for rank, rule in enumerate(source.rules):
        if rule.channel == "time_s":
            continue
        for column in source.columns:
            if re.fullmatch(rule.pattern, column.key):
                groups.setdefault(rule.channel, []).append((rank, rule, column))
    for channel, entries in groups.items():
        targets = [t for t in BOTH_CYLINDERS.get(channel, (channel,)) if t not in state.values]
        candidates: list[Candidate] = []
        seen: set[str] = set()
        for rank, rule, column in entries:
            if column.name in state.used or column.name in seen:
                continue
            seen.add(column.name)
            if not targets:
                fed = BOTH_CYLINDERS.get(channel, (channel,))
                state.unused.setdefault(column.name, f"{' and '.join(fed)} already fed")
                continue
            candidate = _candidate(column, rule, targets, rows, rank, state)
            if candidate is not None:
                candidates.append(candidate)
        if candidates:
            _fill_best(candidates, targets, state)


def _candidate(
    column: SourceColumn, rule: Rule, targets: list[str], rows: np.ndarray, rank: int,
    state: _Mapping,
) -> Candidate | None:
    values = column.values[rows]
    if rule.channel == "afr_target":
        reading = afr.read_afr(column, values, "AFR target", stuck_check=False)
        if reading.values is None:
            if reading.absent:
                state.unused.setdefault(column.name, reading.problem)
            else:
                state.refuse(column.name, reading.problem)
            return None
        unit = "lambda" if reading.unit == "λ" else reading.unit
        return Candidate(column.name, reading.values, unit, reading.warnings, rank)
    try:
        converted = to_channel(targets[0], column.name, column.unit, rule.unit, values)
    except Unusable as exc:
        state.unusable.setdefault(targets[0], []).append(str(exc))
        state.refuse(column.name, str(exc))
        return None
    warnings = (converted.warning,) if converted.warning else ()
    if targets[0] in _TEMPERATURES and parse_unit(column.unit) == "" and converted.unit == "C":
        state.unitless_temps[column.name] = (column, values, converted.warning)
        warnings = ()
    if not np.isfinite(converted.values).any():
        state.unused.setdefault(column.name, f"'{column.name}' is empty the whole log")
        return None
    return Candidate(column.name, converted.values, converted.unit, warnings, rank)


_TEMPERATURES = ("engine_temp_c", "iat_c")


def _fill_best(candidates: list[Candidate], targets: list[str], state: _Mapping) -> None:
    chosen, warning, others = pick(targets[0], candidates)
    for target in targets:
        state.fill(target, chosen.values, chosen.name, chosen.unit)
    state.warnings.extend(chosen.warnings)
    if warning:
        state.warnings.append(warning)
    state.unused.update(others)
    if chosen.name in state.unitless_temps:
        column, raw, default = state.unitless_temps.pop(chosen.name)
        state.unitless_temps[targets[0]] = (column, raw, default)
    if len(targets) > 1:
        state.warnings.append(
            f"column '{chosen.name}' is one value for both cylinders: "
            f"used for {' and '.join(targets)}"
        )


def _decide_temperatures(state: _Mapping) -> None:
    """A unit-less IAT or head temperature: °C or °F by plausibility across channels."""
    ambient = state.values.get("ambient_temp_c")
    for channel in _TEMPERATURES:
        if channel not in state.unitless_temps:
            continue
        column, raw, default = state.unitless_temps[channel]
        decided = temperature_unit(channel, column.name, raw, ambient)
        if decided is None:
            state.warnings.append(default)
            continue
        if decided.unit == "F":
            state.fill(channel, np.asarray(units.convert(raw, "F", "C"), dtype=float),
                       column.name, "F")
            state.feeds[column.name].pop()
        state.warnings.append(decided.warning)


def _widebands(source: SourceLog, rows: np.ndarray, state: _Mapping) -> afr.Widebands:
    derived_columns = {c for d in source.derived.values() for c in d.used_columns}
    candidates = []
    for column in source.columns:
        if column.name in state.used or column.name in derived_columns:
            continue
        name = wideband_name(column.key)
        if name is not None:
            candidates.append((column, name))
    widebands = afr.resolve(candidates, rows)
    for channel, reading in widebands.channels.items():
        assert reading.values is not None
        state.fill(
            channel,
            reading.values,
            reading.column,
            "lambda" if reading.unit == "λ" else reading.unit,
        )
    state.warnings.extend(widebands.warnings)
    return widebands


def _apply_derived(source: SourceLog, rows: np.ndarray, state: _Mapping) -> None:
    status_of = {status: channel for channel, status in STATUS_CHANNEL_FOR.items()}
    for channel, derived in source.derived.items():
        if channel in state.values:
            for used in derived.used_columns:
                if used not in state.feeds:
                    state.unused.setdefault(used, f"{channel} already fed")
            continue
        if channel in status_of and status_of[channel] not in state.values:
            for used in derived.used_columns:
                state.unused.setdefault(
                    used, f"status of a wideband that is not in the frame ({status_of[channel]})"
                )
            continue  # a status for a wideband that is not in the frame means nothing
        afr = status_of.get(channel)
        fed_by = state.mapped.get(afr, "").split(" [")[0] if afr else ""
        if derived.of_column is not None and fed_by != derived.of_column:
            for used in derived.used_columns:
                state.unused.setdefault(
                    used, f"status of '{derived.of_column}', but {afr} is fed by '{fed_by}'")
            continue
        state.values[channel] = derived.values[rows]
        state.mapped[channel] = derived.source
        state.used.update(derived.used_columns)
        for used in derived.used_columns:
            state.feeds.setdefault(used, []).append(channel)


def _check_torque(state: _Mapping) -> None:
    """A torque that power and rpm cannot give is recomputed from them, or refused."""
    if "torque_ftlb" not in state.values:
        return
    source = state.mapped["torque_ftlb"].split(" [")[0].split(" ÷ ")[0]
    power_source = state.mapped.get("power_hp", "").split(" [")[0].split(" ÷ ")[0]
    rpm_source = state.mapped["rpm"].split(" [")[0]
    checked = check_torque(
        state.values["torque_ftlb"], state.values.get("power_hp"), state.values["rpm"],
        (source, power_source, rpm_source),
    )
    if checked is None:
        return
    columns = [c for c, channels in state.feeds.items() if "torque_ftlb" in channels]
    if checked.refused or checked.values is None:
        del state.values["torque_ftlb"], state.mapped["torque_ftlb"]
        for column in columns:
            state.feeds[column].remove("torque_ftlb")
            if not state.feeds[column]:
                del state.feeds[column]
                state.refuse(column, checked.message)
        return
    state.values["torque_ftlb"] = checked.values
    state.mapped["torque_ftlb"] = f"{power_source} × 5252 ÷ {rpm_source} [recomputed]"
    for column in columns:
        state.feeds[column].remove("torque_ftlb")
        if not state.feeds[column]:
            del state.feeds[column]
            state.refuse(column, checked.message)
    for column in (power_source, rpm_source):
        state.feeds.setdefault(column, [])
        if "torque_ftlb" not in state.feeds[column]:
            state.feeds[column].append("torque_ftlb")
