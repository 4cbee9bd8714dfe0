"""The models as the app runs them: training in the background from the shop's training data,
with progress, cancel and its triggers; and a predicted base map offered for the open vehicle,
previewed and applied through the tune's overlays (limited, undoable)."""

from __future__ import annotations

import itertools
import os
import signal
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from dynoai_desktop.app.application import DynoApp
from dynoai_desktop.app.models_session import IDLE_BEFORE_TRAINING_S, TRAIN_AFTER_SESSIONS
from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.core.tune import VE_FRONT_MAP, VE_REAR_MAP, Tune
from dynoai_desktop.ml.base_ve import KIND
from dynoai_desktop.ml.kinds import KINDS, model_kind
from dynoai_desktop.storage.resources import base_map_tables
from tests.ml.synthetic_sessions import synthetic_sessions, write_dataset

pytestmark = pytest.mark.once_without_qt  # long: runs in the suite without Qt

BUILD = replace(BuildSpec.stock("twin_cam_103"), stage=2, exhaust="two_into_one",
                air_cleaner="high_flow")


@pytest.fixture
def app(training_at_normal_priority):  # noqa: ANN001
    app = DynoApp()
    yield app
    app.close()


def open_vehicle(app: DynoApp) -> None:
    customer = app.runs.add_customer("Test customer")
    vehicle = app.runs.add_vehicle(customer, "2014 Street Glide", BUILD)
    app.runs.start_session(vehicle)
    front, rear = base_map_tables(BUILD.engine_family.value, BUILD.stage)
    tables = [replace(front, name=VE_FRONT_MAP), replace(rear, name=VE_REAR_MAP)]
    app.tune.show(Tune({t.name: t for t in tables}), "stage 2 base map")


def import_history(app: DynoApp, tmp_path: Path, count: int = 36) -> None:
    path = tmp_path / "history.json"
    write_dataset(path, synthetic_sessions(count, seed=1))
    app.training.import_(path)


def test_training_starts_by_itself_runs_in_the_background_and_its_version_becomes_active(
        app, tmp_path) -> None:
    """One training (in its own process) for what the app does around it: the trigger that
    starts it, its version becoming active, and rolling back and activating it again."""
    ticks = itertools.count()
    now = [0.0]
    app.models._clock = lambda: now[0]  # noqa: SLF001 - the trigger's clock
    app.models._idle_since = 0.0  # noqa: SLF001
    import_history(app, tmp_path, count=TRAIN_AFTER_SESSIONS + 26)
    assert [v.label for v in app.models.versions()] == ["prior"]
    assert app.models.due() is None  # not idle long enough yet
    now[0] = IDLE_BEFORE_TRAINING_S + next(ticks)
    assert app.models.due() == f"{TRAIN_AFTER_SESSIONS + 26} new sessions"
    assert app.models.maybe_train()
    assert app.models.training and app.models.state.running
    assert app.models.state.reason == f"{TRAIN_AFTER_SESSIONS + 26} new sessions"
    assert app.models.wait()
    assert not app.models.training
    assert "v1" in app.models.state.message and "accepted" in app.models.state.message
    versions = app.models.versions()
    assert [(v.label, v.active) for v in versions] == [("prior", False), ("v1", True)]
    assert versions[1].sessions_learned > 0
    assert [e.event for e in app.models.history()] == ["trained", "activated"]
    assert not app.models.new_sessions()  # every imported session was learned or held out
    assert app.models.due() is None  # all learned now ...
    now[0] += IDLE_BEFORE_TRAINING_S + next(ticks)
    assert app.models.due() is None  # ... however long the app then stays idle

    # Rollback and activate go through the registry.
    assert app.models.rollback().label == "prior"
    assert app.models.active().prior
    assert app.models.activate("shop", 1).label == "v1"
    assert app.models.active().version == 1
    assert app.models.registry.catalog.active_model_version(KIND, "shop") == 1


def test_cancelling_keeps_the_active_version(app, tmp_path) -> None:
    import_history(app, tmp_path)
    app.models.train()
    app.models.cancel()
    assert app.models.wait()
    assert "cancelled" in app.models.state.message
    assert [v.label for v in app.models.versions() if v.active] == ["prior"]


def test_too_little_data_says_so_with_its_code(app, tmp_path) -> None:
    import_history(app, tmp_path, count=6)
    app.models.train()
    assert app.models.wait()
    message = app.models.state.message
    assert message.startswith("base VE: DYN-M004 too little data")
    assert "cylinder balance: DYN-M004" in message and "decel enrichment: DYN-M004" in message


