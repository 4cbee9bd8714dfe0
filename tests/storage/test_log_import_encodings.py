"""Text files in every encoding a shop's tools write (UTF-8 with or without BOM, UTF-16 LE/BE
with or without BOM, Windows-1252, Latin-1) read as their UTF-8 twin, and say how they were
read; binary files are still refused (storage/text_encoding.py, docs/log-import.md)."""

from __future__ import annotations

import codecs
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.storage.log_files import read_any_log
from dynoai_desktop.storage.log_import import import_log
from dynoai_desktop.storage.table_files import read_table_csv
from dynoai_desktop.storage.text_encoding import binary_offset, decode_text

from .test_log_import import MS1, REALDATA, ROMRAIDER, WINPEP, real

BUELL = "ecmdroid_Buell_BUE2D_log.msl"

# name -> (how the text becomes bytes, what the import says about it; None: nothing)
ENCODINGS: dict[str, tuple[Callable[[str], bytes], str | None]] = {
    "UTF-8": (lambda t: t.encode("utf-8"), None),
    "UTF-8 BOM": (lambda t: codecs.BOM_UTF8 + t.encode("utf-8"), None),
    "UTF-16 LE BOM": (
        lambda t: codecs.BOM_UTF16_LE + t.encode("utf-16-le"),
        "read as UTF-16 LE text (byte-order mark)",
    ),
    "UTF-16 BE BOM": (
        lambda t: codecs.BOM_UTF16_BE + t.encode("utf-16-be"),
        "read as UTF-16 BE text (byte-order mark)",
    ),
    "UTF-16 LE": (
        lambda t: t.encode("utf-16-le"),
        "read as UTF-16 LE text (no byte-order mark; a zero byte at every odd offset)",
    ),
    "UTF-16 BE": (
        lambda t: t.encode("utf-16-be"),
        "read as UTF-16 BE text (no byte-order mark; a zero byte at every even offset)",
    ),
    "UTF-32 LE BOM": (
        lambda t: codecs.BOM_UTF32_LE + t.encode("utf-32-le"),
        "read as UTF-32 LE text (byte-order mark)",
    ),
    # Latin-1 and Windows-1252 give "°" and "Ø" the same byte (0xB0, 0xD8): one reading
    "Windows-1252": (lambda t: t.encode("cp1252"), "read as Windows-1252 text (not UTF-8: byte "),
    "Latin-1": (lambda t: t.encode("latin-1"), "read as Windows-1252 text (not UTF-8: byte "),
}

ROMRAIDER_TEXT = (
    "Time (msec),Engine Speed (rpm),Manifold Absolute Pressure (kPa),"
    "Intake Air Temperature (°F),Coolant Temperature (°F),AEM UEGO AFR (AFR)\n"
    + "".join(f"{100 * i},{2000 + 100 * i},{40 + 2 * i},{86 + i},{212 - i},{13 + 0.1 * i:.1f}\n"
              for i in range(12))
)
WINPEP_TEXT = (
    "Time,(DWRT CPU) Engine RPM (rpm),(DWRT CPU) Torque (ft-lbs),(DWRT CPU) Power (hp),"
    "(DWRT CPU) Air Temp (°F),(DWRT CPU) Ø Note\n"
    + "".join(f"{0.1 * i:.1f},{2000 + 100 * i},{80 + i},{30 + i},{77 + i},0\n" for i in range(12))
)
MSL_TEXT = (
    '"MS2Extra comms342h2: MS/Extra format 3.4.2"\n"Capture Date: Sat Jan 01 2022 (Ø 90 mm)"\n'
    "Time\tRPM\tMAP\tCLT\tIAT\tAFR\ns\trpm\tkPa\t°F\t°F\tAFR\n"
    + "".join(f"{0.1 * i:.1f}\t{2000 + 100 * i}\t{40 + i}\t{212 + i}\t{86 + i}\t"
              f"{12.5 + 0.1 * i:.1f}\n" for i in range(12))
)
LOGS = {"romraider.csv": ROMRAIDER_TEXT, "winpep.csv": WINPEP_TEXT, "log.msl": MSL_TEXT}


def _twins(tmp_path: Path, name: str, encoding: str) -> tuple[Path, Path]:
    """The log written in ``encoding`` and its UTF-8 twin."""
    text = LOGS[name]
    encoded, utf8 = tmp_path / "encoded", tmp_path / "utf8"
    encoded.mkdir()
    utf8.mkdir()
    (encoded / name).write_bytes(ENCODINGS[encoding][0](text))
    (utf8 / name).write_bytes(text.encode("utf-8"))
    return encoded / name, utf8 / name


@pytest.mark.parametrize("encoding", list(ENCODINGS))
@pytest.mark.parametrize("name", list(LOGS))
def test_a_log_in_any_text_encoding_imports_as_its_utf8_twin_and_says_how(
    tmp_path: Path, name: str, encoding: str
) -> None:
    path, twin = _twins(tmp_path, name, encoding)
    log, expected = import_log(path), import_log(twin)
    pd.testing.assert_frame_equal(log.frame, expected.frame)
    assert log.mapped == expected.mapped
    assert any("[°F]" in source for source in log.mapped.values())  # the unit sign read right
    notice = ENCODINGS[encoding][1]
    read_as = [w for w in log.warnings if w.startswith("read as ")]
    if notice is None:
        assert read_as == []
        assert log.warnings == expected.warnings
    else:
        assert len(read_as) == 1 and read_as[0].startswith(notice)
        assert [w for w in log.warnings if w not in read_as] == expected.warnings


