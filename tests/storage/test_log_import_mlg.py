"""TunerStudio / MegaLogViewer binary logs (.mlg): the real Speeduino v1 file in shared/realdata
decoded here by hand from its bytes, and v1/v2 files written from the format description."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.storage.log_import import KNOWN_FORMATS, import_log
from dynoai_desktop.storage.log_import.mlg_format import parse_mlg
from tests.realdata import REALDATA
from tests.storage.mlg_writer import TYPE_NAMES, Field, marker, mlg_bytes, record

REAL_MLG = "ultralog_speeduino.mlg"
real = pytest.mark.skipif(
    REALDATA is None or not (REALDATA / REAL_MLG).is_file(),
    reason="shared/realdata/ultralog_speeduino.mlg is not beside the repo",
)

# ------------------------------------------------------------------ the real v1 file
_RAW = {0: ">B", 1: ">b", 2: ">H", 3: ">h", 4: ">I", 5: ">i", 6: ">q", 7: ">f"}
# Canonical channel -> the Speeduino field it comes from (units the same on both sides).
_SAME_UNIT = {"rpm": "RPM", "map_kpa": "MAP", "tps_pct": "TPS", "afr_target": "AFR Target",
              "spark_front_deg": "Advance", "spark_rear_deg": "Advance",
              "baro_kpa": "Baro Pressure"}
# Temperatures with no unit in the file (F32 'CLT' 179.6, 'IAT' 69.8): °C or °F by the importer.
_TEMPERATURES = {"engine_temp_c": "CLT", "iat_c": "IAT"}


def _by_hand(data: bytes) -> tuple[list[str], list[list[float]], int]:
    """(field names, every record's values, record count) read with struct alone: the v1
    header is 22 bytes, each field descriptor 55, each block 4 + record + 1 checksum."""
    magic, version, _time, _info, begin, length, count = struct.unpack_from(">6sHIHIHH", data, 0)
    assert (magic, version) == (b"MLVLG\0", 1)
    names, layouts = [], []
    for index in range(count):
        at = 22 + 55 * index
        names.append(data[at + 1 : at + 35].split(b"\0")[0].decode())
        scale, transform = struct.unpack_from(">ff", data, at + 46)
        layouts.append((_RAW[data[at]], scale, transform))
    assert sum(struct.calcsize(f) for f, _, _ in layouts) == length
    stride = 4 + length + 1
    assert (len(data) - begin) % stride == 0  # only data blocks, none cut short
    records = (len(data) - begin) // stride
    rows = []
    for number in range(records):
        at = begin + number * stride
        assert data[at] == 0  # block type: a record (no markers in this file)
        body = data[at + 4 : at + 4 + length]
        assert sum(body) % 256 == data[at + 4 + length]  # its checksum
        values, offset = [], 0
        for layout, scale, transform in layouts:
            (raw,) = struct.unpack_from(layout, body, offset)
            offset += struct.calcsize(layout)
            values.append((raw + transform) * scale)
        rows.append(values)
    return names, rows, records


@real
def test_the_real_speeduino_v1_log_first_and_last_three_records_match_the_bytes() -> None:
    assert REALDATA is not None
    path = REALDATA / REAL_MLG
    names, rows, records = _by_hand(path.read_bytes())
    decoded = parse_mlg(path, path.read_bytes())
    log = import_log(path)
    assert (records, log.rows, decoded.version) == (139, 139, 1)
    assert log.source_format == "TunerStudio MLG v1"
    assert [f.name for f in decoded.fields] == names and len(names) == 59
    time = names.index("Time")
    for number in (0, 1, 2, records - 3, records - 2, records - 1):
        for index, name in enumerate(names):  # every field, by the importer's own decoder
            assert decoded.values[index][number] == pytest.approx(rows[number][index], rel=1e-6), (
                number, name)
        frame = log.frame.iloc[number]
        assert frame["time_s"] == pytest.approx(rows[number][time] - rows[0][time], abs=1e-6)
        for channel, name in _SAME_UNIT.items():
            assert frame[channel] == pytest.approx(rows[number][names.index(name)], rel=1e-6), (
                number, channel)
        for channel, name in _TEMPERATURES.items():
            raw = rows[number][names.index(name)]
            in_c = raw if "[°C]" in log.mapped[channel] else (raw - 32.0) / 1.8
            assert frame[channel] == pytest.approx(in_c, rel=1e-6), (number, channel)
    # Spot values a tuner can check in MegaLogViewer: the last record.
    last = log.frame.iloc[-1]
    assert (last["rpm"], last["map_kpa"], last["afr_target"]) == (214, 312, pytest.approx(25.5))
    assert last["time_s"] == pytest.approx(9.26, abs=1e-6)
    assert decoded.info.startswith('"speeduino 202006-dev')
    assert decoded.bad_checksums == 0 and log.markers == ()
    assert not any("checksum" in w or "cut short" in w for w in log.warnings)


@real
def test_the_real_mlg_says_its_afr_is_stuck_like_any_other_log() -> None:
    assert REALDATA is not None
    log = import_log(REALDATA / REAL_MLG)
    assert "afr_front" not in log.frame
    assert any("'AFR' reads 25.5 the whole log" in r for r in log.refusals)
    for column in ("SecL", "Gego", "PW", "Aux15"):
        assert column in log.unmapped


# ------------------------------------------------------------------ files built here
# Every field type, with scales and transforms as TunerStudio's and rusEFI's writers use them.
FIELDS = (
    Field("Time", "s", 4, scale=0.001, digits=3, category="Main"),  # U32 ms
    Field("RPM", "rpm", 2, category="Engine"),  # U16
    Field("MAP", "kPa", 2, scale=0.1, digits=1, category="Engine"),  # U16 × 0.1
    Field("TPS", "%", 0, scale=0.5, category="Engine"),  # U08 × 0.5
    Field("CLT", "°C", 0, transform=-40.0, category="Sensors"),  # U08 - 40 (Speeduino)
    Field("IAT", "C", 1, category="Sensors"),  # S08
    Field("Advance", "deg", 3, scale=0.1, digits=1, style=0),  # S16 × 0.1
    Field("AFR1", "AFR", 7, digits=2, category="Fuel"),  # F32
    Field("AFR2", "AFR", 0, scale=0.1, digits=1, category="Fuel"),  # U08 × 0.1
    Field("Fuel used", "ml", 5, scale=0.01, transform=-100.0),  # S32, (raw - 100) × 0.01
    Field("Trip", "m", 6),  # S64
    Field("Status", "bits", 10, style=2, bits=8, category="Flags"),  # U08 bit field
    Field("Outputs", "bits", 11, style=2, bits=12),  # U16 bit field
    Field("Errors", "bits", 12, style=2, bits=32),  # U32 bit field
)
ROWS = 12
STAMP_STEP = 1000  # 10 ms in 10 µs ticks


def _raws(number: int) -> list[float]:
    return [
        10 * number,  # Time: 10 ms steps
        3000 + 100 * number,  # RPM
        600 + 10 * number,  # MAP 60.0 kPa up
        80,  # TPS 40 %
        130,  # CLT 90 °C
        -5 + number,  # IAT
        -25 + 5 * number,  # Advance -2.5° up
        12.5 + 0.1 * number,  # AFR1
        130 + number,  # AFR2 13.0 up
        -2_000_000_000,  # Fuel used (S32 low end)
        -(2**40) - number,  # Trip (S64)
        0b1010_0101,  # Status
        0x0F0F,  # Outputs
        0xDEADBEEF,  # Errors
    ]


def _expected(number: int) -> list[float]:
    return [(raw + f.transform) * f.scale for f, raw in zip(FIELDS, _raws(number), strict=True)]


def _blocks(marker_after: int | None = 4, message: str = "WOT pull 1") -> list[bytes]:
    blocks = []
    for number in range(ROWS):
        blocks.append(record(FIELDS, _raws(number), number, 50_000 + number * STAMP_STEP))
        if number == marker_after:  # halfway to the next record
            blocks.append(marker(number, 50_000 + number * STAMP_STEP + STAMP_STEP // 2, message))
    return blocks


def _write(tmp_path: Path, version: int, blocks: list[bytes], name: str = "log.mlg",
           fields: tuple[Field, ...] = FIELDS) -> Path:
    path = tmp_path / name
    path.write_bytes(mlg_bytes(version, fields, blocks))
    return path


@pytest.mark.parametrize("version", [1, 2])
def test_every_field_type_with_its_scale_and_transform_decodes(tmp_path: Path,
                                                               version: int) -> None:
    path = _write(tmp_path, version, _blocks())
    decoded = parse_mlg(path, path.read_bytes())
    assert decoded.version == version
    assert [f.type_name for f in decoded.fields] == [
        TYPE_NAMES[f.type_code].replace("bits", "bit field") for f in FIELDS]
    for index, field in enumerate(FIELDS):
        expected = [_expected(n)[index] for n in range(ROWS)]
        np.testing.assert_allclose(decoded.values[index], expected, rtol=1e-7, err_msg=field.name)
    assert decoded.values[2][0] == 60.0  # 600 × 0.1 read as the decimal meant, not 60.0000009
    by_name = {f.name: f for f in decoded.fields}
    assert (by_name["MAP"].units, by_name["MAP"].digits) == ("kPa", 1)
    assert (by_name["Status"].display_style, by_name["Outputs"].bits) == (2, 12)
    assert by_name["CLT"].category == ("Sensors" if version == 2 else "")
    assert decoded.info == '"DynoAI test writer"'
    assert decoded.captured_unix_s == 1_700_000_000


@pytest.mark.parametrize("version", [1, 2])
def test_a_built_log_maps_onto_canonical_channels_with_its_marker(tmp_path: Path,
                                                                  version: int) -> None:
    log = import_log(_write(tmp_path, version, _blocks()))
    assert log.source_format == f"TunerStudio MLG v{version}"
    assert log.rows == ROWS
    frame = log.frame
    np.testing.assert_allclose(frame["time_s"], np.arange(ROWS) * 0.01, atol=1e-12)
    np.testing.assert_allclose(frame["rpm"], 3000 + 100 * np.arange(ROWS))
    np.testing.assert_allclose(frame["map_kpa"], 60.0 + np.arange(ROWS))
    np.testing.assert_allclose(frame["tps_pct"], 40.0)
    np.testing.assert_allclose(frame["engine_temp_c"], 90.0)
    np.testing.assert_allclose(frame["iat_c"], -5.0 + np.arange(ROWS))
    np.testing.assert_allclose(frame["spark_front_deg"], -2.5 + 0.5 * np.arange(ROWS))
    np.testing.assert_allclose(frame["afr_front"], 12.5 + 0.1 * np.arange(ROWS), rtol=1e-6)
    np.testing.assert_allclose(frame["afr_rear"], 13.0 + 0.1 * np.arange(ROWS))
    assert log.mapped["afr_front"] == "AFR1 [AFR]" and log.mapped["afr_rear"] == "AFR2 [AFR]"
    assert {"Fuel used", "Trip", "Status", "Outputs", "Errors"} <= set(log.unmapped)
    # The marker sits halfway between records 4 and 5 by its own time stamp: 0.045 s.
    assert [(m.time_s, m.note) for m in log.markers] == [(pytest.approx(0.045), "WOT pull 1")]
    assert not any("checksum" in w for w in log.warnings)


def test_a_record_with_a_bad_checksum_is_skipped_and_counted(tmp_path: Path) -> None:
    blocks = _blocks()
    bad = 7 + 1  # the eighth record (one marker block before it)
    damaged = bytearray(blocks[bad])
    damaged[4 + 2] ^= 0x40  # one bit of RPM flipped: the sum no longer matches
    blocks[bad] = bytes(damaged)
    path = _write(tmp_path, 2, blocks)
    offset = len(mlg_bytes(2, FIELDS, blocks[:bad]))
    log = import_log(path)
    assert log.rows == ROWS - 1
    assert 3700 not in set(log.frame["rpm"])  # record 7 (3700 rpm) is not in the frame
    np.testing.assert_allclose(log.frame["rpm"].iloc[6:8], [3600, 3800])
    assert f"1 of {ROWS} records fail their checksum (first at byte {offset}): skipped" in (
        log.warnings)
    assert [m.time_s for m in log.markers] == [pytest.approx(0.045)]


def test_a_damaged_block_type_is_skipped_to_the_next_good_record(tmp_path: Path) -> None:
    blocks = _blocks(marker_after=None)
    damaged = bytearray(blocks[3])
    damaged[0] = 9  # neither a record (0) nor a marker (1)
    blocks[3] = bytes(damaged)
    log = import_log(_write(tmp_path, 1, blocks))
    assert log.rows == ROWS - 1
    assert 3300 not in set(log.frame["rpm"])
    assert any(f"{len(blocks[3])} bytes at byte" in w and "block type 9" in w
               and "skipped" in w for w in log.warnings)


def test_a_log_cut_short_in_its_last_record_keeps_the_records_before(tmp_path: Path) -> None:
    path = _write(tmp_path, 2, _blocks())
    path.write_bytes(path.read_bytes()[:-7])
    log = import_log(path)
    assert log.rows == ROWS - 1
    assert any("the last record is cut short" in w for w in log.warnings)


def test_without_a_time_field_time_comes_from_the_block_stamps_with_their_wraps(
        tmp_path: Path) -> None:
    fields = (Field("RPM", "rpm", 2), Field("MAP", "kPa", 2))
    step = 30_000  # 0.3 s: the u16 of 10 µs ticks wraps every 0.65536 s
    blocks = [record(fields, [1000 + n, 50], n, 60_000 + n * step) for n in range(10)]
    log = import_log(_write(tmp_path, 1, blocks, fields=fields))
    np.testing.assert_allclose(log.frame["time_s"], np.arange(10) * 0.3, atol=1e-9)
    assert log.mapped["time_s"] == "Timestamp [s]"
    assert any("no Time field" in w for w in log.warnings)


def test_mlvlg_magic_is_recognised_whatever_the_extension(tmp_path: Path) -> None:
    path = _write(tmp_path, 2, _blocks(), name="datalog.bin")
    assert import_log(path).rows == ROWS
    assert "TunerStudio/MegaLogViewer binary MLG (.mlg)" in KNOWN_FORMATS


# ------------------------------------------------------------------ files refused
def _refused(path: Path) -> str:
    with pytest.raises(InputError) as caught:
        import_log(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    return message


@pytest.mark.parametrize("cut", [4, 20, 22 + 55 * 3])
def test_a_file_cut_short_in_its_header_is_refused(tmp_path: Path, cut: int) -> None:
    path = _write(tmp_path, 1, _blocks())
    path.write_bytes(path.read_bytes()[:cut])
    assert "cut short" in _refused(path) and "copy" in _refused(path)


def test_a_file_with_no_complete_record_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, 1, [_blocks()[0][:-3]])
    message = _refused(path)
    assert "no readable data record" in message and "record the log again" in message


def test_a_wrong_magic_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "renamed.mlg"
    path.write_bytes(b"MLVLX\0" + mlg_bytes(1, FIELDS, _blocks())[6:])
    message = _refused(path)
    assert "not a TunerStudio/MegaLogViewer binary log" in message and "MLVLX" in message


def test_zero_fields_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, 2, [], fields=())
    assert "lists no fields" in _refused(path)


def test_an_unknown_format_version_is_refused(tmp_path: Path) -> None:
    data = bytearray(mlg_bytes(2, FIELDS, _blocks()))
    data[6:8] = struct.pack(">H", 3)
    path = tmp_path / "v3.mlg"
    path.write_bytes(bytes(data))
    assert "format version 3" in _refused(path) and ".msl" in _refused(path)


def test_every_record_failing_its_checksum_is_refused(tmp_path: Path) -> None:
    blocks = [b[:-1] + bytes([(b[-1] + 1) & 0xFF]) for b in _blocks(marker_after=None)]
    assert "fails its checksum" in _refused(_write(tmp_path, 1, blocks))


def test_an_empty_mlg_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.mlg"
    path.write_bytes(b"")
    assert "the file is empty" in _refused(path)
