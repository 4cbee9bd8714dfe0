"""Foreign logs onto canonical channels (FORMATS.md §2): the real files in shared/realdata, and
small files written here for what the real ones do not show (Power Vision, stuck widebands,
broken files)."""

from __future__ import annotations

import random
import re
from pathlib import Path

import numpy as np
import pytest

from dynoai_desktop.core.channels import LOG_COLUMNS, SensorStatus
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.storage.log_import import KNOWN_FORMATS, ImportedLog, import_log
from dynoai_desktop.storage.log_import.names import wideband_side
from tests.realdata import REALDATA

real = pytest.mark.skipif(REALDATA is None, reason="shared/realdata is not beside the repo")

WINPEP = "dynojet_wrl_134power.csv"
ROMRAIDER = "ultralog_romraiderlog_20251031_170713.csv"
MS1 = "empro_MS1_ms_test.msl"
BUELL = "ecmdroid_Buell_BUE2D_log.msl"

# Plausible ranges for every channel a real log may carry (rpm 0-9000, MAP 0-300 kPa, AFR 7-25,
# temperatures -40-200 °C); a unit read wrong lands outside them.
PLAUSIBLE = {
    "rpm": (0, 9000),
    "map_kpa": (0, 300),
    "tps_pct": (0, 100),
    "afr_front": (7, 25),
    "afr_rear": (7, 25),
    "afr_target": (7, 25),
    "engine_temp_c": (-40, 200),
    "iat_c": (-40, 200),
    "ambient_temp_c": (-40, 60),
    "spark_front_deg": (-10, 60),
    "spark_rear_deg": (-10, 60),
    "speed_mph": (0, 200),
    "baro_kpa": (60, 110),
    "humidity_pct": (0, 100),
    "correction_factor": (0.8, 1.4),
    "afr_front_status": (0, 4),
    "torque_ftlb": (-300, 400),
    "power_hp": (-300, 400),
}


def _real(name: str) -> ImportedLog:
    assert REALDATA is not None
    return import_log(REALDATA / name)


def _data_lines(name: str) -> int:
    """Non-empty lines of the file that start with a number: its samples, counted by hand."""
    assert REALDATA is not None
    lines = (REALDATA / name).read_text(encoding="utf-8").splitlines()
    return sum(1 for line in lines if line[:1].isdigit())


# ------------------------------------------------------------------ every real log
@real
@pytest.mark.parametrize(
    ("name", "source_format", "rows"),
    [
        (WINPEP, "Dynojet WinPEP CSV", 275),
        (ROMRAIDER, "RomRaider CSV", 4235),
        (MS1, "MegaSquirt MSL", 7977),
        (BUELL, "MegaSquirt MSL (EcmDroid, Buell DDFI)", 176),
    ],
)
def test_real_log_is_detected_with_every_sample(name: str, source_format: str, rows: int) -> None:
    log = _real(name)
    assert log.source_format == source_format
    assert log.rows == rows == _data_lines(name)  # every data row, none lost or invented
    time_s = log.frame["time_s"].to_numpy()
    assert time_s[0] == 0.0
    assert (np.diff(time_s) > 0).all()
    assert list(log.frame.columns) == [c for c in LOG_COLUMNS if c in log.frame.columns]
    assert set(log.mapped) == set(log.frame.columns)


@real
@pytest.mark.parametrize("name", [WINPEP, ROMRAIDER, MS1, BUELL])
def test_real_log_channels_are_in_plausible_ranges(name: str) -> None:
    frame = _real(name).frame
    for channel in frame.columns.drop("time_s"):
        values = frame[channel].dropna()
        low, high = PLAUSIBLE[channel]
        assert values.between(low, high).all(), (channel, values.min(), values.max())


