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

import binascii
import math
import re
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dynoai_desktop.core import units
from dynoai_desktop.core.channels import CHANNELS, STATUS_CHANNEL_FOR, SensorStatus
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.plan import MIN_PULL_SPAN_RPM, RANGES
from dynoai_desktop.devices.base import DecoderStats, DeviceKind, DeviceOption, DynoCommand, Reading

PROTOCOL = "dyno-line"
BAUDRATE = 115200  # 8N1; ignored on sockets and ptys
VERSION = 1
MAX_LINE = 1024  # bytes before the line end (checksum included); longer lines are rejected
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
_NUMBER = re.compile(rb"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_HEX4 = re.compile(rb"[0-9A-Fa-f]{4}")
_PLAN = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_COMMAND = re.compile(rb"!(HOLD|PULL|RELEASE|PLAN)(?: (.+))?")
_NUM = rb"(" + _NUMBER.pattern + rb")"
_HOLD_ARGS = re.compile(_NUM + rb"(?: MAP " + _NUM + rb")?")
_PULL_ARGS = re.compile(_NUM + rb" " + _NUM + rb"(?: MAP " + _NUM + rb")?(?: RATE " + _NUM + rb")?")
MAP_KPA_RANGE = RANGES["map_kpa"]  # a MAP the rider holds (HOLD ... MAP, PULL ... MAP)
RATE_RANGE = RANGES["rpm_per_s"]  # a PULL's ramp, rpm/s
_ALL_UNITS = [*units.UNIT_ALIASES, *(u for us in units.UNIT_CHOICES.values() for u in us)]
_KNOWN_UNITS = {s.lower(): s for s in [*_ALL_UNITS, *units.FIXED_UNITS.values()]}
_STATUS_CODES = frozenset(float(s) for s in SensorStatus)
_MAX_PENDING_REPLIES = 4

_TIME, _VALUE, _STATUS = 0, 1, 2  # kinds of plan entries


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF): the ``*HHHH`` line checksum."""
    return binascii.crc_hqx(data, 0xFFFF)


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


class _Reject(Exception):
    """A line failed a check; the message says why in the tuner's words."""


def _split_crc(raw: bytes) -> tuple[bytes, bool]:
    """(content, had a checksum) of a line without its end; _Reject on a wrong checksum."""
    if len(raw) >= 5 and raw[-5] == 0x2A and _HEX4.fullmatch(raw, len(raw) - 4):  # "*HHHH"
        if crc16(raw[:-5]) != int(raw[-4:], 16):
            raise _Reject("checksum mismatch")
        return raw[:-5], True
    return raw, False


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
    """Header fields -> (layout, plan); raises _Reject naming the field at fault."""
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
            raise _Reject(f"fields {seen[target]} and {name} both feed {target}")
        seen[target] = name
        if target == "time_s":
            if raw_unit.lower() not in TIME_UNITS:
                raise _Reject(f"time field {name}[{raw_unit}]: give its unit as s, ms or us")
            layout.append(LayoutField(name, raw_unit.lower(), target))
            plan.append((_TIME, target, TIME_UNITS[raw_unit.lower()]))
            continue
        try:
            unit = _unit(raw_unit)
            conv = _converter(unit, target)
        except InputError as exc:
            raise _Reject(f"field {name}[{raw_unit}]: {exc}") from None
        kind = _STATUS if target in STATUS_CHANNEL_FOR.values() else _VALUE
        layout.append(LayoutField(name, unit, target))
        plan.append((kind, target, conv))
    for needed in ("time_s", "rpm"):
        if needed not in seen:
            raise _Reject(f"no {needed} field: a dyno line header needs time_s[s] and rpm[rpm]")
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


