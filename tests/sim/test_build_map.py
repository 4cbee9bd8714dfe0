"""The build mapping (sim/build_map.py, docs/simulator.md §3.1): one test per rule, each comparing
two builds that differ only in that input, on the build's average bike (no bike scatter, so the
rule is not hidden under one bike's bumps); and any valid build makes an engine."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dynoai_desktop.core.build_spec import (
    STAGE_MAX,
    AirCleaner,
    BuildSpec,
    CamSpec,
    EngineFamily,
    Exhaust,
)
from dynoai_desktop.core.power import power_hp
from dynoai_desktop.core.units import Fuel
from dynoai_desktop.core.weather import CELL_AIR
from dynoai_desktop.sim.build_map import engine_shape, isa_baro_kpa
from dynoai_desktop.sim.ecm_tables import base_spark_tables
from dynoai_desktop.sim.engine import FRONT, REAR, EngineModel
from dynoai_desktop.sim.presets import preset_for_build

NM_PER_FTLB = 1.3558179483314004
SEA_LEVEL_KPA = 101.325
WOT_RPM = np.arange(1000.0, 6501.0, 50.0)


def _cam(duration_deg: float = 222.0, overlap_deg: float = 22.0, lift_in: float = 0.49) -> CamSpec:
    return CamSpec(name="test cam", intake_duration_deg=duration_deg,
                   exhaust_duration_deg=duration_deg, intake_lift_in=lift_in,
                   exhaust_lift_in=lift_in, overlap_deg=overlap_deg)


def _build(family: EngineFamily = EngineFamily.TC103, **changes: object) -> BuildSpec:
    base = replace(BuildSpec.stock(family), stage=2, cam=_cam(), exhaust=Exhaust.TWO_INTO_ONE,
                   air_cleaner=AirCleaner.HIGH_FLOW)
    return replace(base, **changes)


def _engine(build: BuildSpec, baro_kpa: float | None = SEA_LEVEL_KPA) -> EngineModel:
    return EngineModel(preset_for_build(build), baro_kpa, bike_seed=None)


def _wot_ve(engine: EngineModel) -> np.ndarray:
    """Both cylinders' physical VE at WOT (100 kPa) over WOT_RPM."""
    return np.array([engine.ve_physical(FRONT, r, 100.0) + engine.ve_physical(REAR, r, 100.0)
                     for r in WOT_RPM]) / 2.0


def _wot_torque_nm(engine: EngineModel, baro_kpa: float = CELL_AIR.baro_kpa) -> np.ndarray:
    return np.array([engine.steady_torque_nm(r, engine.map_steady_kpa(100.0, r, baro_kpa),
                                             baro_kpa, CELL_AIR.dry_fraction, 35.0, 120.0)
                     for r in WOT_RPM])


# ---------------------------------------------------------------------------- cam
def test_more_overlap_digs_a_deeper_low_rpm_dip() -> None:
    mild, wild = (_engine(_build(cam=_cam(overlap_deg=o))) for o in (10.0, 40.0))
    for engine in (mild, wild):
        assert engine.shape.overlap_dip_end_rpm > 1500.0
    # VE at 1000-1250 rpm against the engine's own WOT peak: the dip, not the cam's breathing.
    low = WOT_RPM <= 1250.0
    dip = [float(_wot_ve(e)[low].mean() / _wot_ve(e).max()) for e in (mild, wild)]
    assert dip[1] < dip[0] - 0.05, dip
    # ... and part load loses more of it (reversion dilutes the charge).
    part = [e.ve_physical(FRONT, 1500.0, 35.0) / e.ve_physical(FRONT, 1500.0, 100.0)
            for e in (mild, wild)]
    assert part[1] < part[0]


