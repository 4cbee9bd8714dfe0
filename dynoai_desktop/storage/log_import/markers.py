"""A log's markers (notes the logger put between samples) placed on the imported ``time_s``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dynoai_desktop.storage.log_import.model import SourceMarker
from dynoai_desktop.storage.run_files import Marker


def marker_times(
    markers: Sequence[SourceMarker], rows: np.ndarray, time_s: np.ndarray
) -> tuple[Marker, ...]:
    """Each marker at its place among the kept ``rows`` (source row numbers, increasing) read
    on their ``time_s``: between two samples it is interpolated; before the first kept sample it
    is at 0, after the last at the last sample's time."""
    if not markers or rows.size == 0:
        return ()
    places = np.array([marker.row for marker in markers], dtype=float)
    times = np.interp(places, rows.astype(float), time_s)
    return tuple(Marker(float(t), m.note) for t, m in zip(times, markers, strict=True))
