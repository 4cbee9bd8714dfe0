"""`dynoai simulate` as a user runs it (FORMATS.md §0 and §4): the Log CSV and --truth of log mode,
seeds, the URL lines and streams of serve mode, signals, stdin control, and every bad input."""

from __future__ import annotations

import csv
import json
import math
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import IO

import numpy as np
import pytest

from dynoai_desktop.cli import main
from dynoai_desktop.core.channels import LOG_COLUMNS, SensorStatus
from dynoai_desktop.core.table import Table
from dynoai_desktop.core.table_csv import format_table_csv
from dynoai_desktop.core.weather import CELL_AIR
from dynoai_desktop.devices.registry import device_registry
from dynoai_desktop.devices.transport import PortError, PortLost, SerialDevice
from dynoai_desktop.sim.ecm_tables import base_ve_table
from dynoai_desktop.sim.engine import REAR, EngineModel
from dynoai_desktop.sim.presets import get_preset
from dynoai_desktop.sim.truth import table_dict
from tests.sim.reading import read_until

HAS_PTY = hasattr(os, "openpty") and os.name == "posix" and Path("/dev/pts").is_dir()
STARTUP_S = 20.0  # generous: a loaded CI machine; normally well under a second
READ_TIMEOUT_S = 0.01
URL_LINE = re.compile(r"^(\S+) (\S+) (socket://127\.0\.0\.1:\d+)$")
# what the app's device settings say for a gauge per cylinder
DEVICE_OPTIONS = {"wideband_front": {"cylinder": "front"}, "wideband_rear": {"cylinder": "rear"}}


_read_until = partial(read_until, timeout_s=5.0)  # a child process starts slower


