"""The cell server carries real device bytes to pyserial clients over TCP and ptys, keeps the
cell's pace, survives slow, leaving and misbehaving clients, and injects the faults a test asks
for. Every client here reads through the app's own device path (``SerialDevice``)."""

from __future__ import annotations

import os
import random
import socket
import threading
import time
from collections.abc import Iterable
from pathlib import Path

import pytest

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.devices.base import DynoCommand, Reading
from dynoai_desktop.devices.registry import device_registry
from dynoai_desktop.devices.transport import PortError, PortLost, SerialDevice
from dynoai_desktop.sim.server import CLIENT_BUFFER_BYTES, THREAD_NAME, CellServer, Endpoint
from tests.sim.fake_cell import HEADER, FakeCell, dyno_frame, dyno_number, wideband_number
from tests.sim.reading import read_until

READ_TIMEOUT_S = 0.01
HAS_PTY = hasattr(os, "openpty") and os.name == "posix"

Arrivals = list[tuple[float, Reading]]  # (wall time the reading was decoded, reading)


def _open(endpoint: Endpoint, *, pty: bool = False) -> SerialDevice:
    kind = device_registry().get(endpoint.protocol)
    url = endpoint.pty_path if pty else endpoint.url
    assert url is not None
    device = SerialDevice(kind, url, read_timeout_s=READ_TIMEOUT_S)
    device.open()
    return device


def _open_all(server: CellServer, *, pty: bool = False) -> dict[str, SerialDevice]:
    return {e.device: _open(e, pty=pty) for e in server.endpoints}


def _close_all(devices: Iterable[SerialDevice]) -> None:
    for device in devices:
        device.close()


def _read_for(devices: dict[str, SerialDevice], seconds: float) -> dict[str, Arrivals]:
    """Read every device in turn for ``seconds``; readings stamped with their arrival time."""
    got: dict[str, Arrivals] = {name: [] for name in devices}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for name, device in devices.items():
            readings = device.read()
            now = time.monotonic()
            got[name].extend((now, r) for r in readings)
    return got


def _dyno_numbers(arrivals: Arrivals) -> list[int]:
    return [dyno_number(r) for _, r in arrivals]


def _wideband_numbers(arrivals: Arrivals) -> list[int]:
    return [wideband_number(r) for _, r in arrivals if "afr_front" in r.values]


def _consecutive(numbers: list[int]) -> bool:
    return all(b == a + 1 for a, b in zip(numbers, numbers[1:], strict=False))


def _port(endpoint: Endpoint) -> int:
    return int(endpoint.url.rsplit(":", 1)[1])