class _Lines:
    """Splits a byte stream at LF; an over-long line comes out cut to ``MAX_LINE + 2`` bytes
    (so it fails the length check whatever the chunking) and its rest is dropped."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._discarding = False  # inside an over-long line, dropping bytes up to its "\n"

    def feed(self, data: bytes) -> list[bytes]:
        buf = self._buf
        buf += data
        lines: list[bytes] = []
        start = 0
        while (end := buf.find(b"\n", start)) >= 0:
            if self._discarding:
                self._discarding = False
            else:
                lines.append(bytes(buf[start:end]))
            start = end + 1
        del buf[:start]
        if self._discarding:
            buf.clear()
        elif len(buf) > MAX_LINE + 1:  # room for the "\r"
            lines.append(bytes(buf[: MAX_LINE + 2]))
            self._discarding = True
            buf.clear()
        return lines


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
        self._lines = _Lines()

    def feed(self, data: bytes) -> list[Reading]:
        """Decode every line ``data`` completes; never raises on bad bytes."""
        self.stats.bytes_in += len(data)
        out: list[Reading] = []
        for raw in self._lines.feed(data):
            try:
                reading = self._line(raw)
            except _Reject as exc:
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
            raise _Reject(f"line longer than {MAX_LINE} bytes")
        cut = raw.find(b"#DYNO ", 1) if raw[:1] != b"#" else -1
        if cut > 0:  # a line cut short by a reconnect, then the re-sent header
            self.stats.bytes_skipped += cut
            raw, nbytes = raw[cut:], nbytes - cut
        if not raw or (self.layout is None and raw[0] != 0x23):  # "#"
            self.stats.bytes_skipped += nbytes  # blank, or data before a valid header
            return None
        body, has_crc = _split_crc(raw)
        if body.startswith(b"#DYNO") and (len(body) == 5 or body[5] == 0x20):
            self._header(body, has_crc)
            return None
        if self.checksum_required and not has_crc:
            raise _Reject("line without its checksum (the header was sent with one)")
        if body[0] != 0x23:
            return self._data(body)
        if body[:4] in (b"#ACK", b"#ERR") and (len(body) == 4 or body[4] == 0x20):
            if not body.isascii():
                raise _Reject("reply line with non-ASCII bytes")
            self._reply(DynoReply(body[1] == 0x41, body[5:].decode("ascii")))
            return None
        self.stats.bytes_skipped += nbytes  # another "#" line: a comment
        return None

    def _header(self, body: bytes, has_crc: bool) -> None:
        self.layout, self._plan, self.checksum_required = None, (), False
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise _Reject("header with bytes that are not UTF-8") from None
        match = _HEADER.fullmatch(text)
        if match is None:
            raise _Reject("header must start '#DYNO v1,' followed by name[unit] fields")
        if int(match[1]) != VERSION:
            raise _Reject(f"header version v{match[1]} is not supported: this app reads v1")
        fields = []
        for part in match[2].split(","):
            field = _FIELD.fullmatch(part)
            if field is None:
                raise _Reject(f"header field {part.strip()!r} is not written name[unit]")
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
            raise _Reject("data line with non-ASCII bytes")
        parts = body.split(b",")
        if len(parts) != len(self._plan):
            raise _Reject(f"{len(parts)} fields, the header declares {len(self._plan)}")
        values: dict[str, float] = {}
        statuses: dict[str, SensorStatus] = {}
        device_time = None
        for part, (kind, channel, conv) in zip(parts, self._plan, strict=True):
            part = part.strip(b" \t")
            if not part:
                continue
            if _NUMBER.fullmatch(part) is None:
                raise _Reject(f"{channel or 'a field'}: {part[:20]!r} is not a number")
            value = float(part)
            if kind == _TIME:
                value *= conv
            elif conv is not None:
                value = conv(value)
            if not math.isfinite(value):
                raise _Reject(f"{channel or 'a field'}: value out of range")
            if kind == _TIME:
                device_time = value
            elif kind == _STATUS:
                if value not in _STATUS_CODES:
                    raise _Reject(f"{channel}: {value:g} is not a sensor status code (0-4)")
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
def encode_line(text: str, *, checksum: bool = False) -> bytes:
    """``text`` as one line: UTF-8, optional ``*HHHH`` checksum, ``\\r\\n``."""
    body = text.encode("utf-8")
    if checksum:
        body += b"*%04X" % crc16(body)
    return body + b"\r\n"


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


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _num_text(value: float) -> str:
    """A command's number: whole numbers without a fraction (``3500``), else ``repr``."""
    return str(int(value)) if value == int(value) < 1e15 else repr(float(value))