def _simulate(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, str]:
    code = main(["simulate", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def _read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


@pytest.fixture
def restore_signals() -> Iterator[None]:
    """Serve mode installs SIGINT/SIGTERM handlers in-process; put the test runner's back."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield
    for s, handler in saved.items():
        signal.signal(s, handler)


# ---------------------------------------------------------------------------------- log mode
def test_log_mode_writes_a_log_csv_and_the_truth(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    log, truth = tmp_path / "run.csv", tmp_path / "truth.json"
    code, out, err = _simulate(capsys, "--log", log, "--truth", truth, "--duration-s", "3")
    assert (code, out, err) == (0, "", "")

    assert log.read_text(encoding="utf-8").splitlines()[0] == ",".join(LOG_COLUMNS)
    header, rows = _read_csv(log)
    assert header == list(LOG_COLUMNS)
    times = [float(r["time_s"]) for r in rows]
    assert times[0] == 0.0
    steps = np.diff(times)
    assert np.all(steps > 0)
    assert np.allclose(steps, 0.01, rtol=0, atol=1e-9)
    assert times[-1] == 3.0
    assert all(r["rpm"] != "" and r["map_kpa"] != "" for r in rows)
    assert {r["afr_front_status"] for r in rows[50:]} == {str(int(SensorStatus.WARMING_UP))}

    data = json.loads(truth.read_text(encoding="utf-8"))
    for cylinder in ("front", "rear"):
        ve = data["ve_true"][cylinder]
        assert np.array(ve["values"]).shape == (len(ve["rpm"]), len(ve["map_kpa"]))
    assert data["ve_true"]["front"]["values"] != data["ve_true"]["rear"]["values"]
    assert {"rear_over_front_ve", "wot_rear_minus_front_pct"} <= set(data["imbalance"])
    assert {"front", "rear", "mbt"} <= set(data["knock_limit_deg"])
    delays = [p["delay_s"] for p in data["wideband"]["delay_curve"]]
    assert len(delays) > 5 and delays == sorted(delays, reverse=True)
    assert data["decel"] and data["heat_soak"]
    assert isinstance(data["events"], list)
    assert data["seed"] == 1 and data["preset"] == "tc103-stage2"


def test_the_same_seed_gives_the_same_log_and_another_seed_does_not(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    logs = {}
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        logs[name] = tmp_path / f"{name}.csv"
        code, _, err = _simulate(capsys, "--log", logs[name], "--seed", seed, "--duration-s", 4)
        assert (code, err) == (0, "")
    assert logs["a"].read_bytes() == logs["b"].read_bytes()
    assert logs["a"].read_bytes() != logs["c"].read_bytes()


def test_duration_ends_the_log_at_that_time(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    log = tmp_path / "pull.csv"
    code, _, err = _simulate(capsys, "--log", log, "--duration-s", "30", "--plan", "wot_pull")
    assert (code, err) == (0, "")
    _, rows = _read_csv(log)
    assert float(rows[0]["time_s"]) == 0.0
    assert float(rows[-1]["time_s"]) == 30.0
    assert len(rows) == 3001
    assert max(float(r["rpm"]) for r in rows) > 5500  # the first pull happened


def test_a_ve_front_table_is_what_the_ecm_fuels_from(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    table = Table(
        "VE (MAP based/Front Cyl)",
        "%",
        "rpm",
        "map_kpa",
        np.array([1000.0, 2500.0, 4000.0, 6000.0]),
        np.array([20.0, 60.0, 100.0]),
        np.array(
            [[30.0, 50.0, 70.0], [40.0, 65.0, 90.0], [45.0, 75.0, 100.0], [42.5, 70.25, 96.0]]
        ),
    )
    ve_file, truth = tmp_path / "ve_front.csv", tmp_path / "truth.json"
    ve_file.write_text(format_table_csv(table), encoding="utf-8")
    code, _, err = _simulate(
        capsys,
        "--log",
        tmp_path / "run.csv",
        "--truth",
        truth,
        "--duration-s",
        "1",
        "--ve-front",
        ve_file,
    )
    assert (code, err) == (0, "")

    ecm = json.loads(truth.read_text(encoding="utf-8"))["ecm_tables"]
    assert ecm["ve_front"] == table_dict(table)
    assert ecm["ve_mode"] == "map"
    # the rear cylinder keeps the base calibration
    base_rear = base_ve_table(EngineModel(get_preset("tc103-stage2"), CELL_AIR.baro_kpa), REAR)
    assert ecm["ve_rear"] == table_dict(base_rear)


# ---------------------------------------------------------------------------------- bad input
def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


BAD_INPUT: list = [
    pytest.param(
        lambda d: ["--preset", "sportster", "--log", d / "o.csv"], "sportster", id="unknown-preset"
    ),
    pytest.param(lambda d: ["--plan", "warp", "--log", d / "o.csv"], "warp", id="unknown-plan"),
    pytest.param(
        lambda d: ["--plan", d / "missing.json", "--log", d / "o.csv"],
        "missing.json",
        id="missing-plan-file",
    ),
    pytest.param(
        lambda d: ["--plan", _write(d / "bad.json", "{steps"), "--log", d / "o.csv"],
        "bad.json",
        id="plan-not-json",
    ),
    pytest.param(
        lambda d: [
            "--plan",
            _write(d / "p.json", '{"steps": [{"type": "nap"}]}'),
            "--log",
            d / "o.csv",
        ],
        "step 1",
        id="plan-bad-step",
    ),
    pytest.param(lambda d: ["--rate-multiplier", "0"], "--rate-multiplier", id="rate-zero"),
    pytest.param(lambda d: ["--pty", "--log", d / "o.csv"], "--pty", id="pty-with-log"),
    pytest.param(
        lambda d: ["--ve-front", d / "nope.csv", "--log", d / "o.csv"],
        "nope.csv",
        id="missing-ve-front",
    ),
    pytest.param(
        lambda d: [
            "--ve-front",
            _write(d / "tps.csv", "rpm\\tps_pct,0,50,100\n1000,40,60,80\n3000,50,70,90\n"),
            "--log",
            d / "o.csv",
        ],
        "--ve-front",
        id="tps-table-in-map-mode",
    ),
    pytest.param(lambda d: ["--port", "bogus"], "--port", id="port-bogus"),
    pytest.param(lambda d: ["--port", "nodevice=7001"], "nodevice", id="port-no-such-device"),
    pytest.param(
        lambda d: ["--duration-s", "0", "--log", d / "o.csv"], "--duration-s", id="duration-zero"
    ),
]


@pytest.mark.usefixtures("restore_signals")
@pytest.mark.parametrize(("make_args", "named"), BAD_INPUT)
def test_bad_input_is_one_line_on_stderr_and_exit_2(
    make_args: Callable[[Path], list[object]],
    named: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    code, out, err = _simulate(capsys, *make_args(tmp_path))
    assert code == 2
    assert out == ""
    assert err.startswith("dynoai simulate: ")
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert named in err
    assert "Traceback" not in err
    assert not (tmp_path / "o.csv").exists()


def test_a_tps_table_in_map_mode_says_how_to_fix_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ve = _write(tmp_path / "tps.csv", "rpm\\tps_pct,0,50,100\n1000,40,60,80\n3000,50,70,90\n")
    code, _, err = _simulate(capsys, "--ve-front", ve, "--log", tmp_path / "o.csv")
    assert code == 2
    assert "tps_pct" in err and "map_kpa" in err and "--ve-mode" in err
    code, _, err = _simulate(
        capsys,
        "--ve-front",
        ve,
        "--ve-mode",
        "tps",
        "--log",
        tmp_path / "o.csv",
        "--duration-s",
        "0.5",
    )
    assert (code, err) == (0, "")


@pytest.mark.usefixtures("restore_signals")
def test_a_refused_port_leaves_the_signal_handlers_as_they_were(
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)]
    code, _, _ = _simulate(capsys, "--port", "nodevice=7001")
    assert code == 2
    assert [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)] == before


@pytest.mark.usefixtures("restore_signals")
@pytest.mark.parametrize(
    ("args", "named"),
    [
        pytest.param(["--rate-multiplier", "nan"], "--rate-multiplier", id="rate-nan"),
        pytest.param(
            ["--sensor-errors-per-h", "nan", "--duration-s", "0.1"],
            "--sensor-errors-per-h",
            id="sensor-errors-nan",
        ),
    ],
)
def test_nan_is_refused_naming_the_option(
    args: list[str], named: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    log = ["--log", str(tmp_path / "o.csv")] if "--duration-s" in args else []
    code, _, err = _simulate(capsys, *args, *log)
    assert code == 2
    assert err.startswith(f"dynoai simulate: {named}")


# ---------------------------------------------------------------------------------- serve mode
class _Lines:
    """Lines from a child's pipe, read without blocking past a deadline."""

    def __init__(self, pipe: IO[bytes] | None) -> None:
        assert pipe is not None
        self.fd = pipe.fileno()
        os.set_blocking(self.fd, False)
        self.buffer = b""
        self.eof = False

    def _fill(self, timeout: float) -> None:
        ready, _, _ = select.select([self.fd], [], [], max(0.0, timeout))
        if ready:
            try:
                chunk = os.read(self.fd, 65536)
            except BlockingIOError:
                return
            self.buffer += chunk
            self.eof = not chunk

    def line(self, timeout_s: float) -> str:
        deadline = time.monotonic() + timeout_s
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            assert remaining > 0 and not self.eof, f"no line in {timeout_s} s: {self.buffer!r}"
            self._fill(remaining)
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode("utf-8")

    def rest(self) -> bytes:
        """Everything up to end of file (call once the child has exited)."""
        deadline = time.monotonic() + 10.0
        while not self.eof:
            assert time.monotonic() < deadline, "the pipe was not closed"
            self._fill(1.0)
        data, self.buffer = self.buffer, b""
        return data


class _Served:
    """A running `dynoai simulate` serve process."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.out = _Lines(proc.stdout)
        self.err = _Lines(proc.stderr)

    def endpoints(self, count: int) -> list[tuple[str, str, str]]:
        """The first ``count`` stdout lines, each split into (device, protocol, url)."""
        out = []
        for _ in range(count):
            line = self.out.line(STARTUP_S)
            device, protocol, url = line.split(" ")  # exactly three fields
            out.append((device, protocol, url))
        return out

    def control(self, line: str) -> str:
        """Send a control line; the line the simulator answered on stderr."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode("utf-8") + b"\n")
        self.proc.stdin.flush()
        return self.err.line(5.0)

    def stop(self, signum: int) -> tuple[int, float]:
        """Send ``signum``; the exit code and how long the process took to end."""
        sent = time.monotonic()
        self.proc.send_signal(signum)
        code = self.proc.wait(10.0)
        return code, time.monotonic() - sent


@contextmanager
def _serve(*args: str) -> Iterator[_Served]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "dynoai_desktop", "simulate", "--sensor-errors-per-h", "0", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        yield _Served(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10.0)
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()


def _open(protocol: str, url: str, device: str) -> SerialDevice:
    kind = device_registry().get(protocol)
    serial_device = SerialDevice(
        kind, url, DEVICE_OPTIONS.get(device), read_timeout_s=READ_TIMEOUT_S
    )
    serial_device.open()
    return serial_device


def _refused(url: str) -> bool:
    port = int(url.rsplit(":", 1)[1])
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


# what each device's readings must carry: an MTS chain reports its status from power-up (so it is
# read at real time); AEM gauges and PLX modules send nothing until the sensors are warm (12-15 s
# of sim time), so they run at 8x real time, a pace a busy two-core machine keeps.
SERVED = [
    pytest.param(
        "innovate-mts",
        "1",
        {
            "dyno": ("rpm", "torque_ftlb", "map_kpa"),
            "wideband": ("afr_front_status", "afr_rear_status"),
        },
        id="innovate-mts",
    ),
    pytest.param(
        "aem-ascii",
        "8",
        {"dyno": ("rpm",), "wideband_front": ("afr_front",), "wideband_rear": ("afr_rear",)},
        id="aem-ascii",
    ),
    pytest.param(
        "plx-imfd", "8", {"dyno": ("rpm",), "wideband": ("afr_front", "afr_rear")}, id="plx-imfd"
    ),
]


@pytest.mark.parametrize(("protocol", "rate", "carries"), SERVED)
def test_serve_prints_one_url_line_per_device_and_streams_frames(
    protocol: str, rate: str, carries: dict[str, tuple[str, ...]]
) -> None:
    with _serve("--wideband-protocol", protocol, "--rate-multiplier", rate) as served:
        endpoints = served.endpoints(len(carries))
        lines = [" ".join(e) for e in endpoints]
        assert all(URL_LINE.match(line) for line in lines), lines
        assert [(e[0], e[1]) for e in endpoints] == [
            (d, "dyno-line" if d == "dyno" else protocol) for d in carries
        ]
        assert len({e[2] for e in endpoints}) == len(carries)

        for name, proto, url in endpoints:
            device = _open(proto, url, name)
            try:
                readings = _read_until(
                    device,
                    lambda rs, channels=carries[name]: any(
                        all(ch in r.values and not math.isnan(r.values[ch]) for ch in channels)
                        for r in rs
                    ),
                    timeout_s=10.0,
                )
            finally:
                device.close()
            assert device.stats.frames_rejected == 0, name
            if name == "dyno":  # the header came first: nothing before it was skipped
                assert device.stats.bytes_skipped == 0
                assert 700 < readings[-1].values["rpm"] < 6500  # idling or running

        code, seconds = served.stop(signal.SIGTERM)
        assert code == 0
        assert seconds < 3.0
        assert served.out.rest() == b""  # the URL lines were all it printed
        assert b"Traceback" not in served.err.rest()


def test_sigint_ends_serving_with_exit_0() -> None:
    with _serve() as served:
        endpoints = served.endpoints(2)
        assert [e[0] for e in endpoints] == ["dyno", "wideband"]
        code, seconds = served.stop(signal.SIGINT)
        assert code == 0
        assert seconds < 3.0
        assert served.out.rest() == b""
        assert served.err.rest() == b""
        assert _refused(endpoints[0][2])


def test_serve_with_a_duration_stops_by_itself_and_writes_the_truth(tmp_path: Path) -> None:
    truth = tmp_path / "truth.json"
    with _serve("--duration-s", "2", "--rate-multiplier", "10", "--truth", str(truth)) as served:
        assert [e[0] for e in served.endpoints(2)] == ["dyno", "wideband"]
        assert served.proc.wait(10.0) == 0
        assert served.out.rest() == b""
        assert served.err.rest() == b""
    data = json.loads(truth.read_text(encoding="utf-8"))
    assert data["phases"][0]["detail"] == "idle"  # written again at the end, with what ran


@pytest.mark.skipif(not HAS_PTY, reason="ptys are POSIX only")
def test_pty_serving_prints_the_pty_paths_and_streams_there() -> None:
    with _serve("--pty") as served:
        endpoints = served.endpoints(2)
        assert [(e[0], e[1]) for e in endpoints] == [
            ("dyno", "dyno-line"),
            ("wideband", "innovate-mts"),
        ]
        assert all(re.fullmatch(r"/dev/pts/\d+", e[2]) for e in endpoints), endpoints
        also = [served.err.line(5.0) for _ in endpoints]
        assert [line.split(" ")[:4] for line in also] == [
            ["dynoai", "simulate:", name, "also"] for name, _, _ in endpoints
        ]
        assert all("socket://127.0.0.1:" in line for line in also)

        device = _open("innovate-mts", endpoints[1][2], "wideband")
        try:
            readings = _read_until(device, lambda rs: len(rs) >= 3)
        finally:
            device.close()
        assert all("afr_front_status" in r.values for r in readings)

        code, _ = served.stop(signal.SIGTERM)
        assert code == 0
        assert served.out.rest() == b""


def test_stdin_control_drops_restores_and_faults_the_devices() -> None:
    with _serve("--control-stdin") as served:
        (_, dyno_protocol, dyno_url), (_, mts_protocol, mts_url) = served.endpoints(2)
        dyno = _open(dyno_protocol, dyno_url, "dyno")
        try:
            _read_until(dyno, lambda rs: len(rs) >= 5)
            assert served.control("drop dyno") == "dynoai simulate: ok: drop dyno"
            with pytest.raises(PortLost):
                _read_until(dyno, lambda rs: False, timeout_s=2.0)
        finally:
            dyno.close()
        assert _refused(dyno_url)
        with pytest.raises(PortError):
            _open(dyno_protocol, dyno_url, "dyno")

        assert served.control("restore dyno") == "dynoai simulate: ok: restore dyno"
        dyno = _open(dyno_protocol, dyno_url, "dyno")
        try:
            _read_until(dyno, lambda rs: len(rs) >= 5)
        finally:
            dyno.close()
        assert dyno.stats.bytes_skipped == 0  # the header again, first

        wideband = _open(mts_protocol, mts_url, "wideband")
        try:
            _read_until(wideband, lambda rs: len(rs) >= 1)
            answer = served.control("sensor front error 2")
            assert answer == "dynoai simulate: ok: sensor front error 2"
            readings = _read_until(
                wideband,
                lambda rs: any(
                    r.values.get("afr_front_status") == SensorStatus.SENSOR_ERROR for r in rs
                ),
            )
            fault = next(
                r for r in readings if r.values.get("afr_front_status") == SensorStatus.SENSOR_ERROR
            )
            assert "error 2" in fault.details["afr_front"]
            assert fault.values["afr_rear_status"] != SensorStatus.SENSOR_ERROR

            answer = served.control("bogus")
            assert answer.startswith("dynoai simulate: error: unknown control 'bogus'")
            for verb in ("drop", "restore", "sensor", "hold", "plan"):
                assert verb in answer
            assert served.proc.poll() is None  # still serving
            _read_until(wideband, lambda rs: len(rs) >= 2)
        finally:
            wideband.close()

        code, _ = served.stop(signal.SIGTERM)
        assert code == 0
        assert served.out.rest() == b""
