"""The training-data records (docs/formats/training-data.schema.json is made from these).

A **dataset** holds tuning **sessions**; each session has the build, the day's environment, its
runs, the VE tables before and after, the dyno time and outcome, and one record per learnable
**pattern** that could be extracted from it (VE scaling by region, cylinder imbalance, decel
popping, heat soak, knock and timing, AFR targets), or the reason it could not. Units are in the
field names; ranges are what a V-twin on a chassis dyno can show, so a value outside them is a
mistake, not a record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.ml.training.typed_json import spec

SCHEMA_VERSION = 5
DATASET_KIND = "dynoai-training-data"
PATTERNS = ("ve_scaling", "cylinder_imbalance", "decel_popping", "heat_soak", "knock_timing",
            "afr_targets")
"""The learnable patterns, in the order the docs list them."""
REGIONS = ("idle", "cruise", "midrange", "wot")
LoadChannel = Literal["map_kpa", "tps_pct"]

RPM = {"lo": 0.0, "hi": 10000.0, "unit": "rpm"}
LOAD = {"lo": 0.0, "hi": 250.0, "unit": "kPa or %"}
VE_CHANGE = {"lo": -60.0, "hi": 60.0, "unit": "%"}
AFR = {"lo": 8.0, "hi": 22.0, "unit": "AFR"}


@dataclass(frozen=True)
class Environment:
    """The day's air and heat in the cell."""

    ambient_temp_c: float = spec("air temperature in the cell", lo=-30.0, hi=60.0, unit="°C")
    baro_kpa: float = spec("barometric pressure", lo=50.0, hi=110.0, unit="kPa")
    humidity_pct: float = spec("relative humidity", lo=0.0, hi=100.0, unit="%")
    iat_peak_c: float | None = spec("highest intake air temperature logged", lo=-30.0, hi=150.0,
                                    unit="°C", default=None)
    soak_minutes: float | None = spec("longest heat soak (idle, fan off) before a run", lo=0.0,
                                      hi=600.0, unit="min", default=None)
    fan_cfm: float | None = spec("cooling fan airflow", lo=0.0, hi=50000.0, unit="CFM",
                                 default=None)
    air_measured: bool = spec("false when no run logged the air and the cell's standard air "
                              "(25 °C, 100.5 kPa, 40 %) stands in", default=True)


@dataclass(frozen=True)
class RunSummary:
    """One run of the session."""

    name: str = spec("the run's name")
    duration_s: float = spec("how long it recorded", lo=0.0, hi=86400.0, unit="s")
    rows: int = spec("rows logged", lo=0)
    kind: str = spec("what the run was: pulls, holds, warm-up, heat soak, decel...", default="")


@dataclass(frozen=True)
class TableRecord:
    """A VE table: rpm rows x load columns, values in %."""

    load_channel: LoadChannel = spec("the column axis")
    rpm: list[float] = spec("row breakpoints, ascending", **RPM)
    load: list[float] = spec("column breakpoints, ascending", **LOAD)
    values: list[list[float]] = spec("VE per cell, rows x columns", lo=0.0, hi=250.0, unit="%")

    def problems(self) -> list[str]:
        out = []
        for name in ("rpm", "load"):
            axis = getattr(self, name)
            if not axis or any(b <= a for a, b in zip(axis, axis[1:], strict=False)):
                out.append(f"{name} breakpoints must be ascending, without repeats")
        if len(self.values) != len(self.rpm) or any(len(r) != len(self.load)
                                                     for r in self.values):
            out.append(f"values must be {len(self.rpm)} rows of {len(self.load)} (rpm x load)")
        return out


@dataclass(frozen=True)
class Outcome:
    """How the session's tuning went."""

    cells_corrected: int = spec("VE cells changed (both cylinders)", lo=0)
    autotune_rounds: int = spec("autotune rounds applied", lo=0, hi=100)
    converged: bool = spec("the last round moved no cell by more than 1 %")
    afr_error_rms_before: float | None = spec(
        "RMS of measured - target AFR over the samples autotune would use, first run (null: "
        "no usable wideband sample)", lo=0.0, hi=10.0, unit="AFR", default=None)
    afr_error_rms_after: float | None = spec("the same on the last run", lo=0.0, hi=10.0,
                                             unit="AFR", default=None)


@dataclass(frozen=True)
class RegionChange:
    """The VE change over one region of the table."""

    change_pct: float = spec("mean change of the corrected cells", **VE_CHANGE)
    cells: int = spec("cells corrected in the region", lo=0)


