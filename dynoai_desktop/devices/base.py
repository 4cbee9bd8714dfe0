"""The device contract: what every codec yields and what every device kind declares.

A *codec* is pure: bytes in any chunking go in, :class:`Reading` objects come out; it never
raises on bad bytes (it counts them in :class:`DecoderStats` and resynchronises). A *device
kind* (:class:`DeviceKind`) names a protocol, its serial settings, its options (which
sub-packet is front, AFR or λ mode, channel map) and makes a decoder for those options. The
transport (:mod:`dynoai_desktop.devices.transport`) opens a pyserial URL and feeds the decoder.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from dynoai_desktop.core.errors import InputError


@dataclass(frozen=True, slots=True)
class Reading:
    """What one complete, valid frame said, in canonical channels (FORMATS.md §2).

    ``values`` maps canonical channel names to values in canonical units (AFR channels are
    λ × 14.7 whatever the fuel; status channels hold ``SensorStatus`` codes). Channels a device
    has beyond the canonical ones use the same naming habit (``egt_front_c``) and are kept.
    ``details`` maps a channel to a line in the tuner's words about its state ("warming up,
    50 % of operating temperature", "sensor error 2: heater open"). ``device_time_s`` is the
    device's own clock where it sends one (kept for diagnostics; samples are stamped by the host).
    """

    values: Mapping[str, float]
    details: Mapping[str, str] = field(default_factory=dict)
    device_time_s: float | None = None


@dataclass
class DecoderStats:
    """Counters a decoder keeps so that garbage on a line becomes a visible status, not a crash."""

    bytes_in: int = 0
    frames_ok: int = 0
    frames_rejected: int = 0  # looked like a frame, failed a check: no Reading was produced
    bytes_skipped: int = 0  # discarded while hunting for the next frame start


class Decoder(Protocol):
    """Incremental decoder: feed any chunk, get the readings of every frame it completed."""

    stats: DecoderStats

    def feed(self, data: bytes) -> list[Reading]: ...


@dataclass(frozen=True)
class DeviceOption:
    """One user-settable option of a device kind, with its default and allowed values."""

    name: str
    default: Any
    help: str
    choices: tuple[Any, ...] | None = None


@dataclass(frozen=True)
class DeviceKind:
    """A protocol the app can speak: registry key, serial settings, options, decoder factory."""

    protocol: str  # registry key, as in FORMATS.md §4: "innovate-mts", "aem-ascii", ...
    role: str  # "wideband" or "dyno"
    title: str  # for the device bar: "Innovate MTS (LC-1/LC-2/LM-2)"
    baudrate: int
    options: tuple[DeviceOption, ...]
    make_decoder: Callable[[Mapping[str, Any]], Decoder]
    # Optional: host -> device bytes for a dyno that takes commands (load control); None if not.
    encode_command: Callable[[DynoCommand], bytes] | None = None

    def resolve_options(self, given: Mapping[str, Any] | None) -> dict[str, Any]:
        """Defaults overlaid with ``given``; an unknown option or value is an InputError."""
        known = {o.name: o for o in self.options}
        resolved = {o.name: o.default for o in self.options}
        for name, value in (given or {}).items():
            if name not in known:
                valid = ", ".join(known) or "none"
                raise InputError(
                    f"{self.protocol}: unknown device option {name!r}; valid options: {valid}"
                )
            choices = known[name].choices
            if choices is not None and value not in choices:
                raise InputError(
                    f"{self.protocol}: option {name}={value!r} is not allowed; "
                    f"choose one of {', '.join(map(repr, choices))}"
                )
            resolved[name] = value
        return resolved

    @property
    def controls_load(self) -> bool:
        """True when the device accepts dyno-control commands (hold rpm, run a plan)."""
        return self.encode_command is not None


@dataclass(frozen=True)
class DynoCommand:
    """A dyno-control request (optional capability of load-control dynos).

    ``action`` is one of:

    - "hold_rpm": ``value`` = rpm; the dyno holds it.
    - "hold_rpm_map": ``value`` = (rpm, map_kpa); the dyno holds the rpm, the rider holds the
      manifold pressure (the app shows it to the tuner).
    - "pull": ``value`` = (from_rpm, to_rpm, map_kpa or None, rpm_per_s or None). Rising with
      neither: a pull on inertia (wide open from ``from_rpm``, the roller free to ``to_rpm``).
      With ``rpm_per_s``: the dyno ramps the rpm at that rate while the rider holds
      ``map_kpa`` (a load-control sweep), or wide open without it. Falling (``to_rpm`` below
      ``from_rpm``): a closed-throttle decel down a ramp (500 rpm/s by default), no map_kpa.
    - "release": let the roller sweep freely.
    - "run_plan": ``value`` = plan name the dyno knows.

    Values are tuples (not lists) so that commands stay hashable and compare equal after a
    round trip through the dyno line (docs/dyno-line-protocol.md).
    """

    action: str
    value: float | str | tuple[float | None, ...] | None = None


class DeviceRegistry:
    """Device kinds by protocol name; built-in and simulated devices register the same way."""

    def __init__(self) -> None:
        self._kinds: dict[str, DeviceKind] = {}

    def register(self, kind: DeviceKind) -> DeviceKind:
        if kind.protocol in self._kinds:
            raise ValueError(f"device protocol {kind.protocol!r} is registered twice")
        self._kinds[kind.protocol] = kind
        return kind

    def get(self, protocol: str) -> DeviceKind:
        try:
            return self._kinds[protocol]
        except KeyError:
            raise InputError(
                f"unknown device protocol {protocol!r}; known: {', '.join(sorted(self._kinds))}"
            ) from None

    def protocols(self, role: str | None = None) -> list[str]:
        return sorted(p for p, k in self._kinds.items() if role is None or k.role == role)


REGISTRY = DeviceRegistry()
