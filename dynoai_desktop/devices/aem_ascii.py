"""AEM X-Series (30-0300) / legacy 30-4100, 30-4110 UEGO gauge: one ASCII line per reading.

protocols.md §2.1: 9600 8N1, "the value followed by a carriage return and line feed, e.g.
"14.7\\r\\n"", in AFR or λ following the gauge's display mode; about 10 lines a second. One gauge
serves one cylinder, so the ``cylinder`` option says which AFR channel it feeds.

Decoding rules (the stream has no framing beyond the line end and no checksum, §2.1):

* A line ends at ``\\n``; surrounding spaces, tabs and ``\\r`` are stripped, so ``\\r\\n`` and a
  bare ``\\n`` both work. Blank lines are ignored (not counted).
* The text must be a plain decimal number (digits with an optional ``.``; no sign, exponent,
  ``nan`` or ``inf``), at most 16 characters; txlogger likewise drops lines with foreign bytes
  because cheap USB adapters corrupt bits (§2.1 [CODE]). Anything else counts as
  ``frames_rejected`` and yields no Reading.
* Plausible range, else rejected: λ 0.5-3.0 in lambda mode; in AFR mode the displayed AFR
  must be 7-45 on the gasoline scale, i.e. λ = AFR / stoich_afr within 7/14.7-45/14.7, so
  the same window applies to any fuel setting. A gauge left in the other display mode than
  the ``mode`` option therefore shows up as rejected lines, not as wrong AFR.
* A line still without ``\\n`` after 32 bytes is garbage: its bytes up to and including the
  next ``\\n`` are discarded (``bytes_skipped``) and decoding resumes after it. The buffer
  never holds more than 32 bytes.

Status: §2.1 documents no status or error text in this stream ("none in this stream", by
omission), and what the gauge sends while warming up or on a sensor fault is an open gap
(§9 item 2). The tab-separated "Ready"/"No-errors" strings of §2.2 belong to a different
device at 19200 baud. So every accepted line is reported as SensorStatus.VALID; a warm-up
or fault text, if the gauge sends one, is non-numeric and lands in ``frames_rejected``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from dynoai_desktop.core.channels import GASOLINE_AFR_SCALE, SensorStatus
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.devices.base import DecoderStats, DeviceKind, DeviceOption, Reading

PROTOCOL = "aem-ascii"
BAUDRATE = 9600  # §2.1: 9600 8N1

CYLINDERS = ("front", "rear")
MODES = ("afr", "lambda")
COMMON_STOICH_AFR = (14.7, 14.1, 9.8, 6.4)  # gasoline, E10, E85, methanol (core.units)

MAX_LINE_CHARS = 16  # longer (stripped) text is not a reading
MAX_PENDING_BYTES = 32  # an unterminated line longer than this is discarded

LAMBDA_MIN, LAMBDA_MAX = 0.5, 3.0
AFR_MIN, AFR_MAX = 7.0, 45.0  # gasoline scale; scaled by stoich_afr / 14.7 for other fuels

# Default decimals of the encoder: "14.7\r\n" is the documented AFR text (§2.1 [DOC]); the
# lambda-mode text is not documented ("1.00" vs "1.000", §2.1 / §9 item 2): we send "1.00",
# as the gauge's display shows λ to two decimals [INFERRED]. The decoder accepts any.
DEFAULT_DECIMALS = {"afr": 1, "lambda": 2}

_NUMBER = re.compile(rb"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_STRIP = b" \t\r"


def _check_stoich(stoich_afr: Any) -> float:
    if (
        isinstance(stoich_afr, bool)
        or not isinstance(stoich_afr, int | float)
        or not (math.isfinite(stoich_afr) and stoich_afr > 0)
    ):
        raise InputError(
            f"{PROTOCOL}: option stoich_afr={stoich_afr!r} is not allowed; give the gauge's "
            "fuel setting as a positive number (14.7 gasoline, 9.8 E85, 6.4 methanol)"
        )
    return float(stoich_afr)


class AemAsciiDecoder:
    """Incremental decoder of the AEM gauge's ASCII lines for one cylinder."""

    def __init__(
        self, cylinder: str = "front", mode: str = "afr", stoich_afr: float = GASOLINE_AFR_SCALE
    ) -> None:
        if cylinder not in CYLINDERS:
            raise InputError(f"{PROTOCOL}: option cylinder={cylinder!r}; choose front or rear")
        if mode not in MODES:
            raise InputError(f"{PROTOCOL}: option mode={mode!r}; choose afr or lambda")
        self.stats = DecoderStats()
        self.cylinder = cylinder
        self.mode = mode
        self.stoich_afr = _check_stoich(stoich_afr)
        self._afr_channel = f"afr_{cylinder}"
        self._status_channel = f"afr_{cylinder}_status"
        self._pending = b""  # bytes of the current, unterminated line (≤ MAX_PENDING_BYTES)
        self._skipping = False  # inside an overlong line: discard up to the next b"\n"
        if mode == "lambda":
            self._lambda_range = (LAMBDA_MIN, LAMBDA_MAX)
        else:
            self._lambda_range = (AFR_MIN / GASOLINE_AFR_SCALE, AFR_MAX / GASOLINE_AFR_SCALE)

    def feed(self, data: bytes) -> list[Reading]:
        """Decode every line that ``data`` completes; never raises on bad bytes."""
        stats = self.stats
        stats.bytes_in += len(data)
        if not data:
            return []
        pieces = bytes(data).split(b"\n")
        tail = pieces.pop()  # bytes after the last b"\n" (the unterminated rest)
        readings: list[Reading] = []
        if pieces:
            if self._skipping:  # the rest of an overlong line ends here
                stats.bytes_skipped += len(pieces[0]) + 1
                self._skipping = False
                pieces = pieces[1:]
            else:
                pieces[0] = self._pending + pieces[0]
            self._pending = b""
            for line in pieces:
                if len(line) > MAX_PENDING_BYTES:
                    # It passed 32 bytes before its b"\n" arrived: discarded as garbage.
                    stats.bytes_skipped += len(line) + 1
                    continue
                reading = self._parse(line)
                if reading is not None:
                    readings.append(reading)
        if self._skipping:
            stats.bytes_skipped += len(tail)
        else:
            pending = self._pending + tail
            if len(pending) > MAX_PENDING_BYTES:
                stats.bytes_skipped += len(pending)
                self._pending = b""
                self._skipping = True
            else:
                self._pending = pending
        return readings

    def _parse(self, line: bytes) -> Reading | None:
        """The Reading of one complete line, or None (blank: ignored; bad: rejected)."""
        text = line.strip(_STRIP)
        if not text:
            return None
        if len(text) > MAX_LINE_CHARS or _NUMBER.fullmatch(text) is None:
            self.stats.frames_rejected += 1
            return None
        value = float(text)
        if self.mode == "lambda":
            lam = value
            afr = lam * GASOLINE_AFR_SCALE
        else:
            lam = value / self.stoich_afr
            # Gasoline setting: the displayed AFR already is the canonical one (no rounding).
            afr = value if self.stoich_afr == GASOLINE_AFR_SCALE else lam * GASOLINE_AFR_SCALE
        lo, hi = self._lambda_range
        if not lo <= lam <= hi:
            self.stats.frames_rejected += 1
            return None
        self.stats.frames_ok += 1
        return Reading(
            values={self._afr_channel: afr, self._status_channel: float(SensorStatus.VALID)}
        )