@dataclass(frozen=True)
class CylinderVeScaling:
    """One cylinder's VE change per region (idle, cruise, midrange, WOT)."""

    idle: RegionChange | None = spec("idle: up to 1500 rpm, low load", default=None)
    cruise: RegionChange | None = spec("cruise: 1500-4000 rpm, light load", default=None)
    midrange: RegionChange | None = spec("midrange: 2500-4500 rpm, part to high load",
                                         default=None)
    wot: RegionChange | None = spec("wide open: MAP near baro or 80 % throttle and more",
                                    default=None)


@dataclass(frozen=True)
class VeScaling:
    """How far the build's VE sits from its family's base map, by region and cylinder."""

    front: CylinderVeScaling = spec("the front cylinder")
    rear: CylinderVeScaling = spec("the rear cylinder")


@dataclass(frozen=True)
class ImbalanceCell:
    """Front vs rear in one cell."""

    rpm: float = spec("the cell's rpm", **RPM)
    load: float = spec("the cell's load", **LOAD)
    afr_rear_minus_front: float = spec("measured rear AFR - front AFR", lo=-5.0, hi=5.0,
                                       unit="AFR")
    front_correction_pct: float = spec("VE correction of the front cylinder", **VE_CHANGE)
    rear_correction_pct: float = spec("VE correction of the rear cylinder", **VE_CHANGE)
    samples: int = spec("good samples behind it (the fewer cylinder)", lo=0)


@dataclass(frozen=True)
class CylinderImbalance:
    """Per covered cell, how the rear cylinder differs from the front."""

    load_channel: LoadChannel = spec("the load axis of the cells")
    cells: list[ImbalanceCell] = spec("one entry per cell covered on both cylinders")


@dataclass(frozen=True)
class DecelPopping:
    """Decel pops: how often, how lean, and the enrichment that fixed them."""

    events: int = spec("closed-throttle decels with a lean spike", lo=0)
    spike_afr: float = spec("median peak AFR of the spikes", **AFR)
    zone_rpm: list[float] = spec("rpm band of the spikes [low, high]", **RPM)
    zone_tps_pct: list[float] = spec("throttle band of the spikes [low, high]", lo=0.0,
                                     hi=100.0, unit="%")
    pops_per_decel_before: float = spec("spikes per decel before the fix", lo=0.0, hi=100.0)
    enrichment_pct: float | None = spec("decel enrichment applied in the zone", lo=0.0, hi=100.0,
                                        unit="%", default=None)
    pops_per_decel_after: float | None = spec("spikes per decel after the fix", lo=0.0, hi=100.0,
                                              default=None)
    pops_heard_per_decel_before: float | None = spec(
        "pops the tuner marked (a 'pop' marker) per decel before the fix; null when the session "
        "marks none", lo=0.0, hi=100.0, default=None)
    pops_heard_per_decel_after: float | None = spec(
        "pops the tuner marked per decel after the fix; null when the session marks none or "
        "has no fix", lo=0.0, hi=100.0, default=None)


@dataclass(frozen=True)
class SoakCell:
    """One cell measured on a heat-soaked engine (a slice of the soak, or the rows after it) or,
    with no soak clock, before it: its inflation and the conditions it was measured in."""

    rpm: float = spec("the cell's rpm", **RPM)
    load: float = spec("the cell's load", **LOAD)
    cylinder: Literal["front", "rear"] = spec("whose VE table")
    inflation_pct: float = spec("VE the cell needed here / before the soak - 1 (0 before it)",
                                lo=-30.0, hi=30.0, unit="%")
    weight: float = spec("summed sample weight behind it (the lesser of before and here)",
                         lo=0.0, hi=1e7)
    airflow: float | None = spec("median rpm × MAP / 100 of its samples", lo=0.0, hi=30000.0,
                                 unit="rpm·kPa/100", default=None)
    iat_over_ambient_c: float | None = spec("median intake air temperature over ambient",
                                            lo=-50.0, hi=150.0, unit="K", default=None)
    head_c: float | None = spec("median engine (head) temperature", lo=-30.0, hi=300.0,
                                unit="°C", default=None)
    soak_s: float | None = spec("idle soaked so far (during a soak) or in all (after one); "
                                "null before any", lo=0.0, hi=36000.0, unit="s", default=None)
    since_soak_s: float | None = spec("time since the soak ended (0 during it); null before "
                                      "any", lo=0.0, hi=36000.0, unit="s", default=None)
    iat_fall_c: float | None = spec("median fall of the IAT reading since the soak ended (0 "
                                    "during it); null before any", lo=-150.0, hi=150.0,
                                    unit="K", default=None)


