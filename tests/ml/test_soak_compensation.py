"""The heat-soak compensator: the soak clock a log's rows are read with, a model that learns a
known soak law from the shop's records and is refused when it cannot, and what it removes."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from dynoai_desktop.core.autotune import AutotuneSettings
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.ml.registry import artifact_bytes, model_from_artifacts
from dynoai_desktop.ml.soak_compensation import (
    FEATURE_NAMES,
    KIND,
    MAX_REMOVED_PCT,
    MIN_CELL_WEIGHT,
    SoakCompensator,
    fit_regressor,
    soak_samples,
)
from dynoai_desktop.ml.soak_train import train_heat_soak
from dynoai_desktop.ml.train import TrainResult
from dynoai_desktop.ml.training.patterns.heat_soak import MIN_SOAK_S, iat_fall, soak_clock
from dynoai_desktop.ml.training.records import Patterns
from tests.ml.synthetic_soak import soak_law, soak_session, soak_sessions

RATE_HZ = 10.0


def log(pieces: list[tuple[float, float, float]]) -> dict[str, np.ndarray]:
    """Columns of (seconds, rpm, tps %) pieces one after another."""
    rpm, tps = [], []
    for seconds, r, t in pieces:
        n = int(seconds * RATE_HZ)
        rpm += [r] * n
        tps += [t] * n
    n = len(rpm)
    return {"time_s": np.arange(n) / RATE_HZ, "rpm": np.array(rpm, dtype=np.float64),
            "tps_pct": np.array(tps, dtype=np.float64), "map_kpa": np.full(n, 40.0),
            "iat_c": np.linspace(30.0, 60.0, n), "ambient_temp_c": np.full(n, 25.0),
            "engine_temp_c": np.full(n, 120.0)}


def test_the_soak_clock_starts_at_a_long_idle_and_a_short_one_does_not_restart_it() -> None:
    cols = log([(100.0, 2500.0, 20.0), (200.0, 1000.0, 0.0), (100.0, 3000.0, 30.0),
                (50.0, 1000.0, 0.0), (150.0, 3000.0, 30.0)])
    soak, since = soak_clock(cols, AutotuneSettings())
    t = cols["time_s"]
    before, during, after = t < 100.0, (t >= 100.0) & (t < 300.0), t >= 300.0
    assert np.isnan(soak[before]).all() and np.isnan(since[before]).all()
    assert since[during] == pytest.approx(0.0)
    assert soak[during] == pytest.approx(t[during] - 100.0)
    assert soak[after] == pytest.approx(np.full(after.sum(), 199.9))
    assert since[after] == pytest.approx(t[after] - 299.9)  # through the 50 s idle too
    quick = log([(100.0, 2500.0, 20.0), (MIN_SOAK_S - 10.0, 1000.0, 0.0), (60.0, 3000.0, 30)])
    assert np.isnan(soak_clock(quick, AutotuneSettings())[0]).all()


def test_the_iat_fall_counts_from_the_soaks_end_reading() -> None:
    """How far the reading fell since the soak: 0 through it, NaN before any, and from the
    reading over the soak's last seconds (not its last noisy sample) after it."""
    cols = log([(100.0, 2500.0, 20.0), (200.0, 1000.0, 0.0), (100.0, 3000.0, 30.0)])
    t = cols["time_s"]
    iat = np.where(t < 300.0, 60.0, 60.0 - (t - 300.0) * 0.1)  # falls 1 °C per 10 s after
    iat[np.searchsorted(t, 299.9)] = 90.0  # one spike at the soak's end
    fall = iat_fall(cols, iat, AutotuneSettings())
    assert np.isnan(fall[t < 100.0]).all()
    assert fall[(t >= 100.0) & (t < 299.9)] == pytest.approx(0.0)
    after = t >= 300.0
    assert fall[after] == pytest.approx((t[after] - 300.0) * 0.1)


@pytest.fixture(scope="module")
def trained() -> TrainResult:
    return train_heat_soak(soak_sessions(), source="synthetic")


