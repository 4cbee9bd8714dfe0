"""A small MLVLG (``.mlg``) writer for tests, written from the format description (EFI Analytics
"MLG_Binary_LogFormat_1.0/2.0"), not from the importer: big-endian; header "MLVLG\\0", version
u16, capture time u32, info-data start (v1 u16, v2 u32), data begin u32, record length u16,
field count u16; 55-byte field descriptors (v2: 89, a 34-byte category after them); blocks of
type u8, counter u8, time stamp u16 (10 µs), then a record and its checksum (the sum of its
bytes mod 256), or a 50-byte marker message."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

RAW_FORMAT = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "q", 7: "f", 10: "B", 11: "H",
              12: "I"}
TYPE_NAMES = {0: "U08", 1: "S08", 2: "U16", 3: "S16", 4: "U32", 5: "S32", 6: "S64", 7: "F32",
              10: "U08 bits", 11: "U16 bits", 12: "U32 bits"}


@dataclass(frozen=True)
class Field:
    name: str
    units: str = ""
    type_code: int = 7
    scale: float = 1.0
    transform: float = 0.0
    digits: int = 0
    style: int = 0
    category: str = ""
    bits: int = 0

    @property
    def size(self) -> int:
        return struct.calcsize(">" + RAW_FORMAT[self.type_code])

    def descriptor(self, version: int) -> bytes:
        head = struct.pack(">B34s10sB", self.type_code, self.name.encode(), self.units.encode(),
                           self.style)
        if self.type_code >= 10:  # bit style, bit-names index, bits, 3 unused bytes
            tail = struct.pack(">BIB3x", 0, 0, self.bits)
        else:
            tail = struct.pack(">ffb", self.scale, self.transform, self.digits)
        out = head + tail
        assert len(out) == 55
        return out + struct.pack("34s", self.category.encode()) if version == 2 else out


def record(fields: Sequence[Field], raws: Sequence[float], counter: int, stamp: int) -> bytes:
    """A data block: raws are the stored values (before scale and transform)."""
    body = b"".join(struct.pack(">" + RAW_FORMAT[f.type_code], r)
                    for f, r in zip(fields, raws, strict=True))
    return (struct.pack(">BBH", 0, counter & 0xFF, stamp & 0xFFFF) + body
            + bytes([sum(body) & 0xFF]))


def marker(counter: int, stamp: int, message: str) -> bytes:
    return struct.pack(">BBH50s", 1, counter & 0xFF, stamp & 0xFFFF, message.encode())


def mlg_bytes(version: int, fields: Sequence[Field], blocks: Sequence[bytes],
              info: bytes = b'"DynoAI test writer"\n\0', captured: int = 1_700_000_000) -> bytes:
    header_size = 22 if version == 1 else 24
    descriptors = b"".join(f.descriptor(version) for f in fields)
    info_at = header_size + len(descriptors)
    begin = info_at + len(info)
    layout = ">6sHIHIHH" if version == 1 else ">6sHIIIHH"
    header = struct.pack(layout, b"MLVLG", version, captured, info_at, begin,
                         sum(f.size for f in fields), len(fields))
    assert len(header) == header_size
    return header + descriptors + info + b"".join(blocks)


# Canonical channel -> how TunerStudio would log it (MS3/Speeduino names and storage).
TUNERSTUDIO_FIELDS = {
    "time_s": Field("Time", "s", 4, scale=0.001, digits=3),
    "rpm": Field("RPM", "rpm", 2),
    "map_kpa": Field("MAP", "kPa", 2, scale=0.1, digits=1),
    "tps_pct": Field("TPS", "%", 2, scale=0.1, digits=1),
    "afr_front": Field("AFR1", "AFR", 7, digits=2),
    "afr_rear": Field("AFR2", "AFR", 7, digits=2),
    "afr_target": Field("AFR Target 1", "AFR", 0, scale=0.1, digits=1),
    "engine_temp_c": Field("CLT", "°C", 3, scale=0.1, digits=1),
    "baro_kpa": Field("Baro", "kPa", 2, scale=0.1, digits=1),
}


def log_to_mlg(columns: dict[str, object], version: int = 2,
               markers: dict[int, str] | None = None) -> bytes:
    """Canonical columns (time_s first, seconds) as an .mlg, each channel stored as TunerStudio
    would; ``markers`` puts a marker block after the given sample numbers, at their time."""
    names = [c for c in TUNERSTUDIO_FIELDS if c in columns]
    fields = [TUNERSTUDIO_FIELDS[c] for c in names]
    times = list(columns["time_s"])  # type: ignore[call-overload]
    blocks = []
    for number, seconds in enumerate(times):
        raws = []
        for channel, one in zip(names, fields, strict=True):
            value = float(columns[channel][number])  # type: ignore[index]
            stored = value / one.scale - one.transform
            raws.append(stored if one.type_code == 7 else int(round(stored)))
        stamp = int(round(seconds / 1e-5))
        blocks.append(record(fields, raws, number, stamp))
        if markers and number in markers:
            blocks.append(marker(number, stamp, markers[number]))
    return mlg_bytes(version, fields, blocks)
