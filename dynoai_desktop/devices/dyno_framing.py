"""The dyno line's framing (docs/dyno-line-protocol.md, "Grammar" and "Checksum"): lines split
at LF and kept under ``MAX_LINE`` bytes, an optional ``*HHHH`` CRC-16 at a line's end, and a line
written back with it. Shared by the data decoder (``dyno_line``) and the host commands
(``dyno_commands``)."""

from __future__ import annotations

import binascii
import re

PROTOCOL = "dyno-line"
NUMBER = re.compile(rb"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
HEX4 = re.compile(rb"[0-9A-Fa-f]{4}")
MAX_LINE = 1024  # bytes before the line end (checksum included); longer lines are rejected


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF): the ``*HHHH`` line checksum."""
    return binascii.crc_hqx(data, 0xFFFF)


class LineRejected(Exception):
    """A line failed a check; the message says why in the tuner's words."""


def split_crc(raw: bytes) -> tuple[bytes, bool]:
    """(content, had a checksum) of a line without its end; LineRejected on a wrong checksum."""
    if len(raw) >= 5 and raw[-5] == 0x2A and HEX4.fullmatch(raw, len(raw) - 4):  # "*HHHH"
        if crc16(raw[:-5]) != int(raw[-4:], 16):
            raise LineRejected("checksum mismatch")
        return raw[:-5], True
    return raw, False


class LineSplitter:
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


def encode_line(text: str, *, checksum: bool = False) -> bytes:
    """``text`` as one line: UTF-8, optional ``*HHHH`` checksum, ``\\r\\n``."""
    body = text.encode("utf-8")
    if checksum:
        body += b"*%04X" % crc16(body)
    return body + b"\r\n"
