"""The one Log CSV writer: numbers rounded to 6 decimals, whole numbers without a point,
missing values empty, text quoted; its fast path writes exactly the one-value rule."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dynoai_desktop.core.log_csv import format_cell, format_log_csv


def test_numbers_missing_values_and_text() -> None:
    text = format_log_csv(
        {"time_s": [0.0, 0.01], "afr_front": [14.9646000000001, math.nan],
         "note": ["lean, hot", None], "ok": np.array([True, False])},
        ["time_s", "afr_front", "rpm", "note", "ok"])
    assert text == ('time_s,afr_front,rpm,note,ok\n'
                    '0,14.9646,,"lean, hot",1\n'
                    '0.01,,,,0\n')


def test_minus_zero_and_big_numbers() -> None:
    text = format_log_csv({"x": [-0.0000001, 2.5e12, -3.0]})
    assert text == "x\n0\n2500000000000\n-3\n"


@settings(deadline=None)
@given(st.lists(st.floats(min_value=-1e12, max_value=1e12) | st.just(math.nan), max_size=30))
def test_the_fast_path_equals_the_one_value_rule(values) -> None:  # noqa: ANN001
    text = format_log_csv({"v": np.array(values, dtype=float)})
    assert text.splitlines()[1:] == [format_cell(v) for v in values]
