"""The MLVLG binary layout of TunerStudio / MegaLogViewer ``.mlg`` logs, versions 1 and 2.

From EFI Analytics' "MLG_Binary_LogFormat_1.0.pdf" and "_2.0.pdf" as rusEFI's writer
(``binary_mlg_logging.cpp``, ``mlg_types.h``) and the open readers (mlg-converter, UltraLog)
apply them; checked byte by byte against a real Speeduino v1 file. Everything is big-endian.

Header: ``"MLVLG\\0"``, format version u16, capture time u32 (Unix seconds), info-data start
(v1 u16, v2 u32), data begin u32, record length u16, number of fields u16: 22 bytes in v1, 24
in v2. Then one descriptor per field, 55 bytes in v1 and 89 in v2 (the same 55 plus a 34-byte
category): type u8, name[34], units[10], display style u8, then for a scalar scale f32,
transform f32, digits s8; for a bit field its bit style u8, bit-names index u32, bits u8 and 3
unused bytes. The value of a scalar is ``(raw + transform) * scale``. From "data begin", blocks:
type u8 (0 a record, 1 a marker), a rolling counter u8, a time stamp u16 in 10 µs ticks, then
a record (the fields in order, ``record length`` bytes) and a one-byte checksum, the sum of the
record's bytes mod 256; or a marker's 50-byte message.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dynoai_desktop.core.errors import InputError

MAGIC = b"MLVLG\0"
TICK_S = 1e-5  # block time stamps count 10 µs
WRAP_TICKS = 65536  # ... in a u16, so they wrap every 0.65536 s
MARKER_BYTES = 50
HEADERS = {1: struct.Struct(">6sHIHIHH"), 2: struct.Struct(">6sHIIIHH")}
DESCRIPTOR_BYTES = {1: 55, 2: 89}
# Field type code -> (name, numpy dtype of the raw value). 10-12 are bit fields.
FIELD_TYPES: dict[int, tuple[str, str]] = {
    0: ("U08", "u1"),
    1: ("S08", "i1"),
    2: ("U16", ">u2"),
    3: ("S16", ">i2"),
    4: ("U32", ">u4"),
    5: ("S32", ">i4"),
    6: ("S64", ">i8"),
    7: ("F32", ">f4"),
    10: ("U08 bit field", "u1"),
    11: ("U16 bit field", ">u2"),
    12: ("U32 bit field", ">u4"),
}
DISPLAY_STYLES = (
    "Float", "Hex", "bits", "Date", "On/Off", "Yes/No", "High/Low", "Active/Inactive", "True/False"
)
_RESYNC_BYTES = 65536  # how far past an unreadable block a good record is looked for


@dataclass(frozen=True)
class MlgField:
    """One logged channel as its descriptor gives it."""

    name: str
    units: str
    type_code: int
    display_style: int
    scale: float = 1.0
    transform: float = 0.0
    digits: int = 0
    category: str = ""
    """v2 only: the group MegaLogViewer shows the field under ("" in v1)."""
    bits: int = 0
    """Bit fields only: how many bits are used (their value is the raw integer)."""

    @property
    def type_name(self) -> str:
        return FIELD_TYPES[self.type_code][0]

    @property
    def is_bit_field(self) -> bool:
        return self.type_code >= 10

    @property
    def size(self) -> int:
        return np.dtype(FIELD_TYPES[self.type_code][1]).itemsize


@dataclass(frozen=True, eq=False)
class MlgLog:
    """A decoded ``.mlg``: fields, one value array per field, when each record was taken."""

    version: int
    captured_unix_s: int
    info: str
    fields: tuple[MlgField, ...]
    values: tuple[np.ndarray, ...]
    """Per field, its value in every good record (float64, scale and transform applied)."""
    ticks: np.ndarray
    """Each good record's time stamp in 10 µs ticks, the u16 wraps added up."""
    markers: tuple[tuple[float, str], ...] = ()
    """(place among the good records, 0 at the first and fractional between two; message)."""
    bad_checksums: int = 0
    first_bad_offset: int = -1
    warnings: tuple[str, ...] = field(default_factory=tuple)


