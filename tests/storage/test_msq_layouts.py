"""TunerStudio tunes from other firmware versions, messages that say what a tune holds, and cells
refused when they do not fit what the ECU stores (issue 23). Each tune here is a minimal .msq
written like TunerStudio writes them (see ../shared/realdata/speeduino_NA6_PNP_base_tune.msq)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dynoai_desktop.app.tune_session import TuneSession
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.storage.table_files import read_table_csv, write_table_csv
from dynoai_desktop.storage.tune_files import read_table, write_table
from dynoai_desktop.storage.tune_formats.msq import MsqFile


def _constant(name: str, values: list[list[float]], units: str, digits: int = 0,
              extra: str = "") -> str:
    rows, cols = len(values), len(values[0])
    body = "".join("         " + " ".join(f"{v:.1f}" for v in row) + " \n" for row in values)
    return (f'        <constant cols="{cols}" digits="{digits}"{extra} name="{name}" rows="{rows}" '
            f'units="{units}">\n{body}      </constant>\n')


def _bins(name: str, values: list[float], units: str) -> str:
    return _constant(name, [[v] for v in values], units)


VE = [[40, 42, 44, 46], [50, 52, 54, 56], [60, 62, 64, 66]]  # 3 load rows x 4 rpm columns
RPM = [1000, 2000, 3000, 4000]
KPA = [30, 60, 100]


def _tune(signature: str, pages: list[str], pc_variables: str = "") -> bytes:
    text = ('<?xml version="1.0" encoding="ISO-8859-1"?>\n'
            '<msq xmlns="http://www.msefi.com/:msq">\n'
            '    <bibliography author="TunerStudio MS 3.0.28 - EFI Analytics, Inc." '
            'tuneComment="" writeDate="Sat Jun 02 10:00:00 CEST 2018"/>\n'
            f'    <versionInfo fileFormat="5.0" firmwareInfo="" nPages="{len(pages)}" '
            f'signature="{signature}"/>\n'
            f'    <page>\n{pc_variables}    </page>\n')
    for number, page in enumerate(pages):
        text += f'    <page number="{number}" size="288">\n{page}    </page>\n'
    return (text + "</msq>\n").encode("iso-8859-1")


def _speeduino_2018(**ve_extra: str) -> bytes:
    """A 2018 Speeduino tune: the VE table's load axis is still called mapBins."""
    page = (_constant("veTable", VE, "%", extra=ve_extra.get("extra", ""))
            + _bins("rpmBins", RPM, "RPM") + _bins("mapBins", KPA, "kPa")
            + '        <constant digits="1" name="reqFuel" units="ms">12.7</constant>\n')
    spark = (_constant("advTable1", VE, "deg") + _bins("rpmBins2", RPM, "RPM")
             + _bins("mapBins1", KPA, "kPa"))
    return _tune("speeduino 201804", [page, spark])


def _convert(*argv: object) -> tuple[int, str]:
    result = subprocess.run([sys.executable, "-m", "dynoai_desktop", "convert", *map(str, argv)],
                            capture_output=True, text=True, timeout=60)
    return result.returncode, result.stderr


def test_a_2018_speeduino_tune_with_map_bins_converts(tmp_path: Path) -> None:
    tune = tmp_path / "speeduino_2018.msq"
    tune.write_bytes(_speeduino_2018())
    doc = MsqFile.parse(tune.read_bytes())
    assert doc.firmware == "speeduino" and doc.table_names() == ["veTable", "advTable1"]
    ve = doc.table("veTable")
    assert ve.row_breakpoints.tolist() == RPM and ve.col_breakpoints.tolist() == KPA
    assert ve.values[1, 2] == 62  # 2000 rpm, 100 kPa
    csv = tmp_path / "ve.csv"
    assert _convert(tune, csv, "--table", "veTable") == (0, "")
    assert read_table_csv(csv) == ve
    out = tmp_path / "back.msq"
    assert _convert(csv, out, "--into", tune, "--table", "veTable") == (0, "")
    assert out.read_bytes() == tune.read_bytes()


