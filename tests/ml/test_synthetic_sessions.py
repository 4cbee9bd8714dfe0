"""The shared synthetic sessions (tests/ml/synthetic_sessions.py) are valid training data with
the build groups the model tests rely on."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.ml.base_ve import samples_from_sessions
from dynoai_desktop.ml.features import build_group
from dynoai_desktop.ml.train import MIN_SESSIONS, MIN_TRAIN_GROUPS, is_held_out
from dynoai_desktop.ml.training.dataset import check_file
from tests.ml.synthetic_sessions import (
    groups,
    synthetic_sessions,
    true_scale,
    write_dataset,
)


def test_they_are_a_valid_dataset(tmp_path: Path) -> None:
    sessions = synthetic_sessions(MIN_SESSIONS + 2, seed=7)
    report = check_file(write_dataset(tmp_path / "synthetic.json", sessions))
    assert report.valid, report.problems
    assert report.contents.sessions == len(sessions)
    assert not any(s.problems() for s in sessions)
    held = {g for g in groups(sessions) if is_held_out(g)}
    assert held and len(groups(sessions) - held) >= MIN_TRAIN_GROUPS
    assert synthetic_sessions(5, seed=7) == sessions[:5]  # the seed decides


def test_only_the_zone_is_corrected_by_the_true_scale() -> None:
    session = synthetic_sessions(1, seed=8, noise_pct=0.0)[0]
    before, after = session.tables_before["ve_front"], session.tables_after["ve_front"]
    rpm, load = np.meshgrid(before.rpm, before.load, indexing="ij")
    zone = (rpm >= 2000) & (rpm <= 5000) & (load >= 50) & (load <= 100)
    b, a = np.array(before.values), np.array(after.values)
    assert np.array_equal(a[~zone], b[~zone])
    expected = np.round(b * true_scale(BuildSpec.from_dict(session.build), rpm, load), 2)
    assert np.allclose(a[zone], expected[zone], atol=0.011)
    samples = samples_from_sessions([session])
    assert samples.y.size == 2 * int(zone.sum())
    assert set(samples.groups.tolist()) == {build_group(BuildSpec.from_dict(session.build))}
