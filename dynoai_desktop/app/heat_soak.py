"""Autotune's heat-soak compensation, as ``dynoai autotune`` and the autotune panel run it
(docs/formats.md "Autotune: the heat soak").

After an idle heat soak in a log (two minutes or more at idle: ``soak_clock``), the heat-soak
model takes out of each row after it the VE inflation the soak put there. The model is the
shop's active one, else the prior DynoAI ships (``load_for``). Logs without a soak are not
touched, and no model is loaded for them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from dynoai_desktop.core.autotune import AutotuneSettings, Compensation, LogData
from dynoai_desktop.ml.training.patterns.heat_soak import soak_clock
from dynoai_desktop.storage.catalog import Catalog


@dataclass(frozen=True)
class SoakChoice:
    """The compensation autotune runs with (None: none), and why none when none."""

    compensation: Compensation | None
    why_not: str = ""
    soaked_logs: tuple[str, ...] = ()

    @property
    def soaked(self) -> bool:
        """Whether a log had a soak (only then do the report and the panel speak of it)."""
        return bool(self.soaked_logs)

    def report(self, summary: Mapping[str, Any] | None) -> dict[str, Any]:
        """report.json's ``heat_soak`` (when ``soaked``)."""
        if self.compensation is None or summary is None:
            return {"applied": False, "reason": self.why_not,
                    "soaked_logs": list(self.soaked_logs)}
        return {**summary, "soaked_logs": list(self.soaked_logs)}

    def line(self, summary: Mapping[str, Any] | None) -> str:
        """What was done about it, in a line."""
        if self.compensation is None or summary is None:
            return self.why_not
        return (f"a soak in {', '.join(self.soaked_logs)}: took out "
                f"{summary['mean_removed_pct']:.2f} % VE on average from "
                f"{summary['rows_compensated']} rows from the soak on ({summary['model']})")


def soaked_logs(logs: Sequence[LogData], settings: AutotuneSettings) -> list[str]:
    """The logs with an idle heat soak in them."""
    return [log.name for log in logs
            if np.isfinite(soak_clock(log.columns, settings)[0]).any()]


KIND = "heat_soak"
"""``ml.soak_compensation.KIND``, spelled here so that importing this module (the app starts
with it) does not import scikit-learn: the model is loaded only once a log has a soak."""

Found = tuple[Compensation | None, str]
"""A loaded compensator (labelled), or None and why."""
Finder = Callable[[], Found]


def load_for(catalog: Catalog | None) -> Found:
    """The heat-soak model to use, loaded: the catalog's active one (its prior when none is
    active), the shipped prior without a catalog; else None and why (nothing is raised)."""
    from dynoai_desktop.ml.errors import ModelError  # noqa: PLC0415 - scikit-learn
    from dynoai_desktop.ml.registry import (  # noqa: PLC0415
        ModelRegistry,
        load_version,
        prior_version,
    )

    where = "DynoAI (no catalog)" if catalog is None else f"the catalog in {catalog.data_dir}"
    try:
        version = prior_version(KIND) if catalog is None else ModelRegistry(catalog).active(KIND)
    except ModelError:
        version = None
    if version is None:
        return None, f"{where} has no heat-soak model and DynoAI ships none: nothing taken out"
    try:
        model = load_version(version)
    except ModelError as exc:
        return None, (f"the heat-soak model was refused ({exc}): nothing taken out; retrain "
                      "it")
    return replace(model, label=f"heat-soak model {version.scope} {version.label}"), where


def heat_soak_compensation(logs: Sequence[LogData], settings: AutotuneSettings, *, off: bool,
                           find: Finder, off_why: str = "switched off") -> SoakChoice:
    """What autotune compensates with; ``find`` gives the model (``load_for``), asked only
    when a log has a soak. Without a usable model nothing is taken out, and ``why_not`` says
    why (a warning, not a failure: the corrections are still worth having)."""
    soaked = tuple(soaked_logs(logs, settings))
    if not soaked:
        return SoakChoice(None, "no idle heat soak in the logs (2 min or more at idle)")
    if off:
        return SoakChoice(None, f"{off_why}: nothing taken out", soaked)
    model, why = find()
    if model is None:
        return SoakChoice(None, why, soaked)
    return SoakChoice(model, soaked_logs=soaked)
