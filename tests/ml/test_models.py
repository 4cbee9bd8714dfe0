"""The base-VE model's machinery: training and its gate, the registry's checks (a tampered or
malicious artifact is refused and never executed), rollback, export and import, drift."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio

from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.ml import errors
from dynoai_desktop.ml.base_ve import KIND, BaseVeModel, BaseVePrediction
from dynoai_desktop.ml.drift import check_drift
from dynoai_desktop.ml.errors import ModelError
from dynoai_desktop.ml.features import Air
from dynoai_desktop.ml.registry import META_FILE, MODEL_FILE, ModelRegistry, ModelVersion
from dynoai_desktop.ml.train import train_base_ve
from dynoai_desktop.storage.catalog import Catalog
from dynoai_desktop.storage.resources import base_map_tables
from tests.ml.synthetic_sessions import quick_training, synthetic_sessions

BUILD = replace(BuildSpec.stock("twin_cam_110"), stage=1, exhaust="slip_on",
                air_cleaner="high_flow")
AIR = Air(99.0, 25.0)


@pytest.fixture(scope="module", autouse=True)
def _quick_training() -> Iterator[None]:
    """The module's fits (its trained-model fixtures' too) with the tests' small model."""
    with quick_training():
        yield


@pytest.fixture(scope="module")
def trained():
    sessions = synthetic_sessions(36, seed=1)
    result = train_base_ve(sessions)
    assert result.accepted, result.reason
    return sessions, result


@pytest.fixture
def registry(tmp_path: Path):
    catalog = Catalog(tmp_path / "catalog.sqlite")
    yield ModelRegistry(catalog, priors_dir=tmp_path / "no-priors")
    catalog.close()


