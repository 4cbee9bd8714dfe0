"""A tuning session (:class:`SessionData`) into its training record (:class:`TuningSession`).

:func:`extract` runs every pattern's extractor (``ml.training.patterns``: VE scaling, cylinder
imbalance, decel popping, heat soak, knock and timing, AFR targets) and fills ``patterns`` with
what could be extracted and ``refusals`` with the reason, in the tuner's words, for the rest; and
the session's own figures: the environment, the runs, the dyno time, the tables before and after
and the outcome. Each extractor states its inputs in its docstring. Nothing here raises on what a
log holds: a run that cannot be read the way a pattern needs is a refusal with the reason. Pure
computation (no files, no threads): the app runs it on a worker.

**Environment.** Ambient temperature, barometer and humidity: the median of what the runs
logged (``ambient_temp_c``, ``baro_kpa``, ``humidity_pct``); a reading no run logged is the
cell's standard air (``core.weather.CELL_AIR``: 25 °C, 100.5 kPa, 40 %), as the record requires
one, and ``air_measured`` says so. IAT peak: the highest ``iat_c``. Soak minutes: the longest
idle stretch with the fan off when the runs log ``fan_cfm`` (else None). Fan airflow:
``SessionData.fan_cfm``.

**Outcome.** AFR error RMS: measured - target over the samples autotune would use (both
cylinders; ``core.coverage.grid.good_samples``) in the first and in the last run that has any.
Cells corrected: VE cells that differ between the tables before and after (every VE table both
hold). Autotune rounds: the distinct VE table sets the runs were fuelled from, in order, and the
tables after when they differ from the last, minus one, not counting a change of the decel
cells only when the session had a decel enrichment (that is the fix, not a round); when no run
says which tables fuelled it, 1 if the tables changed, else 0. Converged: the last round (the
last two of those sets, or before -> after) moved no cell by more than ``CONVERGED_PCT``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from dynoai_desktop.core.autotune import AutotuneSettings
from dynoai_desktop.core.autotune.settings import CYLINDERS
from dynoai_desktop.core.coverage.grid import good_samples
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.table import Table
from dynoai_desktop.core.weather import CELL_AIR
from dynoai_desktop.ml.training.health import session_health
from dynoai_desktop.ml.training.patterns.common import (
    VE_TABLES,
    FloatArray,
    Run,
    finite_median,
    same_tables,
    session_runs,
    stretches,
)
from dynoai_desktop.ml.training.patterns.decel import decel_popping, is_decel_fix
from dynoai_desktop.ml.training.patterns.heat_soak import (
    IAT_RANGE_C,
    RUNNING_RPM,
    SOAK_IDLE_MAX_RPM,
    heat_soak,
)
from dynoai_desktop.ml.training.patterns.imbalance import cylinder_imbalance
from dynoai_desktop.ml.training.patterns.knock import knock_timing
from dynoai_desktop.ml.training.patterns.tables import afr_targets, ve_scaling
from dynoai_desktop.ml.training.records import (
    PATTERNS,
    Environment,
    Outcome,
    Patterns,
    RunSummary,
    TableRecord,
    TuningSession,
)
from dynoai_desktop.ml.training.session_data import SessionData
from dynoai_desktop.ml.training.typed_json import read, to_json_value

Extractor = Callable[[SessionData, AutotuneSettings], tuple[object | None, str | None]]

EXTRACTORS: dict[str, Extractor] = {
    "ve_scaling": ve_scaling,
    "cylinder_imbalance": cylinder_imbalance,
    "decel_popping": decel_popping,
    "heat_soak": heat_soak,
    "knock_timing": knock_timing,
    "afr_targets": afr_targets,
}
"""Each pattern's extractor, in the order of ``records.PATTERNS``."""
assert tuple(EXTRACTORS) == PATTERNS

CONVERGED_PCT = 1.0
CHANGED_VE = 0.005
"""A VE cell that moved less than this (the tables' own 0.01 rounding) did not change."""
FAN_OFF_CFM = 1.0
MAX_RUN_S = 86400.0
MAX_DYNO_S = 1e6
MAX_RMS_AFR = 10.0
TABLE_RANGE = (0.0, 250.0)