def test_it_learns_the_soak_and_leaves_less_of_it_in_than_removing_nothing(
        trained: TrainResult) -> None:
    held = trained.metadata["metrics"]["held_out"]
    assert trained.accepted, trained.reason
    assert held["cells"] > 0 and held["mae_pct"] < held["none_mae_pct"] / 3, held
    model: SoakCompensator = trained.model
    assert 0.9 < model.shrink <= 1.0  # a soak it explains is not shrunk away
    # Strong at idle right after the soak, gone at WOT and minutes later.
    x = np.array([[400.0, 30.0, 125.0, 300.0, 0.0, 0.0],
                  [4000.0, 30.0, 125.0, 300.0, 50.0, 8.5]])
    idle, wot = model.predict(x)
    assert idle == pytest.approx(soak_law(400.0, 30.0, 0.0), abs=0.6)
    assert abs(wot) < 0.5


def test_a_soak_the_records_cannot_explain_is_refused_by_the_gate() -> None:
    result = train_heat_soak(soak_sessions(law=False), source="synthetic noise")
    assert not result.accepted
    assert "no better than removing nothing" in result.reason
    # What it predicted from noise, its own cross-validation does not trust.
    assert result.model.shrink < 0.3


def test_rows_before_a_soak_keep_their_reading_and_no_removal_exceeds_the_bound(
        trained: TrainResult) -> None:
    model: SoakCompensator = trained.model
    cols = log([(100.0, 2500.0, 20.0), (300.0, 1000.0, 0.0), (100.0, 3000.0, 30.0)])
    removed = model.inflation_pct(cols)
    t = cols["time_s"]
    assert (removed[t < 100.0] == 0.0).all()
    assert (removed[t >= 100.0] != 0.0).all()
    assert np.abs(removed).max() <= MAX_REMOVED_PCT
    loud = replace(model, estimators={"inflation": fit_regressor(
        np.zeros((4, len(FEATURE_NAMES))), np.full(4, 50.0))})
    assert loud.inflation_pct(cols).max() == MAX_REMOVED_PCT


def test_it_goes_through_the_registry_files_and_back_the_same(trained: TrainResult) -> None:
    model: SoakCompensator = trained.model
    files = artifact_bytes(model, trained.metadata)
    again, _meta = model_from_artifacts(files, "heat-soak test", KIND)
    x = soak_samples(soak_sessions(8, seed=3)).X
    assert np.array_equal(again.predict(x), model.predict(x))


def test_sessions_without_soak_cells_give_no_samples() -> None:
    rng = np.random.default_rng(1)
    plain = replace(soak_session(0, rng), patterns=Patterns())
    assert soak_samples([plain]).X.shape == (0, len(FEATURE_NAMES))


def test_cells_measured_on_a_few_samples_are_left_out() -> None:
    """A piece that only passed between breakpoints splits its need over the cells around it at
    random: such cells would teach noise."""
    rng = np.random.default_rng(2)
    session = soak_session(0, rng)
    record = session.patterns.heat_soak
    assert record is not None
    thin = replace(record, cells=[replace(c, weight=MIN_CELL_WEIGHT / 2) for c in record.cells])
    assert soak_samples([replace(session, patterns=Patterns(heat_soak=thin))]).X.shape[0] == 0
    assert soak_samples([session]).X.shape[0] == len(record.cells)


def test_the_app_names_the_kind_as_the_model_does() -> None:
    """app.heat_soak spells the kind itself so that the app starts without scikit-learn."""
    from dynoai_desktop.app import heat_soak  # noqa: PLC0415

    assert heat_soak.KIND == KIND


def test_a_version_trained_before_the_iat_fall_was_recorded_still_removes_its_soak(
        trained: TrainResult) -> None:
    """A shop's version made on the first five conditions loads and reads only those; one
    whose parameters name a condition this DynoAI does not work out is refused."""
    samples = soak_samples(soak_sessions(24, seed=5))
    old_names = list(FEATURE_NAMES[:5])
    old = SoakCompensator({"inflation": fit_regressor(samples.X[:, :5], samples.y)},
                          {**trained.model.params, "feature_names": old_names})
    again, _meta = model_from_artifacts(artifact_bytes(old, trained.metadata), "old", KIND)
    assert again.feature_names == tuple(old_names)
    cols = log([(100.0, 2500.0, 20.0), (300.0, 1000.0, 0.0), (100.0, 3000.0, 30.0)])
    assert np.array_equal(again.inflation_pct(cols), old.inflation_pct(cols))
    assert np.abs(again.inflation_pct(cols)).max() > 0
    alien = {**trained.model.params, "feature_names": [*old_names, "oil_c"]}
    with pytest.raises(InputError, match="retrain it"):
        SoakCompensator.from_artifacts(trained.model.estimators, alien)