def parse_mlg(path: Path, data: bytes) -> MlgLog:
    """Decode an ``.mlg`` file's bytes; InputError naming the file when it cannot be read."""
    version, captured, info_at, begin, record_length, count = _header(path, data)
    fields = _fields(path, data, version, count)
    sizes = sum(f.size for f in fields)
    if sizes != record_length:
        raise InputError(
            f"{path}: the MLG header says a record is {record_length} bytes but its {count} "
            f"fields take {sizes}: the file is damaged; copy the log again from where it was saved"
        )
    if begin > len(data):
        raise _cut_short(path, len(data), f"its data begin at byte {begin}")
    info = _text(data[info_at:begin]) if 0 < info_at < begin else ""
    walk = _Walk(data, begin, record_length)
    walk.run()
    good = np.array(walk.records, dtype=np.int64)
    if good.size == 0:
        raise InputError(
            f"{path}: the MLG log holds no readable data record ({walk.summary()}); record "
            "the log again"
        )
    table = _record_bytes(data, good + 4, record_length)
    checksum_ok = (table.sum(axis=1, dtype=np.uint32) & 0xFF) == np.frombuffer(
        data, np.uint8
    )[good + 4 + record_length]
    bad = int((~checksum_ok).sum())
    first_bad = int(good[~checksum_ok][0]) if bad else -1
    if bad:
        good, table = good[checksum_ok], table[checksum_ok]
    if good.size == 0:
        raise InputError(
            f"{path}: every one of the MLG log's {bad} data records fails its checksum: the "
            "file is damaged; copy the log again from where it was saved"
        )
    ticks, marker_places = _times(data, good, walk.markers)
    values = _decode(table, fields)
    notes = [_text(data[m + 4 : m + 4 + MARKER_BYTES]) for m in walk.markers]
    return MlgLog(
        version=version,
        captured_unix_s=captured,
        info=info,
        fields=fields,
        values=values,
        ticks=ticks,
        markers=tuple(zip(marker_places, notes, strict=True)),
        bad_checksums=bad,
        first_bad_offset=first_bad,
        warnings=tuple(walk.warnings),
    )


def _header(path: Path, data: bytes) -> tuple[int, int, int, int, int, int]:
    if not data:
        raise InputError(f"{path}: the file is empty; export the log again")
    if len(data) < 8 and MAGIC.startswith(data[:6]):
        raise _cut_short(path, len(data), "the MLG header is 22 or 24 bytes")
    if data[:6] != MAGIC:
        raise InputError(
            f"{path}: not a TunerStudio/MegaLogViewer binary log (it starts with "
            f"{data[:6]!r}, not 'MLVLG'); open it in MegaLogViewer and save it as .mlg or .msl"
        )
    (version,) = struct.unpack_from(">H", data, 6)
    if version not in HEADERS:
        raise InputError(
            f"{path}: MLG format version {version}; this app reads versions 1 and 2: export the "
            "log from MegaLogViewer or TunerStudio as .msl text"
        )
    header = HEADERS[version]
    if len(data) < header.size:
        raise _cut_short(path, len(data), f"the MLG v{version} header is {header.size} bytes")
    _, _, captured, info_at, begin, record_length, count = header.unpack_from(data)
    if count == 0:
        raise InputError(
            f"{path}: the MLG log lists no fields (no channels were logged); select the "
            "channels to log in TunerStudio and record the log again"
        )
    return version, captured, info_at, begin, record_length, count


def _fields(path: Path, data: bytes, version: int, count: int) -> tuple[MlgField, ...]:
    start, size = HEADERS[version].size, DESCRIPTOR_BYTES[version]
    if len(data) < start + count * size:
        raise _cut_short(path, len(data), f"its {count} field descriptors end at byte "
                         f"{start + count * size}")
    fields = []
    for index in range(count):
        raw = data[start + index * size : start + (index + 1) * size]
        type_code = raw[0]
        name, units = _text(raw[1:35]), _text(raw[35:45])
        if type_code not in FIELD_TYPES:
            raise InputError(
                f"{path}: MLG field {index + 1} ('{name}') has type {type_code}, not one of the "
                "format's (0-7, 10-12): the file is damaged or of a newer format; export it "
                "as .msl"
            )
        category = _text(raw[55:89]) if version == 2 else ""
        if type_code >= 10:
            bits = raw[51]
            fields.append(MlgField(name, units, type_code, raw[45], category=category, bits=bits))
            continue
        scale, transform = (_clean_float(v) for v in struct.unpack_from(">ff", raw, 46))
        if not (np.isfinite(scale) and np.isfinite(transform)):
            raise InputError(
                f"{path}: MLG field '{name}' has scale {scale} and transform {transform}: the "
                "header is damaged; copy the log again from where it was saved"
            )
        digits = struct.unpack_from(">b", raw, 54)[0]
        fields.append(
            MlgField(name, units, type_code, raw[45], scale, transform, digits, category)
        )
    return tuple(fields)


def _clean_float(value: float) -> float:
    """A f32 as the decimal its writer meant: 0.1 rather than 0.10000000149 (the shortest
    decimal that reads back as the same f32)."""
    return float(str(np.float32(value)))


def _text(raw: bytes) -> str:
    """A NUL-terminated string: UTF-8 where it is, else Windows-1252 (``°C`` both ways)."""
    raw = raw.split(b"\0", 1)[0]
    try:
        return raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace").strip()


def _cut_short(path: Path, size: int, need: str) -> InputError:
    return InputError(
        f"{path}: the MLG log is cut short ({size} bytes, but {need}); copy the whole file "
        "again from where it was saved"
    )


