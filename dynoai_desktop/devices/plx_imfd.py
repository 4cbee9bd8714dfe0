"""PLX Devices iMFD serial protocol (SM-AFR wideband, SM-EGT and the other iMFD modules).

protocols.md §4.2: 19200 8N1, a packet set every 100 ms: ``0x80`` (start), N × 5-byte sensor
records, ``0x40`` (stop). A record is address MSB, address LSB, instance, data MSB, data LSB,
each a 6-bit payload byte (0x00-0x3F), so address and data are 12 bits (0..4095). There is no
checksum (§4.5); the 6-bit rule is the only integrity check.

Decoding rules:

* Bytes before a ``0x80`` are discarded (``bytes_skipped``).
* Inside a frame, ``0x40`` ends it: a payload that is a whole number of 5-byte records
  (zero included) is a good frame; any other length is rejected. A ``0x80`` inside a frame
  rejects it and starts a new frame there; any other byte above 0x3F rejects the frame and
  hunting for ``0x80`` resumes after it. A frame longer than 64 records is rejected (the
  buffer never holds more than one maximal frame).
* Wideband (address 0, §4.3): raw x is turned into λ = (x/3.75 + 68)/100 (§4.4) and
  published as canonical AFR = λ × 14.7. The iMFD's own gasoline formula
  AFR = (x/2.55 + 100)/10 (§4.4) is a slightly different straight line (10.157 vs 10.153 at
  x = 4, 14.706 vs 14.700 at x = 120, within 0.01 AFR over 10-20 AFR); it is a display
  scale, not λ, and is not used for the channels (see ``raw_to_gasoline_afr``).
* EGT (address 1): x is °C (§4.4: "EGT ... x °C"; °F is only a display conversion), so
  ``egt_*_c`` = x with no conversion.
* The ``front_instance`` / ``rear_instance`` options say which instance numbers (§4.2: 0 for
  the first module of a type, +1 per further module of that type on the chain) are the front
  and rear cylinder, for widebands (``afr_front``/``afr_rear``) and EGTs (``egt_front_c``/
  ``egt_rear_c``) alike. Other instances and the other sensor types of §4.3 are published
  as ``plx_<name>_<instance>`` with the §4.4 conversion, or raw (``..._raw``) where §4.4
  gives none. Unknown addresses are skipped; they do not reject the frame.

Status (§4.5): the only status data are sensors 24-26 (wideband status 0-1, health 0-101,
reaction), whose meaning is undocumented (§9 item 5). They are passed through raw as
``plx_wideband_status_raw_<n>`` etc. and not interpreted: every wideband reading is
SensorStatus.VALID.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from dynoai_desktop.core.channels import GASOLINE_AFR_SCALE, SensorStatus
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.devices.base import DecoderStats, DeviceKind, DeviceOption, Reading

PROTOCOL = "plx-imfd"
BAUDRATE = 19200  # §4.2

START = 0x80  # §4.2 frame start
STOP = 0x40  # §4.2 frame stop
RECORD_BYTES = 5
MAX_SENSORS = 64  # a longer frame is rejected as garbage [INFERRED bound]
MAX_PAYLOAD = RECORD_BYTES * MAX_SENSORS
MAX_RAW = 0xFFF  # 12-bit address and data (§4.2)
MAX_INSTANCE = 0x3F  # 6-bit instance byte

ADDRESS_WIDEBAND = 0  # §4.3
ADDRESS_EGT = 1  # §4.3

_NOT_PAYLOAD = re.compile(rb"[^\x00-\x3f]")  # any byte breaking the 6-bit rule


def _ident(x: int) -> float:
    return float(x)


# §4.3 addresses beyond wideband/EGT -> (name with unit, §4.4 conversion). "_raw" = no
# documented conversion: the raw 0..4095 value is passed through.
OTHER_SENSORS: Mapping[int, tuple[str, Callable[[int], float]]] = {
    2: ("fluid_temp_c", _ident),
    3: ("vacuum_inhg", lambda x: -(x / 11.39 - 29.93)),
    4: ("boost_psi", lambda x: x / 22.73),
    5: ("iat_c", _ident),
    6: ("rpm", lambda x: x * 19.55),
    7: ("speed_mph", lambda x: x / 6.39),
    8: ("tps_raw", _ident),
    9: ("engine_load_raw", _ident),
    10: ("fluid_pressure_psi", lambda x: x / 5.115),
    11: ("timing_deg", lambda x: x - 64.0),
    12: ("map_kpa", _ident),
    13: ("maf_gps", _ident),
    14: ("stft_pct", lambda x: x - 100.0),
    15: ("ltft_pct", lambda x: x - 100.0),
    16: ("narrowband_raw", _ident),
    17: ("fuel_level_raw", _ident),
    18: ("volts_v", lambda x: x / 51.15),
    19: ("knock_v", lambda x: x / 204.6),
    20: ("duty_pct", lambda x: x / 10.23),
    21: ("fuel_efficiency_raw", _ident),
    22: ("analog_v", lambda x: x / 51.15),
    23: ("speed_hz_raw", _ident),
    24: ("wideband_status_raw", _ident),
    25: ("wideband_health_raw", _ident),
    26: ("wideband_reaction_raw", _ident),
}


# ------------------------------------------------------------------ conversions (§4.4)
def raw_to_lambda(raw: int) -> float:
    """λ of a wideband raw value: (x/3.75 + 68)/100 (§4.4)."""
    return (raw / 3.75 + 68.0) / 100.0


def raw_to_gasoline_afr(raw: int) -> float:
    """The iMFD's own gasoline AFR display formula (x/2.55 + 100)/10 (§4.4); not canonical."""
    return (raw / 2.55 + 100.0) / 10.0


