"""The session anomaly check: health figures read from a session's rows, the faults injected
into them, a detector learned from a shop whose sessions are mostly sound that flags the faulty
ones with the reason and not the sound ones, and its gate."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from dynoai_desktop.core.autotune import AutotuneSettings
from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.ml.anomaly import (
    FEATURE_NAMES,
    KIND,
    AnomalyDetector,
    by_vehicle,
    fit_detector,
    health_rows,
    others_of_vehicle,
)
from dynoai_desktop.ml.anomaly_train import MAX_FLAGGED_SHARE, train_anomaly
from dynoai_desktop.ml.errors import ModelError
from dynoai_desktop.ml.registry import artifact_bytes, model_from_artifacts
from dynoai_desktop.ml.training.extract import _out_of_range, extract
from dynoai_desktop.ml.training.faults import FAULTS, inject
from dynoai_desktop.ml.training.health import session_health
from dynoai_desktop.ml.training.patterns.common import session_runs
from dynoai_desktop.ml.training.records import (
    Environment,
    HeatSoak,
    SessionHealth,
    SoakCell,
    TuningSession,
)
from dynoai_desktop.ml.training.session_data import RunData, SessionData
from dynoai_desktop.ml.training.typed_json import read, to_json_value
from tests.ml.synthetic_sessions import synthetic_sessions

RATE_HZ = 10.0
AIR = Environment(ambient_temp_c=25.0, baro_kpa=100.0, humidity_pct=40.0)


def pull_rows(seconds: float = 120.0, seed: int = 0) -> dict[str, np.ndarray]:
    """Columns of a session's driving: throttle steps, WOT, live noisy widebands."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE_HZ)
    t = np.arange(n) / RATE_HZ
    tps = np.where((t % 30.0) < 10.0, 100.0, 30.0)
    kpa = np.where(tps > 90, 98.5, 55.0) + rng.normal(0, 0.3, n)
    afr = np.where(tps > 90, 12.6, 13.5)
    return {"time_s": t, "rpm": 2000.0 + 100.0 * (t % 30.0), "tps_pct": tps, "map_kpa": kpa,
            "afr_front": afr + rng.normal(0, 0.08, n), "afr_rear": afr + rng.normal(0, 0.08, n),
            "afr_front_status": np.zeros(n), "afr_rear_status": np.zeros(n),
            "iat_c": 40.0 + t / 20.0 + rng.normal(0, 0.3, n),
            "engine_temp_c": np.round(100.0 + t / 4.0), "baro_kpa": np.full(n, 100.0),
            "ambient_temp_c": np.full(n, 25.0)}


def hand_session(seed: int = 0) -> SessionData:
    build = BuildSpec.stock("twin_cam_103")
    return SessionData("hand:1", "bike", build, (RunData("pulls", pull_rows(seed=seed)),),
                       {}, {})


def health_of(session: SessionData) -> SessionHealth:
    health = session_health(session, session_runs(session), AIR, AutotuneSettings())
    assert health is not None
    return health


def test_a_sound_session_reads_as_sound() -> None:
    h = health_of(hand_session())
    assert h.afr_front_valid_share == 1.0 and h.afr_rear_valid_share == 1.0
    assert h.afr_front_flat_share == 0.0 and h.afr_rear_flat_share == 0.0
    assert h.afr_front_wot == pytest.approx(12.6, abs=0.05)
    assert h.iat_valid_share == 1.0 and h.iat_range_c > 5.0 and h.head_rise_c > 20.0
    assert h.wot_map_minus_baro_kpa == pytest.approx(-1.5, abs=0.2)
    assert h.iat_over_ambient_c == pytest.approx(18.0, abs=4.0)
    assert h.swap_score is None  # one table version: no way to tell


@pytest.mark.parametrize("fault", FAULTS)
def test_each_fault_moves_the_figure_it_should(fault: str) -> None:
    sound = health_of(hand_session())
    bad, what = inject(hand_session(), fault, np.random.default_rng(3))
    h = health_of(bad)
    assert what
    if fault == "stuck_wideband":
        assert max(h.afr_front_flat_share, h.afr_rear_flat_share) >= 0.5
    elif fault == "swapped_widebands":
        columns = bad.runs[0].columns
        assert np.array_equal(columns["afr_front"], hand_session().runs[0].columns["afr_rear"])
    elif fault == "dead_sensor":
        shares = (h.afr_front_valid_share, h.afr_rear_valid_share, h.iat_valid_share,
                  h.head_valid_share)
        assert min(s if s is not None else 0.0 for s in shares) == 0.0
    else:
        moved = (abs(h.wot_map_minus_baro_kpa - sound.wot_map_minus_baro_kpa) >= 6.0
                 or h.iat_over_ambient_c < -10.0)
        assert moved, h


def shop_health(n: int, seed: int) -> list[TuningSession]:
    """Synthetic sessions with sound health figures (a shop's spread)."""
    rng = np.random.default_rng(seed)
    out = []
    for s in synthetic_sessions(n, seed=seed):
        figures = {"afr_front_valid_share": rng.uniform(0.95, 0.99),
                   "afr_rear_valid_share": rng.uniform(0.95, 0.99),
                   "afr_front_flat_share": rng.uniform(0.0, 0.03),
                   "afr_rear_flat_share": rng.uniform(0.0, 0.03),
                   "afr_front_wot": rng.normal(12.6, 0.08), "afr_rear_wot": rng.normal(12.6, 0.08),
                   "afr_front_rear_corr": rng.uniform(0.6, 0.95),
                   "swap_score": rng.uniform(-1.0, -0.3), "iat_valid_share": 1.0,
                   "iat_range_c": rng.uniform(20.0, 40.0), "head_valid_share": 1.0,
                   "iat_over_ambient_c": rng.normal(15.0, 3.0),
                   "head_rise_c": rng.uniform(45.0, 85.0),
                   "wot_map_minus_baro_kpa": rng.normal(-1.8, 0.5)}
        out.append(replace(s, health=SessionHealth(**{k: round(float(v), 4)
                                                      for k, v in figures.items()})))
    return out


