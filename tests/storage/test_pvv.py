"""Power Vision .pvv: parse the real file, convert items to Tables, splice edits byte-exactly."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.table import Table
from dynoai_desktop.core.table_csv import format_number
from dynoai_desktop.storage.tune_formats.pvv import PvvFile, read_pvv, write_pvv

PVV_NAME = "dynoai3_pvv_template_16D110002401.pvv"
VE_FRONT = "VE (MAP based/Front Cyl)"
AFR = "Air-Fuel Ratio"

VE_RPM = [750, 1000, 1125, 1250, 1500, 1750, 2000, 2250, 2500, 2750, 3000, 3500, 4000, 4500,
          5000, 5500, 6000, 6500, 7000, 7500] + [8000] * 7
VE_KPA = [10.3, 15.1, 19.9, 25.1, 29.9, 35.1, 39.9, 45, 50.2, 55, 60.1, 64.9, 70.1, 74.9, 84.9,
          94.8, 104.4]
VE_TPS = [3, 4, 5, 8, 10, 15, 20, 25, 30, 40, 60, 80] + [100] * 5
AFR_RPM = [750, 1000, 1250, 1500, 1750, 2000, 2250, 2500, 2750, 3000, 3500, 3750, 4000, 4500,
           5000, 5500, 6000]
AFR_KPA = [20, 30, 35, 40, 50, 60, 70, 75, 80, 90] + [100] * 7
SPARK_RPM = [750, 1000, 1125, 1250, 1500, 1750, 2000, 2250, 2500, 2750, 3000, 3500, 4000, 4500,
             5000, 5500, 6000, 6500, 7000, 7500, 8000]
SPARK_KPA = [15, 20, 30, 40, 50, 60, 70, 80, 90, 95] + [100] * 7

TUNE_TABLES = {  # name: (units, col_axis, rpm breakpoints, load breakpoints)
    VE_FRONT: ("%", "map_kpa", VE_RPM, VE_KPA),
    "VE (MAP based/Rear Cyl)": ("%", "map_kpa", VE_RPM, VE_KPA),
    "VE (TPS based/Front Cyl)": ("%", "tps_pct", VE_RPM, VE_TPS),
    "VE (TPS based/Rear Cyl)": ("%", "tps_pct", VE_RPM, VE_TPS),
    AFR: ("AFR", "map_kpa", AFR_RPM, AFR_KPA),
    "Spark Advance (Front Cyl)": ("Degrees", "map_kpa", SPARK_RPM, SPARK_KPA),
    "Spark Advance (Rear Cyl)": ("Degrees", "map_kpa", SPARK_RPM, SPARK_KPA),
}
OTHER_TABLES = [  # rpm rows x kPa or % columns too
    "Active Exhaust Duty Cycle - 1st Gear", "Active Exhaust Duty Cycle - 2nd Gear",
    "Active Exhaust Duty Cycle - 3rd Gear", "Active Exhaust Duty Cycle - 4th Gear",
    "Adaptive Knock Retard", "Map Default Table", "Throttle Blade Control High Gear",
    "Throttle Blade Control Low Gear",
]


@cache
def _real_bytes() -> bytes | None:
    for folder in (Path(__file__).resolve().parents[3] / "shared" / "realdata",
                   Path("/work/shared/realdata")):
        if (folder / PVV_NAME).is_file():
            return (folder / PVV_NAME).read_bytes()
    return None


def real_bytes() -> bytes:
    data = _real_bytes()
    if data is None:
        pytest.skip(f"real file {PVV_NAME} not found in ../shared/realdata (not in the repo)")
    return data


@pytest.fixture
def doc() -> PvvFile:
    return PvvFile.parse(real_bytes(), source=PVV_NAME)


def mini(cells: str = '<Cell value="1" /><Cell value="2" />', *, cols: str = '<Col label="20" />'
         '<Col label="40" />', row_units: str = "RPMx1000", head: str = "", nl: str = "\n",
         name: str = "T") -> str:
    """A small .pvv text with one 2x2 table item and one scalar item."""
    lines = [head + "<PVV>", "  <!-- made by a test -->",
             f'  <Item name="{name}" units="%">', f'    <Columns units="Kilopascals">{cols}'
             "</Columns>", f'    <Rows units="{row_units}">',
             f'      <Row label="0.75">{cells}</Row>', '      <Row label="1">'
             '<Cell value="3" /><Cell value="4" /></Row>', "    </Rows>", "  </Item>",
             '  <Item name="Scalar" units=""><Columns units=""><Col label="0" /></Columns>'
             '<Rows units=""><Row label="0"><Cell value="on" /></Row></Rows></Item>', "</PVV>", ""]
    return nl.join(lines)


def test_parses_all_129_items_in_order(doc: PvvFile) -> None:
    assert len(doc.items) == 129
    assert [item.index for item in doc.items] == list(range(129))
    first = doc.items[0]
    assert (first.name, first.units, first.col_units, first.row_units) == (
        "Acceleration Enrichment", "Multiplier", "Fahrenheit", "")
    assert first.col_labels[:3] == ("3", "32", "61") and first.cells[0][:2] == ("2.2", "1.88")
    assert doc.encoding == "utf-8" and doc.newline == "\n"


@pytest.mark.parametrize("name", list(TUNE_TABLES))
def test_tune_tables_have_their_axes_in_rpm(doc: PvvFile, name: str) -> None:
    units, col_axis, rpm, load = TUNE_TABLES[name]
    table = doc.table(name)
    assert (table.name, table.units, table.row_axis, table.col_axis) == (
        name, units, "rpm", col_axis)
    assert table.shape == (len(rpm), len(load))
    assert table.row_breakpoints.tolist() == rpm  # 0.75 in RPMx1000 is 750 rpm, exactly
    assert table.col_breakpoints.tolist() == load
    item = doc.find(name)
    assert table.values.tolist() == [[float(t) for t in row] for row in item.cells]


def test_which_items_convert(doc: PvvFile) -> None:
    assert sorted(doc.table_names()) == sorted([*TUNE_TABLES, *OTHER_TABLES])
    assert list(doc.tables()) == doc.table_names()
    assert doc.find("Spark Advance").shape == (1, 1)  # a scalar: not a table
    with pytest.raises(InputError, match="'Spark Advance' is not an rpm x load table"):
        doc.table("Spark Advance")
    assert doc.find("Closed Throttle Spark (Front Cyl)").col_units == "Fahrenheit"
    assert "Closed Throttle Spark (Front Cyl)" not in doc.table_names()


def test_repeated_names_cannot_be_found_by_name(doc: PvvFile) -> None:
    assert doc.repeated_names() == ["MAP Tooth IVC (Front Cyl)", "MAP Tooth IVO (Front Cyl)"]
    with pytest.raises(InputError, match=r"2 items are named 'MAP Tooth IVC \(Front Cyl\)'"):
        doc.find("MAP Tooth IVC (Front Cyl)")


def test_an_unknown_name_suggests_similar_ones(doc: PvvFile) -> None:
    with pytest.raises(InputError) as err:
        doc.find("VE (MAP based/Front)")
    message = str(err.value)
    assert message.startswith(f"{PVV_NAME}: no item named 'VE (MAP based/Front)'")
    assert "items with similar names: 'VE (MAP based/Front Cyl)'" in message
    with pytest.raises(InputError, match="none with a similar name"):
        doc.table("zzzz")


def test_unchanged_round_trip_is_byte_identical(doc: PvvFile, tmp_path: Path) -> None:
    data = real_bytes()
    assert doc.to_bytes() == data
    same = doc
    for name, table in doc.tables().items():
        same = same.with_table(name, table)
    assert same.to_bytes() == data
    path = tmp_path / "out.pvv"
    write_pvv(path, same)
    assert path.read_bytes() == data
    assert read_pvv(path).to_bytes() == data
    assert [p.name for p in tmp_path.iterdir()] == ["out.pvv"]


def test_editing_one_cell_changes_only_its_value_text(doc: PvvFile) -> None:
    data = real_bytes()
    table = doc.table(VE_FRONT)
    values = table.values.copy()
    old_text = doc.find(VE_FRONT).cells[5][7]
    values[5, 7] += 1.25
    edited = doc.with_table(VE_FRONT, table.with_values(values))
    out = edited.to_bytes()
    # one span: everything before and after the cell's value text is unchanged
    prefix = next(i for i, (a, b) in enumerate(zip(data, out, strict=False)) if a != b)
    suffix = next(i for i, (a, b) in enumerate(zip(data[::-1], out[::-1], strict=False))
                  if a != b)
    start = data.rfind(b'"', 0, prefix + 1) + 1
    end = data.find(b'"', len(data) - suffix - 1)
    assert data[start - len(b'<Cell value="'):start] == b'<Cell value="'
    assert data[start:end] == old_text.encode()
    new_text = format_number(values[5, 7]).encode()
    assert out == data[:start] + new_text + data[end:]
    again = PvvFile.parse(out)
    assert again.table(VE_FRONT) == table.with_values(values)
    assert again.find(VE_FRONT).cells[5][7] == new_text.decode()
    assert [i for i in again.items if i.name != VE_FRONT] == [
        i for i in doc.items if i.name != VE_FRONT]


def test_padded_rows_and_repeated_columns_keep_their_distinct_cells(doc: PvvFile) -> None:
    afr = doc.table(AFR)
    assert afr.col_breakpoints[-7:].tolist() == [100] * 7
    assert afr.values[0, 10] == 12.5 and afr.values[0, 16] == 12.3  # same kPa, other cells
    ve = doc.table(VE_FRONT)
    afr_values = afr.values.copy()
    afr_values[:, 16] += 0.07
    ve_values = ve.values.copy()
    ve_values[-1] -= 3  # the last padding row at 8000 rpm only
    edited = doc.with_table(AFR, afr.with_values(afr_values)).with_table(
        VE_FRONT, ve.with_values(ve_values))
    again = PvvFile.parse(edited.to_bytes())
    assert again.table(AFR) == afr.with_values(afr_values)
    assert again.table(VE_FRONT) == ve.with_values(ve_values)
    assert again.table(VE_FRONT).row_breakpoints[-7:].tolist() == [8000] * 7
    assert again.find(VE_FRONT).row_labels[-7:] == ("8",) * 7
    assert np.array_equal(again.table(AFR).values[:, 15], afr.values[:, 15])
    # same values again: the text does not change
    assert again.with_table(AFR, again.table(AFR)).to_bytes() == edited.to_bytes()


def test_axes_must_match_the_item(doc: PvvFile) -> None:
    ve = doc.table(VE_FRONT)
    rows = ve.row_breakpoints.copy()
    rows[2] = 1200
    shifted = Table(ve.name, ve.units, "rpm", "map_kpa", rows, ve.col_breakpoints, ve.values)
    with pytest.raises(InputError) as err:
        doc.with_table(VE_FRONT, shifted)
    message = str(err.value)
    assert f"item '{VE_FRONT}'" in message
    assert "[750, 1000, 1125, 1250" in message and "[750, 1000, 1200, 1250" in message
    tps = doc.table("VE (TPS based/Front Cyl)")  # same shape, other load axis
    with pytest.raises(InputError, match="has map_kpa columns but table .* has tps_pct"):
        doc.with_table(VE_FRONT, tps)
    spark = doc.table("Spark Advance (Front Cyl)")
    with pytest.raises(InputError, match="is 27 rows x 17 columns but table .* is 21 x 17"):
        doc.with_table(VE_FRONT, spark)
    with pytest.raises(InputError, match="not an rpm x load table"):
        doc.with_table("Spark Advance", spark)


def test_rpm_is_compared_with_a_relative_tolerance(doc: PvvFile) -> None:
    ve = doc.table(VE_FRONT)
    near = Table(ve.name, ve.units, "rpm", "map_kpa", ve.row_breakpoints * (1 + 1e-12),
                 ve.col_breakpoints, ve.values)
    assert doc.with_table(VE_FRONT, near).to_bytes() == real_bytes()
    far = Table(ve.name, ve.units, "rpm", "map_kpa", ve.row_breakpoints * (1 + 1e-7),
                ve.col_breakpoints, ve.values)
    with pytest.raises(InputError, match="rpm axis"):
        doc.with_table(VE_FRONT, far)


def test_small_file_keeps_encoding_line_endings_and_other_items() -> None:
    text = mini(head='<?xml version="1.0" encoding="ISO-8859-1"?>\r\n', nl="\r\n",
                name="Zündung &amp; VE")
    data = text.encode("latin-1")
    doc = PvvFile.parse(data, source="t.pvv")
    assert doc.encoding == "ISO-8859-1" and doc.newline == "\r\n"
    name = "Zündung & VE"
    table = doc.table(name)
    assert table.row_breakpoints.tolist() == [750, 1000]
    assert doc.find("Scalar").cells == (("on",),)  # non-table items keep any text
    out = doc.with_table(name, table.with_values([[1, 2.5], [3, 4]])).to_bytes()
    assert out == data.replace(b'"2"', b'"2.5"')
    utf16 = ("\ufeff" + mini()).encode("utf-16-le")
    doc16 = PvvFile.parse(utf16)
    assert doc16.encoding == "utf-16-le" and doc16.to_bytes() == utf16
    out16 = doc16.with_table("T", doc16.table("T").with_values([[-0.0, 2], [3, 1e-7]])).to_bytes()
    assert out16.decode("utf-16-le") == "\ufeff" + mini().replace(
        '<Cell value="1"', '<Cell value="0"').replace('"4"', '"0.0000001"')


def test_undecodable_bytes_fall_back_to_latin1_and_stay_exact() -> None:
    data = mini().encode().replace(b"made by", b"made \xff\xfe by")
    doc = PvvFile.parse(data)
    assert doc.encoding == "latin-1" and doc.to_bytes() == data
    out = doc.with_table("T", doc.table("T").with_values([[9, 2], [3, 4]])).to_bytes()
    assert out == data.replace(b'"1"', b'"9"', 1)


def test_fixed_decimals_shown_by_the_item_are_kept() -> None:
    cells = '<Cell value="1.50" /><Cell value="2.00" />'
    text = mini(cells).replace('"3"', '"3.00"').replace('"4"', '"4.25"')
    doc = PvvFile.parse(text.encode())
    out = doc.with_table("T", doc.table("T").with_values([[1.5, 2.5], [3.125, 4.25]])).to_bytes()
    assert out.decode() == text.replace('"2.00"', '"2.50"').replace('"3.00"', '"3.125"')


@pytest.mark.parametrize(("text", "match"), [
    (mini('<Cell value="1" />'), r"t.pvv, line 6: item 'T': row '0.75' has 1 cells but the "
                                 "item has 2 columns"),
    (mini(cols='<Col label="20" /><Col />'), r"line 4: item 'T': <Col> has no label="),
    (mini('<Cell value="1" /><Cell value="x" />'), r"line 6: item 'T': value 'x' is not a "
                                                   "number"),
    (mini('<Cell value="1" /><Cell value="1e999" />'), "value '1e999' is not a number"),
    (mini(cols='<Col label="20" /><Col label="hi" />'), "label 'hi' is not a number"),
    (mini().replace("</Row>", "</Rows>", 1), r"line 6: </Rows> found where </Row> was"),
    (mini().replace('<Item name="T"', "<Item"), "item #1: <Item> has no name="),
    (mini().replace('<Rows units="RPMx1000">', "<Rowz>").replace("</Rows>", "</Rowz>", 1),
     "item 'T' has 0 <Rows> elements"),
    ("<Tune></Tune>", "not a Power Vision .pvv file: found <Tune>"),
    ("", "found no element"),
    ("hello", "line 1: text outside the <PVV> element"),
    (mini()[:200], "line 6: the file ends inside a tag; it looks truncated"),
    (mini()[:mini().index('<Cell value="2"')],
     "the file ends inside <Row> opened at line 6; it looks truncated"),
    (mini() + "<PVV></PVV>", "a second top-level element"),
    ("<PVV><!-- unterminated", "unterminated comment"),
    ('<PVV><Item name="a" name="b"></Item></PVV>', "has the attribute 'name' twice"),
    ("<PVV><Item name=oops></Item></PVV>", "malformed tag"),
])
def test_malformed_files_are_input_errors_with_a_line(text: str, match: str) -> None:
    with pytest.raises(InputError, match=match):
        PvvFile.parse(text.encode(), source="t.pvv")


def test_a_label_that_overflows_as_rpm_names_the_file() -> None:
    doc = PvvFile.parse(mini().replace('label="1"', 'label="1e306"').encode(), source="big.pvv")
    with pytest.raises(InputError, match="^big.pvv: table 'T': row"):
        doc.table("T")


def test_non_numeric_rows_are_fine_outside_tables() -> None:
    doc = PvvFile.parse(mini('<Cell value="1" /><Cell value="x" />', row_units="").encode())
    assert doc.find("T").cells[0] == ("1", "x") and doc.table_names() == []


def test_garbage_bytes_and_missing_files_are_input_errors(tmp_path: Path) -> None:
    for data in (b"\x00\xff\xfe garbage", bytes(range(256)), b"\xef\xbb\xbf", b"<"):
        with pytest.raises(InputError):
            PvvFile.parse(data, source="junk.pvv")
    with pytest.raises(InputError, match="nope.pvv: no such file"):
        read_pvv(tmp_path / "nope.pvv")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cut=st.floats(min_value=0.0, max_value=1.0), flip=st.integers(0, 255))
@pytest.mark.once_without_qt  # long: runs in the suite without Qt
def test_truncated_or_damaged_real_file_parses_or_is_an_input_error(cut: float, flip: int,
                                                                     ) -> None:
    data = real_bytes()
    end = int(cut * len(data))
    for damaged in (data[:end], data[:end] + bytes([flip]) + data[end + 1:]):
        try:
            doc = PvvFile.parse(damaged, source="cut.pvv")
        except InputError as exc:
            assert str(exc).startswith("cut.pvv")
        else:
            assert doc.to_bytes() == damaged
            doc.tables()  # every convertible item converts
