"""The decel-pop recommender: where it enriches, how much, that it keeps, and when it refuses."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import skops.io as sio
from sklearn.ensemble import HistGradientBoostingClassifier

from dynoai_desktop.core.build_spec import BuildSpec, EngineFamily, Exhaust
from dynoai_desktop.core.overlay import AuthorityLimits, OverlayKind, OverlaySource, apply
from dynoai_desktop.core.tune import Tune
from dynoai_desktop.ml import errors
from dynoai_desktop.ml.decel import (
    KIND,
    ZONE_MAP_MAX_KPA,
    DecelEvidence,
    DecelModel,
    decel_samples,
    zone_mask,
)
from dynoai_desktop.ml.decel_train import brier_figures, brier_gate, train_decel
from dynoai_desktop.ml.errors import ModelError
from dynoai_desktop.ml.features import Air
from dynoai_desktop.ml.registry import TRUSTED_TYPES
from dynoai_desktop.ml.train import is_held_out
from dynoai_desktop.ml.training.records import Patterns
from dynoai_desktop.storage.resources import base_map_tables
from tests.ml.synthetic_decel import decel_build, decel_sessions

AIR = Air(99.0, 25.0)


@pytest.fixture(scope="module")
def trained():
    result = train_decel(decel_sessions(64, seed=0))
    assert result.accepted, result.reason
    return result


@pytest.fixture(scope="module")
def model(trained) -> DecelModel:
    return trained.model


def hot_build() -> BuildSpec:
    return decel_build(EngineFamily.TC103, 3, 240.0, Exhaust.TWO_INTO_ONE)


def tables():
    return base_map_tables(EngineFamily.TC103.value, 3)


def popping(spikes: float = 6.0, heard: float | None = 1.5) -> DecelEvidence:
    return DecelEvidence(spikes, 17.2, (2050.0, 4380.0), heard)


def test_the_overlays_touch_only_the_closed_throttle_cells_of_the_spike_band(model):
    front, rear = tables()
    rec = model.recommend(hot_build(), AIR, popping(), front, rear)
    assert rec.enrichment_pct > 0 and len(rec.overlays) == 2
    assert {o.table for o in rec.overlays} == {front.name, rear.name}
    low, high = rec.zone_rpm
    assert low <= 2050.0 and high >= 4380.0  # the band the spikes were in, snapped out
    assert rec.zone_map_kpa[1] == ZONE_MAP_MAX_KPA
    tune = Tune({front.name: front, rear.name: rear})
    for overlay in rec.overlays:
        table = tune.table(overlay.table)
        assert overlay.source is OverlaySource.DECEL_ENRICHMENT
        assert overlay.kind is OverlayKind.MULTIPLICATIVE
        rpm, kpa = np.meshgrid(table.row_breakpoints, table.col_breakpoints, indexing="ij")
        closed_throttle = (rpm >= low) & (rpm <= high) & (kpa <= ZONE_MAP_MAX_KPA)
        assert np.array_equal(overlay.mask, closed_throttle)
        assert np.array_equal(overlay.mask, zone_mask(table, rec.zone_rpm, ZONE_MAP_MAX_KPA))
        assert overlay.confidence is not None
        assert np.allclose(overlay.confidence[overlay.mask], round(rec.probability, 3))
        after, _ = apply(tune, overlay, AuthorityLimits())
        new = after.table(overlay.table).values
        assert np.array_equal(new[~closed_throttle], table.values[~closed_throttle])
        assert (new[closed_throttle] > table.values[closed_throttle]).all()
    assert rec.description.startswith(f"+{rec.enrichment_pct:g} % at {low:g}-{high:g} rpm")
    assert "lean spikes per decel" in rec.description


def test_more_measured_spikes_or_pops_never_recommend_less_enrichment(model):
    front, rear = tables()
    for build in (hot_build(), decel_build(EngineFamily.M8_114, 1, None, Exhaust.TWO_INTO_TWO)):
        for heard in (None, 0.5, 2.0):
            asked = [model.recommend(build, AIR, popping(s, heard), front, rear).enrichment_pct
                     for s in np.arange(0.0, 20.0, 0.5)]
            assert asked == sorted(asked), (build.engine_family, heard, asked)
        by_pops = [model.recommend(build, AIR, popping(6.0, h), front, rear).enrichment_pct
                   for h in np.arange(0.0, 6.0, 0.25)]
        assert by_pops == sorted(by_pops)
    quiet = model.recommend(hot_build(), AIR, popping(1.0, 0.0), front, rear)
    loud = model.recommend(hot_build(), AIR, popping(12.0, 4.0), front, rear)
    assert loud.enrichment_pct >= quiet.enrichment_pct and loud.enrichment_pct > 0


def test_the_model_round_trips_through_its_parameters_and_skops(model):
    stored = sio.dumps(model.estimators)
    assert set(sio.get_untrusted_types(data=stored)) <= set(TRUSTED_TYPES)
    params = json.loads(json.dumps(model.params_json()))
    again = DecelModel.from_artifacts(sio.loads(stored, trusted=list(TRUSTED_TYPES)), params)
    front, rear = tables()
    for evidence in (popping(), popping(2.0, None), DecelEvidence(9.0)):
        a = model.recommend(hot_build(), AIR, evidence, front, rear)
        b = again.recommend(hot_build(), AIR, evidence, front, rear)
        assert (a.enrichment_pct, a.probability, a.zone_rpm, a.description) == (
            b.enrichment_pct, b.probability, b.zone_rpm, b.description)
        assert all(np.array_equal(x.change, y.change) and np.array_equal(x.mask, y.mask)
                   for x, y in zip(a.overlays, b.overlays, strict=True))


def test_training_records_what_the_registry_keeps(trained):
    meta = trained.metadata
    assert meta["kind"] == KIND and meta["prior"] is False
    held = meta["metrics"]["held_out"]
    assert held["groups"] and all(is_held_out(g) for g in held["groups"])
    assert not set(meta["held_out_sessions"]) & set(meta["training_sessions"])
    assert held["brier"] < held["no_skill_brier"]
    json.dumps(meta)  # JSON-ready


def test_too_little_data_is_refused_with_its_code():
    with pytest.raises(ModelError) as refused:
        train_decel(decel_sessions(12, seed=0))
    assert refused.value.code == errors.TOO_LITTLE_DATA
    without_decels = [replace(s, patterns=Patterns()) for s in decel_sessions(64, seed=0)]
    with pytest.raises(ModelError) as none:
        train_decel(without_decels)
    assert none.value.code == errors.TOO_LITTLE_DATA and "0 session(s)" in str(none.value)


def test_the_gate_refuses_a_model_with_no_skill_and_one_worse_than_the_active(model):
    samples = decel_samples(decel_sessions(64, seed=5))
    held = np.array([is_held_out(g) for g in samples.groups])
    train, held_out = samples.subset(~held), samples.subset(held)
    base_rate = float(np.mean(train.y))
    # No split is allowed (a leaf needs more rows than there are): the training share for all.
    flat = HistGradientBoostingClassifier(max_iter=5, min_samples_leaf=10_000).fit(
        train.X, train.y)
    no_skill = DecelModel({"stopped": flat}, {})
    figures = brier_figures(held_out, no_skill.probability(held_out.X), base_rate)
    accepted, reason = brier_gate(figures, None, held_out)
    assert not accepted and "no-skill" in reason
    coin = train_decel(decel_sessions(64, seed=2, coin_flip=True)).model
    figures = brier_figures(held_out, coin.probability(held_out.X), base_rate)
    accepted, reason = brier_gate(figures, model, held_out)
    assert not accepted and reason.startswith("refused")
