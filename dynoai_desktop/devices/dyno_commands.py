"""The dyno line's host commands (docs/dyno-line-protocol.md, "Host -> dyno commands"):
``!HOLD 3500``, ``!HOLD 3500 MAP 90``, ``!PULL 2000 5500``, ``!PULL 2500 4500 MAP 80 RATE 300``,
``!RELEASE``, ``!PLAN wot_pull``, answered ``#ACK``/``#ERR``: written by the host, read by the
(simulated) dyno. ``dyno_line`` offers them with the rest of the protocol."""

from __future__ import annotations

import math
import re

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.plan import RANGES, pull_span_problem
from dynoai_desktop.devices.base import DecoderStats, DynoCommand
from dynoai_desktop.devices.dyno_framing import (
    MAX_LINE,
    NUMBER,
    PROTOCOL,
    LineRejected,
    LineSplitter,
    encode_line,
    split_crc,
)

_PLAN = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_COMMAND = re.compile(rb"!(HOLD|PULL|RELEASE|PLAN)(?: (.+))?")
_NUM = rb"(" + NUMBER.pattern + rb")"
_HOLD_ARGS = re.compile(_NUM + rb"(?: MAP " + _NUM + rb")?")
_PULL_ARGS = re.compile(_NUM + rb" " + _NUM + rb"(?: MAP " + _NUM + rb")?(?: RATE " + _NUM + rb")?")
MAP_KPA_RANGE = RANGES["map_kpa"]  # a MAP the rider holds (HOLD ... MAP, PULL ... MAP)
RATE_RANGE = RANGES["rpm_per_s"]  # a PULL's ramp, rpm/s


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
    span = pull_span_problem(from_rpm, to_rpm)
    if span:
        return span
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
        match = _COMMAND.fullmatch(split_crc(raw)[0]) if len(raw) <= MAX_LINE else None
    except LineRejected:
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
        self._lines = LineSplitter()

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