@dataclass(frozen=True)
class HeatSoak:
    """What a heat-soaked engine did to the apparent VE."""

    iat_rise_c: float = spec("intake air temperature rise over the soak", lo=-20.0, hi=150.0,
                             unit="°C")
    soak_minutes: float = spec("how long it soaked", lo=0.0, hi=600.0, unit="min")
    ve_inflation_pct: float = spec("apparent VE change after the soak (AFR residual as VE)",
                                   lo=-30.0, hi=30.0, unit="% points")
    rpm_range: list[float] = spec("rpm band affected [low, high]", **RPM)
    load_range: list[float] = spec("load band affected [low, high]", **LOAD)
    cells: list[SoakCell] = spec("per cell and cylinder: the soak's slices and the rows after "
                                 "it against before, and the cells before it (inflation 0), "
                                 "with their conditions (schema 3)", default=[])


@dataclass(frozen=True)
class TimingCell:
    """Spark in one cell."""

    rpm: float = spec("the cell's rpm", **RPM)
    map_kpa: float = spec("the cell's MAP", lo=0.0, hi=250.0, unit="kPa")
    degrees: float = spec("retard seen (knock cells) or advance available (opportunities)",
                          lo=0.0, hi=30.0, unit="°")
    events: int = spec("knock events (0 for an opportunity)", lo=0, default=0)


@dataclass(frozen=True)
class KnockSample:
    """One cylinder in one cell at one commanded spark and head temperature (to 1° and 10 K),
    run with knock control on and no retard held from an earlier knock: how long, on what spark,
    how hot, and whether it knocked (schema 4)."""

    cylinder: Literal["front", "rear"] = spec("which cylinder")
    rpm: float = spec("the cell's rpm", **RPM)
    map_kpa: float = spec("the cell's MAP", lo=0.0, hi=250.0, unit="kPa")
    spark_deg: float = spec("the spark the ECM commanded there: the logged spark plus the "
                            "knock retard it had pulled (the spark table's without a logged "
                            "spark)", lo=-10.0, hi=60.0, unit="°")
    seconds: float = spec("time run there", lo=0.0, hi=36000.0, unit="s")
    events: int = spec("knock events there", lo=0, default=0)
    head_c: float | None = spec("median engine (head) temperature there", lo=-30.0, hi=300.0,
                                unit="°C", default=None)
    iat_c: float | None = spec("median intake air temperature there", lo=-40.0, hi=150.0,
                               unit="°C", default=None)


@dataclass(frozen=True)
class TorqueSlope:
    """How dyno torque followed the spark in one rpm row at high load (schema 4)."""

    rpm: float = spec("the row's rpm", **RPM)
    ft_lb_per_deg: float = spec("torque change per degree more advance, rpm and MAP held",
                                lo=-100.0, hi=100.0, unit="ft-lb/°")
    stderr: float = spec("its standard error", lo=0.0, hi=1000.0, unit="ft-lb/°")
    samples: int = spec("rows behind it", lo=0)


@dataclass(frozen=True)
class KnockTiming:
    """Where it knocked, how much the ECM pulled, and where timing could go up."""

    knock_cells: list[TimingCell] = spec("cells with knock retard")
    advance_opportunities: list[TimingCell] = spec("cells run without knock at high load",
                                                   default=[])
    front_rear: Literal["front", "rear", "both", "none"] = spec("which cylinders knocked",
                                                                default="both")
    samples: list[KnockSample] = spec("every cell and cylinder run with knock control on, "
                                      "knocked or not (schema 4)", default=[])
    torque_slopes: list[TorqueSlope] = spec("per rpm row, whether torque rose with advance "
                                            "(schema 4)", default=[])


@dataclass(frozen=True)
class AfrTargets:
    """The target AFR strategy the tune ran, by region."""

    idle: float | None = spec("idle target", **AFR, default=None)
    cruise: float | None = spec("cruise target", **AFR, default=None)
    midrange: float | None = spec("midrange target", **AFR, default=None)
    wot: float | None = spec("wide-open target", **AFR, default=None)


@dataclass(frozen=True)
class Patterns:
    """Every pattern extracted from the session (absent: not extracted; see refusals)."""

    ve_scaling: VeScaling | None = spec("VE by region vs the base map", default=None)
    cylinder_imbalance: CylinderImbalance | None = spec("rear vs front", default=None)
    decel_popping: DecelPopping | None = spec("decel pops and their fix", default=None)
    heat_soak: HeatSoak | None = spec("heat soak's VE inflation", default=None)
    knock_timing: KnockTiming | None = spec("knock and timing", default=None)
    afr_targets: AfrTargets | None = spec("target strategy", default=None)


