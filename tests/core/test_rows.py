"""The one row rule (FORMATS.md §2): who paces the rows, when a value goes empty, what happens
while the dyno is quiet, and that time always moves forward."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynoai_desktop.core.rows import (
    PACER_QUIET_AFTER_S,
    VALUE_STALE_AFTER_S,
    RowAssembler,
    RowBlock,
)

CHANNELS = ("time_s", "rpm", "afr_front")


def _rows(block: RowBlock) -> list[tuple[float, float, float]]:
    return [tuple(float(block.columns[c][i]) for c in CHANNELS) for i in range(len(block))]


def test_the_dyno_paces_the_rows_and_other_channels_hold_their_latest_value() -> None:
    rule = RowAssembler(CHANNELS, pacer="dyno")
    assert len(rule.add("dyno", [0.00], [{"rpm": 2000.0}])) == 1
    assert len(rule.add("wideband", [0.05], [{"afr_front": 13.1}])) == 0  # the dyno is alive
    block = rule.add("dyno", [0.10, 0.20], [{"rpm": 2010.0}, {"rpm": 2020.0}])
    assert _rows(block) == [(0.10, 2010.0, 13.1), (0.20, 2020.0, 13.1)]


def test_a_value_older_than_half_a_second_is_empty() -> None:
    rule = RowAssembler(CHANNELS, pacer="dyno")
    rule.add("wideband", [0.0], [{"afr_front": 13.1}])
    fresh = rule.add("dyno", [VALUE_STALE_AFTER_S], [{"rpm": 2000.0}])
    stale = rule.add("dyno", [VALUE_STALE_AFTER_S + 0.01], [{"rpm": 2000.0}])
    assert fresh.columns["afr_front"][0] == 13.1
    assert math.isnan(stale.columns["afr_front"][0])


def test_the_widebands_make_the_rows_while_the_dyno_is_quiet() -> None:
    rule = RowAssembler(CHANNELS, pacer="dyno")
    rule.add("dyno", [1.0], [{"rpm": 3000.0}])
    still_alive = rule.add("wideband", [1.0 + PACER_QUIET_AFTER_S], [{"afr_front": 12.9}])
    quiet = rule.add("wideband", [1.0 + PACER_QUIET_AFTER_S + 0.05], [{"afr_front": 12.8}])
    assert len(still_alive) == 0
    assert _rows(quiet) == [(1.0 + PACER_QUIET_AFTER_S + 0.05, 3000.0, 12.8)]
    assert math.isnan(rule.add("wideband", [2.0], [{"afr_front": 12.7}]).columns["rpm"][0])


def test_with_no_pacer_every_reading_makes_a_row() -> None:
    rule = RowAssembler(CHANNELS, pacer=None)
    block = rule.add("wideband", [0.0, 0.1], [{"afr_front": 13.0}, {"afr_front": 13.2}])
    assert len(block) == 2


def test_a_repeated_stamp_is_moved_just_after_the_row_before() -> None:
    rule = RowAssembler(CHANNELS, pacer="dyno")
    block = rule.add("dyno", [0.5, 0.5, 0.4], [{"rpm": 1.0}, {"rpm": 2.0}, {"rpm": 3.0}])
    assert np.all(np.diff(block.time_s) > 0)
    assert list(block.columns["rpm"]) == [1.0, 2.0, 3.0]  # nothing dropped
    assert block.time_s[1] - 0.5 == pytest.approx(1e-6)


def test_channels_the_rule_does_not_keep_are_ignored() -> None:
    rule = RowAssembler(CHANNELS, pacer="dyno")
    block = rule.add("dyno", [0.0], [{"rpm": 900.0, "plx_egt_c": 500.0}])
    assert set(block.columns) == set(CHANNELS)


readings = st.lists(
    st.tuples(st.sampled_from(["dyno", "wideband"]), st.floats(0.0, 0.3),
              st.floats(500.0, 6000.0)),
    min_size=1, max_size=60)


@settings(deadline=None)
@given(readings)
def test_time_always_increases_and_blocks_concatenate_to_one_pass(items) -> None:  # noqa: ANN001
    t = 0.0
    feed = []
    for device, step, value in items:
        t += step
        channel = "rpm" if device == "dyno" else "afr_front"
        feed.append((device, t, {channel: value}))
    one = RowAssembler(CHANNELS, pacer="dyno")
    blocks = [one.add(d, [t], [v]) for d, t, v in feed]
    joined = RowBlock.concat(blocks, CHANNELS[1:])
    assert np.all(np.diff(joined.time_s) > 0)
    # Fed as one call per device run, the same rows come out.
    other = RowAssembler(CHANNELS, pacer="dyno")
    runs: list[RowBlock] = []
    i = 0
    while i < len(feed):
        j = i
        while j < len(feed) and feed[j][0] == feed[i][0]:
            j += 1
        runs.append(other.add(feed[i][0], [f[1] for f in feed[i:j]], [f[2] for f in feed[i:j]]))
        i = j
    again = RowBlock.concat(runs, CHANNELS[1:])
    for name in CHANNELS:
        np.testing.assert_array_equal(joined.columns[name], again.columns[name])
