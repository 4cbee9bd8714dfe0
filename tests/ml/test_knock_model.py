"""The knock/timing advisor: it learns a known knock law from the shop's knock records, is
refused when there is too little to learn from, and advises a spark table safely: every cell
that knocked is knock-prone and retarded, the mask finds the law's knock cells, and no advance
goes into knock, into a knock-prone cell or past the authority limit."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.ml.errors import ModelError
from dynoai_desktop.ml.features import Air
from dynoai_desktop.ml.knock import (
    KIND,
    KNOCK_CONTROL_KPA,
    KnockAdvisor,
    TableAdvice,
    knock_samples,
)
from dynoai_desktop.ml.knock_train import train_knock
from dynoai_desktop.ml.registry import artifact_bytes, model_from_artifacts
from dynoai_desktop.ml.train import TrainResult
from dynoai_desktop.ml.training.records import KnockSample, KnockTiming, Patterns
from tests.ml.synthetic_knock import (
    HEAD_C,
    knock_limit,
    knock_session,
    knock_sessions,
    spark_table,
)

pytestmark = pytest.mark.once_without_qt  # long: runs in the suite without Qt

AIR = Air(100.0, 25.0)
AUTHORITY_DEG = 2.0


@pytest.fixture(scope="module")
def trained() -> TrainResult:
    return train_knock(knock_sessions(48, seed=1))


@pytest.fixture(scope="module")
def advisor(trained: TrainResult) -> KnockAdvisor:
    assert trained.model is not None
    return trained.model


def law_mask(advisor: KnockAdvisor, advice: TableAdvice, build: BuildSpec) -> np.ndarray:
    table = spark_table()
    work = advisor.working
    out = np.zeros(table.shape, dtype=bool)
    for i, rpm in enumerate(table.row_breakpoints):
        for j, kpa in enumerate(table.col_breakpoints):
            head = work["head_c"]
            out[i, j] = kpa >= KNOCK_CONTROL_KPA and table.values[i, j] >= knock_limit(
                build, advice.cylinder, rpm, kpa, head)
    return out


def test_it_learns_the_law_and_the_gate_accepts_it(trained: TrainResult) -> None:
    assert trained.accepted, trained.reason
    held = trained.metadata["metrics"]["held_out"]
    assert held["brier"] < held["no_skill_brier"]
    assert held["precision"] >= 0.8 and held["recall"] >= 0.8, held
    assert trained.metadata["kind"] == KIND


def test_too_few_sessions_is_too_little_data() -> None:
    with pytest.raises(ModelError, match="DYN-M004"):
        train_knock(knock_sessions(6, seed=2))


def test_sessions_without_knock_samples_give_no_rows() -> None:
    sessions = knock_sessions(3, seed=3)
    bare = [s.__class__(**{**s.__dict__, "patterns": Patterns()}) for s in sessions]
    assert knock_samples(bare).X.shape[0] == 0


def test_advice_on_an_unseen_bike_is_safe_and_finds_the_knock(advisor: KnockAdvisor) -> None:
    rng = np.random.default_rng(7)
    found, truth_total, hits = 0, 0, 0
    for i in range(6):
        session = knock_session(100 + i, rng)
        build = BuildSpec.from_dict(session.build)
        tables = {"front": spark_table("spark_front"), "rear": spark_table("spark_rear")}
        evidence = session.patterns.knock_timing
        advice = advisor.advise(build, AIR, tables, evidence, AUTHORITY_DEG)
        assert len(advice.tables) == 2
        for table_advice in advice.tables:
            truth = law_mask(advisor, table_advice, build)
            found += int(table_advice.prone.sum())
            truth_total += int(truth.sum())
            hits += int((table_advice.prone & truth).sum())
            change = table_advice.change_deg
            assert np.all(np.abs(change) <= AUTHORITY_DEG + 1e-9)
            assert not (table_advice.advanced & table_advice.prone).any()
            assert np.all(table_advice.retarded == table_advice.seen)  # knocked: retarded
            assert table_advice.prone[table_advice.seen].all()
            table = tables[table_advice.cylinder]
            for r, c in zip(*np.nonzero(table_advice.advanced), strict=True):
                limit = knock_limit(build, table_advice.cylinder, table.row_breakpoints[r],
                                    table.col_breakpoints[c], advisor.working["head_c"])
                assert table.values[r, c] + change[r, c] < limit
    assert truth_total >= 20
    assert hits / found >= 0.85 and hits / truth_total >= 0.85, (hits, found, truth_total)


def test_without_a_knock_record_the_mask_is_the_models_and_nothing_moves(
        advisor: KnockAdvisor) -> None:
    rng = np.random.default_rng(9)
    build = BuildSpec.from_dict(knock_session(200, rng).build)
    advice = advisor.advise(build, AIR, {"front": spark_table()}, None, AUTHORITY_DEG)
    assert advice.notes and "no knock record" in advice.notes[0]
    (only,) = advice.tables
    assert not only.change_deg.any() and only.overlay() is None
    assert not only.prone[:, spark_table().col_breakpoints < KNOCK_CONTROL_KPA].any()


def test_a_timing_sweeps_knock_does_not_make_the_tunes_own_spark_knock_prone(
        advisor: KnockAdvisor) -> None:
    """The bike's offset is read from what it did on the tune's own spark: a sweep that knocked
    2-4° over the table (how fast knock comes on past the limit) moves no cell's offset."""
    rng = np.random.default_rng(11)
    session = knock_session(300, rng)
    build = BuildSpec.from_dict(session.build)
    evidence = session.patterns.knock_timing
    assert evidence is not None
    table = spark_table()
    own = advisor.bike_offsets(build, AIR, table, "front", evidence)
    knocked_sweep = replace(evidence, samples=[
        replace(s, events=max(s.events, 3)) if s.seconds < 1.0  # the sweep's passes
        else s for s in evidence.samples])
    assert sum(s.events for s in knocked_sweep.samples) > sum(
        s.events for s in evidence.samples)
    assert np.allclose(advisor.bike_offsets(build, AIR, table, "front", knocked_sweep), own)


def test_the_bikes_offset_speaks_for_the_cells_near_its_evidence(
        advisor: KnockAdvisor) -> None:
    """Knock on the tune's spark in one corner of the table raises P(knock) there, not across
    the table: cells far from any sample keep the model's answer."""
    rng = np.random.default_rng(12)
    session = knock_session(301, rng)
    build = BuildSpec.from_dict(session.build)
    table = spark_table()
    corner = [KnockSample("front", float(rpm), 100.0, float(table.values[0, -1]), 1.0, 3,
                          HEAD_C, 35.0) for rpm in table.row_breakpoints[:2]]
    evidence = KnockTiming([], [], "front", corner, [])
    offsets = advisor.bike_offsets(build, AIR, table, "front", evidence)
    assert offsets[0, -1] > 0.5
    assert abs(offsets[-1, 0]) < 1e-3
    assert not advisor.bike_offsets(build, AIR, table, "rear", evidence).any()


def test_it_survives_the_registry_round_trip(trained: TrainResult, advisor: KnockAdvisor
                                             ) -> None:
    files = artifact_bytes(advisor, trained.metadata)
    again, _meta = model_from_artifacts(files, "knock test", KIND)
    assert again.working == advisor.working
    X = knock_samples(knock_sessions(2, seed=4)).X
    assert np.allclose(again.probability(X), advisor.probability(X))