def _hold_map_problem(rpm: float, map_kpa: float) -> str | None:
    """What is wrong with the numbers of ``!HOLD rpm MAP kPa``, or None."""
    if not (math.isfinite(rpm) and rpm > 0):
        return f"the rpm must be a positive number, got {rpm!r}"
    lo, hi = MAP_KPA_RANGE
    if not (math.isfinite(map_kpa) and lo <= map_kpa <= hi):
        return f"MAP {map_kpa:g} kPa is out of range {lo:g}-{hi:g}"
    return None


def _pull_problem(from_rpm: float, to_rpm: float, map_kpa: float | None,
                  rate: float | None) -> str | None:
    """What is wrong with the numbers of ``!PULL from to [MAP kPa] [RATE rpm/s]``, or None."""
    for rpm in (from_rpm, to_rpm):
        if not (math.isfinite(rpm) and rpm > 0):
            return f"the rpm must be positive numbers, got {rpm!r}"
    if abs(to_rpm - from_rpm) < MIN_PULL_SPAN_RPM:
        return f"the two rpm must differ by {MIN_PULL_SPAN_RPM:g} or more"
    if map_kpa is not None:
        lo, hi = MAP_KPA_RANGE
        if not (math.isfinite(map_kpa) and lo <= map_kpa <= hi):
            return f"MAP {map_kpa:g} kPa is out of range {lo:g}-{hi:g}"
    if rate is not None:
        lo, hi = RATE_RANGE
        if not (math.isfinite(rate) and lo <= rate <= hi):
            return f"RATE {rate:g} rpm/s is out of range {lo:g}-{hi:g}"
    return None


def _command_text(cmd: DynoCommand) -> str:
    value = cmd.value
    if cmd.action == "hold_rpm":
        if isinstance(value, int | float) and not isinstance(value, bool):
            if math.isfinite(value) and value > 0:  # integral rpm without a fraction
                return f"HOLD {_num_text(value)}"
    elif cmd.action == "hold_rpm_map":
        if isinstance(value, tuple) and len(value) == 2 and all(map(_is_number, value)):
            rpm, map_kpa = value
            problem = _hold_map_problem(rpm, map_kpa)
            if problem:
                raise InputError(f"{PROTOCOL}: dyno command hold_rpm_map {value!r}: {problem}")
            return f"HOLD {_num_text(rpm)} MAP {_num_text(map_kpa)}"
        raise InputError(f"{PROTOCOL}: dyno command hold_rpm_map takes (rpm, map_kpa), "
                         f"got {value!r}")
    elif cmd.action == "pull":
        if (isinstance(value, tuple) and len(value) == 4
                and all(map(_is_number, value[:2]))
                and all(v is None or _is_number(v) for v in value[2:])):
            from_rpm, to_rpm, map_kpa, rate = value
            problem = _pull_problem(from_rpm, to_rpm, map_kpa, rate)
            if problem:
                raise InputError(f"{PROTOCOL}: dyno command pull {value!r}: {problem}")
            return " ".join([f"PULL {_num_text(from_rpm)} {_num_text(to_rpm)}",
                             *([f"MAP {_num_text(map_kpa)}"] if map_kpa is not None else []),
                             *([f"RATE {_num_text(rate)}"] if rate is not None else [])])
        raise InputError(f"{PROTOCOL}: dyno command pull takes (from_rpm, to_rpm, map_kpa or "
                         f"None, rpm_per_s or None), got {value!r}")
    elif cmd.action == "release":
        if value is None:
            return "RELEASE"
    elif cmd.action == "run_plan":
        if isinstance(value, str) and _PLAN.fullmatch(value):
            return f"PLAN {value}"
    else:
        raise InputError(
            f"{PROTOCOL}: unknown dyno command {cmd.action!r}; use hold_rpm, hold_rpm_map, "
            "pull, release or run_plan"
        )
    raise InputError(f"{PROTOCOL}: dyno command {cmd.action} cannot take value {value!r}")


