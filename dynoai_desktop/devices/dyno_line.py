"""Dyno line: the app's own ASCII line protocol for a dyno's data acquisition (DAQ).

Commercial dynos publish no serial protocol (protocols.md §6.1); DIY dynos stream CSV lines of
decimals (SimpleDyno, §6.2), and §6.2 recommends a superset "with a header line": this is it.
docs/dyno-line-protocol.md is the contract: ``#DYNO v1,time_s[s],rpm[rpm],...`` declares the
fields and units, data lines follow in that order, an optional ``*HHHH`` CRC-16 guards a line,
and the host may send ``!HOLD 3500``, ``!HOLD 3500 MAP 90``, ``!PULL 2000 5500``,
``!PULL 2500 4500 MAP 80 RATE 300``, ``!RELEASE``, ``!PLAN wot_pull`` (answered
``#ACK``/``#ERR``).
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dynoai_desktop.core import units
from dynoai_desktop.core.channels import CHANNELS, STATUS_CHANNEL_FOR, SensorStatus
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.devices.base import DecoderStats, DeviceKind, DeviceOption, Reading
from dynoai_desktop.devices.dyno_commands import (
    MAP_KPA_RANGE,
    RATE_RANGE,
    CommandDecoder,
    encode_command,
    encode_reply,
    parse_command,
)
from dynoai_desktop.devices.dyno_framing import (
    MAX_LINE,
    NUMBER,
    PROTOCOL,
    LineRejected,
    LineSplitter,
    crc16,
    encode_line,
    split_crc,
)

__all__ = [  # the host commands and the framing are part of the protocol this module offers
    "BAUDRATE", "KIND", "MAP_KPA_RANGE", "MAX_LINE", "PROTOCOL", "RATE_RANGE", "TIME_UNITS",
    "CommandDecoder", "DynoLineDecoder", "DynoReply", "LayoutField", "crc16", "encode_command",
    "encode_data_line", "encode_header", "encode_line", "encode_reply", "parse_command",
]

BAUDRATE = 115200  # 8N1; ignored on sockets and ptys
VERSION = 1
DEFAULT_DECIMALS = 3

# Field names recognised without a channel_map (besides the canonical names themselves).
# fmt: off
AUTO_NAMES: Mapping[str, str] = {
    "time": "time_s", "t": "time_s", "engine_rpm": "rpm",
    "speed": "speed_mph", "roller_speed": "speed_mph", "roller_mph": "speed_mph",
    "torque": "torque_ftlb", "power": "power_hp", "map": "map_kpa",
    "tps": "tps_pct", "throttle": "tps_pct", "iat": "iat_c",
    "engine_temp": "engine_temp_c", "head_temp": "engine_temp_c",
    "baro": "baro_kpa", "ambient_temp": "ambient_temp_c", "humidity": "humidity_pct",
}
# fmt: on
TIME_UNITS: Mapping[str, float] = {"s": 1.0, "ms": 1e-3, "us": 1e-6}  # time field only

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_FIELD = re.compile(r"[ \t]*([A-Za-z][A-Za-z0-9_]*)\[[ \t]*([^\[\],*]*?)[ \t]*\][ \t]*")
_HEADER = re.compile(r"#DYNO v([0-9]+),(.*)", re.DOTALL)
_ALL_UNITS = [*units.UNIT_ALIASES, *(u for us in units.UNIT_CHOICES.values() for u in us)]
_KNOWN_UNITS = {s.lower(): s for s in [*_ALL_UNITS, *units.FIXED_UNITS.values()]}
_STATUS_CODES = frozenset(float(s) for s in SensorStatus)
_MAX_PENDING_REPLIES = 4

_TIME, _VALUE, _STATUS = 0, 1, 2  # kinds of plan entries


def _unit(symbol: str) -> str:
    """Canonical spelling of a header unit, matched case-insensitively; InputError if unknown."""
    return units.normalise_unit(_KNOWN_UNITS.get(symbol.lower(), symbol))


@dataclass(frozen=True)
class LayoutField:
    """One header field: the device's name, its unit as sent, the channel it feeds ("" = none)."""

    name: str
    unit: str
    channel: str


@dataclass(frozen=True)
class DynoReply:
    """A ``#ACK``/``#ERR`` line from the dyno: ``text`` is what followed the marker."""

    ok: bool
    text: str


def _converter(unit: str, target: str) -> Callable[[float], float] | None:
    """Value -> value in the canonical unit; None for identity. InputError if impossible."""
    if target in CHANNELS:
        dst = CHANNELS[target].unit
    else:  # an extra: the canonical unit of the unit's own quantity
        dst = unit
        for choices in units.UNIT_CHOICES.values():
            if unit in choices:
                dst = choices[0]
    units.convert(1.0, unit, dst)  # raises InputError for e.g. map_kpa[C]
    if dst == unit:
        return None
    return lambda v: float(units.convert(v, unit, dst))