@pytest.fixture(scope="module")
def shop_with_v1(trained, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A catalog folder whose shop scope holds the trained model as v1, active: saved (and
    verified) once; the tests that use it change a copy."""
    _sessions, result = trained
    folder = tmp_path_factory.mktemp("shop-with-v1")
    with Catalog(folder / "catalog.sqlite") as catalog:
        ModelRegistry(catalog, priors_dir=folder / "no-priors").save(
            KIND, "shop", result.model, result.metadata, activate=True)
    return folder


@pytest.fixture
def saved(shop_with_v1: Path, tmp_path: Path) -> Iterator[tuple[ModelRegistry, ModelVersion]]:
    """A registry of the test's own (a copy of ``shop_with_v1``) and its active v1."""
    folder = shutil.copytree(shop_with_v1, tmp_path / "shop")
    catalog = Catalog(folder / "catalog.sqlite")
    registry = ModelRegistry(catalog, priors_dir=tmp_path / "no-priors")
    v1 = registry.active(KIND, "shop")
    assert v1.label == "v1" and v1.active
    yield registry, v1
    catalog.close()


def predict(model: BaseVeModel) -> BaseVePrediction:
    return model.predict(BUILD, AIR, *base_map_tables(BUILD.engine_family.value, BUILD.stage))


def arrays(prediction: BaseVePrediction) -> list[np.ndarray]:
    return [a for c in prediction.cylinders().values()
            for a in (c.table.values, c.lower, c.upper, c.learned)]


def same(a: BaseVePrediction, b: BaseVePrediction) -> bool:
    return all(np.array_equal(x, y, equal_nan=True) for x, y in zip(arrays(a), arrays(b),
                                                                     strict=True))


def set_hash(registry: ModelRegistry, v: ModelVersion, name: str, data: bytes) -> None:
    """Rewrite the catalog entry so the file's hash 'matches': an attacker with write access."""
    artifacts = {**v.artifacts, name: hashlib.sha256(data).hexdigest()}
    with sqlite3.connect(registry.catalog.path) as db:
        db.execute("UPDATE model_versions SET artifacts_json = ? WHERE kind = ? AND scope = ? "
                   "AND version = ?", (json.dumps(artifacts), v.kind, v.scope, v.version))
    (v.folder / name).write_bytes(data)


# ------------------------------------------------------------------ training and the gate
def test_training_beats_the_stage_maps_on_held_out_groups_with_a_calibrated_interval(trained):
    _sessions, result = trained
    held = result.metadata["metrics"]["held_out"]
    cv = result.metadata["metrics"]["cv"]
    assert held["sessions"] > 0 and held["mae_pct"] < held["stage_mae_pct"]
    assert 0.8 <= cv["coverage_90"] <= 0.95
    assert set(result.metadata["held_out_sessions"]).isdisjoint(
        result.metadata["training_sessions"])
    prediction = predict(result.model)
    for cylinder in prediction.cylinders().values():
        learned = cylinder.learned
        assert learned.any() and not learned.all()
        values = cylinder.table.values[learned]
        assert (cylinder.lower[learned] <= values).all()
        assert (values <= cylinder.upper[learned]).all()
        assert np.array_equal(cylinder.table.values[~learned],
                              cylinder.stage_map.values[~learned])


def test_too_little_data_is_refused_with_its_code():
    with pytest.raises(ModelError) as caught:
        train_base_ve(synthetic_sessions(8, seed=2))
    assert caught.value.code == errors.TOO_LITTLE_DATA
    assert str(caught.value).startswith("DYN-M004 too little data:")


def test_a_regressing_retrain_is_refused_by_the_gate(saved):
    registry, v1 = saved
    worse = synthetic_sessions(36, seed=3, contrary_held_out=True)
    retrain = train_base_ve(worse, active=registry.load(v1), active_version=v1.version)
    assert not retrain.accepted and retrain.reason.startswith("refused")
    registry.record_refusal(KIND, "shop", retrain.metadata)
    assert registry.active(KIND, "shop").version == v1.version
    assert [e.event for e in registry.catalog.model_events(KIND)][-1] == "refused"


# ------------------------------------------------------------------ registry
def test_saved_model_loads_back_with_bitwise_identical_predictions(trained, registry):
    _sessions, result = trained
    v1 = registry.save(KIND, "shop", result.model, result.metadata, activate=True)
    assert v1.active and v1.label == "v1" and set(v1.artifacts) == {MODEL_FILE, META_FILE}
    assert same(predict(result.model), predict(registry.load(v1)))


def test_rollback_restores_the_previous_versions_predictions_bitwise(trained, saved):
    sessions, _result = trained
    registry, v1 = saved
    before = predict(registry.load(registry.active(KIND, "shop")))
    more = train_base_ve([*sessions, *synthetic_sessions(12, seed=4, id_prefix="more")],
                         active=registry.load(v1), active_version=1)
    assert more.accepted, more.reason
    v2 = registry.save(KIND, "shop", more.model, more.metadata, activate=True)
    assert registry.active(KIND, "shop").version == v2.version == 2
    assert not same(before, predict(registry.load(registry.active(KIND, "shop"))))
    back = registry.rollback(KIND, "shop")
    assert back.version == 1
    assert same(before, predict(registry.load(registry.active(KIND, "shop"))))
    events = [e.event for e in registry.catalog.model_events(KIND)]
    assert events[-1] == "rolled back"


def test_nothing_to_roll_back_names_its_code(registry):
    with pytest.raises(ModelError) as caught:
        registry.rollback(KIND, "shop")
    assert caught.value.code == errors.NO_MODEL


def test_a_changed_artifact_is_refused_before_it_is_read(saved):
    registry, v1 = saved
    data = bytearray((v1.folder / MODEL_FILE).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (v1.folder / MODEL_FILE).write_bytes(bytes(data))
    with pytest.raises(ModelError) as caught:
        registry.load(v1)
    assert caught.value.code == errors.INTEGRITY_FAILURE
    assert "does not match its SHA-256" in str(caught.value)


class _Payload:
    """Runs a command when unpickled: what a malicious 'model' file carries."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_malicious_pickle_under_a_valid_name_and_a_matching_entry_is_never_executed(
        saved, tmp_path):
    registry, v1 = saved
    marker = tmp_path / "pwned"
    set_hash(registry, v1, MODEL_FILE, pickle.dumps(_Payload(marker)))
    v1 = registry.active(KIND, "shop")
    with pytest.raises(ModelError) as caught:
        registry.load(v1)
    assert caught.value.code == errors.INTEGRITY_FAILURE
    assert not marker.exists()


def test_a_skops_file_naming_untrusted_types_is_refused_unread(saved, tmp_path):
    registry, v1 = saved
    marker = tmp_path / "pwned"
    evil = {"mean": os.system, "lo": f"touch {marker}", "hi": None}
    set_hash(registry, v1, MODEL_FILE, sio.dumps(evil))
    with pytest.raises(ModelError) as caught:
        registry.load(registry.active(KIND, "shop"))
    assert caught.value.code == errors.INTEGRITY_FAILURE
    assert "does not trust" in str(caught.value)
    assert not marker.exists()


def test_a_model_of_another_feature_schema_is_refused_with_its_code(saved):
    registry, v1 = saved
    meta = json.loads((v1.folder / META_FILE).read_text())
    meta["feature_schema_version"] = 99
    set_hash(registry, v1, META_FILE, json.dumps(meta).encode())
    with pytest.raises(ModelError) as caught:
        registry.load(registry.active(KIND, "shop"))
    assert caught.value.code == errors.INCOMPATIBLE_SCHEMA


def test_export_and_import_between_shops_go_through_the_same_checks(trained, saved,
                                                                   tmp_path):
    _sessions, result = trained
    registry, v1 = saved
    bundle = tmp_path / "base_ve_v1.zip"
    registry.export(v1, bundle)
    with Catalog(tmp_path / "other" / "catalog.sqlite") as other_catalog:
        other = ModelRegistry(other_catalog, priors_dir=tmp_path / "no-priors")
        imported = other.import_model(bundle, "family:twin_cam_110")
        assert not imported.active and imported.scope == "family:twin_cam_110"
        assert "imported from base_ve_v1.zip" in imported.metadata["source"]
        assert same(predict(result.model), predict(other.load(imported)))
        tampered = bytearray(bundle.read_bytes())
        tampered[-200] ^= 0xFF
        (tmp_path / "bad.zip").write_bytes(bytes(tampered))
        with pytest.raises(ModelError) as caught:
            other.import_model(tmp_path / "bad.zip")
        assert caught.value.code == errors.INTEGRITY_FAILURE


def test_the_shipped_prior_verifies_and_says_it_was_trained_on_a_simulated_history(tmp_path):
    with Catalog(tmp_path / "catalog.sqlite") as catalog:
        registry = ModelRegistry(catalog)
        prior = registry.active(KIND, "shop")
        assert prior.prior and prior.active and prior.label == "prior"
        assert prior.metadata["prior"] is True
        assert "simulated shop history" in prior.metadata["source"]
        assert prior.sessions_learned >= 100
        registry.verify(prior)
        assert predict(registry.load(prior)).front.learned.any()


# ------------------------------------------------------------------ drift
def test_drift_flags_builds_the_model_never_saw(trained):
    sessions, result = trained
    stats = result.metadata["data_stats"]
    assert not check_drift(stats, sessions[:5]).flags
    stranger = replace(sessions[0], session_id="new:1",
                       build={**sessions[0].build, "engine_family": "sportster_883",
                              "displacement_ci": 53.9})
    report = check_drift(stats, [stranger])
    assert report.sessions_flagged == 1
    assert any(f == "engine_family" for _, f, _ in report.flags)
    assert "outside what the model learned from" in report.summary()
