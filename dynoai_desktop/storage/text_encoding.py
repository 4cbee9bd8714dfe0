"""A user's text file as a str, its encoding detected from the bytes and said when not UTF-8.

The rule (one for every text importer: foreign logs, Log CSV, Table CSV):

1. A byte-order mark decides: UTF-32 LE/BE, UTF-8, UTF-16 LE/BE.
2. No mark: UTF-16 when the first 4 KB show its NUL pattern (text in the ASCII range written as
   UTF-16 has a zero byte at every odd position, LE, or every even one, BE; nothing else does).
3. Valid UTF-8 is UTF-8. A file that is UTF-8 but for a few damaged bytes (valid multi-byte
   characters outnumber the invalid bytes) is UTF-8 with those bytes replaced.
4. Otherwise a Windows export in a legacy code page: Windows-1252 (Western: 0xB0 is °), and
   Latin-1 when the file has a byte Windows-1252 does not define.

No statistical guessing (charset-normalizer and the like): the tools a dyno shop meets are
Western Windows programs, a log's only non-ASCII characters are a few unit signs, and a
deterministic rule says why it chose what it chose.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

_BOMS = (  # UTF-32 LE first: its mark starts with UTF-16 LE's
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32 LE"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32 BE"),
    (codecs.BOM_UTF8, "utf-8", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16 LE"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16 BE"),
)
_SNIFF_BYTES = 4096
_UTF16_ZERO_SHARE = 0.4  # of the sampled characters whose high byte is zero (ASCII-range text)
_UTF16_STRAY_SHARE = 0.02  # zero low bytes allowed (there are none in text; a little slack)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SCAN_CHARS = 65536
_MAX_CONTROL_FRACTION = 0.001
_MAX_REPLACED = 16


@dataclass(frozen=True)
class DecodedText:
    """A file's text and how it was decoded."""

    text: str
    """The text, without its byte-order mark."""
    codec: str
    """The Python codec that decoded the bytes after the mark: utf-8, utf-16-le, cp1252, ..."""
    label: str
    """The encoding in the tuner's words: UTF-8, UTF-16 LE, Windows-1252, Latin-1."""
    reason: str
    """Why that encoding: "byte-order mark", "zero byte at every odd position", ..."""
    bom: bytes = b""
    replaced: int = 0
    """Bytes that were not valid in the encoding, read as U+FFFD."""

    @property
    def is_utf8(self) -> bool:
        """True for clean UTF-8 (with or without a byte-order mark): nothing to tell the user."""
        return self.codec == "utf-8" and not self.replaced

    def notice(self) -> str:
        """What a warning says when the file is not clean UTF-8; "" when it is."""
        if self.is_utf8:
            return ""
        return f"read as {self.label} text ({self.reason})"

    def byte_offset(self, index: int) -> int:
        """The byte offset in the file of character ``index`` of :attr:`text` (near it where
        bytes before it were replaced)."""
        return len(self.bom) + len(self.text[:index].encode(self.codec, errors="replace"))


def decode_text(data: bytes) -> DecodedText:
    """``data`` as text by the module's rule; never raises (see :func:`binary_offset`)."""
    for bom, codec, label in _BOMS:
        if data.startswith(bom):
            return _decode(data, bom, codec, label, "byte-order mark")
    utf16 = _utf16_without_bom(data[:_SNIFF_BYTES])
    if utf16 is not None:
        codec, reason = utf16
        return _decode(data, b"", codec, f"UTF-16 {codec[-2:].upper()}", reason)
    try:
        return DecodedText(data.decode("utf-8"), "utf-8", "UTF-8", "valid UTF-8")
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    text = data.decode("utf-8", errors="replace")
    replaced = text.count("\ufffd") - data.count("\ufffd".encode())
    non_ascii = len(text) - len(text.encode("ascii", errors="ignore"))
    if non_ascii - text.count("\ufffd") > replaced:  # valid multi-byte characters outnumber
        reason = f"UTF-8 except {_bytes(replaced)} that cannot be read, the first at offset "
        return DecodedText(text, "utf-8", "UTF-8", f"{reason}{first_bad}", replaced=replaced)
    byte = data[first_bad]
    try:
        text = data.decode("cp1252")
        codec, label = "cp1252", "Windows-1252"
    except UnicodeDecodeError:
        text = data.decode("latin-1")
        codec, label = "latin-1", "Latin-1"
    shown = bytes([byte]).decode(codec)
    return DecodedText(text, codec, label, f"not UTF-8: byte 0x{byte:02X} at offset {first_bad}, "
                       f"read as {shown!r}")


def binary_offset(decoded: DecodedText) -> int | None:
    """Byte offset of the first sign that the file is not text at all, or None.

    Signs, in the first 64 K characters: a NUL (text has none; UTF-16's zero bytes are decoded
    by then), control characters above 0.1 %, or more than 16 bytes the encoding cannot read.
    """
    head = decoded.text[:_SCAN_CHARS]
    nul = head.find("\x00")
    if nul >= 0:
        return decoded.byte_offset(nul)
    controls = _CONTROL.findall(head)
    if len(controls) > _MAX_CONTROL_FRACTION * len(head):
        first = _CONTROL.search(head)
        return decoded.byte_offset(first.start() if first else 0)
    if decoded.replaced and head.count("\ufffd") > _MAX_REPLACED:
        return decoded.byte_offset(head.index("\ufffd"))
    return None


def _utf16_without_bom(sample: bytes) -> tuple[str, str] | None:
    """(codec, reason) when the sample has UTF-16's zero-byte pattern, else None."""
    pairs = len(sample) // 2
    if pairs == 0:
        return None
    even_zeros = sample[0 : 2 * pairs : 2].count(0)
    odd_zeros = sample[1 : 2 * pairs : 2].count(0)
    if odd_zeros >= _UTF16_ZERO_SHARE * pairs and even_zeros <= _UTF16_STRAY_SHARE * pairs:
        return "utf-16-le", "no byte-order mark; a zero byte at every odd offset"
    if even_zeros >= _UTF16_ZERO_SHARE * pairs and odd_zeros <= _UTF16_STRAY_SHARE * pairs:
        return "utf-16-be", "no byte-order mark; a zero byte at every even offset"
    return None


def _decode(data: bytes, bom: bytes, codec: str, label: str, reason: str) -> DecodedText:
    body = data[len(bom):]
    text = body.decode(codec, errors="replace")
    replaced = text.count("\ufffd") - _literal_replacements(text, body, codec)
    if replaced:
        reason += f"; {_bytes(replaced)} cannot be read"
    if codec == "utf-8" and bom and not replaced:
        label = "UTF-8 with BOM"
    return DecodedText(text, codec, label, reason, bom=bom, replaced=replaced)


def _literal_replacements(text: str, body: bytes, codec: str) -> int:
    """U+FFFD characters the file itself holds (rare; not damage)."""
    if "\ufffd" not in text:
        return 0
    return body.count("\ufffd".encode(codec))


def _bytes(n: int) -> str:
    return f"{n} byte" if n == 1 else f"{n} bytes"
