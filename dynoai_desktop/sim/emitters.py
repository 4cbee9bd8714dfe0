"""The simulated devices' bytes: each emitter turns the cell's state into its protocol's frames.

They use the same encoders the codecs are tested with (devices/), so what the app decodes from
the virtual cell is what it would decode from the real device.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from dynoai_desktop.core.channels import CHANNELS, SensorStatus
from dynoai_desktop.core.units import GASOLINE_STOICH_AFR
from dynoai_desktop.devices import aem_ascii, dyno_line, innovate_mts, plx_imfd
from dynoai_desktop.sim.stream import ServedDevice
from dynoai_desktop.sim.wideband import WidebandSample

MTS_PERIOD_S = 0.08192  # protocols.md §1.11
AEM_PERIOD_S = 0.1  # 10 samples/s (§2.1)
PLX_PERIOD_S = 0.1  # "packet set repeats exactly every 100 ms" (§4)
DYNO_PERIOD_S = 0.01  # the dyno line at 100 Hz
WIDEBAND_PROTOCOLS = ("innovate-mts", "aem-ascii", "plx-imfd")

# The dyno line's fields: canonical channel and decimals. The sim's DAQ has an ECM link, so it
# carries the ECM's channels (MAP, TPS, temperatures, spark, knock, AFR target) as well.
DYNO_FIELDS: tuple[tuple[str, int], ...] = (
    ("time_s", 3), ("rpm", 0), ("speed_mph", 1), ("torque_ftlb", 1), ("power_hp", 1),
    ("map_kpa", 1), ("tps_pct", 1), ("afr_target", 2), ("engine_temp_c", 1), ("iat_c", 1),
    ("spark_front_deg", 2), ("spark_rear_deg", 2), ("knock_retard_front_deg", 1),
    ("knock_retard_rear_deg", 1), ("baro_kpa", 2), ("ambient_temp_c", 1), ("humidity_pct", 0),
    ("correction_factor", 3),
)
# With closed loop on (``CellConfig.closed_loop``) the ECM link also carries its trims; they are
# empty where it runs open loop (FORMATS.md §2).
CLOSED_LOOP_FIELDS: tuple[tuple[str, int], ...] = (("cl_trim_front_pct", 1),
                                                   ("cl_trim_rear_pct", 1))


def dyno_fields(closed_loop: bool) -> tuple[tuple[str, int], ...]:
    """The dyno line's (channel, decimals), with the closed-loop trims when it runs."""
    return DYNO_FIELDS + CLOSED_LOOP_FIELDS if closed_loop else DYNO_FIELDS


@dataclass
class Emitter:
    """One served device: its period, the next time it sends, and how it encodes."""

    device: ServedDevice
    period_s: float
    phase_s: float
    encode: Callable[[float], bytes]  # sim time -> frame bytes (b"" = nothing this time)
    greeting: bytes = b""
    count: int = 0

    @property
    def next_time_s(self) -> float:
        """Scheduled time of the next frame."""
        return self.phase_s + self.count * self.period_s


def dyno_header(fields: tuple[tuple[str, int], ...] = DYNO_FIELDS) -> bytes:
    """``#DYNO v1,time_s[s],rpm[rpm],...`` in canonical units."""
    return dyno_line.encode_header([(name, CHANNELS[name].unit) for name, _ in fields])


def dyno_frame(values: dict[str, float], fields: tuple[tuple[str, int], ...] = DYNO_FIELDS
               ) -> bytes:
    """One dyno data line from the current channel values (NaN: an empty field)."""
    return dyno_line.encode_data_line([values[name] for name, _ in fields],
                                      [places for _, places in fields])