def _share(what: str) -> Any:
    return spec(what, lo=0.0, hi=1.0, default=None)


@dataclass(frozen=True)
class SessionHealth:
    """How healthy the session's sensors and recorded air look (schema 4): what the anomaly
    detector judges it by (``ml.training.health``; null where not logged)."""

    afr_front_valid_share: float | None = _share("driven rows (off idle, throttle open) the "
                                                 "front wideband read")
    afr_rear_valid_share: float | None = _share("driven rows the rear wideband read")
    afr_front_flat_share: float | None = _share("front readings inside a flat stretch the load "
                                                "changed through")
    afr_rear_flat_share: float | None = _share("rear readings inside a flat stretch the load "
                                               "changed through")
    afr_front_wot: float | None = spec("front median AFR at wide-open throttle", **AFR,
                                       default=None)
    afr_rear_wot: float | None = spec("rear median AFR at wide-open throttle", **AFR,
                                      default=None)
    afr_front_rear_corr: float | None = spec("how the two widebands move together (Pearson)",
                                             lo=-1.0, hi=1.0, default=None)
    swap_score: float | None = spec("ln(spread as logged / spread front and rear exchanged) "
                                    "of the VE cells needed across table versions; > 0: the "
                                    "readings fit better exchanged", lo=-10.0, hi=10.0,
                                    default=None)
    iat_valid_share: float | None = _share("running rows the IAT sensor read")
    iat_range_c: float | None = spec("the IAT reading's range over the session", lo=0.0,
                                     hi=300.0, unit="K", default=None)
    head_valid_share: float | None = _share("running rows the head-temperature sensor read")
    iat_over_ambient_c: float | None = spec("median IAT over the recorded ambient (as logged) at "
                                            "part load",
                                            lo=-300.0, hi=300.0, unit="K", default=None)
    head_rise_c: float | None = spec("head temperature's range over the session", lo=0.0,
                                     hi=300.0, unit="K", default=None)
    wot_map_minus_baro_kpa: float | None = spec("median MAP at wide-open throttle minus the "
                                                "recorded barometer", lo=-200.0, hi=200.0,
                                                unit="kPa", default=None)


@dataclass(frozen=True)
class TuningSession:
    """One session on the dyno: a bike, a day, its runs and what tuning it found."""

    session_id: str = spec("unique within the dataset")
    simulated: bool = spec("recorded on the virtual cell, not a real bike")
    vehicle: str = spec("the vehicle's name")
    build: dict[str, Any] = spec("the build (BuildSpec JSON, docs/formats.md)")
    environment: Environment = spec("the day's air and heat")
    runs: list[RunSummary] = spec("the runs, in order")
    dyno_time_s: float = spec("time on the dyno (the runs together)", lo=0.0, hi=1e6, unit="s")
    tables_before: dict[str, TableRecord] = spec("VE tables the session started from "
                                                 "(ve_front, ve_rear, ...)")
    tables_after: dict[str, TableRecord] = spec("VE tables it ended with")
    outcome: Outcome = spec("how it went")
    patterns: Patterns = spec("what was learned")
    refusals: dict[str, str] = spec("pattern -> why it could not be extracted", default={})
    started_at: str = spec("when it started (ISO 8601)", default="")
    health: SessionHealth | None = spec("how healthy its sensors and recorded air look "
                                        "(schema 4)", default=None)

    def problems(self) -> list[str]:
        out = []
        if not self.session_id.strip():
            out.append("session_id: empty; give each session an id")
        try:
            BuildSpec.from_dict(self.build, "build")
        except InputError as exc:
            out.append(str(exc))
        for key in self.refusals:
            if key not in PATTERNS:
                out.append(f"refusals.{key}: not a pattern; use {', '.join(PATTERNS)}")
        return out


@dataclass(frozen=True)
class Dataset:
    """A shop's training data: its sessions."""

    schema_version: int = spec("the schema's version (1)", lo=1, hi=SCHEMA_VERSION)
    kind: Literal["dynoai-training-data"] = spec("what the file is")
    sessions: list[TuningSession] = spec("the sessions")
    created_at: str = spec("when the file was written (ISO 8601)", default="")
    source: str = spec("the shop or generator that wrote it", default="")

    def problems(self) -> list[str]:
        seen: set[str] = set()
        out = []
        for session in self.sessions:
            if session.session_id in seen:
                out.append(f"session_id {session.session_id!r} appears twice")
            seen.add(session.session_id)
        return out
