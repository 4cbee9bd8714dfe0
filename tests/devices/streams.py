"""Device byte streams with known contents, built with each codec's own encoder.

Front and rear get values from different ranges (front 11.5–12.9 AFR, rear 13.5–14.9) so a
swap anywhere between the bytes and the readings is caught.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from dynoai_desktop.core.channels import GASOLINE_AFR_SCALE
from dynoai_desktop.devices import aem_ascii, dyno_line, innovate_mts, plx_imfd


@dataclass
class Stream:
    """Bytes a device sends, the options to read them with, and the values they carry."""

    protocol: str
    data: bytes
    options: dict[str, Any] = field(default_factory=dict)
    expected: dict[str, list[float]] = field(default_factory=dict)  # channel -> values in order
    tolerance: float = 0.0


def _afr_pairs(n: int, seed: int) -> list[tuple[float, float]]:
    rng = random.Random(seed)
    return [
        (round(rng.uniform(11.5, 12.9), 2), round(rng.uniform(13.5, 14.9), 2)) for _ in range(n)
    ]


def mts_chain(n: int, seed: int = 0) -> Stream:
    pairs = _afr_pairs(n, seed)
    data = b"".join(
        innovate_mts.encode_lc2_chain(f / GASOLINE_AFR_SCALE, r / GASOLINE_AFR_SCALE)
        for f, r in pairs
    )
    return Stream("innovate-mts", data, {"front": 1, "rear": 2},
                  {"afr_front": [f for f, _ in pairs], "afr_rear": [r for _, r in pairs]},
                  tolerance=0.0005 * GASOLINE_AFR_SCALE + 1e-9)


def aem(n: int, cylinder: str, seed: int = 0) -> Stream:
    values = [p[0 if cylinder == "front" else 1] for p in _afr_pairs(n, seed)]
    data = b"".join(aem_ascii.encode_line(v, mode="afr", decimals=2) for v in values)
    return Stream("aem-ascii", data, {"cylinder": cylinder, "mode": "afr"},
                  {f"afr_{cylinder}": values}, tolerance=0.005 + 1e-9)


def plx_pair(n: int, seed: int = 0) -> Stream:
    pairs = _afr_pairs(n, seed)
    data = b"".join(
        plx_imfd.encode_frame([
            plx_imfd.wideband_sensor(f / GASOLINE_AFR_SCALE, 0),
            plx_imfd.wideband_sensor(r / GASOLINE_AFR_SCALE, 1),
        ])
        for f, r in pairs
    )
    return Stream("plx-imfd", data, {"front_instance": 0, "rear_instance": 1},
                  {"afr_front": [f for f, _ in pairs], "afr_rear": [r for _, r in pairs]},
                  tolerance=plx_imfd.AFR_RESOLUTION + 1e-9)


DYNO_FIELDS = [("time_s", "s"), ("rpm", "rpm"), ("roller_mph", "mph"), ("torque_ftlb", "ft-lb"),
               ("map_kpa", "kPa"), ("tps_pct", "%"), ("iat_c", "C"), ("engine_temp_c", "C")]


def dyno(n: int, seed: int = 0) -> Stream:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        rpm = 2000.0 + 3800.0 * i / max(n - 1, 1)
        rows.append([i / 100.0, round(rpm), round(rng.uniform(20, 90), 2),
                     round(rng.uniform(60, 110), 2), round(rng.uniform(20, 100), 1),
                     round(rng.uniform(0, 100), 1), 35.0, 150.0])
    data = dyno_line.encode_header(DYNO_FIELDS) + b"".join(
        dyno_line.encode_data_line(row, decimals=[3, 0, 2, 2, 1, 1, 1, 1]) for row in rows
    )
    return Stream("dyno-line", data, {},
                  {"rpm": [r[1] for r in rows], "torque_ftlb": [r[3] for r in rows],
                   "speed_mph": [r[2] for r in rows]}, tolerance=1e-9)


def all_streams(n: int, seed: int = 0) -> list[Stream]:
    """One stream per device set-up the cell can have."""
    return [mts_chain(n, seed), aem(n, "front", seed), aem(n, "rear", seed + 1),
            plx_pair(n, seed), dyno(n, seed)]