BROKEN = {"afr_front_flat_share": 0.8, "afr_rear_valid_share": 0.0, "swap_score": 0.6,
          "iat_over_ambient_c": -45.0, "wot_map_minus_baro_kpa": -12.0}


def broken(session: TuningSession, figure: str) -> TuningSession:
    assert session.health is not None
    return replace(session, session_id=f"{session.session_id}:broken",
                   health=replace(session.health, **{figure: BROKEN[figure]}))


def test_the_detector_flags_the_faults_with_the_reason_and_not_the_sound() -> None:
    sound = shop_health(120, seed=1)
    faulty = [broken(s, figure) for s, figure in zip(shop_health(20, seed=2),
                                                     list(BROKEN) * 4, strict=True)]
    detector = fit_detector(health_rows([*sound, *faulty]))  # faults and all, as a shop has
    assert sum(bool(detector.flags(s)) for s in shop_health(100, seed=3)) <= 5
    for s in faulty:
        found = detector.flags(s)
        assert found, s.health
    words = {"afr_front_flat_share": "stuck", "afr_rear_valid_share": "dead",
             "swap_score": "swapped", "iat_over_ambient_c": "entered wrong",
             "wot_map_minus_baro_kpa": "entered wrong"}
    for figure, word in words.items():
        assert word in detector.flags(broken(sound[0], figure))[0]


def test_a_session_without_health_figures_is_not_flagged() -> None:
    detector = fit_detector(health_rows(shop_health(40, seed=4)))
    assert detector.flags(replace(shop_health(1, seed=5)[0], health=None)) == []


def test_trained_it_is_gated_and_survives_the_registry() -> None:
    result = train_anomaly(shop_health(60, seed=6))
    assert result.accepted, result.reason
    held = result.metadata["metrics"]["held_out"]
    assert held["flagged_share"] <= MAX_FLAGGED_SHARE and held["sessions"] > 0
    files = artifact_bytes(result.model, result.metadata)
    again, _meta = model_from_artifacts(files, "anomaly test", KIND)
    assert isinstance(again, AnomalyDetector) and again.params["feature_names"] == list(
        FEATURE_NAMES)


def test_a_detector_that_flags_the_held_out_sessions_is_refused() -> None:
    sessions = shop_health(60, seed=7)
    from dynoai_desktop.ml.features import build_group  # noqa: PLC0415
    from dynoai_desktop.ml.train import is_held_out  # noqa: PLC0415

    held = {s.session_id for s in sessions
            if is_held_out(build_group(BuildSpec.from_dict(s.build)))}
    assert held
    spoiled = [broken(s, "swap_score") if s.session_id in held else s for s in sessions]
    result = train_anomaly(spoiled)
    assert not result.accepted and "refused" in result.reason


def test_too_few_sessions_is_too_little_data() -> None:
    with pytest.raises(ModelError, match="DYN-M004"):
        train_anomaly(shop_health(5, seed=8))


@pytest.mark.parametrize("fault", FAULTS)
def test_a_faulty_sessions_record_is_still_a_valid_record(fault: str) -> None:
    bad, _what = inject(hand_session(), fault, np.random.default_rng(11))
    record = extract(bad)
    _value, problems = read(TuningSession, to_json_value(record))
    assert problems == []


def test_a_pattern_out_of_its_range_is_refused_not_kept() -> None:
    cell = SoakCell(rpm=1000.0, load=40.0, cylinder="front", inflation_pct=0.0, weight=500.0,
                    iat_over_ambient_c=-80.0)  # a dead IAT reading -40 °C on a 40 °C day
    soak = HeatSoak(iat_rise_c=1.0, soak_minutes=5.0, ve_inflation_pct=0.0,
                    rpm_range=[1000.0, 2000.0], load_range=[30.0, 50.0], cells=[cell])
    assert "iat_over_ambient_c" in _out_of_range(soak)
    assert _out_of_range(replace(soak, cells=[replace(cell, iat_over_ambient_c=5.0)])) == ""


def test_a_session_unlike_the_same_vehicles_others_is_flagged() -> None:
    shop = shop_health(80, seed=12)
    detector = fit_detector(health_rows(shop))
    mine = [replace(s, vehicle="2016 Street Glide", build=shop[0].build)
            for s in shop_health(3, seed=13)]
    assert all(s.health is not None for s in mine)
    odd = replace(mine[0], session_id="odd", health=replace(
        mine[0].health, afr_front_wot=mine[1].health.afr_front_wot + 2.5))  # type: ignore[union-attr]
    grouped = by_vehicle([*mine, odd])
    found = detector.flags(odd, others_of_vehicle(odd, grouped))
    assert any("unlike the rest of the vehicle's sessions: afr front wot" in f for f in found)
    assert not detector.flags(mine[1], others_of_vehicle(mine[1], by_vehicle(mine)))
    other_bike = replace(odd, build={**odd.build, "stage": 3})  # same name, another build
    assert others_of_vehicle(other_bike, grouped) == []
