"""Done-when 2: with the same seed and plan, what the app decodes from the served ports (real
sockets, the real codecs) equals the rows ``--log`` writes, within each codec's resolution."""

from __future__ import annotations

import math
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dynoai_desktop.cli import main
from dynoai_desktop.devices.registry import device_registry
from dynoai_desktop.devices.transport import SerialDevice
from dynoai_desktop.sim import emitters
from dynoai_desktop.sim.stream import ServedDevice
from tests.sim.log_analysis import read_log

pytestmark = pytest.mark.once_without_qt  # long: runs in the suite without Qt

RATE = 8.0  # serve 8x real time: 3.5 s of reading covers ~28 s of the run
READ_WALL_S = 3.5
WIDEBAND_CHANNELS = ("afr_front", "afr_rear", "afr_front_status", "afr_rear_status")
ARGS = ["--seed", "7", "--plan", "street", "--sensor-errors-per-h", "0"]


def _serve(protocol: str) -> tuple[subprocess.Popen, list[tuple[str, str, str]]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "dynoai_desktop.cli", "simulate", *ARGS,
         "--wideband-protocol", protocol, "--rate-multiplier", str(RATE)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    devices = []
    for _ in range(3 if protocol == "aem-ascii" else 2):
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        devices.append(tuple(line.split()))
    return proc, devices


def _read_all(devices: list[tuple[str, str, str]]) -> dict[str, list[dict[str, float]]]:
    registry = device_registry()
    ports = {}
    for name, protocol, url in devices:
        served = ServedDevice(name, protocol, 0)
        ports[name] = SerialDevice(registry.get(protocol), url, emitters.decoder_options(served),
                                   read_timeout_s=0.01)
        ports[name].open()
    got: dict[str, list[dict[str, float]]] = {name: [] for name in ports}
    try:
        end = time.monotonic() + READ_WALL_S
        while time.monotonic() < end:
            for name, port in ports.items():
                got[name] += [{**r.values, "device_time_s": r.device_time_s}
                              for r in port.read()]
    finally:
        for port in ports.values():
            port.close()
    return got


def _key(values: dict[str, float], channels: tuple[str, ...]) -> tuple:
    return tuple(None if (v := values.get(c)) is None or math.isnan(v) else v for c in channels)


def _runs(items: list[tuple]) -> list[tuple]:
    """Consecutive repeats collapsed: one entry per wideband packet."""
    return [x for i, x in enumerate(items) if i == 0 or x != items[i - 1]]


def _close(a: tuple, b: tuple, tolerance: float) -> bool:
    return all((x is None and y is None) or (x is not None and y is not None
                                              and abs(x - y) <= tolerance)
               for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("protocol", emitters.WIDEBAND_PROTOCOLS)
def test_served_stream_equals_log(protocol: str, tmp_path: Path) -> None:
    proc, devices = _serve(protocol)
    try:
        got = _read_all(devices)
    finally:
        proc.terminate()
        assert proc.wait(10) == 0
        proc.stdout.close()
        proc.stderr.close()
    log_path = tmp_path / "run.csv"
    assert main(["simulate", *ARGS, "--wideband-protocol", protocol, "--duration-s", "60",
                 "--log", str(log_path)]) == 0
    log = read_log(log_path)
    rows = {round(t, 3): i for i, t in enumerate(log["time_s"])}

    # The dyno line carries its own time: every decoded line is the logged row at that time.
    dyno = got["dyno"]
    assert len(dyno) > 1000
    for reading in dyno:
        device_time = round(reading.pop("device_time_s"), 3)
        i = rows[device_time]
        for channel, value in reading.items():
            tolerance = emitters.resolution("dyno-line", channel) + 1e-6
            assert abs(log[channel][i] - value) <= tolerance, (channel, device_time,
                                                               log[channel][i], value)

    # A wideband sends no time: its packets, in order, are a stretch of the logged packets.
    for name, readings in got.items():
        if name == "dyno":
            continue
        channels = tuple(c for c in WIDEBAND_CHANNELS if c in readings[-1])
        stream = _runs([_key(r, channels) for r in readings])
        logged = _runs([_key({c: log[c][i] for c in channels}, channels)
                        for i in range(len(log["time_s"]))
                        if not all(math.isnan(log[c][i]) for c in channels)])
        valid = [k for k in stream if k[0] is not None]
        assert len(valid) > 40, name
        tolerance = emitters.resolution(protocol, "afr_front") + 1e-6
        starts = [j for j in range(len(logged) - len(stream) + 1)
                  if _close(logged[j], stream[0], tolerance)]
        assert any(all(_close(logged[j + k], s, tolerance) for k, s in enumerate(stream))
                   for j in starts), f"{name}: the served packets are not the logged ones"