def test_more_overlap_means_more_reversion_more_pops_and_a_weaker_idle_vacuum() -> None:
    mild, wild = (preset_for_build(_build(cam=_cam(overlap_deg=o))) for o in (10.0, 40.0))
    assert wild.reversion_strength > mild.reversion_strength + 0.3
    assert wild.pops_on_decel > mild.pops_on_decel + 0.2
    assert wild.idle_map_kpa > mild.idle_map_kpa + 10.0  # vtwin.md §2: higher, weaker vacuum
    assert wild.idle_rpm >= mild.idle_rpm
    for preset in (mild, wild):
        assert 0.0 <= preset.reversion_strength <= 1.0
        assert 0.0 <= preset.pops_on_decel <= 1.0


def test_the_lobe_separation_sets_the_overlap_when_the_card_has_no_overlap() -> None:
    def card(lsa: float) -> CamSpec:
        return CamSpec(name="lsa cam", intake_duration_deg=230.0, exhaust_duration_deg=230.0,
                       lsa_deg=lsa)

    tight, wide = (engine_shape(_build(cam=card(lsa))) for lsa in (100.0, 110.0))
    assert tight.cam.overlap_deg == pytest.approx(30.0)  # 230 - 2 x 100
    assert wide.cam.overlap_deg == pytest.approx(10.0)
    assert tight.reversion_strength > wide.reversion_strength


def test_a_longer_duration_peaks_later() -> None:
    # On the stock exhaust: a 2-into-1's strong tuning pins the peak at its tuned rpm.
    short, long_ = (_engine(_build(cam=_cam(duration_deg=d), exhaust=Exhaust.STOCK))
                    for d in (212.0, 242.0))
    ve_peak = [WOT_RPM[int(np.argmax(_wot_ve(e)))] for e in (short, long_)]
    torque_peak = [WOT_RPM[int(np.argmax(_wot_torque_nm(e)))] for e in (short, long_)]
    assert ve_peak[1] > ve_peak[0] + 500.0, ve_peak
    assert torque_peak[1] > torque_peak[0] + 500.0, torque_peak
    assert long_.shape.ve_peak_rpm > short.shape.ve_peak_rpm + 30.0 * 25.0


def test_more_lift_breathes_more() -> None:
    low, high = (engine_shape(_build(cam=_cam(lift_in=x))) for x in (0.475, 0.585))
    assert high.ve_peak_pct > low.ve_peak_pct * 1.04


# ---------------------------------------------------------------------------- displacement
def test_bigger_displacement_makes_more_torque_at_the_same_ve() -> None:
    small, big = (_engine(_build(displacement_ci=ci)) for ci in (103.0, 124.0))
    for ve_pct, map_kpa in ((90.0, 100.0), (110.0, 60.0)):
        a, b = (e.charge_torque_nm(ve_pct, map_kpa, 0.98, 30.0) for e in (small, big))
        assert b / a == pytest.approx(124.0 / 103.0, rel=1e-9)
    assert _wot_torque_nm(big).max() > _wot_torque_nm(small).max() * 1.1
    # The same heads feeding more: the big-bore engine peaks lower (docs/simulator.md §3.1).
    assert big.shape.ve_peak_rpm < small.shape.ve_peak_rpm


# ---------------------------------------------------------------------------- exhaust and intake
def test_a_freer_exhaust_breathes_more() -> None:
    shapes = {x: engine_shape(_build(exhaust=x)) for x in Exhaust}
    for exhaust in Exhaust:
        if exhaust is not Exhaust.STOCK:
            assert shapes[exhaust].ve_peak_pct > shapes[Exhaust.STOCK].ve_peak_pct, exhaust
    assert shapes[Exhaust.TWO_INTO_ONE].ve_peak_pct > shapes[Exhaust.SLIP_ON].ve_peak_pct
    # The stock system runs out of breath up high; open systems do not.
    assert shapes[Exhaust.STOCK].choke > shapes[Exhaust.TWO_INTO_ONE].choke


