"""Table CSV (FORMATS.md §1): parse, format, exact round trips and clear errors."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.table import Table
from dynoai_desktop.core.table_csv import format_number, format_table_csv, parse_table_csv
from tests.core.test_table import tables, ve_table

VE_CSV = """# name=VE (MAP based/Front Cyl); units=%
rpm\\map_kpa,20,30,40
1000,38.5,41.0,44.2
1250,39,41.9,45
"""

_meta_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"),
    max_size=20,
).filter(lambda s: not re.search(r";\s*units=", s))


@given(tables(awkward=True), _meta_text, _meta_text)
def test_format_then_parse_round_trips_exactly(table: Table, name: str, units: str) -> None:
    table = Table(name, units, table.row_axis, table.col_axis, table.row_breakpoints,
                  table.col_breakpoints, table.values)
    text = format_table_csv(table)
    back = parse_table_csv(text, source="t.csv")
    assert back == table
    for mine, theirs in ((back.values, table.values), (back.row_breakpoints,
                                                      table.row_breakpoints),
                         (back.col_breakpoints, table.col_breakpoints)):
        np.testing.assert_array_equal(mine, theirs)
    assert format_table_csv(back) == text


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_format_number_round_trips(value: float) -> None:
    text = format_number(value)
    assert float(text) == value
    assert "e" not in text and not text.endswith(".")


def test_parse_a_small_ve_table() -> None:
    table = parse_table_csv(VE_CSV, source="ve_front.csv")
    assert table.name == "VE (MAP based/Front Cyl)" and table.units == "%"
    assert table.row_axis == "rpm" and table.col_axis == "map_kpa"
    np.testing.assert_array_equal(table.row_breakpoints, [1000, 1250])
    np.testing.assert_array_equal(table.col_breakpoints, [20, 30, 40])
    np.testing.assert_array_equal(table.values, [[38.5, 41.0, 44.2], [39, 41.9, 45]])


def test_format_writes_shortest_numbers_in_raw_layout() -> None:
    table = ve_table([2000, 1000, 1000], [100, 20.0], [[20.0, 38.5], [0.1, -3], [1e-7, 1e16]])
    assert format_table_csv(table) == (
        "# name=VE; units=%\n"
        "rpm\\map_kpa,100,20\n"
        "2000,20,38.5\n"
        "1000,0.1,-3\n"
        "1000,0.0000001,10000000000000000\n"
    )


def test_tolerates_bom_crlf_whitespace_blank_lines_and_no_header_comment() -> None:
    text = "\ufeff\r\n  rpm\\tps_pct , 0 , 50 \r\n 1000 , 1.5,2 \r\n\r\n2000,3,4\r\n,,\r\n"
    table = parse_table_csv(text)
    assert table.name == "" and table.units == "" and table.col_axis == "tps_pct"
    np.testing.assert_array_equal(table.values, [[1.5, 2], [3, 4]])
    assert parse_table_csv(VE_CSV.replace("\n", "\r\n")) == parse_table_csv(VE_CSV)
    assert parse_table_csv(VE_CSV.rstrip("\n")) == parse_table_csv(VE_CSV)


def test_other_comment_lines_are_ignored() -> None:
    text = "# exported by hand\n#units=AFR\n" + VE_CSV.split("\n", 1)[1]
    table = parse_table_csv(text)
    assert table.name == "" and table.units == "AFR"
    assert parse_table_csv("#name=Spark Advance (Front Cyl)\n" + text).name == (
        "Spark Advance (Front Cyl)")


def test_descending_and_repeated_breakpoints_keep_their_layout() -> None:
    text = "rpm\\map_kpa,100,100,60,20\n3000,1,2,3,4\n3000,5,6,7,8\n1000,9,10,11,12\n"
    table = parse_table_csv(text)
    np.testing.assert_array_equal(table.row_breakpoints, [3000, 3000, 1000])
    np.testing.assert_array_equal(table.col_breakpoints, [100, 100, 60, 20])
    assert table.lookup(3000, 100) == 1.0  # first occurrence of both repeats
    assert format_table_csv(table).split("\n", 1)[1] == text


def test_pvv_like_table_survives_a_round_trip() -> None:
    rows_x1000 = [0.75, 1.0, 1.125, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 6.5, 6.5, 6.5]
    cols = [10.3, 15.1, 19.9, 29.9, 50.2, 74.9, 104.4]
    rng = np.random.default_rng(7)
    values = np.round(rng.uniform(30, 95, (len(rows_x1000), len(cols))), 1)
    values[-2:] = [[71, 71, 71.5, 72.5, 74, 90, 80], [70, 70, 70.5, 71.5, 73, 89, 79]]
    rpm = [round(r * 1000) for r in rows_x1000]
    table = Table("VE (MAP based/Front Cyl)", "%", "rpm", "map_kpa", np.array(rpm, float),
                  np.array(cols), values)
    text = format_table_csv(table)
    assert text.splitlines()[-1].startswith("6500,70,70,70.5,71.5,73,89,79")
    back = parse_table_csv(text, source="ve.csv")
    assert back == table
    np.testing.assert_array_equal(back.row_breakpoints[-3:], [6500, 6500, 6500])
    np.testing.assert_array_equal(back.values[-1], values[-1])
    assert back.lookup(7000, 104.4) == values[-3, -1]


@pytest.mark.parametrize(
    ("text", "line", "fragments"),
    [
        ("", 1, ["no header row"]),
        ("# only a comment\n\n", 3, ["no header row"]),
        ("rpm\\load,20,30\n1000,1,2\n", 1, ["'rpm\\load'", "'rpm\\map_kpa'"]),
        ("1000,1,2\n", 1, ["header row missing"]),
        ("rpm\\map_kpa;20;30\n", 1, ["commas"]),
        ("rpm\\map_kpa\n1000\n", 1, ["no column breakpoints"]),
        ("rpm\\map_kpa,20,30\n", 1, ["no data rows"]),
        ("# c\nrpm\\map_kpa,20,30\n1000,1,2\n1250,1\n", 4, ["2 cells", "header has 3"]),
        ("rpm\\map_kpa,20,30\n1000,1,2,3\n", 2, ["4 cells"]),
        ("rpm\\map_kpa,20,30\n1000,1,lean\n", 2, ["'lean'", "column 3", "map_kpa 30"]),
        ("rpm\\map_kpa,20,30\n1000,1,\n", 2, ["empty", "map_kpa 30"]),
        ("rpm\\map_kpa,20,30\n1000,,2\n", 2, ["empty", "map_kpa 20"]),
        ("rpm\\map_kpa,20,30\n1000,1,nan\n", 2, ["'nan'"]),
        ("rpm\\map_kpa,20,30\n1000,1,inf\n", 2, ["'inf'"]),
        ("rpm\\map_kpa,20,30\n1000,1,\"2\"\n", 2, ["not a number"]),
        ("rpm\\map_kpa,20,30\nfast,1,2\n", 2, ["rpm breakpoint", "'fast'"]),
        ("rpm\\map_kpa,20,30\n,1,2\n", 2, ["rpm breakpoint", "empty"]),
        ("rpm\\tps_pct,20,x\n1000,1,2\n", 1, ["'x'", "tps_pct breakpoint 2"]),
        ("rpm\\tps_pct,20,30,\n1000,1,2\n", 1, ["empty", "trailing comma"]),
        ("rpm\\map_kpa,20,30\n1000,1,2\n1250,1,2,5\n", 3, ["4 cells", "header has 3"]),
        ("rpm\\map_kpa,20,30\n1000,1,38,5\n", 2, ["4 cells"]),  # decimal comma
    ],
)
def test_parse_errors_name_source_and_line(text: str, line: int, fragments: list[str]) -> None:
    with pytest.raises(InputError) as info:
        parse_table_csv(text, source="ve_front.csv")
    message = str(info.value)
    assert message.startswith(f"ve_front.csv, line {line}: "), message
    for fragment in fragments:
        assert fragment in message, message


def test_default_source_is_named() -> None:
    with pytest.raises(InputError, match=r"^<text>, line 1: "):
        parse_table_csv("nonsense")


def test_format_refuses_names_it_cannot_write() -> None:
    table = ve_table([1000], [20], [[1.0]])
    bad = Table("VE\nfront", "%", "rpm", "map_kpa", table.row_breakpoints,
                table.col_breakpoints, table.values)
    with pytest.raises(InputError, match="line breaks"):
        format_table_csv(bad)
