"""What goes wrong with a session's recorded data, done on purpose: the faults the anomaly
detector (``ml.anomaly``) must catch, injected into a session's runs before extraction (for
``benchmarks/anomaly.py`` and the tests; the app never calls this).

- ``stuck_wideband``: one wideband's reading freezes at what it read at a moment in the first
  half of the session, for the rest of it (status still OK: a frozen controller);
- ``swapped_widebands``: the front and rear readings (and statuses) exchanged in every run;
- ``dead_sensor``: one sensor dead all session: a wideband (no reading, status 1), the IAT
  (reads -40 °C: an open circuit) or the head temperature (reads nothing);
- ``wrong_weather``: the day's air entered wrong: the barometer 6-15 kPa off, or the ambient
  typed in °F.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from dynoai_desktop.ml.training.session_data import FloatArray, RunData, SessionData

FAULTS = ("stuck_wideband", "swapped_widebands", "dead_sensor", "wrong_weather")


def inject(session: SessionData, fault: str, rng: np.random.Generator) -> tuple[SessionData, str]:
    """``session`` with ``fault`` in it, and what exactly was done."""
    if fault == "stuck_wideband":
        return _stuck(session, rng)
    if fault == "swapped_widebands":
        return _each_run(session, _swapped), "front and rear wideband readings swapped"
    if fault == "dead_sensor":
        return _dead(session, rng)
    if fault == "wrong_weather":
        return _weather(session, rng)
    raise ValueError(f"fault {fault!r} is not known: use {', '.join(FAULTS)}")


def _each_run(session: SessionData, change: object) -> SessionData:
    runs = tuple(replace(run, columns=change(dict(run.columns))) for run in session.runs)  # type: ignore[operator]
    return replace(session, runs=runs)


def _swapped(columns: dict[str, FloatArray]) -> dict[str, FloatArray]:
    for a, b in (("afr_front", "afr_rear"), ("afr_front_status", "afr_rear_status")):
        if a in columns and b in columns:
            columns[a], columns[b] = columns[b], columns[a]
    return columns


def _stuck(session: SessionData, rng: np.random.Generator) -> tuple[SessionData, str]:
    cyl = str(rng.choice(["front", "rear"]))
    rows = sum(run.rows for run in session.runs)
    at = int(rng.uniform(0.1, 0.5) * rows)
    name = f"afr_{cyl}"
    value = None
    runs: list[RunData] = []
    seen = 0
    for run in session.runs:
        columns = dict(run.columns)
        x = np.asarray(columns.get(name, np.full(run.rows, np.nan)), dtype=np.float64).copy()
        start = max(0, at - seen)
        if start < x.size:
            if value is None:
                good = np.flatnonzero(np.isfinite(x[start:]))
                value = float(x[start + good[0]]) if good.size else 13.0
                start += int(good[0]) if good.size else 0
            x[start:] = value
            columns[name] = x
            columns[f"{name}_status"] = np.where(np.arange(x.size) >= start, 0.0,
                                                 columns.get(f"{name}_status", 0.0))
        seen += run.rows
        runs.append(replace(run, columns=columns))
    return replace(session, runs=tuple(runs)), f"the {cyl} wideband stuck at {value} AFR"


def _dead(session: SessionData, rng: np.random.Generator) -> tuple[SessionData, str]:
    which = str(rng.choice(["wideband", "iat", "head"]))
    cyl = str(rng.choice(["front", "rear"]))

    def kill(columns: dict[str, FloatArray]) -> dict[str, FloatArray]:
        n = columns["time_s"].size
        if which == "wideband":
            columns[f"afr_{cyl}"] = np.full(n, np.nan)
            columns[f"afr_{cyl}_status"] = np.ones(n)
        elif which == "iat":
            columns["iat_c"] = np.full(n, -40.0)
        else:
            columns["engine_temp_c"] = np.full(n, np.nan)
        return columns

    what = {"wideband": f"the {cyl} wideband dead", "iat": "the IAT sensor open (-40 °C)",
            "head": "the head-temperature sensor dead"}[which]
    return _each_run(session, kill), what


def _weather(session: SessionData, rng: np.random.Generator) -> tuple[SessionData, str]:
    if rng.random() < 0.5:
        offset = float(rng.uniform(6.0, 15.0)) * float(rng.choice([-1.0, 1.0]))

        def baro(columns: dict[str, FloatArray]) -> dict[str, FloatArray]:
            if "baro_kpa" in columns:
                columns["baro_kpa"] = columns["baro_kpa"] + offset
            return columns

        return _each_run(session, baro), f"the barometer entered {offset:+.1f} kPa off"

    def fahrenheit(columns: dict[str, FloatArray]) -> dict[str, FloatArray]:
        if "ambient_temp_c" in columns:
            columns["ambient_temp_c"] = columns["ambient_temp_c"] * 9.0 / 5.0 + 32.0
        return columns

    return _each_run(session, fahrenheit), "the ambient entered in °F"