def extract(session: SessionData, settings: AutotuneSettings | None = None) -> TuningSession:
    """The session's training record: every pattern extracted or refused with its reason.

    ``settings``: autotune's filters and thresholds the patterns measure with (its defaults
    when None)."""
    settings = settings or AutotuneSettings()
    runs = session_runs(session)
    found: dict[str, object] = {}
    refusals: dict[str, str] = {}
    for name, extractor in EXTRACTORS.items():
        try:
            record, reason = extractor(session, settings)
        except (InputError, ValueError, IndexError, ArithmeticError) as exc:
            record, reason = None, f"the runs could not be read for it: {exc}"
        if record is not None and (bad := _out_of_range(record)):
            record, reason = None, f"what the runs gave is out of range ({bad})"
        if record is None:
            refusals[name] = reason or "nothing in the session to extract it from"
        else:
            found[name] = record
    air = environment(session, runs)
    try:
        health = session_health(session, runs, air, settings)
    except (InputError, ValueError, IndexError, ArithmeticError):
        health = None
    if health is not None and _out_of_range(health):
        health = None
    return TuningSession(
        session_id=session.session_id, simulated=bool(session.simulated),
        vehicle=session.vehicle, build=session.build.to_dict(),
        environment=air,
        runs=[RunSummary(run.name, round(min(run.duration_s, MAX_RUN_S), 3), run.rows,
                         run.kind) for run in runs],
        dyno_time_s=round(min(sum(min(run.duration_s, MAX_RUN_S) for run in runs),
                              MAX_DYNO_S), 3),
        tables_before=table_records(session.tables_before),
        tables_after=table_records(session.tables_after),
        outcome=outcome(session, runs, settings),
        patterns=Patterns(**found),  # type: ignore[arg-type]
        refusals=refusals, started_at=session.started_at, health=health)


def _out_of_range(record: object) -> str:
    """The first problems the record's own schema finds in it ('' when none): garbage in the
    runs (a dead sensor reading -40 °C, an ambient typed in °F) must not make a record no
    reader accepts."""
    _value, problems = read(type(record), to_json_value(record))
    return "; ".join(problems[:2])


# ------------------------------------------------------------------------ environment
def _logged_median(runs: list[Run], name: str, lo: float, hi: float) -> float | None:
    parts = [c for c in (run.channel(name) for run in runs) if c is not None]
    if not parts:
        return None
    values = np.concatenate(parts)
    with np.errstate(invalid="ignore"):
        value = finite_median(values[(values >= lo) & (values <= hi)])
    return value if np.isfinite(value) else None


def environment(session: SessionData, runs: list[Run]) -> Environment:
    """The day's air and heat (see the module docstring)."""
    ambient = _logged_median(runs, "ambient_temp_c", -30.0, 60.0)
    baro = _logged_median(runs, "baro_kpa", 50.0, 110.0)
    humidity = _logged_median(runs, "humidity_pct", 0.0, 100.0)
    iat = [c for c in (run.channel("iat_c") for run in runs) if c is not None]
    with np.errstate(invalid="ignore"):
        plausible = [c[(c >= IAT_RANGE_C[0]) & (c <= IAT_RANGE_C[1])] for c in iat]
    peaks = [float(c.max()) for c in plausible if c.size]
    iat_peak = max(peaks) if peaks else None
    fan = session.fan_cfm
    if fan is not None and not (np.isfinite(fan) and 0.0 <= fan <= 50000.0):
        fan = None
    return Environment(
        ambient_temp_c=round(ambient if ambient is not None else CELL_AIR.ambient_temp_c, 2),
        baro_kpa=round(baro if baro is not None else CELL_AIR.baro_kpa, 2),
        humidity_pct=round(humidity if humidity is not None else CELL_AIR.humidity_pct, 1),
        iat_peak_c=None if iat_peak is None else round(iat_peak, 2),
        soak_minutes=_fan_off_idle_minutes(runs), fan_cfm=fan,
        air_measured=None not in (ambient, baro, humidity))


def _fan_off_idle_minutes(runs: list[Run]) -> float | None:
    """The longest idle stretch with the fan off, when any run logs ``fan_cfm``."""
    logged = [run for run in runs if run.channel("fan_cfm") is not None]
    if not logged:
        return None
    longest = 0.0
    for run in logged:
        rpm, fan = run.channel("rpm"), run.columns["fan_cfm"]
        if rpm is None:
            continue
        with np.errstate(invalid="ignore"):
            idle = (rpm > RUNNING_RPM) & (rpm < SOAK_IDLE_MAX_RPM) & (fan < FAN_OFF_CFM)
        t = run.time_s
        first, last = stretches(idle, np.zeros(t.size, dtype=np.intp))
        if first.size:
            longest = max(longest, float(np.max(t[last] - t[first])))
    return round(min(longest / 60.0, 600.0), 2)


