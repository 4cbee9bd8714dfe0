"""What the Review panel draws: its charts and traces, and the small rules for reading a run
(the nearest sample to a time, how a duration and an axis are written)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dynoai_desktop.core.display import unit_symbol
from dynoai_desktop.ui import theme

# Traces that have no colour in the live panel; chosen to stay apart from the AFR and rpm ones.
MAP_COLOUR = "#4d96ff"
TPS_COLOUR = "#f9c74f"
TORQUE_COLOUR = "#f3722c"
POWER_COLOUR = "#90be6d"
ENGINE_TEMP_COLOUR = "#f94144"
INTAKE_TEMP_COLOUR = "#4cc9f0"
AMBIENT_TEMP_COLOUR = theme.MUTED
KNOCK_FLOOR_SPAN_DEG = 4.0  # the knock chart shows at least 0-4° so a run without knock is flat
MARKER_COLOUR = theme.WARN
CURSOR_COLOUR = theme.MUTED


@dataclass(frozen=True)
class Trace:
    channel: str
    name: str
    colour: str
    dashed: bool = False


@dataclass(frozen=True)
class ChartSpec:
    title: str
    traces: tuple[Trace, ...]
    floor_span: tuple[float, float] | None = None
    """A fixed value axis from ``floor`` to at least ``floor + span`` (canonical units), for a
    channel that is mostly zero (knock retard); None: the axis fits the data in view."""
    height: int = 2
    """The chart's height relative to the others'."""


CHARTS = (
    ChartSpec(
        "AFR",
        (
            Trace("afr_front", "AFR front", theme.AFR_FRONT),
            Trace("afr_rear", "AFR rear", theme.AFR_REAR),
            Trace("afr_target", "AFR target", theme.AFR_TARGET, dashed=True),
        ),
        height=3,  # what is tuned: the tallest
    ),
    ChartSpec("Engine speed", (Trace("rpm", "Engine speed", theme.RPM),)),
    ChartSpec(
        "MAP / throttle",
        (Trace("map_kpa", "MAP", MAP_COLOUR), Trace("tps_pct", "Throttle", TPS_COLOUR)),
    ),
    ChartSpec(
        "Torque / power",
        (Trace("torque_ftlb", "Torque", TORQUE_COLOUR), Trace("power_hp", "Power", POWER_COLOUR)),
    ),
    # Front and rear cylinders in the AFR chart's front and rear colours, on every chart.
    ChartSpec(
        "Spark advance",
        (
            Trace("spark_front_deg", "Spark front", theme.AFR_FRONT),
            Trace("spark_rear_deg", "Spark rear", theme.AFR_REAR),
        ),
    ),
    ChartSpec(
        "Knock retard",
        (
            Trace("knock_retard_front_deg", "Knock retard front", theme.AFR_FRONT),
            Trace("knock_retard_rear_deg", "Knock retard rear", theme.AFR_REAR),
        ),
        floor_span=(0.0, KNOCK_FLOOR_SPAN_DEG),
    ),
    ChartSpec(
        "Temperatures",
        (
            Trace("engine_temp_c", "Engine temp", ENGINE_TEMP_COLOUR),
            Trace("iat_c", "Intake air", INTAKE_TEMP_COLOUR),
            Trace("ambient_temp_c", "Ambient", AMBIENT_TEMP_COLOUR, dashed=True),
        ),
    ),
)
TRACES: dict[str, Trace] = {t.channel: t for chart in CHARTS for t in chart.traces}


def format_duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)} min {rest:04.1f} s"


def nearest_index(times: np.ndarray, time_s: float) -> int | None:
    """Index of the sample nearest ``time_s``; None outside the samples' time span."""
    if times.size == 0 or not times[0] <= time_s <= times[-1]:
        return None
    i = int(np.searchsorted(times, time_s))
    if i == times.size or (i > 0 and time_s - times[i - 1] <= times[i] - time_s):
        return i - 1
    return i



def axis_label(units: Sequence[str]) -> str:
    """A chart's value axis title: its units ("kPa / %", "°F"); the legend above the chart
    names the traces, and a short title fits a short chart. λ alone reads "Lambda (λ)"."""
    symbols = [unit_symbol(u) for u in units]
    if symbols == ["λ"]:
        return "Lambda (λ)"
    return " / ".join(symbols)