def test_axes_named_otherwise_are_read_from_the_constants_beside_the_table() -> None:
    # 2015 v0.3 layout (rpmBins/tpsBins), and a table no list names (its bins follow it).
    old = (_constant("veTable", VE, "%") + _bins("rpmBins", RPM, "RPM")
           + _bins("tpsBins", [20, 60, 100], "TPS"))
    unknown = (_constant("fuelMapX", VE, "%") + _bins("injTiming", [1, 2, 3], "deg")
               + _bins("xRpm", RPM, "RPM") + _bins("xLoad", KPA, "kPa"))
    doc = MsqFile.parse(_tune("20", [old, unknown]))
    assert doc.table_names() == ["veTable", "fuelMapX"]
    assert doc.table("veTable").col_axis == "tps_pct"
    x = doc.table("fuelMapX")
    assert x.row_breakpoints.tolist() == RPM and x.col_breakpoints.tolist() == KPA


def test_a_tune_with_no_readable_table_says_what_it_has_and_why(tmp_path: Path) -> None:
    page = (_constant("veTable", VE, "%") + _bins("rpmBins", RPM, "RPM")
            + _bins("mapBins", KPA, "bar") + _constant("wueGrid", VE, "%"))
    tune = tmp_path / "none.msq"
    tune.write_bytes(_tune("speeduino 201701", [page]))
    code, err = _convert(tune, tmp_path / "x.csv")
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"dynoai convert: {tune} holds no table this app can read")
    assert "tables this app can read: none; not offered: veTable (the load axis unit 'bar' " in err
    assert "wueGrid (no RPM axis of 4 values and load axis (kPa, % or TPS) of 3 values follow " \
        "it in its page)" in err
    with pytest.raises(InputError, match="holds no table this app can read.*not offered: veTable"):
        TuneSession(None).open_file(tune)


def test_several_tables_are_listed_with_the_ones_not_offered(tmp_path: Path) -> None:
    page = _constant("veTable2", VE, "%")  # its fuelRPM2Bins/fuelLoad2Bins are missing
    tune = tmp_path / "two.msq"
    tune.write_bytes(_speeduino_2018().replace(b"    </page>\n</msq>",
                                               f"{page}    </page>\n</msq>".encode()))
    with pytest.raises(InputError) as info:
        read_table(tune, None)
    message = str(info.value)
    assert message.startswith(f"{tune} holds 2 tables; name one with --table: veTable, "
                              "advTable1; not offered: veTable2 (its axes (fuelRPM2Bins/"
                              "fuelLoad2Bins or frpm_table2/fmap_table2) are missing from the "
                              "file and no RPM axis of 4 values and load axis (kPa, % or TPS) of "
                              "3 values follow it in its page)")
    with pytest.raises(InputError, match=r"'reqFuel' is not an rpm x load table this app can "
                                         r"read \(it holds a single value\)"):
        MsqFile.parse(tune.read_bytes()).table("reqFuel")


def test_ms3_ve_tables_3_and_4_are_read_with_axes_on_another_page() -> None:
    # MS3 0435.16: frpm_table4/fmap_table4 sit on page 11, veTable4 on page 12.
    axes = (_bins("frpm_table3", RPM, "RPM") + _bins("fmap_table3", KPA, "kPa")
            + _bins("frpm_table4", RPM, "RPM") + _bins("fmap_table4", KPA, "kPa")
            + _bins("srpm_table4", RPM, "RPM") + _bins("smap_table4", KPA, "kPa"))
    tables = (_constant("veTable3", VE, "%", 1) + _constant("veTable4", VE, "%", 1)
              + _constant("advanceTable4", VE, "deg", 1))
    doc = MsqFile.parse(_tune("MS3 Format 0435.16 ", [axes, tables]))
    assert doc.firmware == "ms3"
    assert doc.table_names() == ["veTable3", "veTable4", "advanceTable4"]
    assert doc.table("veTable4").values[3, 0] == 46


# --- cells the ECU cannot store are refused -------------------------------------------------

