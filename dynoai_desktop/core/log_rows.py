"""Device readings merged into Log CSV rows (FORMATS.md §2), and the Log CSV text.

Rows follow one *primary* device (normally the dyno line, the fastest); every other channel
holds its latest value at or before the row's time, and is empty when that value is older than
0.5 s. Used by ``dynoai simulate --log``; recording and export build on the same rule.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from dynoai_desktop.core.channels import LOG_COLUMNS
from dynoai_desktop.core.table_csv import format_number

STALE_AFTER_S = 0.5
DECIMALS = 6  # enough for every device's resolution; hides float noise like 14.9646000000001


class LogRowBuilder:
    """Feed readings in time order; each primary reading closes a row."""

    def __init__(self, columns: Sequence[str] = LOG_COLUMNS, stale_after_s: float = STALE_AFTER_S
                 ) -> None:
        self.columns = tuple(columns)
        self.stale_after_s = stale_after_s
        self.rows: list[dict[str, float]] = []
        self._latest: dict[str, tuple[float, float]] = {}

    def add(self, time_s: float, values: Mapping[str, float], primary: bool) -> None:
        """A reading that arrived at ``time_s``; a primary one also writes a row at its time."""
        for name, value in values.items():
            if name != "time_s":
                self._latest[name] = (time_s, value)
        if not primary:
            return
        if self.rows and time_s <= self.rows[-1]["time_s"]:
            return  # time must strictly increase: a repeated stamp adds no row
        row = {"time_s": time_s}
        for name, (stamp, value) in self._latest.items():
            if time_s - stamp <= self.stale_after_s:
                row[name] = value
        self.rows.append(row)


def _cell(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    value = round(float(value), DECIMALS)
    if value.is_integer():
        return str(int(value))
    return format_number(value)


def format_log_csv(rows: Iterable[Mapping[str, float]], columns: Sequence[str] = LOG_COLUMNS
                   ) -> str:
    """Log CSV text: one header row, then a row per sample; missing values are empty."""
    lines = [",".join(columns)]
    for row in rows:
        lines.append(",".join(_cell(row.get(name)) for name in columns))
    return "\n".join(lines) + "\n"