def test_the_kinds_of_one_training_share_one_process_which_ends_with_it(app, tmp_path) -> None:
    """Each new process pays for its imports again (seconds of a core per kind): a job's kinds
    train one after another in the same one, and none is left running after the last."""
    import_history(app, tmp_path, count=6)
    app.models.train()
    pids: list[set[int]] = []
    while (job := app.models._job) is not None:  # noqa: SLF001 - which process each kind ran in
        job.process.future.exception(timeout=300)
        pids.append(set(job.process.worker._executor._processes))  # noqa: SLF001
        app.models.poll()
    assert len(pids) == len(KINDS)
    (pid,) = pids[0]
    assert all(p == {pid} for p in pids)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_training_process_that_dies_fails_its_kind_and_the_next_kinds_get_a_new_one(
        app, tmp_path) -> None:
    import_history(app, tmp_path, count=6)
    app.models.train()
    (pid,) = app.models._job.process.worker._executor._processes  # noqa: SLF001
    os.kill(pid, signal.SIGKILL)  # killed by the system, say, out of memory
    assert app.models.wait()
    said = app.models.state.message
    first, *then = (model_kind(k).title for k in KINDS)
    assert said.startswith(f"{first}: training failed: BrokenProcessPool"), said
    assert all(f"{title}: DYN-M004 too little data" in said for title in then), said
    assert not app.models.training


def test_a_predicted_base_map_is_offered_previewed_applied_and_undone(app) -> None:
    assert app.models.suggest() == []
    assert "Open a session for a vehicle" in app.models.suggestion_note
    open_vehicle(app)
    suggestions = app.models.suggest()
    assert [(s.kind, s.table) for s in suggestions] == [
        ("predicted base map", VE_FRONT_MAP), ("predicted base map", VE_REAR_MAP),
        ("cylinder balance", VE_REAR_MAP)]
    assert "prior, simulated shop history" in app.models.suggestion_note
    assert "record closed-throttle decels" in app.models.suggestion_note  # none recorded yet
    front = suggestions[0]
    assert front.cells > 0 and 0.0 < front.confidence <= 1.0
    assert any(line.startswith("driven by") for line in front.why)
    preview = app.models.preview(front.key)
    assert preview.table.name == VE_FRONT_MAP
    before = app.tune.table(VE_FRONT_MAP).values.copy()
    record = app.models.apply(front.key)
    after = app.tune.table(VE_FRONT_MAP).values
    changed = after != before
    assert changed.sum() == record.cells_changed > 0
    assert not changed[~front.overlay.mask].any()
    limit = app.tune.limits.max_ve_change_pct_per_run
    assert (np.abs(after[changed] / before[changed] - 1.0) * 100.0 <= limit + 1e-6).all()
    assert app.models.suggestions[0].status == "applied"
    app.tune.undo()
    assert np.array_equal(app.tune.table(VE_FRONT_MAP).values, before)
    app.models.reject(suggestions[1].key)
    assert app.models.suggestions[1].status == "rejected"


def test_the_cylinder_balance_goes_on_the_rear_or_on_both_and_can_seed_the_rear(app) -> None:
    open_vehicle(app)
    suggestions = app.models.suggest()
    (balance,) = [s for s in suggestions if s.kind == "cylinder balance"]
    assert balance.table == VE_REAR_MAP and balance.cells > 0
    assert "cylinder balance by cylinder_balance shop prior" in app.models.suggestion_note
    assert any(line.startswith("driven by") for line in balance.why)
    rear_base = next(s for s in suggestions if s.kind == "predicted base map"
                     and s.table == VE_REAR_MAP)

    app.models.balance_on = "both"
    split = [s for s in app.models.suggest() if s.kind == "cylinder balance"]
    assert [s.table for s in split] == [VE_FRONT_MAP, VE_REAR_MAP]
    front_half, rear_half = (s.overlay for s in split)
    m = front_half.mask
    assert np.allclose((1 + front_half.change[m] / 100) * (1 + rear_half.change[m] / 100), 1.0)

    app.models.seed_rear_from_front = True
    seeded = next(s for s in app.models.suggest() if s.kind == "predicted base map"
                  and s.table == VE_REAR_MAP)
    assert "rear seeded from the front" in app.models.suggestion_note
    assert not np.allclose(seeded.overlay.change, rear_base.overlay.change)


def test_timing_advice_marks_the_spark_tables_knock_prone_cells_when_applied(app) -> None:
    from dynoai_desktop.core.tune import SPARK_FRONT, SPARK_REAR  # noqa: PLC0415
    from tests.ml.synthetic_knock import spark_table  # noqa: PLC0415

    open_vehicle(app)
    tables = dict(app.tune.tune.tables)
    tables[SPARK_FRONT] = replace(spark_table(), name=SPARK_FRONT)
    tables[SPARK_REAR] = replace(spark_table(), name=SPARK_REAR)
    app.tune.show(Tune(tables), "stage 2 base map with spark")
    suggestions = {s.key: s for s in app.models.suggest()}
    rear = suggestions[f"knock:{SPARK_REAR}"]
    assert rear.kind == "timing advice" and rear.knock_prone is not None
    assert "no knock record" in app.models.suggestion_note  # nothing logged for this bike yet
    assert not rear.overlay.change.any()  # the model alone: nothing moved, the mask only
    prone = rear.knock_prone
    assert prone.any() and not prone[:, spark_table().col_breakpoints < 50.0].any()
    assert any("knock-prone where it knocked" in line for line in rear.why)
    app.models.apply(rear.key)
    assert np.array_equal(app.tune.tune.knock_prone_mask(SPARK_REAR), prone)
    assert not app.tune.tune.knock_prone_mask(SPARK_FRONT).any()
    app.tune.undo()
    assert not app.tune.tune.knock_prone_mask(SPARK_REAR).any()