def test_speeduino_ve_7000_is_refused_naming_the_cell_and_the_limit(tmp_path: Path) -> None:
    tune = tmp_path / "speeduino_2018.msq"
    tune.write_bytes(_speeduino_2018())
    ve = read_table(tune, "veTable")
    values = ve.values.copy()
    values[1, 2] = 7000  # 2000 rpm, 100 kPa
    values[3, 0] = 300
    csv, out = tmp_path / "ve.csv", tmp_path / "out.msq"
    write_table_csv(csv, ve.with_values(values))
    code, err = _convert(csv, out, "--into", tune, "--table", "veTable")
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"dynoai convert: {tune}: veTable row 2 (2,000 rpm), column 3 "
                          "(100 kPa): 7000 is above the constant's high limit 255 (U08); "
                          "nothing written (1 more cells are out of range too)")
    assert not out.exists()
    values[1, 2], values[3, 0] = 255, 0
    write_table(out, ve.with_values(values), tune, "veTable")  # the limits themselves fit
    assert MsqFile.parse(out.read_bytes()).table("veTable").values[1, 2] == 255


def test_spark_below_the_low_limit_and_the_app_export_refuse_alike(tmp_path: Path) -> None:
    tune = tmp_path / "speeduino_2018.msq"
    tune.write_bytes(_speeduino_2018())
    session = TuneSession(None)
    session.open_file(tune)
    spark = session.table("advTable1")
    values = spark.values.copy()
    values[0, 0] = -45.0
    session.edit(spark.with_values(values), "-45 deg")
    out = tmp_path / "export.msq"
    with pytest.raises(InputError, match=r"advTable1 row 1 \(1,000 rpm\), column 1 \(30 kPa\): "
                                         r"-45 is below the constant's low limit -40 \(U08\); "
                                         "nothing written"):
        session.export_table("advTable1", out, tune)
    assert not out.exists()


def test_ms3_ve_high_comes_from_the_tunes_vehigh_else_the_data_type(tmp_path: Path) -> None:
    axes = _bins("frpm_table1", RPM, "RPM") + _bins("fmap_table1", KPA, "kPa")
    page = axes + _constant("veTable1", VE, "%", 1)
    vehigh = ('        <pcVariable digits="0" name="vehigh" units="%">300.0</pcVariable>\n')
    with_vehigh = MsqFile.parse(_tune("MS3 Format 0435.16 ", [page], vehigh), source="ms3.msq")
    ve = with_vehigh.table("veTable1")
    values = ve.values.copy()
    values[0, 0] = 350
    with pytest.raises(InputError, match=r"ms3.msq: veTable1 row 1 \(1,000 rpm\), column 1 "
                                         r"\(30 kPa\): 350 is above the constant's high limit "
                                         r"300 \(vehigh in this tune; U16 in 0.1 steps\)"):
        with_vehigh.with_table("veTable1", ve.with_values(values))
    plain = MsqFile.parse(_tune("MS3 Format 0435.16 ", [page]), source="ms3.msq")
    assert plain.with_table("veTable1", ve.with_values(values)).table("veTable1").values[0, 0] \
        == 350
    values[0, 0] = 7000
    with pytest.raises(InputError, match="7000 is above the largest value U16 in 0.1 steps "
                                         "holds, 6553.5"):
        plain.with_table("veTable1", ve.with_values(values))


def test_limits_the_tune_carries_are_used_and_old_values_do_not_block() -> None:
    page = (_constant("veTable", [[40, 42, 44, 46], [50, 52, 54, 56], [60, 62, 64, 180]], "%",
                      extra=' high="150.0" low="10.0"')
            + _bins("rpmBins", RPM, "RPM") + _bins("fuelLoadBins", KPA, "kPa"))
    doc = MsqFile.parse(_tune("speeduino 202103", [page]), source="own.msq")
    ve = doc.table("veTable")
    assert doc.with_table("veTable", ve).to_bytes() == doc.to_bytes()  # 180 was there already
    values = ve.values.copy()
    values[0, 0] = 5
    with pytest.raises(InputError, match=r"5 is below the constant's low limit 10 \(in the "
                                         r"tune\); nothing written"):
        doc.with_table("veTable", ve.with_values(values))
    values[0, 0] = 41  # a fitting edit next to the old 180 is written
    assert doc.with_table("veTable", ve.with_values(values)).table("veTable").values[0, 0] == 41