@real
def test_winpep_units_are_converted_and_only_the_front_wideband_is_used() -> None:
    log = _real(WINPEP)
    row = log.frame.iloc[11]  # the file's line "0.55,0,15.872, ,...,24.45,80.82, ,...,3.127,..."
    assert row["time_s"] == pytest.approx(0.55)
    assert row["rpm"] == pytest.approx(3127.0)  # Engine RPM is in thousands
    assert row["baro_kpa"] == pytest.approx(24.45 * 3.386389)  # inHg
    assert row["ambient_temp_c"] == pytest.approx((80.82 - 32) * 5 / 9)  # °F
    assert row["afr_front"] == pytest.approx(15.872)
    assert row["correction_factor"] == pytest.approx(1.245)
    assert row["afr_front_status"] == SensorStatus.VALID  # Sensor Ready 1 = 1
    first_torque = log.frame.iloc[4]  # t=0.2: Torque 152.465, Torque (uncorrected) 122.416
    assert first_torque["torque_ftlb"] == pytest.approx(122.416)
    assert first_torque["power_hp"] == pytest.approx(70.562)
    assert "afr_rear" not in log.frame
    assert "afr_rear_status" not in log.frame
    assert log.wideband_sides.startswith("front: '(DWRT AFR) Air/Fuel Ratio 1'")
    assert any(w.startswith("no rear wideband") and "Air/Fuel Ratio 2" in w for w in log.warnings)
    assert {
        "(DWRT AFR) Air/Fuel Ratio 2",
        "(DWRT CPU) Torque",
        "(DWRT CPU) Power",
        "(DWRT CPU) Force",
    } <= set(log.unmapped)
    assert log.refusals == []


@real
def test_romraider_decimal_comma_bar_lambda_and_msec() -> None:
    log = _real(ROMRAIDER)
    first, second = log.frame.iloc[0], log.frame.iloc[1]  # "0;14,00;860;0,38;0,98", "198;..."
    assert second["time_s"] == pytest.approx(0.198)  # msec
    assert first["rpm"] == 860
    assert first["map_kpa"] == pytest.approx(38.0)  # 0,38 bar
    assert first["afr_front"] == pytest.approx(0.98 * 14.7)  # λ
    assert first["spark_front_deg"] == first["spark_rear_deg"] == 14.0
    assert log.mapped["afr_front"] == "PLX O2 - Wideband (Lambda) [λ]"
    assert "taken as front" in log.wideband_sides
    assert any(w.startswith("no rear wideband") for w in log.warnings)
    assert log.unmapped == []


@real
def test_ms1_stuck_o2_is_refused_not_used() -> None:
    log = _real(MS1)
    assert (
        "no AFR front: the wideband 'O2' reads 10.0 the whole log (sensor not connected?)"
        in log.refusals
    )
    assert any("'AFR Target' reads 0 the whole log" in r for r in log.refusals)
    assert not {"afr_front", "afr_rear", "afr_target"} & set(log.frame.columns)
    assert {"O2", "AFR Target", "tpsADC", "Gego"} <= set(log.unmapped)
    assert "no usable wideband" in log.wideband_sides
    assert log.frame["time_s"].iloc[1] == pytest.approx(26853.412 - 26853.346)
    assert log.frame["map_kpa"].iloc[0] == 46
    assert any(w.startswith("column 'CLT' has no unit: read as °C") for w in log.warnings)


@real
def test_buell_sides_narrowband_and_clock() -> None:
    log = _real(BUELL)
    assert log.mapped["spark_front_deg"] == "spark1 [deg]"
    assert log.mapped["spark_rear_deg"] == "spark2 [deg]"
    # 'Time' 0.024, 0.046 ... while the ECM clock moves ~0.22 s a row: tens of seconds.
    assert log.frame["time_s"].iloc[1] == pytest.approx(0.22)
    assert any("runs 10.0× slower than the ECM clock" in w for w in log.warnings)
    assert (
        "'O2' (V), 'O21' (V), 'AFR1' (8-bit ADC), 'AFR2' (8-bit ADC): not AFR or λ (narrowband "
        "O2 volts or unscaled inputs), so not a wideband: not used"
    ) in log.warnings
    assert any("'WB-AFR1' reads -8 the whole log" in r for r in log.refusals)
    assert any("'lambda2' reads 0 the whole log" in r for r in log.refusals)
    assert "front: refused" in log.wideband_sides and "rear: refused" in log.wideband_sides
    assert log.frame["engine_temp_c"].iloc[0] == 7  # CLT is °C (CLT_F 45 °F beside it)
    assert "CLT_F" in log.unmapped


