"""Innovate MTS ("Serial 2" / ISP2) codec: LC-1, LC-2, LM-2 and daisy chains (protocols.md §1).

A packet is a header word and ``len`` 16-bit big-endian words of sub-packets: "new" lambda
(2 words, LC-1/LC-2/LM-2), aux (1 word) and the old LM-1 block. There is no checksum (§1.2), so
the decoder leans on the fixed bits: every payload byte has bit 7 clear except the first byte
of an LM-1 block, and a header byte can never pass for that one (§1.3). A byte with bit 7 set
where a payload byte should be means the frame was cut: it is rejected and the hunt restarts
just after the rejected header byte, so a real header that cut it short is found again.

Lambda sub-packets are numbered 1, 2, ... in packet order, i.e. from the device furthest from
the host (§1.7); options ``front``/``rear`` pick which number is which cylinder. AFR is
published on the gasoline scale, λ × 14.7, whatever fuel the controller is set for.

Standalone LM-1 streams (ISP v1: no header, framed only by the start byte) are out of scope;
:func:`decode_payload` decodes the bytes of one such packet, and the same block inside MTS.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from enum import IntEnum
from typing import Any

from dynoai_desktop.core.channels import GASOLINE_AFR_SCALE, SensorStatus
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.devices.base import DecoderStats, DeviceKind, DeviceOption, Reading

GASOLINE_AF = 147  # AF field for gasoline: stoich AFR × 10 (§1.4)
L_MAX = 8191  # 13-bit lambda / data field (§1.4, §1.5)
MAX_WORDS = 255  # header length field is 8 bits (§1.3)
MAX_FRAME_BYTES = 2 + 2 * MAX_WORDS


class Function(IntEnum):
    """The 3-bit function/status code F of a lambda sub-packet (§1.4)."""

    LAMBDA = 0  # L = λ in 0.001 steps, offset 0.5
    O2 = 1  # L = O2 level in 1/10 %
    FREE_AIR_CAL = 2  # free-air calibration in progress
    NEEDS_CAL = 3  # needs free-air calibration
    WARMING_UP = 4  # L = temperature in 1/10 % of operating temperature
    HEATER_CAL = 5  # L = heater-calibration countdown
    ERROR = 6  # L = error code
    RESERVED = 7


ERROR_MEANINGS: Mapping[int, str] = {
    1: "heater shorted",
    2: "heater open",
    3: "pump cell shorted",
    4: "pump cell open",
    5: "reference cell shorted",
    6: "reference cell open",
    7: "system / software error",
    8: "sensor timing error",
    9: "supply voltage low",
}
"""LC-1/LC-2 error numbers when F = 110 (§1.4; taken from code, not an Innovate document)."""

# Header byte 0 passes ``b & 0xA2 == 0xA2``; byte 1 has bit 7 set (§1.3).
_B0 = bytes(b for b in range(256) if b & 0xA2 == 0xA2)
_SYNC = re.compile(b"[" + b"".join(re.escape(bytes([b])) for b in _B0) + b"][\x80-\xff]")
_HIGH = re.compile(b"[\x80-\xff]")

_NEED, _BAD, _DONE = 0, 1, 2
_AUX, _LAMBDA = 0, 1


def _walk(buf: Sequence[int], off: int, stop: int, limit: int, items: list[tuple]) -> tuple:
    """Parse sub-packets of buf[off:stop] as far as buf[:limit] allows (§1.4–§1.6).

    Appends ``(_AUX, raw)`` and ``(_LAMBDA, F, AF, L, battery_v | None)`` to ``items``;
    returns ``(verdict, next_off)`` with verdict _NEED, _BAD or _DONE.
    """
    while off < stop:
        if off + 2 > limit:  # half a word: reject early if it cannot start a sub-packet
            if off < limit and buf[off] & 0x80 and buf[off] & 0xA2 != 0x80:
                return _BAD, off
            return _NEED, off
        a = buf[off]
        b = buf[off + 1]
        if b & 0x80:
            return _BAD, off
        if a & 0x80:  # old LM-1 block: 1 R F3..F0 0 AF7 | L word | battery word (§1.6)
            if a & 0xA2 != 0x80:
                return _BAD, off
            span = 6 if stop - off >= 6 else 4  # a packet may end after the L word
        elif a & 0x40:  # new lambda: 0 1 0 F2 F1 F0 1 AF7 | 0 0 L12..L7 0 L6..L0 (§1.4)
            if a & 0xE2 != 0x42:
                return _BAD, off
            span = 4
        else:  # aux: 0 0 D12..D7 | 0 D6..D0 (§1.5)
            items.append((_AUX, (a << 7) | b))
            off += 2
            continue
        if off + span > stop:
            return _BAD, off  # sub-packet runs past the length the header gave
        if off + span > limit:
            for i in range(off + 2, limit):
                if buf[i] & 0x80:
                    return _BAD, off
            return _NEED, off
        c, d = buf[off + 2], buf[off + 3]
        if c & 0xC0 or d & 0x80:
            return _BAD, off
        battery_v = None
        if span == 6:  # 0 0 mb2 mb1 mb0 bv9 bv8 bv7 | 0 bv6..bv0; V = bv * 5 * mb / 1023 (§1.6)
            e, f = buf[off + 4], buf[off + 5]
            if e & 0xC0 or f & 0x80:
                return _BAD, off
            battery_v = (((e & 0x07) << 7) | f) * 5.0 * ((e >> 3) & 0x07) / 1023.0
        items.append((_LAMBDA, (a >> 2) & 0x07, ((a & 0x01) << 7) | b, (c << 7) | d, battery_v))
        off += span
    return _DONE, off


def _lambda_state(function: int, af: int, raw: int) -> tuple[float, SensorStatus, str | None]:
    """(AFR on the gasoline scale or NaN, status, detail line) for one lambda sub-packet."""
    if function == Function.LAMBDA:
        lam = (raw + 500) / 1000.0  # λ = L·0.001 + 0.5 (§1.4)
        detail = None
        if af != GASOLINE_AF:
            detail = f"controller fuel stoich {af / 10:g}; AFR shown as λ × 14.7"
        return lam * GASOLINE_AFR_SCALE, SensorStatus.VALID, detail
    if function == Function.O2:
        return math.nan, SensorStatus.NO_DATA, f"free-air O2 mode, {raw / 10:.1f} % O2"
    if function == Function.FREE_AIR_CAL:
        return math.nan, SensorStatus.CALIBRATING, "free-air calibration in progress"
    if function == Function.NEEDS_CAL:
        return math.nan, SensorStatus.SENSOR_ERROR, "needs free-air calibration"
    if function == Function.WARMING_UP:
        return math.nan, SensorStatus.WARMING_UP, (
            f"warming up, {raw / 10:g} % of operating temperature"
        )
    if function == Function.HEATER_CAL:
        return math.nan, SensorStatus.CALIBRATING, f"heater calibration, countdown {raw}"
    if function == Function.ERROR:
        meaning = ERROR_MEANINGS.get(raw, "unknown error code")
        return math.nan, SensorStatus.SENSOR_ERROR, f"sensor error {raw}: {meaning}"
    return math.nan, SensorStatus.NO_DATA, "no data (reserved status code 7)"


def _build_reading(items: list[tuple], front: int, rear: int) -> Reading | None:
    """Canonical values for one packet's sub-packets; None when it carries nothing we publish."""
    values: dict[str, float] = {}
    details: dict[str, str] = {}
    n_lambda = n_aux = 0
    for item in items:
        if item[0] == _AUX:
            n_aux += 1
            values[f"mts_aux{n_aux}_v"] = item[1] * 5.0 / 1023.0
            continue
        n_lambda += 1
        _, function, af, raw, battery_v = item
        if n_lambda == front or n_lambda == rear:
            name = "afr_front" if n_lambda == front else "afr_rear"
            afr, status, detail = _lambda_state(function, af, raw)
            values[name] = afr
            values[name + "_status"] = float(status)
            if detail is not None:
                details[name] = detail
        if battery_v is not None and "lm1_battery_v" not in values:
            values["lm1_battery_v"] = battery_v
    if not values:
        return None
    return Reading(values=values, details=details)