def test_windows_1252_notice_shows_the_byte_and_what_it_became(tmp_path: Path) -> None:
    path = tmp_path / "log.msl"
    path.write_bytes(MSL_TEXT.encode("cp1252"))
    offset = MSL_TEXT.encode("cp1252").index(b"\xd8")
    assert import_log(path).warnings[0] == (
        f"read as Windows-1252 text (not UTF-8: byte 0xD8 at offset {offset}, read as 'Ø')"
    )


def test_a_byte_windows_1252_does_not_define_is_read_as_latin_1(tmp_path: Path) -> None:
    path = tmp_path / "log.msl"
    text = MSL_TEXT.replace("Ø 90 mm", "\x81")
    path.write_bytes(text.encode("latin-1"))
    log = import_log(path)
    assert log.warnings[0].startswith("read as Latin-1 text (not UTF-8: byte 0x81 at offset")
    assert log.frame["iat_c"].iloc[0] == pytest.approx(30.0)


def test_utf8_with_a_damaged_byte_stays_utf8_and_says_so(tmp_path: Path) -> None:
    """A stray 0xB0 in a UTF-8 file does not turn its '°F' units into 'Â°F'."""
    data = MSL_TEXT.encode("utf-8").replace(b"Jan", b"J\xb0n")
    path = tmp_path / "log.msl"
    path.write_bytes(data)
    log = import_log(path)
    assert log.warnings[0] == (
        f"read as UTF-8 text (UTF-8 except 1 byte that cannot be read, the first at offset "
        f"{data.index(b'J') + 1})"
    )
    assert log.mapped["iat_c"] == "IAT [°F]"


@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_a_log_csv_in_any_text_encoding_reads_as_its_utf8_twin(
    tmp_path: Path, encoding: str
) -> None:
    text = "time_s,rpm,map_kpa,afr_front,note\n" + "".join(
        f"{0.1 * i:.1f},{2000 + 50 * i},{50 + i},{13.1},Ø °F\n" for i in range(8)
    )
    path, twin = tmp_path / "run.csv", tmp_path / "twin.csv"
    path.write_bytes(ENCODINGS[encoding][0](text))
    twin.write_text(text, encoding="utf-8")
    read, expected = read_any_log(path), read_any_log(twin)
    pd.testing.assert_frame_equal(read.frame, expected.frame)
    notice = ENCODINGS[encoding][1]
    if notice is None:
        assert read.warnings == []
    else:
        assert len(read.warnings) == 1 and read.warnings[0].startswith(notice)


@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_a_table_csv_in_any_text_encoding_reads_as_its_utf8_twin(
    tmp_path: Path, encoding: str
) -> None:
    text = "# name=VE Ø front; units=%\nrpm\\map_kpa,20,30\n1000,40,45.5\n2000,50,55\n"
    path = tmp_path / "ve.csv"
    path.write_bytes(ENCODINGS[encoding][0](text))
    table = read_table_csv(path)
    assert table.name == "VE Ø front"
    assert table.values.tolist() == [[40, 45.5], [50, 55]]


def test_dynoai_convert_reads_a_utf16_table_and_writes_utf8(tmp_path: Path) -> None:
    from dynoai_desktop.cli import main

    text = "# name=VE Ø front; units=%\nrpm\\map_kpa,20,30\n1000,40,45.5\n2000,50,55\n"
    source, out = tmp_path / "excel.csv", tmp_path / "out.csv"
    source.write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    assert main(["convert", str(source), str(out)]) == 0
    assert out.read_bytes().decode("utf-8").startswith("# name=VE Ø front; units=%\n")


# ------------------------------------------------------------------ still refused
@pytest.mark.parametrize(
    "data",
    [
        b"Time,RPM\n0,2000\n" + b"\x00" * 512,  # a logger's zero-filled tail
        bytes(range(1, 8)) * 100,  # control bytes, no NUL
        b"\x01\x00\x02\x00\x03\x00" * 200,  # UTF-16's zero pattern, but control characters
        b"\xff\xfe\x01\x00\x02\x00" * 100,  # a UTF-16 mark, then control characters
    ],
    ids=["nul-tail", "control-bytes", "utf16-pattern-controls", "utf16-bom-controls"],
)
def test_binary_files_are_still_refused(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "log.csv"
    path.write_bytes(data)
    with pytest.raises(InputError, match=r"not a text log \(binary bytes at offset \d+\); "
                       "export the log as CSV or MSL text"):
        import_log(path)


def test_binary_offset_is_the_byte_in_the_file() -> None:
    data = b"\xff\xfe" + "Time,RPM\n".encode("utf-16-le") + b"\x01\x00" * 50
    assert binary_offset(decode_text(data)) == 2 + 2 * len("Time,RPM\n")


# ------------------------------------------------------------------ real files unchanged
@real
@pytest.mark.parametrize("name", [WINPEP, ROMRAIDER, MS1, BUELL])
def test_real_logs_are_utf8_and_import_without_an_encoding_notice(name: str) -> None:
    assert REALDATA is not None
    data = (REALDATA / name).read_bytes()
    assert decode_text(data).is_utf8
    assert not any(w.startswith("read as ") for w in import_log(REALDATA / name).warnings)