# ------------------------------------------------------------------ synthetic files
def _msl(
    tmp_path: Path,
    names: list[str],
    units: list[str] | None,
    rows: list[list[object]],
    name: str = "log.msl",
    extra: tuple[str, ...] = (),
) -> Path:
    lines = [
        '"MS2Extra comms342h2: MS/Extra format 3.4.2"',
        '"Capture Date: Sat Jan 01 2022"',
        "\t".join(names),
    ]
    if units is not None:
        lines.append("\t".join(units))
    lines += ["\t".join(str(v) for v in row) for row in rows] + list(extra)
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _pull(n: int = 20) -> list[list[object]]:
    """time s, rpm, MAP kPa: a short pull."""
    return [[round(0.1 * i, 3), 2000 + 150 * i, 40 + 3 * i] for i in range(n)]


def _power_vision(tmp_path: Path) -> Path:
    """A Pro-XY CSV laid out as protocols.md §6.3 describes it (no real sample exists)."""
    signals = [
        (1, "RPM", "rpm"),
        (2, "MAP", "kPa"),
        (3, "TP", "%"),
        (4, "ET", "°F"),
        (5, "IAT", "°F"),
        (6, "WBO2 F", "AFR"),
        (7, "WBO2 R", "Lambda"),
        (8, "Advance F", "°"),
        (9, "Advance R", "°"),
        (10, "Spark Knock F", "°"),
        (11, "VSS", "mph"),
        (12, "Set Lambda", "Lambda"),
        (13, "VE Front", "%"),
    ]
    lines = ['"Dynojet Power Vision Log File"', "", '"Format:","Pro-XY CSV 1.0.0"', ""]
    lines += [f'{i},"J1850","{n.upper()}","{n}","{u}","{n}","#FF0000"' for i, n, u in signals]
    lines += ["", '"Time(ms)","Signal","Value"']
    for step in range(5):
        t = 100 * step
        values = {
            1: 2000 + 500 * step,
            2: 50 + 10 * step,
            3: 20 * step,
            4: 302,
            5: 86,
            6: 13.0 + 0.1 * step,
            7: 0.9 + 0.01 * step,
            8: 30,
            9: 28,
            10: 0,
            11: 40,
            12: 0.88,
            13: 80,
        }
        lines += [f"{t},{i},{v}" for i, v in values.items()]
    lines += ["2000,1,FA0"]  # RPM alone, in hex (0xFA0 = 4000), 1.6 s after the rest
    path = tmp_path / "pv_log.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_power_vision_csv_from_the_protocol_description(tmp_path: Path) -> None:
    log = import_log(_power_vision(tmp_path))
    assert log.source_format == "Power Vision CSV"
    assert any("unverified" in w for w in log.warnings)
    frame = log.frame
    assert frame["time_s"].tolist() == pytest.approx([0, 0.1, 0.2, 0.3, 0.4, 2.0])
    assert frame["rpm"].tolist() == [2000, 2500, 3000, 3500, 4000, 4000]
    assert any("1 values written in hex" in w for w in log.warnings)
    assert frame["engine_temp_c"].iloc[0] == pytest.approx(150.0)  # 302 °F
    assert frame["afr_front"].iloc[1] == pytest.approx(13.1)
    assert frame["afr_rear"].iloc[1] == pytest.approx(0.91 * 14.7)  # "Lambda" units
    assert frame["afr_target"].iloc[0] == pytest.approx(0.88 * 14.7)
    assert frame["spark_rear_deg"].iloc[0] == 28
    assert frame["knock_retard_front_deg"].iloc[0] == 0
    assert np.isnan(frame["map_kpa"].iloc[5])  # last MAP is 1.6 s old: empty, not held
    assert log.wideband_sides == (
        "front: 'WBO2 F' (AFR; 'F' in the name); rear: 'WBO2 R' (λ; 'R' in the name)"
    )
    assert log.unmapped == ["VE Front"]


def test_stuck_wideband_at_10_is_refused_with_the_reason(tmp_path: Path) -> None:
    rows = [[*row, 10.0, 13.2 + 0.05 * (i % 7)] for i, row in enumerate(_pull())]
    path = _msl(
        tmp_path, ["Time", "RPM", "MAP", "AFR1", "AFR2"], ["s", "rpm", "kPa", "AFR", "AFR"], rows
    )
    log = import_log(path)
    assert log.refusals == [
        "no AFR front: the wideband 'AFR1' reads 10.0 the whole log (sensor not connected?)"
    ]
    assert "afr_front" not in log.frame
    assert log.frame["afr_rear"].between(13.2, 13.6).all()
    assert "AFR1" in log.unmapped
    assert log.wideband_sides == (
        "front: refused (AFR1); rear: 'AFR2' (AFR; '2' in the name: sensor 2, the rear cylinder)"
    )


