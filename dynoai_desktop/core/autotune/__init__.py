"""Autotune: VE corrections per cylinder from logs, filtered, delay-compensated, with confidence.

``autotune(logs, tables, target, settings)`` -> :class:`AutotuneResult`; each table's
:class:`TableCorrection` has the corrected table, the per-cell report and ``to_overlay()``;
:class:`StreamingAutotune` gives the same while the samples arrive.
See docs/autotune.md for the method and FORMATS.md §3 for the report.
"""

from dynoai_desktop.core.autotune.engine import (
    AUTOTUNE_CHANNELS,
    REPORT_SCHEMA_VERSION,
    SOAK_CHANNELS,
    AutotuneResult,
    CellResult,
    Compensation,
    LogData,
    TableCorrection,
    autotune,
    log_problem,
)
from dynoai_desktop.core.autotune.settings import (
    CYLINDERS,
    HELD_REASONS,
    REJECT_REASONS,
    AutotuneSettings,
)
from dynoai_desktop.core.autotune.stream import StreamingAutotune

__all__ = [
    "AUTOTUNE_CHANNELS",
    "CYLINDERS",
    "HELD_REASONS",
    "REJECT_REASONS",
    "REPORT_SCHEMA_VERSION",
    "SOAK_CHANNELS",
    "AutotuneResult",
    "AutotuneSettings",
    "CellResult",
    "Compensation",
    "LogData",
    "StreamingAutotune",
    "TableCorrection",
    "autotune",
    "log_problem",
]