def lambda_to_raw(lam: float) -> int:
    """Nearest wideband raw value for ``lam``; saturates at λ 0.68 / 11.6 (raw 0 / 4095)."""
    if not math.isfinite(lam):
        raise ValueError(f"lambda must be finite, not {lam!r}")
    return min(MAX_RAW, max(0, round((lam * 100.0 - 68.0) * 3.75)))


def egt_c_to_raw(egt_c: float) -> int:
    """Raw value of an EGT in °C (x °C, §4.4); saturates at 0 / 4095 °C."""
    if not math.isfinite(egt_c):
        raise ValueError(f"EGT must be finite, not {egt_c!r}")
    return min(MAX_RAW, max(0, round(egt_c)))


# ------------------------------------------------------------------ decoder
class PlxImfdDecoder:
    """Incremental decoder of iMFD packet sets; instances map to front/rear cylinders."""

    def __init__(self, front_instance: int = 0, rear_instance: int = 1) -> None:
        for name, value in (("front_instance", front_instance), ("rear_instance", rear_instance)):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 63:
                raise InputError(
                    f"{PROTOCOL}: option {name}={value!r} is not allowed; give the module's "
                    "instance number 0-63 (0 = first module of its type on the chain)"
                )
        if front_instance == rear_instance:
            raise InputError(
                f"{PROTOCOL}: front_instance and rear_instance are both {front_instance}; "
                "give the front and rear sensors different instance numbers"
            )
        self.stats = DecoderStats()
        self.front_instance = front_instance
        self.rear_instance = rear_instance
        self._cylinder = {front_instance: "front", rear_instance: "rear"}
        self._buf = b""  # empty while hunting; else the open frame, starting with START
        self._scanned = 0  # bytes of _buf known to be START + payload bytes

    def feed(self, data: bytes) -> list[Reading]:
        """Decode every frame that ``data`` completes; never raises on bad bytes."""
        stats = self.stats
        stats.bytes_in += len(data)
        buf = self._buf + bytes(data)
        n = len(buf)
        readings: list[Reading] = []
        if self._buf:
            start, scan = 0, self._scanned
        else:
            start, scan = -1, 0
        pos = 0
        while True:
            if start < 0:  # hunting for a frame start
                start = buf.find(START, pos)
                if start < 0:
                    stats.bytes_skipped += n - pos
                    self._buf, self._scanned = b"", 0
                    return readings
                stats.bytes_skipped += start - pos
                scan = start + 1
            # Payload may occupy buf[start+1 : start+1+MAX_PAYLOAD]; one more byte decides.
            limit = min(n, start + 2 + MAX_PAYLOAD)
            match = _NOT_PAYLOAD.search(buf, scan, limit)
            if match is None:
                if limit - start - 1 > MAX_PAYLOAD:  # too long to be a frame
                    stats.frames_rejected += 1
                    pos, start = limit, -1
                    continue
                self._buf, self._scanned = buf[start:], limit - start  # incomplete frame
                return readings
            end = match.start()
            byte = buf[end]
            if byte == STOP and (end - start - 1) % RECORD_BYTES == 0:
                stats.frames_ok += 1
                reading = self._decode(buf[start + 1 : end])
                if reading is not None:
                    readings.append(reading)
                pos, start = end + 1, -1
            elif byte == START:  # a new frame begins inside this one
                stats.frames_rejected += 1
                start, scan = end, end + 1
            else:  # stop byte at a wrong place, or a byte breaking the 6-bit rule
                stats.frames_rejected += 1
                pos, start = end + 1, -1

    def _decode(self, payload: bytes) -> Reading | None:
        """The Reading of a good frame's records; None when no record says anything known."""
        values: dict[str, float] = {}
        for k in range(0, len(payload), RECORD_BYTES):
            address = payload[k] << 6 | payload[k + 1]
            instance = payload[k + 2]
            raw = payload[k + 3] << 6 | payload[k + 4]
            cylinder = self._cylinder.get(instance)
            if address == ADDRESS_WIDEBAND:
                afr = raw_to_lambda(raw) * GASOLINE_AFR_SCALE
                if cylinder is None:
                    values[f"plx_afr_{instance}"] = afr
                else:
                    values[f"afr_{cylinder}"] = afr
                    values[f"afr_{cylinder}_status"] = float(SensorStatus.VALID)
            elif address == ADDRESS_EGT:
                name = f"plx_egt_c_{instance}" if cylinder is None else f"egt_{cylinder}_c"
                values[name] = float(raw)
            else:
                other = OTHER_SENSORS.get(address)
                if other is not None:
                    name, convert = other
                    values[f"plx_{name}_{instance}"] = convert(raw)
        return Reading(values=values) if values else None


