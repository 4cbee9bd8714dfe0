"""TunerStudio .msq: tables read transposed, spliced back in place, byte-exact round trips."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.table import Table
from dynoai_desktop.storage.tune_formats.msq import MsqFile, read_msq, write_msq

_NAME = "speeduino_NA6_PNP_base_tune.msq"
_CANDIDATES = (Path(__file__).resolve().parents[3] / "shared" / "realdata" / _NAME,
               Path("/work/shared/realdata") / _NAME)


@pytest.fixture(scope="module")
def real_bytes() -> bytes:
    for path in _CANDIDATES:
        if path.is_file():
            return path.read_bytes()
    pytest.skip(f"real Speeduino tune {_NAME} not found in ../shared/realdata (not shipped with "
                "the repo for licence reasons)")


@pytest.fixture(scope="module")
def real(real_bytes: bytes) -> MsqFile:
    return MsqFile.parse(real_bytes, source=_NAME)


RPM = [500, 700, 900, 1500, 2100, 2900, 3800, 4700, 5500, 5700, 5900, 6100, 6300, 6500, 6600,
       6600]
KPA = [16, 26, 30, 36, 40, 46, 50, 56, 60, 66, 70, 76, 86, 90, 96, 100]
LINE_0 = [36, 36, 40, 40, 19, 16, 14, 26, 42, 42, 42, 41, 41, 41, 41, 41]  # 16 kPa row
LINE_15 = [54, 59, 77, 98, 107, 109, 116, 134, 155, 140, 135, 130, 121, 120, 120, 120]  # 100 kPa


def test_the_real_tune_offers_every_rpm_by_load_table(real: MsqFile) -> None:
    assert real.encoding == "ISO-8859-1"
    assert {"veTable", "rpmBins", "fuelLoadBins", "reqFuel"} <= set(real.constant_names())
    assert real.table_names() == [
        "veTable", "advTable1", "afrTable", "boostTable", "vvtTable", "stagingTable",
        "fuelTrim1Table", "fuelTrim2Table", "fuelTrim3Table", "fuelTrim4Table", "veTable2",
        "wmiTable", "dwellTable", "advTable2"]
    assert list(real.tables()) == real.table_names()
    assert real.table("boostTable").col_axis == "tps_pct"  # tpsBinsBoost units="TPS"
    assert real.table("dwellTable").shape == (4, 4)  # 2021 firmware: mapBinsDwell


def test_ve_table_is_the_transpose_of_the_text_with_the_files_raw_axes(real: MsqFile) -> None:
    ve = real.table("veTable")
    assert (ve.name, ve.units, ve.row_axis, ve.col_axis) == ("veTable", "%", "rpm", "map_kpa")
    assert ve.shape == (16, 16)
    assert ve.row_breakpoints.tolist() == RPM  # repeated 6600 kept
    assert ve.col_breakpoints.tolist() == KPA
    # text line k is load row k: it becomes column k of the table
    assert ve.values[:, 0].tolist() == LINE_0
    assert ve.values[:, 15].tolist() == LINE_15
    assert ve.values[8, 15] == 155  # 5500 rpm, 100 kPa
    assert ve.lookup(5500, 100) == 155
    assert ve.values[0, 15] == 54 and ve.values[15, 0] == 41


def test_writing_every_table_back_unchanged_is_byte_identical(real: MsqFile,
                                                               real_bytes: bytes) -> None:
    doc = real
    for name, table in real.tables().items():
        doc = doc.with_table(name, table)
    assert doc.to_bytes() == real_bytes


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_a_tune_re_saved_as_utf16_reads_and_writes_back_byte_identical(
        real: MsqFile, real_bytes: bytes, codec: str) -> None:
    # a text editor's "Unicode" save: the byte-order mark, then UTF-16; the declaration still
    # says ISO-8859-1 and must not be believed
    bom = "\ufeff".encode(codec)
    utf16 = bom + real_bytes.decode(real.encoding).encode(codec)
    doc = MsqFile.parse(utf16, source="resaved.msq")
    assert doc.tables().keys() == real.tables().keys()
    for name, table in doc.tables().items():
        doc = doc.with_table(name, table)
    assert doc.to_bytes() == utf16


def _changed_lines(old: bytes, new: bytes) -> list[tuple[int, bytes, bytes]]:
    a, b = old.split(b"\n"), new.split(b"\n")
    assert len(a) == len(b)
    return [(i, x, y) for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]


def test_editing_one_cell_changes_exactly_that_values_text(real: MsqFile,
                                                           real_bytes: bytes) -> None:
    ve = real.table("veTable")
    values = ve.values.copy()
    values[8, 15] = 150  # 5500 rpm, 100 kPa: text line 16 of veTable, 9th number
    new = real.with_table("veTable", ve.with_values(values)).to_bytes()
    header = real_bytes.split(b"\n").index(
        b'        <constant cols="16" digits="0" name="veTable" rows="16" units="%">')
    [(line, old_text, new_text)] = _changed_lines(real_bytes, new)
    assert line == header + 16
    assert new_text == old_text.replace(b" 155.0 ", b" 150.0 ")
    assert len(new) == len(real_bytes)
    assert MsqFile.parse(new).table("veTable") == ve.with_values(values)


def test_digits_round_the_value_and_the_files_decimals_are_kept(real: MsqFile,
                                                                real_bytes: bytes) -> None:
    ve = real.table("veTable")  # digits="0", written as 36.0
    values = ve.values.copy()
    values[0, 0] = 37.4  # rounds to 37 -> "37.0"
    values[1, 0] = 36.3  # rounds to 36, the current value: text untouched
    doc = real.with_table("veTable", ve.with_values(values))
    [(_, old_text, new_text)] = _changed_lines(real_bytes, doc.to_bytes())
    assert new_text == old_text.replace(b" 36.0 36.0 ", b" 37.0 36.0 ", 1)
    afr = doc.table("afrTable")  # digits="1", written as 14.7
    cells = afr.values.copy()
    cells[0, 0] = 12.25  # half away from zero -> 12.3
    again = doc.with_table("afrTable", afr.with_values(cells))
    [(_, old_text, new_text)] = _changed_lines(doc.to_bytes(), again.to_bytes())
    assert new_text == old_text.replace(b" 14.7 ", b" 12.3 ", 1)
    assert again.table("afrTable").values[0, 0] == 12.3


def test_splicing_onto_other_axes_is_refused_naming_both(real: MsqFile) -> None:
    ve = real.table("veTable")
    rpm = ve.row_breakpoints.copy()
    rpm[-1] = 7000
    moved = Table(ve.name, ve.units, "rpm", "map_kpa", rpm, ve.col_breakpoints, ve.values)
    with pytest.raises(InputError, match=r"rpm axis \[500 .* 7000\] differs from the file's "
                                         r"rpmBins \[500 .* 6600 6600\]"):
        real.with_table("veTable", moved)
    tps = Table(ve.name, ve.units, "rpm", "tps_pct", ve.row_breakpoints, ve.col_breakpoints,
                ve.values)
    with pytest.raises(InputError, match="load axis is tps_pct but the file's fuelLoadBins"):
        real.with_table("veTable", tps)
    small = Table(ve.name, ve.units, "rpm", "map_kpa", [500, 700], [16, 26], [[1, 2], [3, 4]])
    with pytest.raises(InputError, match="differs from the file's rpmBins"):
        real.with_table("veTable", small)


def test_unknown_names_are_refused_listing_the_tables(real: MsqFile) -> None:
    with pytest.raises(InputError, match=r"'VE Table' matches no table; tables in this file: "
                                         r"veTable, advTable1"):
        real.table("VE Table")
    with pytest.raises(InputError, match="'reqFuel' is not an rpm x load table"):
        real.table("reqFuel")
    assert real.table("vetable") == real.table("veTable")  # unique case-insensitive match


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fraction=st.floats(0, 1), close=st.booleans())
def test_truncated_real_files_parse_or_raise_input_error(real_bytes: bytes, fraction: float,
                                                         close: bool) -> None:
    data = real_bytes[:int(len(real_bytes) * fraction)] + (b"</msq>" if close else b"")
    try:
        doc = MsqFile.parse(data, source="cut.msq")
    except InputError as exc:
        assert "cut.msq" in str(exc)
        return
    for name, table in doc.tables().items():
        assert doc.with_table(name, table).to_bytes() == data


# --- synthetic MegaSquirt-style tune: veTable1 / frpm_table1 / fmap_table1 ---------------------

def _ms_tune(load_units: str = "kPa", extra: str = "") -> bytes:
    """3 load rows x 4 rpm columns, CRLF line ends, tabs and a degree sign in ISO-8859-1."""
    text = (
        '<?xml version="1.0" encoding="ISO-8859-1"?>\r\n'
        '<msq xmlns="http://www.msefi.com/:msq">\r\n'
        '  <!-- <constant name="veTable1">commented out</constant> -->\r\n'
        '  <page number="0">\r\n'
        '    <constant name="nCylinders">2</constant>\r\n'
        '    <constant cols="4" digits="1" name="veTable1" rows="3" units="%">\r\n'
        '\t40.5 41.0 42.0   43.0\r\n'
        '\t50.5 51.0 52.0   53.0\r\n'
        '\t60.5 61.0 62.0   63.0\r\n'
        '    </constant>\r\n'
        '    <constant cols="1" digits="0" name="frpm_table1" rows="4" units="RPM">\r\n'
        '      800\r\n      2000\r\n      4000\r\n      6000\r\n'
        '    </constant>\r\n'
        f'    <constant cols="1" digits="1" name="fmap_table1" rows="3" units="{load_units}">\r\n'
        '      30.0\r\n      60.0\r\n      100.0\r\n'
        '    </constant>\r\n'
        '    <constant cols="2" digits="1" name="advanceTable1" rows="2" units="°BTDC">\r\n'
        '      10.0 20.0\r\n      15.0 25.0\r\n'
        '    </constant>\r\n'
        '    <constant cols="1" name="srpm_table1" rows="2" units="RPM">1000 5000</constant>\r\n'
        '    <constant cols="1" name="smap_table1" rows="2" units="kPa">40 90</constant>\r\n'
        f'{extra}'
        '  </page>\r\n'
        '</msq>\r\n')
    return text.encode("iso-8859-1")


def test_megasquirt_names_read_transposed_and_keep_the_degree_sign() -> None:
    data = _ms_tune()
    doc = MsqFile.parse(data, source="ms2.msq")
    assert doc.table_names() == ["veTable1", "advanceTable1"]
    ve = doc.table("veTable1")
    assert ve.shape == (4, 3)
    assert ve.row_breakpoints.tolist() == [800, 2000, 4000, 6000]
    assert ve.col_breakpoints.tolist() == [30, 60, 100]
    assert ve.values[:, 0].tolist() == [40.5, 41, 42, 43]  # text line 1 = 30 kPa
    assert ve.values[3, 2] == 63
    assert doc.table("advanceTable1").units == "°BTDC"
    assert doc.with_table("veTable1", ve).to_bytes() == data


def test_megasquirt_splice_changes_one_token_and_keeps_encoding_and_crlf(tmp_path: Path) -> None:
    data = _ms_tune()
    doc = MsqFile.parse(data, source="ms2.msq")
    ve = doc.table("veTable1")
    values = ve.values.copy()
    values[1, 2] = 66.25  # 2000 rpm, 100 kPa; digits="1" -> 66.3
    path = tmp_path / "out.msq"
    write_msq(path, doc.with_table("veTable1", ve.with_values(values)))
    assert not list(tmp_path.glob("*.tmp"))
    new = path.read_bytes()
    assert new == data.replace(b"\t60.5 61.0 ", b"\t60.5 66.3 ")
    assert b"\xb0BTDC" in new and b"\xc2" not in new and new.count(b"\r\n") == data.count(b"\r\n")
    back = read_msq(path)
    assert back.table("veTable1").values[1, 2] == 66.3
    assert back.table("advanceTable1") == doc.table("advanceTable1")
    adv = doc.table("advanceTable1")  # no digits, whole numbers shown: new value keeps 0 decimals
    spliced = doc.with_table("advanceTable1", adv.with_values([[12, 15], [20, 25.5]]))
    assert b">1000 5000<" in spliced.to_bytes()
    assert b"      12 20.0\r\n" not in spliced.to_bytes()  # advanceTable1 shows 1 decimal
    assert b"      12.0 20.0\r\n      15.0 25.5\r\n" in spliced.to_bytes()


def test_tps_load_axis_and_unsupported_load_units() -> None:
    assert MsqFile.parse(_ms_tune("%")).table("veTable1").col_axis == "tps_pct"
    doc = MsqFile.parse(_ms_tune("bar"), source="ms2.msq")
    assert doc.table_names() == ["advanceTable1"]
    with pytest.raises(InputError, match="ms2.msq: table 'veTable1': the load axis unit 'bar' of "
                                         "fmap_table1 isn't supported"):
        doc.table("veTable1")


def test_duplicate_table_constants_are_ambiguous() -> None:
    extra = ('    <constant cols="4" digits="1" name="veTable1" rows="3" units="%">\r\n'
             '      1 2 3 4 5 6 7 8 9 10 11 12\r\n    </constant>\r\n')
    doc = MsqFile.parse(_ms_tune(extra=extra), source="dup.msq")
    assert doc.table_names() == ["advanceTable1"]
    with pytest.raises(InputError, match=r"dup.msq: table name 'veTable1' is ambiguous "
                                         r"\('veTable1' at lines 6, 28\); give one of: "
                                         "advanceTable1"):
        doc.table("veTable1")
    with pytest.raises(InputError, match="ambiguous"):
        doc.with_table("VETABLE1", doc.table("advanceTable1"))


def test_damaged_files_raise_input_errors_naming_the_source(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="x.msq: not a TunerStudio tune"):
        MsqFile.parse(b"hello", source="x.msq")
    with pytest.raises(InputError, match="truncated"):
        MsqFile.parse(_ms_tune()[:300], source="x.msq")
    broken = _ms_tune().replace(b"</constant>\r\n    <constant cols=\"1\" digits=\"0\"", b"<x", 1)
    with pytest.raises(InputError, match=r"x.msq, line 6: a <constant> element is not closed"):
        MsqFile.parse(broken, source="x.msq")
    bad = _ms_tune().replace(b"41.0", b"4l.0")
    doc = MsqFile.parse(bad, source="x.msq")
    assert "veTable1" not in doc.table_names()
    with pytest.raises(InputError, match="constant 'veTable1': value '4l.0' is not a number"):
        doc.table("veTable1")
    short = _ms_tune().replace(b"   43.0\r\n", b"\r\n")
    with pytest.raises(InputError, match="holds 11 values but needs 12"):
        MsqFile.parse(short, source="x.msq").table("veTable1")
    with pytest.raises(InputError, match="unknown"):
        MsqFile.parse(b'<?xml version="1.0" encoding="klingon"?><msq></msq>')
    with pytest.raises(InputError, match="no such file"):
        read_msq(tmp_path / "missing.msq")
    utf8 = _ms_tune().decode("iso-8859-1").replace("ISO-8859-1", "UTF-8").encode("utf-8")
    doc = MsqFile.parse(utf8)
    assert doc.encoding == "UTF-8" and doc.table("advanceTable1").units == "°BTDC"
    assert doc.with_table("veTable1", doc.table("veTable1")).to_bytes() == utf8
