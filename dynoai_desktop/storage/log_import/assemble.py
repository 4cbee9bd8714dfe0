"""A parsed foreign log (SourceLog) mapped onto canonical channels (ImportedLog).

Every format ends here, so the rules are the same for all: a time column and an rpm column or
an InputError; rows whose time is missing or does not increase are dropped with a warning;
``time_s`` starts at 0; units go through core.units; widebands through ``afr``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dynoai_desktop.core.channels import LOG_COLUMNS, STATUS_CHANNEL_FOR
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.storage.log_import import afr
from dynoai_desktop.storage.log_import.convert import Unusable, to_channel
from dynoai_desktop.storage.log_import.model import ImportedLog, Rule, SourceColumn, SourceLog
from dynoai_desktop.storage.log_import.names import BOTH_CYLINDERS, parse_unit, wideband_side
from dynoai_desktop.storage.log_import.names import unit_label as label

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

    def fill(self, channel: str, values: np.ndarray, column: str, unit: str) -> None:
        self.values[channel] = values
        self.mapped[channel] = f"{column} [{label(unit)}]"
        self.used.add(column)


def build(source: SourceLog) -> ImportedLog:
    """Map ``source`` onto canonical channels; InputError when it has no time or no rpm."""
    import pandas as pd  # here, not at import: pandas is heavy and the GUI starts without it

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
    widebands = _widebands(source, rows, state)
    _apply_derived(source, rows, state)
    for channel, messages in state.unusable.items():
        if channel not in state.values:
            state.warnings.extend(messages)
    frame = pd.DataFrame({c: state.values[c] for c in LOG_COLUMNS if c in state.values})
    unmapped = [c.name for c in source.columns if c.name.strip() and c.name not in state.used]
    return ImportedLog(
        frame=frame,
        source_format=source.source_format,
        path=source.path,
        mapped={c: state.mapped[c] for c in LOG_COLUMNS if c in state.mapped},
        unmapped=unmapped,
        warnings=state.warnings,
        wideband_sides="; ".join(widebands.sides),
        refusals=state.refusals + widebands.refusals,
    )


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
    for rule in source.rules:
        targets = BOTH_CYLINDERS.get(rule.channel, (rule.channel,))
        for column in source.columns:
            open_targets = [t for t in targets if t not in state.values]
            if not open_targets or rule.channel == "time_s":
                break
            if column.name in state.used or not re.fullmatch(rule.pattern, column.key):
                continue
            _try_fill(column, rule, open_targets, rows, state)


def _try_fill(
    column: SourceColumn, rule: Rule, targets: list[str], rows: np.ndarray, state: _Mapping
) -> None:
    values = column.values[rows]
    if rule.channel == "afr_target":
        _fill_target(column, values, state)
        return
    try:
        converted = to_channel(targets[0], column.name, column.unit, rule.unit, values)
    except Unusable as exc:
        state.unusable.setdefault(targets[0], []).append(str(exc))
        return
    for target in targets:
        state.fill(target, converted.values, column.name, converted.unit)
    if converted.warning:
        state.warnings.append(converted.warning)
    if len(targets) > 1:
        state.warnings.append(
            f"column '{column.name}' is one value for both cylinders: "
            f"used for {' and '.join(targets)}"
        )


def _fill_target(column: SourceColumn, values: np.ndarray, state: _Mapping) -> None:
    reading = afr.read_afr(column, values, "AFR target", stuck_check=False)
    if reading.values is None:  # not mapped, so the column is listed as unmapped
        if not reading.absent:
            state.refusals.append(reading.problem)
        return
    state.fill(
        "afr_target", reading.values, column.name, "lambda" if reading.unit == "λ" else reading.unit
    )
    state.warnings.extend(reading.warnings)


def _widebands(source: SourceLog, rows: np.ndarray, state: _Mapping) -> afr.Widebands:
    derived_columns = {c for d in source.derived.values() for c in d.used_columns}
    candidates = []
    for column in source.columns:
        if column.name in state.used or column.name in derived_columns:
            continue
        side = wideband_side(column.key)
        if side is not None:
            candidates.append((column, side))
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
            continue
        if channel in status_of and status_of[channel] not in state.values:
            continue  # a status for a wideband that is not in the frame means nothing
        state.values[channel] = derived.values[rows]
        state.mapped[channel] = derived.source
        state.used.update(derived.used_columns)
