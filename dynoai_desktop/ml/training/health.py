"""How healthy a session's sensors and recorded air look: the numbers the anomaly detector
(``ml.anomaly``) judges a session by before it may train a model.

Per wideband: the share of the driven rows with a usable reading (**dead**: hardly any), the
share of its usable rows inside a flat stretch through which the load changed (a reading
unchanged to the thousandth for ``FLAT_S`` seconds on end while MAP moved ``FLAT_MAP_SPAN_KPA``
or more: **stuck**; a live sensor reads a throttle step, however coarse its resolution or slow
its updates at a steady cruise) and its median at wide-open throttle. Between the two: how
their readings move together, and which table each one follows (**swapped**:
``swap_score``). The IAT and head-temperature sensors: their usable shares and ranges over the
session (a **dead** sensor reads nothing, or a constant: a temperature sensor's whole-degree
steps make flat stretches normal, a range of 0 is not), and the IAT over the recorded ambient
at part load. The day's air: the recorded barometer against the MAP at wide-open throttle (an
engine at WOT pulls within a few kPa of the barometer: a **wrong** barometer does not), and
the recorded ambient against the IAT.

**Which table a wideband follows.** The VE a cell needs is the engine's, whatever the table the
ECM fuelled it from: measured in two runs fuelled from different tables, a healthy sensor's
"needed VE" agrees between them. Read with the front and rear readings exchanged, a swapped
pair agrees better than as logged. ``swap_score`` = ln(spread as logged / spread exchanged) over
the cells measured in two or more table versions: about 0 when the tables' front/rear split did
not change between runs (no way to tell, and no harm), clearly above 0 for a swapped pair.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from dynoai_desktop.core.autotune import AutotuneSettings
from dynoai_desktop.ml.training.patterns.common import (
    VE_TABLES,
    FloatArray,
    Piece,
    Run,
    measure,
    same_tables,
)
from dynoai_desktop.ml.training.records import Environment, SessionHealth
from dynoai_desktop.ml.training.session_data import SessionData

RUNNING_RPM = 600.0
DRIVEN_RPM = 1200.0
DRIVEN_TPS_PCT = 2.0
"""The widebands are judged on the rows the engine is driven (off idle, throttle open): at
idle, in a closed-throttle decel (fuel cut reads past the AFR range) and in hot-idle cuts a
sound sensor reads oddly too."""
FLAT_S = 2.0
FLAT_EPS = 1e-3
FLAT_MAP_SPAN_KPA = 15.0
AFR_RANGE = (9.0, 20.0)
TEMP_RANGE_C = (-30.0, 250.0)
WOT_TPS_PCT = 85.0
WOT_MIN_RPM = 2500.0
PART_LOAD_KPA = (35.0, 75.0)
SWAP_MIN_CELLS = 4
CYLS = ("front", "rear")


def _flat(x: FloatArray, ok: np.ndarray, t: FloatArray, load: FloatArray | None = None
          ) -> np.ndarray:
    """Rows inside a stretch of ``FLAT_S`` or more of usable rows whose reading does not move
    (with ``load``: only the stretches through which it moved ``FLAT_MAP_SPAN_KPA``)."""
    out = np.zeros(x.size, dtype=bool)
    if x.size < 2:
        return out
    same = np.zeros(x.size, dtype=bool)  # the row reads what the row before it read
    same[1:] = ok[1:] & ok[:-1] & (np.abs(np.diff(np.nan_to_num(x))) < FLAT_EPS)
    edges = np.diff(np.concatenate([[0], same.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)  # [start, end)
    for a, b in zip(starts, ends, strict=True):
        if not t[b - 1] - t[a - 1] >= FLAT_S:  # rows a-1 .. b-1
            continue
        if load is not None:
            span = load[a - 1:b]
            span = span[np.isfinite(span)]
            if not span.size or np.ptp(span) < FLAT_MAP_SPAN_KPA:
                continue
        out[a - 1:b] = True
    return out


class _Sums:
    def __init__(self) -> None:
        self.rows = 0
        self.ok = 0
        self.flat = 0

    def add(self, x: FloatArray | None, running: np.ndarray, lo: float, hi: float,
            status: FloatArray | None = None, load: FloatArray | None = None,
            t: FloatArray | None = None) -> None:
        self.rows += int(running.sum())
        if x is None:
            return
        with np.errstate(invalid="ignore"):
            ok = running & np.isfinite(x) & (x > lo) & (x < hi)
        if status is not None:
            ok &= status == 0
        self.ok += int(ok.sum())
        if t is not None:
            self.flat += int((_flat(x, ok, t, load) & ok).sum())

    def valid_share(self) -> float | None:
        return round(self.ok / self.rows, 4) if self.rows else None

    def flat_share(self) -> float | None:
        return round(self.flat / self.ok, 4) if self.ok else None


def _median(parts: list[FloatArray]) -> float | None:
    if not parts:
        return None
    x = np.concatenate(parts)
    x = x[np.isfinite(x)]
    return round(float(np.median(x)), 3) if x.size else None


def session_health(session: SessionData, runs: Sequence[Run], environment: Environment,
                   settings: AutotuneSettings | None = None) -> SessionHealth | None:
    """The session's health figures (None when no run logged rpm)."""
    settings = settings or AutotuneSettings()
    afr = {c: _Sums() for c in CYLS}
    iat, head = _Sums(), _Sums()
    wot_afr: dict[str, list[FloatArray]] = {c: [] for c in CYLS}
    wot_map: list[FloatArray] = []
    iat_over: list[FloatArray] = []
    pairs: list[FloatArray] = []
    span = {"iat": [math.inf, -math.inf], "head": [math.inf, -math.inf]}
    any_rpm = False
    air = _recorded_air(runs, environment)
    for run in runs:
        rpm = run.channel("rpm")
        if rpm is None:
            continue
        any_rpm = True
        with np.errstate(invalid="ignore"):
            running = rpm > RUNNING_RPM
        tps, kpa = run.channel("tps_pct"), run.channel("map_kpa")
        with np.errstate(invalid="ignore"):
            wot = running & (rpm >= WOT_MIN_RPM) & (
                (tps >= WOT_TPS_PCT) if tps is not None else np.zeros(rpm.size, bool))
            part = running & ((kpa >= PART_LOAD_KPA[0]) & (kpa <= PART_LOAD_KPA[1])
                              if kpa is not None else np.zeros(rpm.size, bool))
        with np.errstate(invalid="ignore"):
            driven = (rpm >= DRIVEN_RPM) & ((tps >= DRIVEN_TPS_PCT) if tps is not None
                                            else True)
        both = driven.copy()
        for cyl in CYLS:
            x = run.channel(f"afr_{cyl}")
            status = run.channel(f"afr_{cyl}_status")
            afr[cyl].add(x, driven, *AFR_RANGE, status, kpa if kpa is not None else tps,
                         run.time_s)
            if x is None:
                both &= False
                continue
            good = np.isfinite(x) & ((status == 0) if status is not None else True)
            both &= good
            wot_afr[cyl].append(x[wot & good])
        if both.any():
            pairs.append(np.column_stack([run.columns["afr_front"][both],
                                          run.columns["afr_rear"][both]]))
        t_iat, t_head = run.channel("iat_c"), run.channel("engine_temp_c")
        iat.add(t_iat, running, *TEMP_RANGE_C)
        head.add(t_head, running, *TEMP_RANGE_C)
        if t_iat is not None:
            iat_over.append(t_iat[part] - air["ambient_temp_c"])
        for key, x in (("iat", t_iat), ("head", t_head)):
            if x is not None and np.isfinite(x[running]).any():
                span[key][0] = min(span[key][0], float(np.nanmin(x[running])))
                span[key][1] = max(span[key][1], float(np.nanmax(x[running])))
        if kpa is not None:
            wot_map.append(kpa[wot])
    if not any_rpm:
        return None
    wot_map_kpa = _median(wot_map)
    baro = air["baro_kpa"]
    return SessionHealth(
        afr_front_valid_share=afr["front"].valid_share(),
        afr_rear_valid_share=afr["rear"].valid_share(),
        afr_front_flat_share=afr["front"].flat_share(),
        afr_rear_flat_share=afr["rear"].flat_share(),
        afr_front_wot=_median(wot_afr["front"]), afr_rear_wot=_median(wot_afr["rear"]),
        afr_front_rear_corr=_correlation(pairs),
        swap_score=swap_score(session, runs, settings),
        iat_valid_share=iat.valid_share(), iat_range_c=_range(span["iat"]),
        head_valid_share=head.valid_share(), iat_over_ambient_c=_clipped(_median(iat_over)),
        head_rise_c=_range(span["head"]),
        wot_map_minus_baro_kpa=(None if wot_map_kpa is None
                                else round(float(np.clip(wot_map_kpa - baro, -200, 200)), 2)))


