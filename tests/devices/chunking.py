"""Feeding a decoder a stream cut at given places, as a serial line would deliver it."""

from __future__ import annotations

from dynoai_desktop.devices.base import Decoder, Reading


def feed_chunks(dec: Decoder, data: bytes, cuts: list[int]) -> list[Reading]:
    """Feed ``data`` split at ``cuts`` (clamped to its length); the readings of all chunks."""
    out: list[Reading] = []
    prev = 0
    for cut in sorted({min(c, len(data)) for c in cuts}) + [len(data)]:
        out += dec.feed(data[prev:cut])
        prev = cut
    return out