def _plan(fields: list[tuple[str, str]], channel_map: Mapping[str, str]) -> tuple:
    """Header fields -> (layout, plan); raises LineRejected naming the field at fault."""
    layout: list[LayoutField] = []
    plan: list[tuple[int, str, Any]] = []
    seen: dict[str, str] = {}
    for raw_name, raw_unit in fields:
        name = raw_name.lower()
        target = channel_map.get(name, name if name in CHANNELS else AUTO_NAMES.get(name, name))
        if target == "":
            layout.append(LayoutField(name, raw_unit, ""))
            plan.append((_VALUE, "", None))
            continue
        if target in seen:
            raise LineRejected(f"fields {seen[target]} and {name} both feed {target}")
        seen[target] = name
        if target == "time_s":
            if raw_unit.lower() not in TIME_UNITS:
                raise LineRejected(f"time field {name}[{raw_unit}]: give its unit as s, ms or us")
            layout.append(LayoutField(name, raw_unit.lower(), target))
            plan.append((_TIME, target, TIME_UNITS[raw_unit.lower()]))
            continue
        try:
            unit = _unit(raw_unit)
            conv = _converter(unit, target)
        except InputError as exc:
            raise LineRejected(f"field {name}[{raw_unit}]: {exc}") from None
        kind = _STATUS if target in STATUS_CHANNEL_FOR.values() else _VALUE
        layout.append(LayoutField(name, unit, target))
        plan.append((kind, target, conv))
    for needed in ("time_s", "rpm"):
        if needed not in seen:
            raise LineRejected(f"no {needed} field: a dyno line header needs time_s[s] and "
                               "rpm[rpm]")
    return tuple(layout), tuple(plan)


def _check_channel_map(channel_map: Any) -> dict[str, str]:
    def ok(name: Any) -> bool:
        return isinstance(name, str) and _NAME.fullmatch(name) is not None

    if not isinstance(channel_map, Mapping) or not all(
        ok(k) and (v == "" or ok(v)) for k, v in channel_map.items()
    ):
        raise InputError(
            f"{PROTOCOL}: option channel_map={channel_map!r} is not allowed; give a mapping of "
            'device field name to channel name, e.g. {"eng_speed": "rpm"} ("" ignores a field)'
        )
    return {k.lower(): v.lower() for k, v in channel_map.items()}