def _refused(endpoint: Endpoint) -> bool:
    try:
        socket.create_connection(("127.0.0.1", _port(endpoint)), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def _read_line(sock: socket.socket, buffer: bytearray) -> bytes:
    while b"\n" not in buffer:
        chunk = sock.recv(4096)
        assert chunk, "the server closed the connection"
        buffer += chunk
    line, _, rest = bytes(buffer).partition(b"\n")
    buffer[:] = rest
    return line + b"\n"


# ---------------------------------------------------------------------------------- streaming
def test_both_devices_stream_over_tcp_header_first_in_order_without_gaps() -> None:
    with CellServer(FakeCell()) as server:
        assert [(e.device, e.protocol, e.pty_path) for e in server.endpoints] == [
            ("dyno", "dyno-line", None),
            ("wideband", "innovate-mts", None),
        ]
        assert all(e.url.startswith("socket://127.0.0.1:") for e in server.endpoints)
        devices = _open_all(server)
        try:
            got = _read_for(devices, 1.0)
        finally:
            _close_all(devices.values())

    dyno = _dyno_numbers(got["dyno"])
    assert len(dyno) >= 50 and _consecutive(dyno)
    assert all(r.device_time_s == pytest.approx(dyno_number(r) * 0.01) for _, r in got["dyno"])
    # Nothing came before the header (data before it would be skipped), nothing was rejected.
    assert devices["dyno"].stats.bytes_skipped == 0
    assert devices["dyno"].stats.frames_rejected == 0
    wideband = _wideband_numbers(got["wideband"])
    assert len(wideband) >= 6 and _consecutive(wideband)
    assert devices["wideband"].stats.frames_rejected == 0


@pytest.mark.skipif(not HAS_PTY, reason="ptys are POSIX only")
def test_both_devices_stream_over_ptys_and_the_dyno_answers_there() -> None:
    cell = FakeCell()
    with CellServer(cell, pty=True, greeting_interval_s=0.25) as server:
        assert all(e.pty_path and e.pty_path.startswith("/dev/") for e in server.endpoints)
        devices = _open_all(server, pty=True)
        try:
            got = _read_for(devices, 1.2)
            devices["dyno"].send(DynoCommand("release"))
            replies = read_until(devices["dyno"], lambda rs: any("dyno" in r.details for r in rs))
        finally:
            _close_all(devices.values())

    dyno = _dyno_numbers(got["dyno"])
    assert len(dyno) >= 50 and _consecutive(dyno)
    wideband = _wideband_numbers(got["wideband"])
    assert len(wideband) >= 6 and _consecutive(wideband)
    assert cell.commands == [DynoCommand("release")]
    assert "dyno OK: RELEASE" in [r.details.get("dyno") for r in replies]


def test_a_client_that_reconnects_gets_the_header_again_and_frames_resume() -> None:
    with CellServer(FakeCell()) as server:
        address = ("127.0.0.1", _port(server.endpoints[0]))
        last = -1
        for _ in range(2):
            with socket.create_connection(address, timeout=3) as sock:
                buffer = bytearray()
                assert _read_line(sock, buffer) == HEADER
                lines = [_read_line(sock, buffer) for _ in range(10)]
            first = int(float(lines[0].split(b",")[1]))
            assert lines == [dyno_frame(n) for n in range(first, first + 10)]
            assert first > last
            last = first + 9


def test_rate_multiplier_runs_sim_time_faster_than_wall_time() -> None:
    with CellServer(FakeCell(), rate_multiplier=10) as server:
        device = _open(server.endpoints[0])
        try:
            got = _read_for({"dyno": device}, 0.7)["dyno"]
        finally:
            device.close()

    assert _consecutive(_dyno_numbers(got))
    begin = next(i for i, (t, _) in enumerate(got) if t >= got[0][0] + 0.1)  # past the start-up
    (wall0, first), (wall1, last) = got[begin], got[-1]
    assert first.device_time_s is not None and last.device_time_s is not None
    ratio = (last.device_time_s - first.device_time_s) / (wall1 - wall0)
    assert 6.0 < ratio < 14.0


# ---------------------------------------------------------------------------------- faults
def test_a_dropped_port_closes_and_refuses_then_comes_back_on_the_same_url() -> None:
    with CellServer(FakeCell()) as server:
        endpoint = server.endpoints[0]
        device = _open(endpoint)
        before = read_until(device, lambda rs: len(rs) >= 5)
        server.drop_port("dyno")
        with pytest.raises(PortLost):
            read_until(device, lambda rs: False, timeout_s=2.0)
        assert _refused(endpoint)
        with pytest.raises(PortError):
            _open(endpoint)
        assert server.stats("dyno").clients == 0

        server.restore_port("dyno")
        device = _open(endpoint)
        try:
            after = read_until(device, lambda rs: len(rs) >= 5)
        finally:
            device.close()
    assert dyno_number(after[0]) > dyno_number(before[-1]) + 1
    assert _consecutive([dyno_number(r) for r in after])


def test_garbage_in_the_stream_is_skipped_and_decoding_carries_on() -> None:
    garbage = random.Random(6).randbytes(500)
    with CellServer(FakeCell()) as server:
        devices = _open_all(server)
        try:
            _read_for(devices, 0.3)
            clean = {
                name: (d.stats.frames_rejected, d.stats.bytes_skipped)
                for name, d in devices.items()
            }
            for name in devices:
                server.inject_garbage(name, garbage)
            got = _read_for(devices, 0.8)
        finally:
            _close_all(devices.values())

    assert clean == {"dyno": (0, 0), "wideband": (0, 0)}
    for name, device in devices.items():
        assert device.stats.frames_rejected + device.stats.bytes_skipped > 0, name
    assert _consecutive(_dyno_numbers(got["dyno"])[-30:])
    assert _consecutive(_wideband_numbers(got["wideband"])[-5:])


def test_a_stalled_device_goes_silent_while_the_other_keeps_streaming() -> None:
    with CellServer(FakeCell()) as server:
        devices = _open_all(server)
        try:
            _read_for(devices, 0.3)
            stalled_at = time.monotonic()
            server.stall("dyno", 0.5)
            got = _read_for(devices, 1.0)
        finally:
            _close_all(devices.values())

    dyno_times = [stalled_at] + [t for t, _ in got["dyno"]]
    longest_gap = max(b - a for a, b in zip(dyno_times, dyno_times[1:], strict=False))
    assert 0.4 < longest_gap < 0.9
    numbers = _dyno_numbers(got["dyno"])
    jumps = [b - a for a, b in zip(numbers, numbers[1:], strict=False) if b != a + 1]
    assert len(jumps) <= 1 and all(jump >= 30 for jump in jumps)  # the stalled frames are gone
    assert numbers and numbers[-1] > numbers[0] + 30  # it carried on
    during = [t for t, _ in got["wideband"] if stalled_at + 0.05 < t < stalled_at + 0.45]
    assert len(during) >= 3
    assert server.stats("dyno").bytes_stalled > 0


def test_a_command_reaches_the_cell_and_only_its_sender_gets_the_reply() -> None:
    cell = FakeCell()
    with CellServer(cell) as server:
        sender, other = _open(server.endpoints[0]), _open(server.endpoints[0])
        try:
            _read_for({"sender": sender, "other": other}, 0.3)
            sender.send(DynoCommand("hold_rpm", 3000))
            got = _read_for({"sender": sender, "other": other}, 0.5)
        finally:
            _close_all([sender, other])

    assert cell.commands == [DynoCommand("hold_rpm", 3000)]
    assert [r.details["dyno"] for _, r in got["sender"] if "dyno" in r.details] == [
        "dyno OK: HOLD 3000"
    ]
    assert not any("dyno" in r.details for _, r in got["other"])
    assert _consecutive(_dyno_numbers(got["sender"])) and _consecutive(_dyno_numbers(got["other"]))


def test_a_client_that_never_reads_does_not_hold_up_the_others() -> None:
    with CellServer(FakeCell(filler_bytes_per_s=1_000_000)) as server:
        endpoint = server.endpoints[0]
        with socket.socket() as idle:
            idle.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            idle.connect(("127.0.0.1", _port(endpoint)))
            reader = _open(endpoint)
            try:
                got = _read_for({"dyno": reader}, 2.0)["dyno"]
                stats = server.stats("dyno")
            finally:
                reader.close()

    numbers = _dyno_numbers(got)
    assert len(numbers) >= 120 and _consecutive(numbers)
    lags = [t - r.device_time_s for t, r in got if r.device_time_s is not None]
    assert max(lags) - min(lags) < 0.3  # frames kept arriving on time
    assert stats.bytes_dropped > 0  # the idle client lost its oldest emissions...
    assert stats.peak_queued_bytes <= CLIENT_BUFFER_BYTES + 1000  # ...so memory stayed bounded
    assert stats.clients == 2  # the idle client was kept, not thrown off


# ---------------------------------------------------------------------------------- ending
def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_stop_closes_every_port_and_fd_and_ends_the_thread() -> None:
    has_proc = Path("/proc/self/fd").is_dir()
    fds_before = _open_fds() if has_proc else 0
    server = CellServer(FakeCell(), pty=HAS_PTY)
    server.start()
    device = _open(server.endpoints[0])
    read_until(device, lambda rs: len(rs) >= 3)
    server.stop()
    assert not any(t.name == THREAD_NAME for t in threading.enumerate())
    with pytest.raises(PortLost):
        read_until(device, lambda rs: False, timeout_s=2.0)
    assert _refused(server.endpoints[0])
    server.stop()  # twice is fine
    assert server.wait(0) and server.error is None
    if has_proc:
        assert _open_fds() == fds_before


def test_a_failing_cell_stops_the_server_and_reports_why() -> None:
    with CellServer(FakeCell(fail_at_s=0.2)) as server:
        assert server.wait(3.0)
        assert isinstance(server.error, RuntimeError)
        assert "broke down" in str(server.error)
        assert _refused(server.endpoints[0])
        with pytest.raises(RuntimeError, match="not running"):
            server.stall("dyno", 1.0)


def test_duration_ends_serving_at_that_sim_time() -> None:
    cell = FakeCell()
    with CellServer(cell, rate_multiplier=5, duration_s=1.0) as server:
        assert server.wait(3.0)
    assert server.error is None
    assert cell.time_s == 1.0
    assert server.stats("dyno").emissions_sent == 101  # frames at 0.00, 0.01, ... 1.00 s


# ---------------------------------------------------------------------------------- user errors
def test_a_port_in_use_is_refused_naming_the_device_and_port() -> None:
    with socket.create_server(("127.0.0.1", 0)) as blocker:
        port = blocker.getsockname()[1]
        server = CellServer(FakeCell(), ports={"wideband": port})
        with pytest.raises(InputError, match=rf"^wideband: port {port} on 127.0.0.1 is in use"):
            server.start()
    assert server.endpoints == ()


def test_a_given_port_is_used_and_a_bad_device_or_port_is_refused() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        free = probe.getsockname()[1]
    with CellServer(FakeCell(), ports={"dyno": free}) as server:
        assert server.endpoints[0].url == f"socket://127.0.0.1:{free}"
    with pytest.raises(InputError, match="no simulated device 'brake'"):
        CellServer(FakeCell(), ports={"brake": 7001})
    with pytest.raises(InputError, match="dyno: port 70000 is not a TCP port"):
        CellServer(FakeCell(), ports={"dyno": 70000})
    with pytest.raises(InputError, match="rate multiplier"):
        CellServer(FakeCell(), rate_multiplier=0)


def test_no_ptys_on_this_os_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "openpty", raising=False)
    server = CellServer(FakeCell(), pty=True)
    with pytest.raises(InputError, match="dyno: this OS has no ptys; leave out --pty"):
        server.start()
    server.stop()