# ------------------------------------------------------------------ encoders
Sensor = tuple[int, int, int]  # (address, instance, raw value)


def encode_frame(sensors: Iterable[Sensor]) -> bytes:
    """One packet set: START, a 5-byte record per (address, instance, raw), STOP (§4.2)."""
    out = bytearray((START,))
    for address, instance, raw in sensors:
        if not 0 <= address <= MAX_RAW:
            raise ValueError(f"sensor address must be 0..4095, not {address!r}")
        if not 0 <= instance <= MAX_INSTANCE:
            raise ValueError(f"sensor instance must be 0..63, not {instance!r}")
        if not 0 <= raw <= MAX_RAW:
            raise ValueError(f"sensor value must be 0..4095, not {raw!r}")
        out += bytes((address >> 6, address & 0x3F, instance, raw >> 6, raw & 0x3F))
    out.append(STOP)
    return bytes(out)


def wideband_sensor(lam: float, instance: int = 0) -> Sensor:
    """An SM-AFR record for ``encode_frame``: (0, instance, raw of ``lam``)."""
    return (ADDRESS_WIDEBAND, instance, lambda_to_raw(lam))


def egt_sensor(egt_c: float, instance: int = 0) -> Sensor:
    """An SM-EGT record for ``encode_frame``: (1, instance, raw of ``egt_c``)."""
    return (ADDRESS_EGT, instance, egt_c_to_raw(egt_c))


LAMBDA_RESOLUTION = 0.5 / 3.75 / 100.0  # half a raw step, in λ
AFR_RESOLUTION = LAMBDA_RESOLUTION * GASOLINE_AFR_SCALE  # ~0.02 AFR


# ------------------------------------------------------------------ device kind
def make_decoder(options: Mapping[str, Any]) -> PlxImfdDecoder:
    """A decoder for resolved options (front_instance, rear_instance)."""
    return PlxImfdDecoder(
        front_instance=options.get("front_instance", 0),
        rear_instance=options.get("rear_instance", 1),
    )


_INSTANCES = tuple(range(MAX_INSTANCE + 1))

KIND = DeviceKind(
    protocol=PROTOCOL,
    role="wideband",
    title="PLX iMFD (SM-AFR, SM-EGT)",
    baudrate=BAUDRATE,
    options=(
        DeviceOption(
            "front_instance",
            0,
            "instance number of the front cylinder's SM-AFR and SM-EGT (0 = first on the chain)",
            _INSTANCES,
        ),
        DeviceOption(
            "rear_instance",
            1,
            "instance number of the rear cylinder's SM-AFR and SM-EGT",
            _INSTANCES,
        ),
    ),
    make_decoder=make_decoder,
)
