"""Synthetic sessions with a known cylinder imbalance: the tuned rear is the tuned front times
the stage maps' ratio times a rule of the build (for the cylinder-balance tests)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from dynoai_desktop.core.build_spec import BuildSpec, Exhaust
from dynoai_desktop.ml.training.records import TuningSession


def true_balance(build: BuildSpec, rpm: np.ndarray, load: np.ndarray) -> np.ndarray:
    """The synthetic shop's rule: how far the tuned rear/front ratio sits from the stage maps'
    (× 0.97-1.03 across the rpm, its sign set by the pipe, deeper at light load)."""
    sign = 1.0 if build.exhaust is Exhaust.SLIP_ON else -0.5
    return np.exp(sign * 0.03 * (rpm - 3500.0) / 1500.0 * (1.4 - 0.4 * load / 100.0))


def with_balance(session: TuningSession) -> TuningSession:
    """The session with its tuned rear = tuned front × the stage maps' ratio × the rule, in the
    cells it tuned."""
    build = BuildSpec.from_dict(session.build)
    bf, af = session.tables_before["ve_front"], session.tables_after["ve_front"]
    br = session.tables_before["ve_rear"]
    rpm, load = np.meshgrid(bf.rpm, bf.load, indexing="ij")
    b_f, a_f, b_r = (np.asarray(t.values, dtype=np.float64) for t in (bf, af, br))
    tuned = np.abs(a_f / b_f - 1.0) > 1e-6
    rear = np.where(tuned, np.round(a_f * (b_r / b_f) * true_balance(build, rpm, load), 3), b_r)
    after = {**session.tables_after, "ve_rear": replace(br, values=rear.tolist())}
    return replace(session, tables_after=after)