@pytest.mark.parametrize(
    ("names", "missing"),
    [
        (["Time", "MAP", "TPS"], "no rpm column"),
        (["Seconds since", "RPM", "MAP"], "no time column"),
    ],
)
def test_log_without_time_or_rpm_is_refused_in_one_line(
    tmp_path: Path, names: list[str], missing: str
) -> None:
    path = _msl(tmp_path, names, ["s", "rpm", "kPa"], _pull())
    with pytest.raises(InputError) as caught:
        import_log(path)
    message = str(caught.value)
    assert "\n" not in message  # one line, as the command line prints it (exit 2)
    assert message.startswith(f"{path}: {missing}")
    assert "import it again" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "the file is empty"),
        ("  \n\n", "the file is empty"),
        ("Time (msec);PLX Engine Speed (rpm)\n", "has a header but no data rows"),
        ("Time,(DWRT CPU) Engine RPM,(DWRT CPU) Torque\n", "has a header but no data rows"),
        ('"Dynojet Power Vision Log File"\n1,"d","RPM","RPM","rpm","",""\n', 'no "Time(ms)"'),
        ("a,b,c\n1,2,3\n", "not a log format this app reads"),
    ],
)
def test_empty_and_header_only_csv_files_are_refused(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "log.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=re.escape(expected)):
        import_log(path)


def test_time_in_an_unknown_unit_is_refused(tmp_path: Path) -> None:
    path = _msl(tmp_path, ["Time", "RPM", "MAP"], ["min", "rpm", "kPa"], _pull())
    with pytest.raises(InputError, match="time column 'Time' is in 'min'; give time in s or ms"):
        import_log(path)


def test_header_only_msl_is_refused(tmp_path: Path) -> None:
    path = _msl(tmp_path, ["Time", "RPM"], ["s", "rpm"], [])
    with pytest.raises(InputError, match="has column names but no data rows"):
        import_log(path)


@pytest.mark.parametrize("suffix", [".csv", ".msl", ".log"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_binary_garbage_is_an_input_error_never_a_traceback(
    tmp_path: Path, suffix: str, seed: int
) -> None:
    path = tmp_path / f"garbage{suffix}"
    data = random.Random(seed).randbytes(3000)
    path.write_bytes(data if seed else data.replace(b"\x00", b"\x01"))  # seed 0: no NUL byte
    with pytest.raises(InputError) as caught:
        import_log(path)
    assert str(path) in str(caught.value)


def test_unknown_format_names_the_formats_it_reads(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello\nworld\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        import_log(path)
    assert all(name in str(caught.value) for name in KNOWN_FORMATS)


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        import_log(tmp_path / "nope.msl")


def test_lambda_in_an_afr_column_is_detected_and_converted(tmp_path: Path) -> None:
    rows = [
        [*row, round(0.80 + 0.02 * i, 3), round(12.5 + 0.1 * i, 2)] for i, row in enumerate(_pull())
    ]
    path = _msl(
        tmp_path,
        ["Time", "RPM", "MAP", "AFR 1", "Lambda 2"],
        ["s", "rpm", "kPa", "", "lambda"],
        rows,
    )
    log = import_log(path)
    assert "column 'AFR 1' looks like λ (0.8 to 1.18): converted to AFR" in log.warnings
    assert any(
        w.startswith("column 'Lambda 2' is labelled λ but reads 12.5 to 14.4") for w in log.warnings
    )
    assert log.frame["afr_front"].iloc[0] == pytest.approx(0.80 * 14.7)
    assert log.frame["afr_rear"].iloc[0] == pytest.approx(12.5)


def test_afr_zero_or_negative_is_missing(tmp_path: Path) -> None:
    rows = [[*row, 0.0 if i % 4 == 0 else 13.0 + 0.1 * i] for i, row in enumerate(_pull())]
    log = import_log(
        _msl(tmp_path, ["Time", "RPM", "MAP", "AFR"], ["s", "rpm", "kPa", "AFR"], rows)
    )
    afr = log.frame["afr_front"]
    assert afr.isna().sum() == 5
    assert (afr.dropna() > 0).all()


def test_fahrenheit_and_millisecond_columns_are_converted(tmp_path: Path) -> None:
    rows = [[100 * i, 2000 + 10 * i, 50, 212 + i, 68] for i in range(12)]
    path = _msl(
        tmp_path, ["Time", "RPM", "MAP", "CLT", "IAT"], ["ms", "rpm", "kPa", "°F", "deg F"], rows
    )
    log = import_log(path)
    assert log.frame["time_s"].iloc[3] == pytest.approx(0.3)
    assert log.frame["engine_temp_c"].iloc[0] == pytest.approx(100.0)
    assert log.frame["iat_c"].iloc[0] == pytest.approx(20.0)
    assert log.mapped["engine_temp_c"] == "CLT [°F]"


def test_time_going_backwards_drops_those_rows_with_a_warning(tmp_path: Path) -> None:
    times = [0.0, 0.1, 0.2, 0.15, 0.2, 0.3, 0.4]
    rows = [[t, 2000 + i, 50] for i, t in enumerate(times)]
    log = import_log(_msl(tmp_path, ["Time", "RPM", "MAP"], ["s", "rpm", "kPa"], rows))
    assert log.frame["time_s"].tolist() == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    assert log.frame["rpm"].tolist() == [2000, 2001, 2002, 2005, 2006]
    assert any(
        "repeats or goes backwards at 2 rows (first at data row 4)" in w for w in log.warnings
    )


def test_mark_lines_are_skipped(tmp_path: Path) -> None:
    path = _msl(
        tmp_path,
        ["Time", "RPM", "MAP"],
        ["s", "rpm", "kPa"],
        _pull(),
        extra=("MARK 000 - Manual - 12:00:00", "0.0\tbad"),
    )
    log = import_log(path)
    assert log.rows == 20
    assert "1 MARK lines (TunerStudio markers) skipped" in log.warnings


def test_romraider_with_comma_separator_and_engine_channels(tmp_path: Path) -> None:
    header = (
        "Time (msec),Engine Speed (rpm),Manifold Absolute Pressure (psi),"
        "Coolant Temperature (F),Throttle Opening Angle (%),AEM UEGO AFR (AFR),"
        "Manifold Relative Pressure (psi)"
    )
    rows = [f"{200 * i},{3000 + 100 * i},14.7,190,{10 + i},{12.8 + 0.1 * i},0.0" for i in range(12)]
    path = tmp_path / "romraiderlog.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    log = import_log(path)
    assert log.source_format == "RomRaider CSV"
    assert log.frame["map_kpa"].iloc[0] == pytest.approx(101.35, abs=0.01)
    assert log.frame["engine_temp_c"].iloc[0] == pytest.approx((190 - 32) * 5 / 9)
    assert log.frame["afr_front"].iloc[2] == pytest.approx(13.0)
    assert log.unmapped == ["Manifold Relative Pressure (psi)"]  # relative: not MAP


@pytest.mark.parametrize(
    ("name", "side"),
    [
        ("afr 1", "front"),
        ("afr 2", "rear"),
        ("ego1", "front"),
        ("ego2", "rear"),
        ("o2 f", "front"),
        ("wbo2 r", "rear"),
        ("front afr", "front"),
        ("rear lambda", "rear"),
        ("afr cyl1", "front"),
        ("lambda cyl 2", "rear"),
        ("air/fuel ratio 1", "front"),
        ("o21", "front"),
        ("o2", ""),
        ("wbo2", ""),
        ("afr", ""),
        ("plx o2 - wideband", ""),
        ("gego", None),
        ("afr target", None),
        ("ego cor1", None),
        ("o2 adc", None),
        ("tpsadc", None),
        ("sensor ready 1", None),
    ],
)
def test_wideband_side_comes_from_the_name(name: str, side: str | None) -> None:
    assert wideband_side(name) == side


def test_unsided_second_wideband_is_not_guessed(tmp_path: Path) -> None:
    rows = [[*row, 13.0 + 0.1 * i, 13.5 + 0.1 * i] for i, row in enumerate(_pull())]
    log = import_log(
        _msl(
            tmp_path,
            ["Time", "RPM", "MAP", "AFR", "Wideband"],
            ["s", "rpm", "kPa", "AFR", "AFR"],
            rows,
        )
    )
    assert log.mapped["afr_front"] == "AFR [AFR]"
    assert "afr_rear" not in log.frame
    assert "Wideband" in log.unmapped
    assert any("'Wideband' looks like a wideband but names no cylinder" in w for w in log.warnings)
