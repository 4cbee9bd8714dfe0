"""Each bike its own engine (sim/scatter.py, docs/simulator.md §3.3): the same bike seed gives
bitwise the same engine, two seeds differ by the documented spreads, bad seeds are refused."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dynoai_desktop.sim import scatter
from dynoai_desktop.sim.ecm_tables import true_ve_table
from dynoai_desktop.sim.engine import FRONT, REAR, EngineModel
from dynoai_desktop.sim.presets import PRESETS
from dynoai_desktop.sim.scatter import (
    BIKE_SEED_MAX,
    BUMP_MAP_KNOTS_KPA,
    BUMP_RPM_KNOTS,
    BikeScatter,
)

PRESET = PRESETS["tc103-stage2"]
FAMILY = PRESET.build.engine_family.value
SEEDS = range(1, 41)
# One point per bump knot, inside the table (750-6500 rpm, 15-105 kPa): what a tuner sees.
KNOT_RPM = np.array([r for r in BUMP_RPM_KNOTS if 750.0 <= r <= 6500.0])
KNOT_KPA = np.array([k for k in BUMP_MAP_KNOTS_KPA if 15.0 <= k <= 105.0])
MID_LOAD_KPA = 60.0  # where BUMP_GAIN_BY_MAP is 1.0


def _surfaces(engine: EngineModel) -> np.ndarray:
    return np.array([[[engine.ve_true(c, r, k) for k in KNOT_KPA] for r in KNOT_RPM]
                     for c in (FRONT, REAR)])


def _gain(map_kpa: float) -> float:
    (m0, g0), (m1, g1) = scatter.BUMP_GAIN_BY_MAP
    return float(np.interp(map_kpa, (m0, m1), (g0, g1)))


# ---------------------------------------------------------------------------- the same bike
def test_the_same_bike_seed_reproduces_bitwise() -> None:
    a, b = EngineModel(PRESET, bike_seed=7), EngineModel(PRESET, bike_seed=7)
    assert np.array_equal(_surfaces(a), _surfaces(b))
    for cylinder in (FRONT, REAR):
        assert np.array_equal(true_ve_table(a, cylinder).values, true_ve_table(b, cylinder).values)
    assert json.dumps(a.truth_dict(), sort_keys=True) == json.dumps(b.truth_dict(), sort_keys=True)
    for name in ("wideband_delay_scale", "wideband_lambda_offset", "map_sensor_offset_kpa",
                 "idle_map_kpa"):
        assert getattr(a, name) == getattr(b, name)
    assert all(a.knock_limit_deg(c, 2500.0, 90.0, 150.0, 40.0)
               == b.knock_limit_deg(c, 2500.0, 90.0, 150.0, 40.0) for c in (FRONT, REAR))


def test_no_seed_is_the_builds_average_bike() -> None:
    nominal = BikeScatter.nominal()
    common, rear = nominal.ve_bumps(np.array([1000.0, 3000.0]), np.array([30.0, 90.0]))
    assert not common.any() and not rear.any()
    engine = EngineModel(PRESET, bike_seed=None)
    assert engine.truth_dict()["scatter"]["bike_seed"] is None
    assert engine.wideband_lambda_offset == (0.0, 0.0) and engine.map_sensor_offset_kpa == 0.0


def test_a_bike_keeps_its_castings_when_its_pipe_changes() -> None:
    # The bumps are drawn from the seed and the engine family, not the rest of the build.
    a, b = BikeScatter.from_seed(5, FAMILY), BikeScatter.from_seed(5, FAMILY)
    assert a.bumps_common is not None and b.bumps_common is not None
    assert np.array_equal(a.bumps_common, b.bumps_common)
    other = BikeScatter.from_seed(5, "milwaukee_eight_114")
    assert other.bumps_common is not None
    assert not np.array_equal(a.bumps_common, other.bumps_common)


# ---------------------------------------------------------------------------- two bikes
def test_two_bikes_of_one_build_differ() -> None:
    one, two = (_surfaces(EngineModel(PRESET, bike_seed=s)) for s in (1, 2))
    assert not np.array_equal(one, two)
    diff = np.abs(one / two - 1.0)
    assert diff.max() > 0.03  # a tuner sees it
    assert np.sqrt(np.mean(diff * diff)) < 0.15  # but it is the same engine


def test_the_bumps_have_the_documented_spread() -> None:
    """Pooled over 40 bikes, at mid load: the 1σ of each part is the documented one."""
    rpm, kpa = np.meshgrid(KNOT_RPM, np.full(1, MID_LOAD_KPA), indexing="ij")
    commons, rears = [], []
    for seed in SEEDS:
        common, rear = BikeScatter.from_seed(seed, FAMILY).ve_bumps(rpm, kpa)
        commons.append(common)
        rears.append(rear)
    common_sd = 100.0 * float(np.std(commons))
    rear_sd = 100.0 * float(np.std(rears))
    want_common = np.hypot(scatter.VE_BUMP_COMMON_PCT, scatter.VE_WAVE_COMMON_PCT)
    want_rear = np.hypot(scatter.VE_BUMP_REAR_PCT, scatter.VE_WAVE_REAR_PCT)
    assert common_sd == pytest.approx(want_common * _gain(MID_LOAD_KPA), rel=0.2)
    assert rear_sd == pytest.approx(want_rear * _gain(MID_LOAD_KPA), rel=0.2)
    # Light load is rougher than WOT (the real tune's pattern, §3.3).
    assert _gain(20.0) > 1.0 > _gain(100.0)
    # Two bikes of a build: their VE differs by a few % RMS at mid load.
    assert 3.0 < np.sqrt(2.0) * common_sd < 10.0


def _correlation(field: np.ndarray, lag: int, axis: int) -> float:
    f = np.moveaxis(field, axis, 0)
    return float(np.mean(f[:-lag] * f[lag:]) / np.mean(f * f))


@pytest.mark.parametrize("axis", [0, 1])
def test_bumps_span_two_to_four_cells(axis: int) -> None:
    """The 2-D bumps on their knots (one per table cell): neighbours correlate, three apart not;
    full width at half correlation 2-4 cells."""
    fields = [BikeScatter.from_seed(s, FAMILY).bumps_common for s in SEEDS]
    lag = {n: np.mean([_correlation(f, n, axis) for f in fields if f is not None])
           for n in (1, 2, 3)}
    assert 0.5 < lag[1] < 0.85, lag
    assert lag[2] < 0.4 and abs(lag[3]) < 0.15, lag
    half = 1.0 + (lag[1] - 0.5) / (lag[1] - lag[2])  # where the correlation crosses 0.5
    assert 2.0 <= 2.0 * half <= 4.0, lag


def test_the_bikes_own_numbers_stay_in_their_documented_ranges() -> None:
    bikes = [BikeScatter.from_seed(s, FAMILY) for s in SEEDS]
    lo, hi = scatter.WIDEBAND_DELAY_SCALE_RANGE
    for bike in bikes:
        assert all(lo <= x <= hi for x in bike.wideband_delay_scale)
        assert all(abs(x) <= scatter.WIDEBAND_LAMBDA_MAX for x in bike.wideband_lambda_offset)
        assert abs(bike.map_sensor_offset_kpa) <= scatter.MAP_SENSOR_MAX_KPA
        assert all(abs(x) <= scatter.KNOCK_OFFSET_MAX_DEG for x in bike.knock_offset_deg)
        g_lo, g_hi = scatter.RESONANCE_GAIN_RANGE
        assert g_lo <= bike.resonance_gain <= g_hi
        i_lo, i_hi = scatter.IMBALANCE_SCALE_RANGE
        assert i_lo <= bike.imbalance_scale <= i_hi
    # ... and do vary from bike to bike.
    assert len({b.wideband_delay_scale for b in bikes}) == len(bikes)
    assert np.std([b.ve_peak_rpm_shift for b in bikes]) > 0.5 * scatter.VE_PEAK_RPM_SD


def test_two_bikes_have_their_own_rear_front_shape() -> None:
    one, two = (EngineModel(PRESET, bike_seed=s) for s in (1, 2))
    ratios = [[e.rear_front_ratio(r, 100.0) for r in KNOT_RPM] for e in (one, two)]
    assert not np.allclose(ratios[0], ratios[1], atol=0.01)


# ---------------------------------------------------------------------------- bad seeds
@pytest.mark.parametrize("seed", [-1, BIKE_SEED_MAX + 1, 1.5, "3", True, None])
def test_a_bad_bike_seed_is_refused_clearly(seed: object) -> None:
    with pytest.raises(ValueError, match="bike seed must be a whole number 0 to"):
        BikeScatter.from_seed(seed, FAMILY)  # type: ignore[arg-type]
    if seed is not None:  # None is the build's average bike
        with pytest.raises(ValueError, match="bike seed must be a whole number 0 to"):
            EngineModel(PRESET, bike_seed=seed)  # type: ignore[arg-type]


def test_the_extreme_seeds_make_bikes() -> None:
    for seed in (0, BIKE_SEED_MAX):
        EngineModel(PRESET, bike_seed=seed)