def test_the_exhaust_sets_the_rear_front_imbalance_and_its_dips() -> None:
    def amplitude(exhaust: Exhaust) -> float:
        return max(abs(d) for _, d in engine_shape(_build(exhaust=exhaust)).rear_front_points)

    # True duals tune each cylinder alone (vtwin.md §4): more imbalance than a 2-into-1, which
    # couples them; a stock system less still.
    assert amplitude(Exhaust.TWO_INTO_TWO) > amplitude(Exhaust.TWO_INTO_ONE)
    assert amplitude(Exhaust.TWO_INTO_ONE) > amplitude(Exhaust.STOCK)
    one, two = (_engine(_build(exhaust=x)) for x in (Exhaust.TWO_INTO_ONE, Exhaust.TWO_INTO_TWO))
    spread = [np.std([e.rear_front_ratio(r, 100.0) for r in WOT_RPM]) for e in (one, two)]
    assert spread[1] > spread[0]


def test_each_exhaust_has_its_own_wave_tuning() -> None:
    # Short open pipes tune high and swing hard: the drag-pipe hole at 2/3 of the tuned rpm.
    one, drag = (_engine(_build(exhaust=x)) for x in (Exhaust.TWO_INTO_ONE, Exhaust.DRAG_PIPES))
    assert drag.shape.exhaust_tuned_rpm > one.shape.exhaust_tuned_rpm
    assert drag.shape.exhaust_wave_depth > engine_shape(_build()).exhaust_wave_depth > (
        engine_shape(_build(exhaust=Exhaust.STOCK)).exhaust_wave_depth)
    hole_rpm, tuned_rpm = 2.0 / 3.0 * drag.shape.exhaust_tuned_rpm, drag.shape.exhaust_tuned_rpm

    def ratio(rpm: float) -> float:
        return drag.ve_physical(FRONT, rpm, 100.0) / one.ve_physical(FRONT, rpm, 100.0)

    assert ratio(hole_rpm) < ratio(tuned_rpm) - 0.1


def test_a_free_air_cleaner_breathes_more_and_holds_map_up_high() -> None:
    stock, free = (_engine(_build(air_cleaner=a)) for a in (AirCleaner.STOCK, AirCleaner.HIGH_FLOW))
    assert free.shape.ve_peak_pct > stock.shape.ve_peak_pct
    assert (free.map_steady_kpa(100.0, 5500.0, 100.0)
            > stock.map_steady_kpa(100.0, 5500.0, 100.0) + 1.0)


# ---------------------------------------------------------------------------- knock
KNOCK_POINTS = ((2500.0, 95.0), (3000.0, 100.0), (5000.0, 100.0), (3000.0, 60.0))


def _limits(engine: EngineModel, baro_kpa: float | None = None) -> list[float]:
    out = []
    for rpm, map_kpa in KNOCK_POINTS:
        if baro_kpa is not None:  # WOT at this baro instead of a fixed MAP
            map_kpa = engine.map_steady_kpa(100.0, rpm, baro_kpa)
        out += [engine.knock_limit_deg(c, rpm, map_kpa, 150.0, 40.0) for c in (FRONT, REAR)]
    return out


def test_more_compression_lowers_the_knock_limit() -> None:
    low, high = (_engine(_build(compression_ratio=cr)) for cr in (9.6, 10.6))
    for a, b in zip(_limits(low), _limits(high), strict=True):
        assert b < a - 2.0


def test_lower_octane_lowers_the_knock_limit() -> None:
    premium, regular = (_engine(_build(fuel_octane_aki=aki)) for aki in (93.0, 87.0))
    for a, b in zip(_limits(premium), _limits(regular), strict=True):
        assert b < a - 6.0
    e85 = _engine(_build(fuel=Fuel.E85))
    for a, b in zip(_limits(_engine(_build())), _limits(e85), strict=True):
        assert b > a