class _Walk:
    """Blocks from ``begin`` on: where each data record and marker starts, what was skipped."""

    def __init__(self, data: bytes, begin: int, record_length: int) -> None:
        self.data, self.begin, self.record_length = data, begin, record_length
        self.records: list[int] = []
        self.markers: list[int] = []
        self.warnings: list[str] = []

    def run(self) -> None:
        data, at, end = self.data, self.begin, len(self.data)
        record_end = 4 + self.record_length + 1
        while at < end:
            kind = data[at]
            size = record_end if kind == 0 else 4 + MARKER_BYTES if kind == 1 else 0
            if size and at + size > end:
                self.warnings.append(
                    f"the last {'record' if kind == 0 else 'marker'} is cut short at byte "
                    f"{at} (the file ends {end - at} bytes into it): left out"
                )
                return
            if size:
                (self.records if kind == 0 else self.markers).append(at)
                at += size
                continue
            found = self._next_good_record(at + 1)
            skipped = (found if found is not None else end) - at
            self.warnings.append(
                f"{skipped} bytes at byte {at} are neither a data record nor a marker (block "
                f"type {kind}): " + ("skipped" if found is not None else "the rest is not read")
            )
            if found is None:
                return
            at = found

    def _next_good_record(self, start: int) -> int | None:
        """The first place after ``start`` where a record with a good checksum begins and is
        followed by the end of the file, a marker or another good record (one good checksum
        alone is a 1-in-256 chance)."""
        stop = min(len(self.data) - (4 + self.record_length + 1), start + _RESYNC_BYTES)
        for at in range(start, stop + 1):
            if not self._good_record(at):
                continue
            after = at + 4 + self.record_length + 1
            if after >= len(self.data) or self.data[after] == 1 or self._good_record(after):
                return at
        return None

    def _good_record(self, at: int) -> bool:
        data, length = self.data, self.record_length
        return (
            at + 5 + length <= len(data)
            and data[at] == 0
            and sum(data[at + 4 : at + 4 + length]) & 0xFF == data[at + 4 + length]
        )

    def summary(self) -> str:
        return "; ".join(self.warnings) or "it ends where the data should begin"


def _record_bytes(data: bytes, starts: np.ndarray, length: int) -> np.ndarray:
    """The records starting at ``starts`` as an (n, length) byte table (copied slice by slice:
    an index table would take eight times the log's size)."""
    joined = b"".join(data[at : at + length] for at in starts.tolist())
    return np.frombuffer(joined, np.uint8).reshape(starts.size, length)


def _decode(table: np.ndarray, fields: tuple[MlgField, ...]) -> tuple[np.ndarray, ...]:
    offsets = np.cumsum([0] + [f.size for f in fields[:-1]])
    layout = np.dtype(
        {
            "names": [f"f{i}" for i in range(len(fields))],
            "formats": [FIELD_TYPES[f.type_code][1] for f in fields],
            "offsets": [int(o) for o in offsets],
            "itemsize": table.shape[1],
        }
    )
    raw = np.ascontiguousarray(table).view(layout)[:, 0]
    values = []
    for index, one in enumerate(fields):
        numbers = raw[f"f{index}"].astype(np.float64)
        if not one.is_bit_field:
            numbers = (numbers + one.transform) * one.scale
        values.append(numbers)
    return tuple(values)


def _times(
    data: bytes, records: np.ndarray, markers: list[int]
) -> tuple[np.ndarray, list[float]]:
    """Each record's time stamp with the u16 wraps added up, and each marker's place among the
    records (interpolated by its own time stamp between the records around it)."""
    buffer = np.frombuffer(data, np.uint8)
    starts = np.concatenate([records, np.array(markers, dtype=np.int64)])
    order = np.argsort(starts, kind="stable")
    stamps = (buffer[starts + 2].astype(np.int64) << 8) | buffer[starts + 3]
    stamps = stamps[order]
    wraps = np.concatenate([[0], np.cumsum(np.diff(stamps) < 0)])
    ticks_in_order = stamps + WRAP_TICKS * wraps
    ticks = np.empty_like(ticks_in_order)
    ticks[order] = ticks_in_order
    record_ticks, marker_ticks = ticks[: records.size], ticks[records.size :]
    places = []
    for at, tick in zip(markers, marker_ticks, strict=True):
        before = int(np.searchsorted(records, at)) - 1
        if before < 0:
            places.append(0.0)
        elif before >= records.size - 1:
            places.append(float(records.size - 1))
        else:
            step = record_ticks[before + 1] - record_ticks[before]
            fraction = (tick - record_ticks[before]) / step if step > 0 else 0.0
            places.append(before + min(max(float(fraction), 0.0), 1.0))
    return record_ticks, places