class DynoLineDecoder:
    """Incremental decoder of a dyno line stream (docs/dyno-line-protocol.md §Decoder)."""

    def __init__(self, channel_map: Mapping[str, str] | None = None) -> None:
        self.stats = DecoderStats()
        self.channel_map = _check_channel_map(channel_map or {})
        self.layout: tuple[LayoutField, ...] | None = None
        self.checksum_required = False
        self.last_error: str | None = None  # why the last line was rejected
        self.replies: deque[DynoReply] = deque(maxlen=16)
        self._plan: tuple = ()
        self._pending: list[str] = []  # replies to show in the next Reading's details["dyno"]
        self._lines = LineSplitter()

    def feed(self, data: bytes) -> list[Reading]:
        """Decode every line ``data`` completes; never raises on bad bytes."""
        self.stats.bytes_in += len(data)
        out: list[Reading] = []
        for raw in self._lines.feed(data):
            try:
                reading = self._line(raw)
            except LineRejected as exc:
                self.stats.frames_rejected += 1
                self.last_error = str(exc)
                if raw.startswith(b"#DYNO"):  # a damaged header: the old layout is void
                    self.layout, self._plan, self.checksum_required = None, (), False
                continue
            if reading is not None:
                out.append(reading)
        return out

    def _line(self, raw: bytes) -> Reading | None:
        nbytes = len(raw) + 1
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        if len(raw) > MAX_LINE:
            raise LineRejected(f"line longer than {MAX_LINE} bytes")
        cut = raw.find(b"#DYNO ", 1) if raw[:1] != b"#" else -1
        if cut > 0:  # a line cut short by a reconnect, then the re-sent header
            self.stats.bytes_skipped += cut
            raw, nbytes = raw[cut:], nbytes - cut
        if not raw or (self.layout is None and raw[0] != 0x23):  # "#"
            self.stats.bytes_skipped += nbytes  # blank, or data before a valid header
            return None
        body, has_crc = split_crc(raw)
        if body.startswith(b"#DYNO") and (len(body) == 5 or body[5] == 0x20):
            self._header(body, has_crc)
            return None
        if self.checksum_required and not has_crc:
            raise LineRejected("line without its checksum (the header was sent with one)")
        if body[0] != 0x23:
            return self._data(body)
        if body[:4] in (b"#ACK", b"#ERR") and (len(body) == 4 or body[4] == 0x20):
            if not body.isascii():
                raise LineRejected("reply line with non-ASCII bytes")
            self._reply(DynoReply(body[1] == 0x41, body[5:].decode("ascii")))
            return None
        self.stats.bytes_skipped += nbytes  # another "#" line: a comment
        return None

    def _header(self, body: bytes, has_crc: bool) -> None:
        self.layout, self._plan, self.checksum_required = None, (), False
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise LineRejected("header with bytes that are not UTF-8") from None
        match = _HEADER.fullmatch(text)
        if match is None:
            raise LineRejected("header must start '#DYNO v1,' followed by name[unit] fields")
        if int(match[1]) != VERSION:
            raise LineRejected(f"header version v{match[1]} is not supported: this app reads v1")
        fields = []
        for part in match[2].split(","):
            field = _FIELD.fullmatch(part)
            if field is None:
                raise LineRejected(f"header field {part.strip()!r} is not written name[unit]")
            fields.append((field[1], field[2]))
        self.layout, self._plan = _plan(fields, self.channel_map)
        self.checksum_required = has_crc
        self.stats.frames_ok += 1

    def _reply(self, reply: DynoReply) -> None:
        self.replies.append(reply)
        self._pending.append(f"dyno {'OK' if reply.ok else 'error'}: {reply.text}")
        del self._pending[:-_MAX_PENDING_REPLIES]
        self.stats.frames_ok += 1

    def _data(self, body: bytes) -> Reading:
        if not body.isascii():
            raise LineRejected("data line with non-ASCII bytes")
        parts = body.split(b",")
        if len(parts) != len(self._plan):
            raise LineRejected(f"{len(parts)} fields, the header declares {len(self._plan)}")
        values: dict[str, float] = {}
        statuses: dict[str, SensorStatus] = {}
        device_time = None
        for part, (kind, channel, conv) in zip(parts, self._plan, strict=True):
            part = part.strip(b" \t")
            if not part:
                continue
            if NUMBER.fullmatch(part) is None:
                raise LineRejected(f"{channel or 'a field'}: {part[:20]!r} is not a number")
            value = float(part)
            if kind == _TIME:
                value *= conv
            elif conv is not None:
                value = conv(value)
            if not math.isfinite(value):
                raise LineRejected(f"{channel or 'a field'}: value out of range")
            if kind == _TIME:
                device_time = value
            elif kind == _STATUS:
                if value not in _STATUS_CODES:
                    raise LineRejected(f"{channel}: {value:g} is not a sensor status code (0-4)")
                statuses[channel] = SensorStatus(int(value))
            elif channel:
                values[channel] = value
        details: dict[str, str] = {}
        for afr, status_channel in STATUS_CHANNEL_FOR.items():
            status = statuses.get(status_channel)
            if status is None:
                if afr in values:
                    values[status_channel] = float(SensorStatus.VALID)
            else:
                values[status_channel] = float(status)
                if status is not SensorStatus.VALID:
                    values[afr] = math.nan
                    details[afr] = f"{status.label} (reported by the dyno DAQ)"
        if self._pending:
            details["dyno"] = "; ".join(self._pending)
            self._pending.clear()
        self.stats.frames_ok += 1
        return Reading(values, details, device_time)


# ------------------------------------------------------------------ encoders
def encode_header(fields: Sequence[tuple[str, str]], *, checksum: bool = False) -> bytes:
    """The header line declaring ``fields`` as (name, unit) pairs, in order.

    Only the syntax is checked (names, characters in units); the decoder judges the units.
    """
    for name, unit in fields:
        if not _NAME.fullmatch(name) or any(c in unit for c in "[],*\r\n"):
            raise InputError(f"{PROTOCOL}: header field {name}[{unit}] cannot be written")
    decl = ",".join(f"{name}[{unit}]" for name, unit in fields)
    return encode_line(f"#DYNO v{VERSION},{decl}", checksum=checksum)


def encode_data_line(
    values: Sequence[float | None],
    decimals: int | Sequence[int] = DEFAULT_DECIMALS,
    *,
    checksum: bool = False,
) -> bytes:
    """One data line; None or NaN is written as an empty field (missing value)."""
    places = [decimals] * len(values) if isinstance(decimals, int) else list(decimals)
    if len(places) != len(values):
        raise InputError(f"{PROTOCOL}: {len(values)} values but {len(places)} decimals given")
    if any(v is not None and math.isinf(v) for v in values):
        raise InputError(f"{PROTOCOL}: cannot send an infinite value")
    texts = [
        "" if v is None or math.isnan(v) else f"{v:.{d}f}"
        for v, d in zip(values, places, strict=True)
    ]
    return encode_line(",".join(texts), checksum=checksum)


_CHANNEL_MAP_HELP = (
    "device field name -> channel name, for names the app does not recognise "
    '(e.g. {"eng_speed": "rpm"}); "" ignores a field'
)


def _make_decoder(options: Mapping[str, Any]) -> DynoLineDecoder:
    return DynoLineDecoder(channel_map=options.get("channel_map") or {})


KIND = DeviceKind(
    protocol=PROTOCOL,
    role="dyno",
    title="Dyno line (CSV over serial)",
    baudrate=BAUDRATE,
    options=(DeviceOption("channel_map", {}, _CHANNEL_MAP_HELP),),
    make_decoder=_make_decoder,
    encode_command=encode_command,
)
