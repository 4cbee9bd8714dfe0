"""Each device decodes a stream written in random chunks over a real pty and over socket://,
with front and rear kept apart; ports that fail or vanish give clear errors."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pytest

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.devices.base import DynoCommand, Reading
from dynoai_desktop.devices.registry import device_registry
from dynoai_desktop.devices.transport import PortError, PortLost, SerialDevice
from tests.devices.byte_sources import PtyByteSource, TcpByteSource
from tests.devices.streams import Stream, all_streams

FRAMES = 150
SOURCES: dict[str, Callable[[bytes, int], TcpByteSource | PtyByteSource]] = {
    "pty": lambda data, seed: PtyByteSource(data, seed),
    "socket": lambda data, seed: TcpByteSource(data, seed),
}


def _read_all(device: SerialDevice, stream: Stream, timeout_s: float = 20.0) -> list[Reading]:
    wanted = len(next(iter(stream.expected.values())))
    readings: list[Reading] = []
    deadline = time.monotonic() + timeout_s
    while len(readings) < wanted and time.monotonic() < deadline:
        readings.extend(device.read())
    return readings


@pytest.mark.parametrize("source_kind", sorted(SOURCES))
@pytest.mark.parametrize("stream", all_streams(FRAMES, seed=7), ids=lambda s: s.protocol)
def test_every_device_decodes_a_randomly_chunked_stream_over_a_real_port(
    source_kind: str, stream: Stream
) -> None:
    kind = device_registry().get(stream.protocol)
    source = SOURCES[source_kind](stream.data, 11)
    device = SerialDevice(kind, source.url, stream.options)
    try:
        if source_kind == "socket":
            source.start()
            device.open()
        else:
            device.open()  # pyserial flushes a pty's input on open: write after it
            source.start()
        readings = _read_all(device, stream)
    finally:
        device.close()
        source.stop()

    assert device.stats.frames_rejected == 0
    for channel, expected in stream.expected.items():
        got = [r.values[channel] for r in readings if channel in r.values]
        assert len(got) == len(expected), channel
        np.testing.assert_allclose(got, expected, rtol=0, atol=stream.tolerance, err_msg=channel)
    if "afr_front" in stream.expected and "afr_rear" in stream.expected:
        # front values were drawn from 11.5-12.9 and rear from 13.5-14.9: a swap cannot hide
        assert all(r.values["afr_front"] < 13.0 < r.values["afr_rear"] for r in readings)


def test_a_stream_cut_mid_frame_by_a_reconnect_resumes_on_the_next_frame() -> None:
    stream = all_streams(40, seed=3)[0]  # MTS chain, 10 bytes a packet
    kind = device_registry().get(stream.protocol)
    first = TcpByteSource(stream.data[:205], seed=1)  # 20 packets and half of the 21st
    device = SerialDevice(kind, first.url, stream.options)
    first.start()
    device.open()
    before = []
    while len(before) < 20:
        before.extend(device.read())
    first.stop()  # the dyno PC's cable is pulled
    with pytest.raises(PortLost):
        for _ in range(50):
            device.read()
    second = TcpByteSource(stream.data[200:], seed=2).start()  # the line comes back
    device.url = second.url
    device.open()
    after = []
    try:
        while len(after) < 20:
            after.extend(device.read())
    finally:
        device.close()
        second.stop()
    front = [r.values["afr_front"] for r in before + after]
    np.testing.assert_allclose(front, stream.expected["afr_front"], atol=stream.tolerance)


def test_a_port_that_does_not_exist_names_itself_and_what_to_check() -> None:
    kind = device_registry().get("innovate-mts")
    device = SerialDevice(kind, "/dev/ttyUSB_no_such_port")
    with pytest.raises(PortError, match="/dev/ttyUSB_no_such_port: cannot open the port"):
        device.open()


def test_no_port_chosen_is_a_clear_error() -> None:
    with pytest.raises(PortError, match="no port chosen"):
        SerialDevice(device_registry().get("dyno-line"), " ").open()


def test_unknown_protocol_and_options_are_refused_by_name() -> None:
    registry = device_registry()
    with pytest.raises(InputError, match="unknown device protocol 'lc-9'"):
        registry.get("lc-9")
    with pytest.raises(InputError, match="unknown device option 'front_cyl'"):
        SerialDevice(registry.get("innovate-mts"), "loop://", {"front_cyl": 1})


def test_the_dyno_line_takes_control_commands_over_the_port() -> None:
    kind = device_registry().get("dyno-line")
    assert kind.controls_load
    device = SerialDevice(kind, "loop://")
    with device:
        device.send(DynoCommand("hold_rpm", 3500))
        echoed = device._require_open().read(64)
    assert echoed == b"!HOLD 3500\r\n"


def test_widebands_do_not_take_dyno_commands() -> None:
    device = SerialDevice(device_registry().get("innovate-mts"), "loop://")
    with device, pytest.raises(InputError, match="does not take dyno-control commands"):
        device.send(DynoCommand("release"))


def test_every_builtin_protocol_is_registered() -> None:
    assert device_registry().protocols() == ["aem-ascii", "dyno-line", "innovate-mts", "plx-imfd"]
    assert device_registry().protocols("dyno") == ["dyno-line"]
