"""The simulated engines: builds a Harley shop sees, run through the build mapping.

Each preset is a real kind of bike (shared/reference/vtwin.md §1-2): a name, a title and a
BuildSpec. Everything the physics reads comes from the build through ``sim.build_map``
(docs/simulator.md §3.1), so any other valid BuildSpec makes an engine the same way
(``preset_for_build``). The shape numbers are kept as properties for the code that reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

from dynoai_desktop.core.build_spec import AirCleaner, BuildSpec, CamSpec, EngineFamily, Exhaust
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.sim.build_map import EngineShape, engine_shape


@dataclass(frozen=True)
class EnginePreset:
    """A named build; its simulated engine's shape follows from the build (``shape``)."""

    name: str
    title: str
    build: BuildSpec

    @cached_property
    def shape(self) -> EngineShape:
        """What the build does to the engine (docs/simulator.md §3.1)."""
        return engine_shape(self.build)

    # The shape's numbers under the names the rest of the simulator used before the mapping.
    @property
    def ve_peak_pct(self) -> float:
        return self.shape.ve_peak_pct

    @property
    def ve_peak_rpm(self) -> float:
        return self.shape.ve_peak_rpm

    @property
    def ve_falloff_low(self) -> float:
        return self.shape.ve_falloff_low

    @property
    def ve_falloff_high(self) -> float:
        return self.shape.ve_falloff_high

    @property
    def part_load_loss(self) -> float:
        return self.shape.part_load_loss

    @property
    def idle_rpm(self) -> float:
        return self.shape.idle_rpm

    @property
    def idle_map_kpa(self) -> float:
        return self.shape.idle_map_kpa

    @property
    def knock_margin_deg(self) -> float:
        return self.shape.knock_margin_deg

    @property
    def friction_nm(self) -> tuple[float, float, float]:
        return self.shape.friction_nm

    @property
    def pops_on_decel(self) -> float:
        """0..1: how readily the exhaust pops on a lean decel (the shape's decel-pop tendency)."""
        return self.shape.decel_pop_tendency

    @property
    def reversion_strength(self) -> float:
        return self.shape.reversion_strength


def preset_for_build(build: BuildSpec, name: str = "custom") -> EnginePreset:
    """An engine for any valid build (titled by the build's one-line summary)."""
    return EnginePreset(name, build.summary, build)


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
        ),
        EnginePreset(
            name="m8-114-stock",
            title="Milwaukee-Eight 114, stock",
            build=BuildSpec.stock(EngineFamily.M8_114),
        ),
    )
}
DEFAULT_PRESET = "tc103-stage2"

# The bike of the real Power Vision tune (vtwin.md §3: 16D110002401, a 2016 TC110 Low Rider S,
# most likely a Fuel Moto Stage 1): stock cam, 2-into-1, high-flow air cleaner. The VE surface
# statistics and TABLE_VE_SCALE are fitted against it (docs/simulator.md §3.2, §3.4). Not in
# PRESETS: it is the yardstick, not a bike offered to simulate.
REAL_TUNE_PRESET = EnginePreset(
    name="tc110-stage1-real-tune",
    title="Twin Cam 110, Stage 1 (air cleaner, 2-into-1), the real tune's bike",
    build=_build(EngineFamily.TC110, stage=1, exhaust=Exhaust.TWO_INTO_ONE,
                 air_cleaner=AirCleaner.HIGH_FLOW),
)


def get_preset(name: str) -> EnginePreset:
    """The preset called ``name``; InputError naming the choices otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise InputError(
            f"unknown engine preset {name!r}; use one of {', '.join(PRESETS)}"
        ) from None