def _mts_word(sample: WidebandSample) -> dict:
    if sample.status == SensorStatus.VALID and sample.lam is not None:
        return {"lam": sample.lam, "function": innovate_mts.Function.LAMBDA, "raw": None}
    if sample.status == SensorStatus.WARMING_UP:
        return {"lam": None, "function": innovate_mts.Function.WARMING_UP,
                "raw": min(1000, sample.code * 10)}
    if sample.status == SensorStatus.CALIBRATING:
        return {"lam": None, "function": innovate_mts.Function.FREE_AIR_CAL, "raw": 0}
    return {"lam": None, "function": innovate_mts.Function.ERROR, "raw": sample.code or 7}


def mts_frame(front: WidebandSample, rear: WidebandSample) -> bytes:
    """One packet of a two-LC-2 chain: front first (the default front=1, rear=2 options)."""
    f, r = _mts_word(front), _mts_word(rear)
    return innovate_mts.encode_lc2_chain(
        f["lam"], r["lam"] if r["lam"] is not None else 1.0,
        front_function=f["function"], front_raw=f["raw"],
        rear_function=r["function"], rear_raw=r["raw"],
    )


def aem_frame(sample: WidebandSample) -> bytes:
    """An AEM gauge line in AFR mode; nothing while warming up or in error (no status exists)."""
    if sample.status != SensorStatus.VALID or sample.lam is None:
        return b""
    return aem_ascii.encode_lambda(sample.lam, "afr")


def plx_frame(front: WidebandSample, rear: WidebandSample) -> bytes:
    """A PLX packet set with the two SM-AFR modules (instances 0 front, 1 rear)."""
    sensors = [plx_imfd.wideband_sensor(s.lam, i) for i, s in enumerate((front, rear))
               if s.status == SensorStatus.VALID and s.lam is not None]
    return plx_imfd.encode_frame(sensors) if sensors else b""


def wideband_emitters(protocol: str, sample: Callable[[int, float], WidebandSample],
                      rng: random.Random) -> list[Emitter]:
    """The wideband device(s) for ``protocol``: MTS and PLX chain both sensors on one line;
    AEM gauges are one line per cylinder."""
    if protocol == "innovate-mts":
        device = ServedDevice("wideband", protocol, innovate_mts.KIND.baudrate)
        return [Emitter(device, MTS_PERIOD_S, 0.0,
                        lambda t: mts_frame(sample(0, t), sample(1, t)))]
    if protocol == "plx-imfd":
        device = ServedDevice("wideband", protocol, plx_imfd.KIND.baudrate)
        return [Emitter(device, PLX_PERIOD_S, 0.0,
                        lambda t: plx_frame(sample(0, t), sample(1, t)))]
    if protocol == "aem-ascii":
        offset = round(rng.uniform(0.02, 0.08), 3)  # two gauges, free-running clocks
        return [
            Emitter(ServedDevice("wideband_front", protocol, aem_ascii.KIND.baudrate), AEM_PERIOD_S,
                    0.0, lambda t: aem_frame(sample(0, t))),
            Emitter(ServedDevice("wideband_rear", protocol, aem_ascii.KIND.baudrate), AEM_PERIOD_S,
                    offset, lambda t: aem_frame(sample(1, t))),
        ]
    raise ValueError(f"no simulated wideband for protocol {protocol!r}")


def decoder_options(device: ServedDevice) -> dict[str, object]:
    """Device options a client needs to read this device as the sim means it."""
    if device.name == "wideband_rear":
        return {"cylinder": "rear"}
    if device.name == "wideband_front":
        return {"cylinder": "front"}
    return {}


def resolution(protocol: str, channel: str) -> float:
    """Half a step of what ``protocol`` can carry for ``channel`` (for stream = log checks)."""
    if protocol == "dyno-line":
        places = dict(DYNO_FIELDS + CLOSED_LOOP_FIELDS).get(channel, 3)
        return 0.5 * 10.0**-places
    if protocol == "aem-ascii":
        return aem_ascii.resolution("afr")
    if protocol == "plx-imfd":
        return plx_imfd.AFR_RESOLUTION
    return 0.5 * 0.001 * GASOLINE_STOICH_AFR  # MTS: λ in 0.001 steps

