"""Blocks of cells as tab-separated text: exact round trips, what spreadsheets paste, clear
refusals."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.table_clipboard import format_block, parse_block

_finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@given(arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 6)), elements=_finite))
def test_a_block_formatted_then_parsed_is_identical(block: np.ndarray) -> None:
    back = parse_block(format_block(block))
    assert back.shape == block.shape
    assert np.array_equal(back, block)


def test_a_block_is_tab_separated_rows_with_the_shortest_exact_numbers() -> None:
    text = format_block([[55.5, 60.0, 104.25], [0.1 + 0.2, -0.0, 12.495]])
    assert text == "55.5\t60\t104.25\n0.30000000000000004\t-0\t12.495\n"


def test_decimals_write_each_number_as_the_screen_shows_it() -> None:
    assert format_block([[55.5, 60.0], [-0.01, 7.0]], decimals=1) == "55.5\t60.0\n0.0\t7.0\n"


def test_excel_line_ends_and_its_trailing_newline_are_accepted() -> None:
    assert np.array_equal(parse_block("1.5\t2\r\n3\t4.25\r\n"), [[1.5, 2.0], [3.0, 4.25]])
    assert np.array_equal(parse_block("1.5\t2\n3\t4.25"), [[1.5, 2.0], [3.0, 4.25]])
    assert np.array_equal(parse_block(" 7 \t 8\n"), [[7.0, 8.0]])


def test_a_decimal_comma_from_a_european_spreadsheet_reads_as_a_decimal_point() -> None:
    assert np.array_equal(parse_block("12,5\t13\n-0,25\t14,75\n"), [[12.5, 13.0], [-0.25, 14.75]])


def test_a_thousands_separator_is_refused_rather_than_guessed() -> None:
    with pytest.raises(InputError, match=r"row 1, column 2 is '1,250.5'.*thousands"):
        parse_block("1\t1,250.5\n")
    with pytest.raises(InputError, match="thousands"):
        parse_block("1,250,000\n")


def test_a_header_cell_is_refused_naming_its_row_and_column() -> None:
    with pytest.raises(InputError, match=r"row 1, column 1 is 'rpm', not a number.*headers"):
        parse_block("rpm\t20\t30\n1000\t45\t50\n")
    with pytest.raises(InputError, match=r"row 2, column 3 is 'x'"):
        parse_block("1\t2\t3\n4\t5\tx\n")


def test_ragged_rows_and_empty_cells_are_refused() -> None:
    with pytest.raises(InputError, match="row 2 has 1 cells but its first row has 2"):
        parse_block("1\t2\n3\n")
    with pytest.raises(InputError, match="row 1, column 2 is empty"):
        parse_block("1\t\t3\n")
    with pytest.raises(InputError, match="no cells to paste"):
        parse_block("\n")
    with pytest.raises(InputError, match="no cells to paste"):
        parse_block("")


def test_a_block_must_be_finite_and_two_dimensional_to_copy() -> None:
    with pytest.raises(InputError, match="finite"):
        format_block([[1.0, np.nan]])
    with pytest.raises(InputError, match="2-D"):
        format_block([1.0, 2.0])
