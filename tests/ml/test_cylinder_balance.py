"""The cylinder-balance predictor (issue 20): it learns how far a build's tuned rear/front ratio
sits from the stage maps' own, predicts it for builds of groups it never saw, and offers it as
an overlay on the rear table (or split over both) and as a seed for the rear table."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from dynoai_desktop.core.build_spec import BuildSpec, Exhaust
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.overlay import OverlaySource
from dynoai_desktop.ml.cylinder_balance import (
    ON_BOTH,
    ON_REAR,
    BalanceModel,
    balance_overlays,
    samples_from_sessions,
    seed_rear,
)
from dynoai_desktop.ml.features import Air, build_group
from dynoai_desktop.ml.registry import artifact_bytes, model_from_artifacts
from dynoai_desktop.ml.train import is_held_out, train_cylinder_balance
from dynoai_desktop.ml.training.records import TuningSession
from dynoai_desktop.storage.resources import base_map_tables
from tests.ml.synthetic_balance import true_balance, with_balance
from tests.ml.synthetic_sessions import synthetic_sessions

pytestmark = pytest.mark.once_without_qt  # long: runs in the suite without Qt


@pytest.fixture(scope="module")
def sessions() -> list[TuningSession]:
    return [with_balance(s) for s in synthetic_sessions(72, seed=3, id_prefix="balance")]


@pytest.fixture(scope="module")
def trained(sessions: list[TuningSession]):  # noqa: ANN201
    with threadpool_limits(limits=1):
        result = train_cylinder_balance(sessions)
    assert result.model is not None
    return result


def test_the_rows_are_the_cells_tuned_on_both_cylinders(sessions: list[TuningSession]) -> None:
    samples = samples_from_sessions(sessions)
    assert samples.y.size > 0 and len(samples.session_ids) == len(sessions)
    assert np.all(np.abs(samples.y) < 0.1)  # log ratios: a few %


def test_it_beats_the_stage_maps_on_held_out_groups_and_is_accepted(trained) -> None:  # noqa: ANN001
    held = trained.metadata["metrics"]["held_out"]
    assert trained.accepted, trained.reason
    assert held["mae_pct"] < held["stage_mae_pct"] / 2
    assert {"rms_pct", "max_pct"} <= set(held)
    assert trained.metadata["kind"] == "cylinder_balance"


def test_a_held_out_builds_ratio_is_predicted_within_a_percent_on_average(
        trained, sessions: list[TuningSession]) -> None:  # noqa: ANN001
    model: BalanceModel = trained.model
    case = next(s for s in sessions if is_held_out(build_group(BuildSpec.from_dict(s.build))))
    build = BuildSpec.from_dict(case.build)
    front, rear = base_map_tables(build.engine_family.value, build.stage)
    pred = model.predict(build, Air(case.environment.baro_kpa), front, rear)
    rpm, load = np.meshgrid(rear.row_breakpoints, rear.col_breakpoints, indexing="ij")
    truth = rear.values / front.values * true_balance(build, rpm, load)
    learned = pred.learned
    assert learned.sum() > 20
    model_error = np.abs(pred.ratio.values[learned] / truth[learned] - 1.0)
    stage_error = np.abs(pred.stage_ratio.values[learned] / truth[learned] - 1.0)
    assert model_error.mean() < 0.01 and model_error.mean() < stage_error.mean() / 2
    inside = (truth >= pred.lower) & (truth <= pred.upper)
    assert inside[learned].mean() > 0.8
    assert np.array_equal(pred.ratio.values[~learned], pred.stage_ratio.values[~learned])


def test_the_rear_overlay_gives_the_tune_the_predicted_ratio_in_learned_cells_only(
        trained) -> None:  # noqa: ANN001
    build = replace(BuildSpec.stock("twin_cam_103"), stage=1, exhaust=Exhaust.SLIP_ON)
    front, rear = base_map_tables("twin_cam_103", 1)
    pred = trained.model.predict(build, Air(100.0), front, rear)
    found = balance_overlays(pred, front, rear, ON_REAR)
    (overlay,) = found.overlays
    assert overlay.table == rear.name and overlay.source is OverlaySource.CYLINDER_BALANCE
    assert found.cells == int(overlay.mask.sum()) > 0
    assert not (overlay.mask & ~pred.learned).any()
    new_rear = overlay.proposed(rear.values)
    ratio, _half, _learned = pred.at(rear)
    m = overlay.mask
    assert np.allclose(new_rear[m] / front.values[m], ratio[m], rtol=1e-9)


def test_split_over_both_keeps_the_pairs_fuel_and_reaches_the_same_ratio(trained) -> None:  # noqa: ANN001
    build = replace(BuildSpec.stock("twin_cam_103"), stage=1, exhaust=Exhaust.SLIP_ON)
    front, rear = base_map_tables("twin_cam_103", 1)
    pred = trained.model.predict(build, Air(100.0), front, rear)
    f_overlay, r_overlay = balance_overlays(pred, front, rear, ON_BOTH).overlays
    m = f_overlay.mask
    new_f, new_r = f_overlay.proposed(front.values)[m], r_overlay.proposed(rear.values)[m]
    assert np.allclose(new_f * new_r, front.values[m] * rear.values[m], rtol=1e-9)
    assert np.allclose(new_r / new_f, pred.at(rear)[0][m], rtol=1e-9)


def test_the_rear_seeded_from_a_front_is_the_front_times_the_ratio(trained) -> None:  # noqa: ANN001
    build = replace(BuildSpec.stock("twin_cam_103"), stage=1, exhaust=Exhaust.SLIP_ON)
    front, rear = base_map_tables("twin_cam_103", 1)
    pred = trained.model.predict(build, Air(100.0), front, rear)
    seeded = seed_rear(front, pred, rear.name)
    assert seeded.name == rear.name
    assert np.allclose(seeded.values, np.round(front.values * pred.ratio.values, 2))


def test_a_tps_table_or_another_grid_is_refused_with_the_reason(trained) -> None:  # noqa: ANN001
    build = BuildSpec.stock("twin_cam_103")
    front, rear = base_map_tables("twin_cam_103", 0)
    pred = trained.model.predict(build, Air(100.0), front, rear)
    tps = replace(rear, col_axis="tps_pct")
    with pytest.raises(InputError, match="MAP-based"):
        balance_overlays(pred, front, tps)
    with pytest.raises(InputError, match="rear table or on both"):
        balance_overlays(pred, front, rear, "front")


def test_the_model_round_trips_through_its_artifacts(trained) -> None:  # noqa: ANN001
    files = artifact_bytes(trained.model, trained.metadata)
    model, meta = model_from_artifacts(files, "test", "cylinder_balance")
    assert isinstance(model, BalanceModel) and meta["kind"] == "cylinder_balance"
    build = BuildSpec.stock("twin_cam_103")
    front, rear = base_map_tables("twin_cam_103", 0)
    a = trained.model.predict(build, Air(100.0), front, rear)
    b = model.predict(build, Air(100.0), front, rear)
    assert np.array_equal(a.ratio.values, b.ratio.values)
