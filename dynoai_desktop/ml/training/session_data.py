"""What pattern extraction reads of one tuning session: the build, the day, the runs' rows and
the tables before and after. The app builds it from the catalog (a saved session), the shop
generator from the sessions it plays; extraction (``ml.training.extract``) turns it into a
:class:`~dynoai_desktop.ml.training.records.TuningSession`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.core.table import Table

FloatArray = npt.NDArray[np.float64]

RUN_KINDS = ("warm-up", "pulls", "holds", "sweeps", "decel", "heat-soak", "street", "mixed")
"""What a run was for, when known (a run recorded by hand is ``mixed``)."""


@dataclass(frozen=True, eq=False)
class RunData:
    """One run's rows on canonical channels (FORMATS.md §2; absent channels left out)."""

    name: str
    columns: Mapping[str, FloatArray]
    kind: str = "mixed"
    started_at: str = ""
    tables: Mapping[str, Table] = field(default_factory=dict)
    """The VE tables (``ve_front``/``ve_rear``) the ECM fuelled this run from, when known:
    corrections found in the run are relative to these."""
    markers: tuple[tuple[float, str], ...] = ()
    """The tuner's markers: (seconds on the run's ``time_s`` clock, note); a "pop" marker is a
    decel pop heard."""
    after_decel_fix: bool | None = None
    """Fuelled from the session's decel enrichment (True) or from before it (False), when the
    tune's versions say; None: the decel extractor tells from the tables each run ran."""

    @property
    def duration_s(self) -> float:
        t = self.columns.get("time_s")
        if t is None or t.size < 2:
            return 0.0
        return float(np.nanmax(t) - np.nanmin(t))

    @property
    def rows(self) -> int:
        t = self.columns.get("time_s")
        return 0 if t is None else int(t.size)


@dataclass(frozen=True, eq=False)
class SessionData:
    """A tuning session, as extraction reads it."""

    session_id: str
    vehicle: str
    build: BuildSpec
    runs: tuple[RunData, ...]
    tables_before: Mapping[str, Table]
    """VE tables the session started from: ``ve_front``, ``ve_rear`` (MAP-based), optionally
    ``ve_front_tps``/``ve_rear_tps``."""
    tables_after: Mapping[str, Table]
    simulated: bool = False
    started_at: str = ""
    base_tables: Mapping[str, Table] | None = None
    """The family-and-stage base map the tune began from (VE scaling is measured against it;
    None: against ``tables_before``)."""
    afr_target: Table | None = None
    """The AFR target table the session ran (None: each run's ``afr_target`` column)."""
    spark: Mapping[str, Table] = field(default_factory=dict)
    """Spark tables (``spark_front``/``spark_rear``), when known."""
    decel_enrichment_pct: float | None = None
    """The decel enrichment the session applied against popping (None: none)."""
    fan_cfm: float | None = None