def test_a_bigger_bore_lowers_the_knock_limit() -> None:
    small, big = (_engine(_build(displacement_ci=ci)) for ci in (103.0, 124.0))
    assert big.shape.bore_in > small.shape.bore_in
    for a, b in zip(_limits(small), _limits(big), strict=True):
        assert b < a


def test_altitude_raises_the_knock_limit_at_wot_through_the_lower_map() -> None:
    # Thinner air: WOT is a lower MAP, so less charge and a higher limit (docs/simulator.md §3.5).
    sea = _engine(_build(altitude_m=0.0), baro_kpa=None)  # the barometer of the build's altitude
    high = _engine(_build(altitude_m=1600.0), baro_kpa=None)
    assert high.baro_kpa == pytest.approx(isa_baro_kpa(1600.0))
    assert high.baro_kpa < 85.0
    for a, b in zip(_limits(sea, sea.baro_kpa), _limits(high, high.baro_kpa), strict=True):
        assert b > a


# ---------------------------------------------------------------------------- the stock M8 114
def test_the_stock_m8_114_holds_its_torque_past_4000_rpm() -> None:
    engine = _engine(BuildSpec.stock(EngineFamily.M8_114), CELL_AIR.baro_kpa)
    torque_ftlb = _wot_torque_nm(engine) / NM_PER_FTLB
    hp = np.array([power_hp(t, r) for t, r in zip(torque_ftlb, WOT_RPM, strict=True)])
    peak = torque_ftlb.max()
    at = {int(r): t for r, t in zip(WOT_RPM, torque_ftlb, strict=True)}
    assert 95.0 <= peak <= 115.0  # measured stock 104.6 lb-ft at the wheel (vtwin.md §1)
    assert at[4500] >= 0.85 * peak and at[5000] >= 0.8 * peak  # no collapse above 4000
    assert 80.0 <= hp.max() <= 100.0  # EPA 100.6 hp @ 5020 at the crank (vtwin.md §1)
    assert 4500.0 <= WOT_RPM[int(np.argmax(hp))] <= 5500.0


# ---------------------------------------------------------------------------- any valid build
def _cams() -> st.SearchStrategy[CamSpec]:
    def opt(lo: float, hi: float) -> st.SearchStrategy[float | None]:
        return st.none() | st.floats(lo, hi, allow_nan=False)

    return st.builds(CamSpec, name=st.sampled_from(["stock", "S&S 585", "x"]),
                     intake_duration_deg=opt(150.0, 330.0), exhaust_duration_deg=opt(150.0, 330.0),
                     intake_lift_in=opt(0.25, 0.80), exhaust_lift_in=opt(0.25, 0.80),
                     overlap_deg=opt(-40.0, 120.0), lsa_deg=opt(90.0, 130.0))


def _builds() -> st.SearchStrategy[BuildSpec]:
    return st.builds(
        BuildSpec,
        engine_family=st.sampled_from(list(EngineFamily)),
        displacement_ci=st.floats(45.0, 160.0),
        stage=st.integers(0, STAGE_MAX),
        cam=_cams(),
        exhaust=st.sampled_from(list(Exhaust)),
        air_cleaner=st.sampled_from(list(AirCleaner)),
        injector_flow_gs=st.floats(2.0, 12.0),
        compression_ratio=st.floats(7.5, 13.0),
        fuel_octane_aki=st.floats(80.0, 120.0),
        altitude_m=st.floats(-500.0, 5000.0),
        fuel=st.sampled_from(list(Fuel)),
    )


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(build=_builds(), bike_seed=st.none() | st.integers(0, 2**31 - 1))
def test_every_valid_build_makes_an_engine(build: BuildSpec, bike_seed: int | None) -> None:
    engine = EngineModel(preset_for_build(build), bike_seed=bike_seed)
    shape = engine.shape
    assert 30.0 < shape.ve_peak_pct <= 125.0
    assert 500.0 < shape.ve_peak_rpm
    assert 0.0 <= engine.reversion_strength <= 1.0 and 0.0 <= engine.decel_pop_tendency <= 1.0
    assert 0.0 < engine.idle_map_kpa < 100.0 and engine.idle_rpm > 0.0
    baro = engine.baro_kpa
    for rpm in (800.0, 2500.0, 4500.0, 6500.0):
        for map_kpa in (15.0, 50.0, 100.0):
            for c in (FRONT, REAR):
                ve = engine.ve_true(c, rpm, map_kpa)
                assert math.isfinite(ve) and 10.0 < ve < 250.0, (rpm, map_kpa, ve)
                assert math.isfinite(engine.knock_limit_deg(c, rpm, map_kpa, 150.0, 40.0))
            assert engine.rear_front_ratio(rpm, map_kpa) > 0.3
        wot = engine.map_steady_kpa(100.0, rpm, baro)
        assert 0.0 < wot < baro
        assert math.isfinite(engine.steady_torque_nm(rpm, wot, baro, 0.98, 30.0, 120.0))
    assert max(engine.steady_torque_nm(r, engine.map_steady_kpa(100.0, r, baro), baro, 0.98,
                                       30.0, 120.0) for r in (2000.0, 3500.0, 5000.0)) > 0.0
    json.dumps(engine.truth_dict())  # the truth file can hold it