# ------------------------------------------------------------------ encoders
def encode_line(value: float, mode: str = "afr", decimals: int | None = None) -> bytes:
    """The bytes the gauge sends for a displayed ``value`` (AFR or λ per ``mode``).

    ``encode_line(14.7)`` is ``b"14.7\\r\\n"`` (§2.1 worked example). ``decimals`` defaults to
    1 in AFR mode and 2 in lambda mode (see DEFAULT_DECIMALS).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    places = DEFAULT_DECIMALS[mode] if decimals is None else decimals
    if not 0 <= places <= 6:
        raise ValueError(f"decimals must be 0..6, not {places!r}")
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"the gauge shows a finite, non-negative value, not {value!r}")
    return f"{value:.{places}f}\r\n".encode("ascii")


def encode_lambda(
    lam: float,
    mode: str = "afr",
    stoich_afr: float = GASOLINE_AFR_SCALE,
    decimals: int | None = None,
) -> bytes:
    """The line a gauge with fuel setting ``stoich_afr`` sends for a true ``lam``."""
    value = lam if mode == "lambda" else lam * _check_stoich(stoich_afr)
    return encode_line(value, mode, decimals)


def resolution(mode: str = "afr", decimals: int | None = None) -> float:
    """Half a step of the sent text, in the displayed unit (AFR or λ)."""
    places = DEFAULT_DECIMALS[mode] if decimals is None else decimals
    return 0.5 * 10.0**-places


# ------------------------------------------------------------------ device kind
def make_decoder(options: Mapping[str, Any]) -> AemAsciiDecoder:
    """A decoder for resolved options (cylinder, mode, stoich_afr)."""
    return AemAsciiDecoder(
        cylinder=options.get("cylinder", "front"),
        mode=options.get("mode", "afr"),
        stoich_afr=options.get("stoich_afr", GASOLINE_AFR_SCALE),
    )


KIND = DeviceKind(
    protocol=PROTOCOL,
    role="wideband",
    title="AEM X-Series / 30-4110 (ASCII)",
    baudrate=BAUDRATE,
    options=(
        DeviceOption(
            "cylinder", "front", "which cylinder's exhaust this gauge's sensor sits in", CYLINDERS
        ),
        DeviceOption("mode", "afr", "what the gauge displays (and so sends): AFR or lambda", MODES),
        DeviceOption(
            "stoich_afr",
            GASOLINE_AFR_SCALE,
            "the gauge's fuel setting (stoich AFR: 14.7 gasoline, 14.1 E10, 9.8 E85, "
            "6.4 methanol); only used to turn an AFR-mode value into lambda",
            None,
        ),
    ),
    make_decoder=make_decoder,
)