def decode_payload(payload: bytes, front: int = 1, rear: int = 2) -> Reading | None:
    """Decode header-less sub-packets (an MTS payload, or one standalone LM-1 v1 packet).

    Returns None when the bytes fail a fixed-bit check or carry nothing to publish.
    """
    items: list[tuple] = []
    if len(payload) % 2:
        return None
    verdict, _ = _walk(payload, 0, len(payload), len(payload), items)
    return _build_reading(items, front, rear) if verdict == _DONE else None


class MtsDecoder:
    """Incremental MTS decoder: feed any chunking, get one Reading per valid data packet."""

    def __init__(self, front: int = 1, rear: int = 2) -> None:
        if front == rear and front != 0:
            raise InputError(
                f"innovate-mts: front and rear are both lambda sub-packet {front}; "
                "give them different numbers (0 = not used)"
            )
        if front < 0 or rear < 0:
            raise InputError("innovate-mts: front and rear must be 0 (unused) or 1, 2, ...")
        self.front = front
        self.rear = rear
        self.stats = DecoderStats()
        self.responses = 0  # response packets (D/S = 0) seen and skipped
        self.recording = False  # R bit of the last data packet: someone in the chain logs
        self._buf = bytearray()
        self._reset()

    def _reset(self) -> None:
        self._stop = 0  # frame length in bytes while a frame is pending, 0 while hunting
        self._off = 2
        self._data = True
        self._items: list[tuple] = []

    @property
    def buffered(self) -> int:
        """Bytes held while waiting for the rest of a frame (never more than one frame)."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Reading]:
        """Consume ``data``; return the readings of every data packet it completed."""
        stats = self.stats
        stats.bytes_in += len(data)
        buf = self._buf
        buf += data
        end = len(buf)
        out: list[Reading] = []
        pos = 0
        while pos < end:
            if not self._stop:  # hunting for a header (§1.3)
                m = _SYNC.search(buf, pos)
                if m is None:
                    keep = end - 1 if buf[end - 1] & 0xA2 == 0xA2 else end
                    stats.bytes_skipped += keep - pos
                    pos = keep
                    break
                stats.bytes_skipped += m.start() - pos
                pos = m.start()
                b0, b1 = buf[pos], buf[pos + 1]
                self._stop = 2 + 2 * (((b0 & 0x01) << 7) | (b1 & 0x7F))
                self._data = bool(b0 & 0x10)
            stop = pos + self._stop
            limit = min(end, stop)
            if self._data:
                verdict, off = _walk(buf, pos + self._off, stop, limit, self._items)
                self._off = off - pos
            else:  # response packet: skip by length, but a high bit still means a cut
                hit = _HIGH.search(buf, pos + self._off, limit)
                verdict = _BAD if hit else (_DONE if limit == stop else _NEED)
                self._off = limit - pos
            if verdict == _NEED:
                break
            if verdict == _BAD:
                stats.frames_rejected += 1
                stats.bytes_skipped += 1
                pos += 1  # hunt again from the byte after the rejected header byte
                self._reset()
                continue
            if self._data:
                stats.frames_ok += 1
                self.recording = bool(buf[pos] & 0x40)
                reading = _build_reading(self._items, self.front, self.rear)
                if reading is not None:
                    out.append(reading)
            else:
                self.responses += 1
            pos = stop
            self._reset()
        del buf[:pos]
        return out


# ----------------------------------------------------------------------------- encoders


def lambda_to_raw(lambda_value: float) -> int:
    """L for a λ: 0.001 steps offset by 0.5, clamped to 0..8191 (§1.4)."""
    if not math.isfinite(lambda_value):
        raise ValueError(f"lambda must be a finite number, got {lambda_value!r}")
    return min(L_MAX, max(0, round((lambda_value - 0.5) * 1000.0)))


def _check(name: str, value: int, hi: int) -> int:
    if not 0 <= value <= hi:
        raise ValueError(f"{name} must be 0..{hi}, got {value!r}")
    return value


def _word13(value: int) -> bytes:
    """A 13-bit value as ``0 0 v12..v7 | 0 v6..v0`` (the L / aux word layout)."""
    return bytes(((value >> 7) & 0x3F, value & 0x7F))


def _raw_for(lambda_value: float | None, function: int, raw: int | None) -> int:
    if raw is not None:
        return _check("raw", raw, L_MAX)
    if function == Function.LAMBDA:
        if lambda_value is None:
            raise ValueError("give lambda_value (or raw) for function 0, lambda valid")
        return lambda_to_raw(lambda_value)
    return 0


def encode_lambda_word_pair(
    lambda_value: float | None = None, *, function: int = 0, raw: int | None = None,
    af: int = GASOLINE_AF,
) -> bytes:
    """The 4 bytes of a "new" lambda sub-packet (LC-1/LC-2/LM-2, §1.4).

    ``raw`` sets L directly (warm-up 1/10 %, error number, ...); otherwise L comes from λ.
    """
    _check("function", function, 7)
    _check("af", af, 255)
    value = _raw_for(lambda_value, function, raw)
    return bytes((0x42 | (function << 2) | (af >> 7), af & 0x7F)) + _word13(value)


def encode_aux_word(raw: int) -> bytes:
    """The 2 bytes of an aux channel (§1.5); devices use 0..1023 (0..5 V)."""
    return _word13(_check("aux raw", raw, L_MAX))


def encode_lm1_block(
    lambda_value: float | None = None, *, function: int = 0, raw: int | None = None,
    af: int = GASOLINE_AF, battery_raw: int = 0, battery_mult: int = 0,
    aux: Iterable[int] = (), recording: bool = False,
) -> bytes:
    """An old LM-1 block (§1.6): lambda word, L word, battery word, then up to 5 aux words.

    This is also a whole standalone LM-1 v1 packet. Battery V = bv · 5 · mb / 1023.
    """
    _check("function", function, 7)
    _check("af", af, 255)
    _check("battery_raw", battery_raw, 1023)
    _check("battery_mult", battery_mult, 7)
    value = _raw_for(lambda_value, function, raw)
    aux = tuple(aux)
    if len(aux) > 5:
        raise ValueError(f"an LM-1 has at most 5 aux channels, got {len(aux)}")
    head = bytes((0x80 | (0x40 if recording else 0) | (function << 2) | (af >> 7), af & 0x7F))
    battery = bytes(((battery_mult << 3) | (battery_raw >> 7), battery_raw & 0x7F))
    return head + _word13(value) + battery + b"".join(encode_aux_word(r) for r in aux)


def encode_packet(
    subpackets: Iterable[bytes], *, recording: bool = False, response: bool = False
) -> bytes:
    """Header word + sub-packets (§1.3): ``1 R 1 D/S 0 0 1 B7 | 1 B6..B0``, length in words."""
    payload = b"".join(subpackets)
    if len(payload) % 2:
        raise ValueError("sub-packets must be whole 16-bit words")
    words = len(payload) // 2
    if words > MAX_WORDS:
        raise ValueError(f"an MTS packet holds at most {MAX_WORDS} words, got {words}")
    b0 = 0xA2 | (0x40 if recording else 0) | (0 if response else 0x10) | (words >> 7)
    return bytes((b0, 0x80 | (words & 0x7F))) + payload


def encode_lc2_chain(
    front_lambda: float | None, rear_lambda: float | None = None, *,
    front_function: int = 0, front_raw: int | None = None,
    rear_function: int = 0, rear_raw: int | None = None,
    af: int = GASOLINE_AF, recording: bool = False,
) -> bytes:
    """One packet of an LC-2 chain: the front unit first (furthest from the host, §1.7).

    With no rear λ, function or raw this is a single LC-2. Decodes with front=1, rear=2.
    """
    subs = [encode_lambda_word_pair(front_lambda, function=front_function, raw=front_raw, af=af)]
    if rear_lambda is not None or rear_function or rear_raw is not None:
        subs.append(
            encode_lambda_word_pair(rear_lambda, function=rear_function, raw=rear_raw, af=af)
        )
    return encode_packet(subs, recording=recording)


# ----------------------------------------------------------------------------- device kind


def make_decoder(options: Mapping[str, Any]) -> MtsDecoder:
    """A decoder for resolved options ``front`` and ``rear`` (lambda sub-packet numbers)."""
    return MtsDecoder(front=int(options.get("front", 1)), rear=int(options.get("rear", 2)))


_INDEX_CHOICES = tuple(range(9))

KIND = DeviceKind(
    protocol="innovate-mts",
    role="wideband",
    title="Innovate MTS (LC-1 / LC-2 / LM-2)",
    baudrate=19200,
    options=(
        DeviceOption(
            "front", 1,
            "lambda sub-packet of the front cylinder: 1 = first in the packet (the unit "
            "furthest from the PC), 2 = next, ...; 0 = not used",
            _INDEX_CHOICES,
        ),
        DeviceOption(
            "rear", 2,
            "lambda sub-packet of the rear cylinder (see front); 0 = not used",
            _INDEX_CHOICES,
        ),
    ),
    make_decoder=make_decoder,
)