def encode_command(cmd: DynoCommand, *, checksum: bool = False) -> bytes:
    """Host -> dyno bytes: ``!HOLD 3500``, ``!HOLD 3500 MAP 90``, ``!PULL 2000 5500``,
    ``!PULL 2500 4500 MAP 80 RATE 300``, ``!RELEASE`` or ``!PLAN wot_pull`` + ``\\r\\n``.

    InputError (naming the problem) for an unknown action or a value the line cannot carry.
    """
    return encode_line("!" + _command_text(cmd), checksum=checksum)


def encode_reply(cmd: DynoCommand, error: str | None = None, *, checksum: bool = False) -> bytes:
    """Dyno -> host answer: ``#ACK HOLD 3500``, or ``#ERR HOLD 9000: <error>``."""
    if error is None:
        return encode_line(f"#ACK {_command_text(cmd)}", checksum=checksum)
    reason = "".join(c if " " <= c <= "~" and c != "*" else "?" for c in error)
    return encode_line(f"#ERR {_command_text(cmd)}: {reason}", checksum=checksum)


def parse_command(line: bytes | str) -> DynoCommand | None:
    """The command in one line (terminator and ``*HHHH`` optional), or None; never raises."""
    raw = line.encode("utf-8", "replace") if isinstance(line, str) else bytes(line)
    raw = raw.removesuffix(b"\n").removesuffix(b"\r")
    try:
        match = _COMMAND.fullmatch(_split_crc(raw)[0]) if len(raw) <= MAX_LINE else None
    except _Reject:
        return None
    if match is None:
        return None
    verb, arg = match[1], match[2]
    if verb == b"HOLD" and arg is not None and (hold := _HOLD_ARGS.fullmatch(arg)):
        rpm = float(hold[1])
        if hold[2] is None:
            return DynoCommand("hold_rpm", rpm) if math.isfinite(rpm) and rpm > 0 else None
        map_kpa = float(hold[2])
        return None if _hold_map_problem(rpm, map_kpa) else DynoCommand("hold_rpm_map",
                                                                         (rpm, map_kpa))
    if verb == b"PULL" and arg is not None and (pull := _PULL_ARGS.fullmatch(arg)):
        from_rpm, to_rpm = float(pull[1]), float(pull[2])
        map_kpa = None if pull[3] is None else float(pull[3])
        rate = None if pull[4] is None else float(pull[4])
        if _pull_problem(from_rpm, to_rpm, map_kpa, rate):
            return None
        return DynoCommand("pull", (from_rpm, to_rpm, map_kpa, rate))
    if verb == b"RELEASE" and arg is None:
        return DynoCommand("release")
    if verb == b"PLAN" and arg is not None and _PLAN.fullmatch(arg.decode("latin-1")):
        return DynoCommand("run_plan", arg.decode("latin-1"))
    return None


class CommandDecoder:
    """Dyno side: incremental reader of host commands (for the simulated dyno)."""

    def __init__(self) -> None:
        self.stats = DecoderStats()
        self._lines = _Lines()

    def feed(self, data: bytes) -> list[DynoCommand]:
        """Commands completed by ``data``; other lines count as rejected, blank ones skipped."""
        self.stats.bytes_in += len(data)
        out: list[DynoCommand] = []
        for line in self._lines.feed(data):
            if not line.strip(b"\r"):
                self.stats.bytes_skipped += len(line) + 1
            elif (cmd := parse_command(line)) is not None:
                out.append(cmd)
                self.stats.frames_ok += 1
            else:
                self.stats.frames_rejected += 1
        return out


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