# ---------------------------------------------------------------------------- knock, on the road
def _knocking_cells(engine: EngineModel, spark: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                    front_head_c: float, rear_hotter_k: float) -> dict[int, set]:
    out: dict[int, set] = {FRONT: set(), REAR: set()}
    for i, rpm in enumerate(rows):
        for j, map_kpa in enumerate(cols):
            if rpm < 1500.0 or map_kpa < 50.0:  # below: the 5° floor; light load: no knock
                continue
            for c in (FRONT, REAR):
                head = front_head_c + (rear_hotter_k * min(map_kpa / 100.0, 1.0) if c else 0.0)
                if spark[i, j] > engine.knock_limit_deg(c, rpm, map_kpa, head, 30.0):
                    out[c].add((float(rpm), float(map_kpa)))
    return out


@pytest.mark.parametrize("family", [EngineFamily.TC103, EngineFamily.TC110, EngineFamily.M8_114])
def test_a_stock_bike_knocks_only_hot_lugging_first_rear_first(family: EngineFamily) -> None:
    engine = _engine(BuildSpec.stock(family), CELL_AIR.baro_kpa)
    table = base_spark_tables(engine)[0]  # one spark for both cylinders, as the real tune's
    assert np.array_equal(table.values, base_spark_tables(engine)[1].values)
    rows, cols = table.row_breakpoints, table.col_breakpoints

    def knocking(front_head_c: float) -> dict[int, set]:
        return _knocking_cells(engine, table.values, rows, cols, front_head_c, 30.0)

    assert knocking(120.0) == {FRONT: set(), REAR: set()}  # warm, as calibrated: no knock
    hot = knocking(135.0)  # 15 K hotter: the rear, in the lugging zone
    assert hot[REAR] and len(hot[REAR]) >= len(hot[FRONT])
    assert all(map_kpa >= 80.0 and rpm <= 3750.0 for rpm, map_kpa in hot[REAR] | hot[FRONT])
    hotter = knocking(160.0)  # heat-soaked: it widens
    assert len(hotter[REAR]) > len(hot[REAR]) >= len(hot[FRONT])
    assert any(rpm > 4000.0 for rpm, _ in hotter[REAR])  # past the lugging zone
    assert len(knocking(190.0)[FRONT]) > len(hot[FRONT])  # the front goes last
    low_octane = _engine(replace(BuildSpec.stock(family), fuel_octane_aki=87.0),
                         CELL_AIR.baro_kpa)
    regular = _knocking_cells(low_octane, table.values, rows, cols, 120.0, 30.0)
    assert len(regular[REAR]) > len(hot[REAR])  # 87 AKI on a 91 AKI calibration