# ------------------------------------------------------------------------ tables
def table_records(tables: Mapping[str, Table] | None) -> dict[str, TableRecord]:
    """Each table on its normalised (ascending, unique) axes; a table whose values are not VE
    (outside 0-250 %) is left out."""
    out = {}
    for name, table in (tables or {}).items():
        if not isinstance(table, Table):
            continue
        view = table.normalised()
        values = np.asarray(view.values, dtype=np.float64)
        if values.size == 0 or values.min() < TABLE_RANGE[0] or values.max() > TABLE_RANGE[1]:
            continue
        out[str(name)] = TableRecord(
            table.col_axis,  # type: ignore[arg-type]
            [float(v) for v in view.row_breakpoints], [float(v) for v in view.col_breakpoints],
            np.round(values, 4).tolist())
    return out


def _changes(before: Mapping[str, Table], after: Mapping[str, Table],
             ) -> tuple[int, float]:
    """Cells that differ between the tables both hold (on ``after``'s grid) and the largest
    change in %."""
    count, largest = 0, 0.0
    for name, new in after.items():
        old = before.get(name)
        if old is None or old.col_axis != new.col_axis:
            continue
        view = new.normalised()
        rpm, load = np.meshgrid(view.row_breakpoints, view.col_breakpoints, indexing="ij")
        old_values = np.asarray(old.lookup(rpm, load), dtype=np.float64)
        changed = np.abs(view.values - old_values) > CHANGED_VE
        count += int(changed.sum())
        pct = np.divide(np.abs(view.values - old_values), np.abs(old_values),
                        out=np.zeros(old_values.shape), where=changed & (old_values != 0))
        if changed.any():
            largest = max(largest, float(pct.max()) * 100.0)
    return count, largest


# ------------------------------------------------------------------------ outcome
def _rms_error(session: SessionData, run: Run, settings: AutotuneSettings) -> float | None:
    """RMS of measured - target AFR over the samples autotune would use, both cylinders."""
    target = run.channel("afr_target")
    if session.afr_target is not None:
        load, rpm = run.channel(session.afr_target.col_axis), run.channel("rpm")
        if load is not None and rpm is not None:
            target = np.asarray(session.afr_target.lookup(rpm, load), dtype=np.float64)
    if target is None or run.rows == 0:
        return None
    squares: list[FloatArray] = []
    for cyl in CYLINDERS.values():
        afr = run.channel(f"afr_{cyl}")
        if afr is None:
            continue
        use = good_samples(run.columns, cyl, settings) & np.isfinite(target) & (target > 0)
        squares.append((afr[use] - target[use]) ** 2)
    joined = np.concatenate(squares) if squares else np.zeros(0)
    return float(np.sqrt(joined.mean())) if joined.size else None


def outcome(session: SessionData, runs: list[Run], settings: AutotuneSettings) -> Outcome:
    """How the session's tuning went (see the module docstring). An AFR error no run can give
    (no usable wideband sample anywhere) is None."""
    errors = [e for e in (_rms_error(session, run, settings) for run in runs) if e is not None]
    first = round(min(errors[0], MAX_RMS_AFR), 4) if errors else None
    last = round(min(errors[-1], MAX_RMS_AFR), 4) if errors else None
    before = {k: t for k, t in (session.tables_before or {}).items() if isinstance(t, Table)}
    after = {k: t for k, t in (session.tables_after or {}).items() if isinstance(t, Table)}
    corrected, _ = _changes(before, after)
    sets: list[Mapping[str, Table]] = []
    for run in runs:
        if run.own_tables and not (sets and same_tables(sets[-1], run.tables)):
            sets.append(run.tables)
    if sets:
        final = {k: after[k] for k in VE_TABLES if k in after}
        if len(final) == len(VE_TABLES) and not same_tables(sets[-1], final):
            sets.append(final)
        # A change of the decel cells only is the decel fix, not an autotune round.
        steps = [(session.decel_enrichment_pct is None or not is_decel_fix(a, b),
                  _changes(a, b)[1]) for a, b in zip(sets, sets[1:], strict=False)]
        rounds = sum(1 for is_round, _ in steps if is_round)
        last_change = next((change for is_round, change in reversed(steps) if is_round), 0.0)
    else:
        rounds = 1 if corrected else 0
        _, last_change = _changes(before, after)
    return Outcome(afr_error_rms_before=first, afr_error_rms_after=last,
                   cells_corrected=corrected, autotune_rounds=min(rounds, 100),
                   converged=last_change <= CONVERGED_PCT)