def _recorded_air(runs: Sequence[Run], environment: Environment) -> dict[str, float]:
    """The barometer and ambient as recorded (the logged median, however implausible: a value
    typed in the wrong unit is what this is for), else the environment's."""
    out = {"baro_kpa": environment.baro_kpa, "ambient_temp_c": environment.ambient_temp_c}
    for name in out:
        found = _median([c for c in (run.channel(name) for run in runs) if c is not None])
        if found is not None:
            out[name] = found
    return out


def _clipped(x: float | None, limit: float = 300.0) -> float | None:
    return None if x is None else round(float(np.clip(x, -limit, limit)), 2)


def _range(span: list[float]) -> float | None:
    return round(min(span[1] - span[0], 300.0), 2) if span[1] >= span[0] else None


def _correlation(pairs: list[FloatArray]) -> float | None:
    """How the two widebands' readings move together (Pearson, over the rows both read)."""
    if not pairs:
        return None
    both = np.vstack(pairs)
    if both.shape[0] < 20 or np.std(both[:, 0]) == 0 or np.std(both[:, 1]) == 0:
        return 0.0 if both.shape[0] >= 20 else None
    return round(float(np.corrcoef(both[:, 0], both[:, 1])[0, 1]), 4)


def _exchanged(columns: Mapping[str, FloatArray]) -> dict[str, FloatArray]:
    out = dict(columns)
    for a, b in (("afr_front", "afr_rear"), ("afr_front_status", "afr_rear_status")):
        if a in columns and b in columns:
            out[a], out[b] = columns[b], columns[a]
    return out


