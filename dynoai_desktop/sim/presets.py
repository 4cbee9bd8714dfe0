"""The simulated engines: a BuildSpec plus the few numbers that shape its true VE and power.

Each preset is a real kind of bike a Harley shop sees (shared/reference/vtwin.md §1-2). The
BuildSpec says what is on it; the shape numbers say what that build does to volumetric
efficiency. Where vtwin.md has no figure (cam cards are a known gap) the numbers are inferences
from its envelope tables, calibrated so a WOT pull matches the reference outputs side by side in
docs/simulator.md.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from dynoai_desktop.core.build_spec import AirCleaner, BuildSpec, CamSpec, EngineFamily, Exhaust
from dynoai_desktop.core.errors import InputError


@dataclass(frozen=True)
class EnginePreset:
    """A build and the parameters of its simulated engine (all documented in docs/simulator.md)."""

    name: str
    title: str
    build: BuildSpec
    ve_peak_pct: float  # front cylinder, WOT, at ve_peak_rpm
    ve_peak_rpm: float
    ve_falloff_low: float  # fraction of peak VE lost per (1000 rpm)² below the peak
    ve_falloff_high: float  # ... and above it
    part_load_loss: float  # fraction of VE lost at 0 kPa relative to 100 kPa (linear in MAP)
    rear_front_scale: float  # how strongly the rear cylinder's VE differs from the front
    idle_rpm: float
    idle_map_kpa: float  # at the idle rpm, closed throttle (higher with more overlap)
    knock_margin_deg: float  # knock-limited advance above the MBT-based limit (+ = safer)
    friction_nm: tuple[float, float, float]  # losses to the roller: a + b·krpm + c·krpm² (N·m)
    pops_on_decel: float  # 0..1: how readily the exhaust pops on a lean decel (overlap, mufflers)


def _build(family: EngineFamily, **changes: object) -> BuildSpec:
    return replace(BuildSpec.stock(family), **changes)


PRESETS: dict[str, EnginePreset] = {
    preset.name: preset
    for preset in (
        EnginePreset(
            name="tc103-stage2",
            title="Twin Cam 103, Stage 2, bolt-in cam (S&S 475 class), 2-into-1",
            build=_build(
                EngineFamily.TC103,
                stage=2,
                cam=CamSpec(
                    name="S&S 475 class bolt-in",
                    intake_duration_deg=222.0,
                    exhaust_duration_deg=226.0,
                    intake_lift_in=0.475,
                    exhaust_lift_in=0.475,
                    overlap_deg=22.0,
                ),
                exhaust=Exhaust.TWO_INTO_ONE,
                air_cleaner=AirCleaner.HIGH_FLOW,
            ),
            ve_peak_pct=106.0,
            ve_peak_rpm=3800.0,
            ve_falloff_low=0.035,
            ve_falloff_high=0.022,
            part_load_loss=0.47,
            rear_front_scale=1.0,
            idle_rpm=1000.0,
            idle_map_kpa=42.0,
            knock_margin_deg=1.0,
            friction_nm=(8.0, 2.0, 0.4),
            pops_on_decel=0.5,
        ),
        EnginePreset(
            name="tc110-stage3",
            title="Twin Cam 110, Stage 3, hot cam (S&S 585 class), 2-into-1",
            build=_build(
                EngineFamily.TC110,
                stage=3,
                cam=CamSpec(
                    name="S&S 585 class",
                    intake_duration_deg=240.0,
                    exhaust_duration_deg=246.0,
                    intake_lift_in=0.585,
                    exhaust_lift_in=0.585,
                    overlap_deg=42.0,
                ),
                exhaust=Exhaust.TWO_INTO_ONE,
                air_cleaner=AirCleaner.HIGH_FLOW,
                compression_ratio=10.3,
                injector_flow_gs=5.3,
            ),
            ve_peak_pct=111.0,
            ve_peak_rpm=4300.0,
            ve_falloff_low=0.040,
            ve_falloff_high=0.029,
            part_load_loss=0.55,
            rear_front_scale=1.0,
            idle_rpm=1050.0,
            idle_map_kpa=52.0,
            knock_margin_deg=-0.5,
            friction_nm=(8.0, 2.0, 0.4),
            pops_on_decel=0.9,
        ),
        EnginePreset(
            name="m8-114-stock",
            title="Milwaukee-Eight 114, stock",
            build=BuildSpec.stock(EngineFamily.M8_114),
            ve_peak_pct=97.0,
            ve_peak_rpm=3100.0,
            ve_falloff_low=0.070,
            ve_falloff_high=0.100,
            part_load_loss=0.44,
            rear_front_scale=0.5,
            idle_rpm=850.0,
            idle_map_kpa=38.0,
            knock_margin_deg=0.5,
            friction_nm=(8.0, 2.0, 0.4),
            pops_on_decel=0.1,
        ),
    )
}
DEFAULT_PRESET = "tc103-stage2"


def get_preset(name: str) -> EnginePreset:
    """The preset called ``name``; InputError naming the choices otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise InputError(
            f"unknown engine preset {name!r}; use one of {', '.join(PRESETS)}"
        ) from None