def _groups(runs: Sequence[Run]) -> list[list[Run]]:
    """The runs grouped by the VE tables that fuelled them."""
    groups: list[list[Run]] = []
    for run in runs:
        if not set(VE_TABLES) <= set(run.tables):
            continue
        for group in groups:
            if same_tables(group[0].tables, run.tables):
                group.append(run)
                break
        else:
            groups.append([run])
    return groups


def _needs(groups: list[list[Run]], session: SessionData, settings: AutotuneSettings,
           exchanged: bool) -> list[dict[str, FloatArray]]:
    out = []
    for group in groups:
        pieces: list[Piece] = [(run.name, _exchanged(run.columns) if exchanged else run.columns,
                                run.tables) for run in group]
        measured, _why = measure(pieces, session.afr_target, settings)
        if measured is None:
            continue
        out.append({name: np.where(measured.covered(name, settings), measured.need[name],
                                   np.nan) for name in VE_TABLES})
    return out


def _spread(needs: list[dict[str, FloatArray]]) -> tuple[float, int]:
    """The mean, over cells measured in two or more groups, of the spread (std of ln) of the
    VE they needed; and how many cells."""
    spreads = []
    for name in VE_TABLES:
        stack = np.array([n[name] for n in needs])
        with np.errstate(invalid="ignore", divide="ignore"):
            logs = np.log(stack)
        counted = np.sum(np.isfinite(logs), axis=0)
        many = counted >= 2
        if many.any():
            spreads.append(np.nanstd(logs[:, many], axis=0))
    if not spreads:
        return math.nan, 0
    joined = np.concatenate(spreads)
    return float(np.mean(joined)), int(joined.size)


def swap_score(session: SessionData, runs: Sequence[Run], settings: AutotuneSettings
               ) -> float | None:
    """ln(spread as logged / spread with the front and rear readings exchanged) of the VE the
    cells needed across table versions (module doc); None when fewer than two versions share
    ``SWAP_MIN_CELLS`` cells."""
    groups = _groups(runs)
    if len(groups) < 2:
        return None
    logged, cells = _spread(_needs(groups, session, settings, exchanged=False))
    swapped, cells_x = _spread(_needs(groups, session, settings, exchanged=True))
    if min(cells, cells_x) < SWAP_MIN_CELLS or not (logged > 0 and swapped > 0):
        return None
    return round(float(np.clip(math.log(logged / swapped), -10.0, 10.0)), 4)
