"""The acquisition core against the virtual cell over real sockets: streaming, a port pulled and
put back, garbage on the line, recording, and a recording process killed with kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from dynoai_desktop.acquisition.acquisition import Acquisition, device_configs
from dynoai_desktop.acquisition.reader import DeviceConfig
from dynoai_desktop.acquisition.recorder import Recorder
from dynoai_desktop.acquisition.status import DeviceState
from dynoai_desktop.core.channels import LOG_COLUMNS
from dynoai_desktop.demo import DemoCell
from dynoai_desktop.sim.cell import CellConfig, VirtualCell
from dynoai_desktop.sim.server import CellServer
from dynoai_desktop.storage.catalog import Catalog
from dynoai_desktop.storage.journal import recover_runs
from dynoai_desktop.storage.run_files import export_log_csv, read_run
from dynoai_desktop.storage.settings import DevicePort
from tests.shop import a_session

pytestmark = pytest.mark.once_without_qt  # long: runs in the suite without Qt


@contextmanager
def demo_cell(rate_multiplier: float = 1.0) -> Iterator[tuple[DemoCell, Acquisition]]:
    """The virtual cell served on loopback ports, and an acquisition reading its ports."""
    with DemoCell(rate_multiplier=rate_multiplier) as demo, \
            Acquisition(device_configs(demo.ports)) as acq:
        yield demo, acq


def _wait(condition, timeout_s: float, what: str) -> float:  # noqa: ANN001
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout_s, f"gave up waiting for {what}"
        time.sleep(0.02)
    return time.monotonic() - start


def _state(acq: Acquisition, name: str) -> DeviceState:
    return next(s.state for s in acq.statuses() if s.name == name)


def test_demo_cell_streams_every_device_into_the_buffer() -> None:
    with demo_cell(rate_multiplier=10.0) as (demo, acq):
        _wait(lambda: _state(acq, "wideband") == DeviceState.STREAMING, 10, "the widebands")
        time.sleep(0.8)
        window = acq.buffer.window(0.5, ["rpm", "afr_front", "afr_rear", "torque_ftlb"])
        for channel in ("rpm", "afr_front", "afr_rear"):
            assert np.isfinite(window[channel]).mean() > 0.9, channel
        assert np.all(np.diff(window["time_s"]) > 0)
        assert 9.0 < np.nanmedian(window["afr_front"]) < 20.0
        assert _state(acq, "dyno") == DeviceState.STREAMING


def test_a_pulled_port_comes_back_by_itself_and_the_others_keep_streaming() -> None:
    with demo_cell(rate_multiplier=10.0) as (demo, acq):
        server = demo.server
        _wait(lambda: _state(acq, "wideband") == DeviceState.STREAMING, 10, "the widebands")
        server.drop_port("wideband")
        dropped_at = acq.now_s()
        _wait(lambda: _state(acq, "wideband") == DeviceState.PORT_LOST, 3, "port lost")
        reason = next(s.reason for s in acq.statuses() if s.name == "wideband")
        assert "port lost" in reason
        time.sleep(1.0)
        assert _state(acq, "dyno") == DeviceState.STREAMING
        # Retried and refused meanwhile: the light still says the port was lost, and why.
        reason = next(s.reason for s in acq.statuses() if s.name == "wideband")
        assert "port lost" in reason and "retrying every 0.5 s" in reason, reason
        server.restore_port("wideband")
        back_s = _wait(lambda: _state(acq, "wideband") == DeviceState.STREAMING, 5, "resume")
        print(f"wideband streaming again {back_s:.2f} s after its port returned")
        assert back_s <= 5.0
        time.sleep(0.3)
        rows = acq.buffer.window(None, ["rpm", "afr_front"])
        during = (rows["time_s"] > dropped_at + 0.6) & (rows["time_s"] < dropped_at + 1.0)
        assert np.isfinite(rows["rpm"][during]).all()  # the dyno's rows carried on
        assert np.isnan(rows["afr_front"][during]).all()  # stale AFR is not carried over
        assert np.diff(rows["time_s"][rows["time_s"] > dropped_at]).max() < 0.1
        assert np.isfinite(rows["afr_front"][-5:]).all()
        assert next(s.reconnects for s in acq.statuses() if s.name == "wideband") == 1


def test_rows_follow_the_widebands_while_the_dyno_is_gone() -> None:
    with demo_cell(rate_multiplier=10.0) as (demo, acq):
        _wait(lambda: _state(acq, "wideband") == DeviceState.STREAMING, 10, "the widebands")
        demo.server.drop_port("dyno")
        gone = acq.now_s()
        time.sleep(1.0)
        rows = acq.buffer.window(None, ["afr_front", "rpm"])
        later = rows["time_s"] > gone + 0.5
        assert later.sum() >= 8  # the MTS chain's ~12 packets a second still make rows
        assert np.isfinite(rows["afr_front"][later]).all()
        assert np.isnan(rows["rpm"][later]).all()


def test_garbage_on_the_line_is_a_status_not_a_crash() -> None:
    with demo_cell() as (demo, acq):
        _wait(lambda: _state(acq, "dyno") == DeviceState.STREAMING, 5, "the dyno")
        demo.server.inject_garbage("dyno", bytes(range(256)) * 8)
        time.sleep(0.3)
        status = next(s for s in acq.statuses() if s.name == "dyno")
        assert status.state == DeviceState.STREAMING
        assert status.frames_rejected + status.bytes_skipped > 0
        assert "garbled" in status.reason


def test_the_wrong_protocol_says_no_valid_data() -> None:
    cell = VirtualCell(CellConfig())
    with CellServer(cell) as server:
        url = {e.device: e.url for e in server.endpoints}["wideband"]
        with Acquisition([DeviceConfig("wideband", "aem-ascii", url)]) as acq:
            _wait(lambda: _state(acq, "wideband") == DeviceState.NO_VALID_DATA, 5, "the status")
            reason = acq.statuses()[0].reason
            assert "no frame decodes" in reason and "aem-ascii" in reason


def test_an_unopenable_port_is_port_lost_with_the_reason() -> None:
    with Acquisition([DeviceConfig("dyno", "dyno-line", "socket://127.0.0.1:9")]) as acq:
        _wait(lambda: _state(acq, "dyno") == DeviceState.PORT_LOST, 3, "port lost")
        assert "cannot open the port" in acq.statuses()[0].reason


def test_a_recorded_run_is_saved_with_markers_and_exports(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "catalog.sqlite")
    session = a_session(catalog)
    with demo_cell() as (_demo, acq):
        _wait(lambda: _state(acq, "dyno") == DeviceState.STREAMING, 5, "the dyno")
        recorder = Recorder(acq, catalog)
        run_id = recorder.start(session, "pull 1", [DevicePort("dyno", "dyno-line", "x")])
        time.sleep(1.0)
        at = recorder.mark("tip-in at 2500")
        time.sleep(1.0)
        record = recorder.stop()
    assert record.id == run_id and record.status == "complete"
    frame, meta = read_run(catalog.run_path(record))
    assert list(frame.columns[: len(LOG_COLUMNS)]) == list(LOG_COLUMNS)
    assert frame["time_s"].iloc[0] == 0.0 and frame["time_s"].is_monotonic_increasing
    assert 150 <= len(frame) <= 260 and record.rows == len(frame)
    assert meta.markers[0].note == "tip-in at 2500" and abs(meta.markers[0].time_s - at) < 0.05
    assert meta.weather.baro_kpa == pytest.approx(100.5)
    assert not (tmp_path / "journal" / f"run-{run_id:06d}").exists()
    export_log_csv(catalog.run_path(record), tmp_path / "run.csv")
    assert (tmp_path / "run.csv").read_text().splitlines()[0] == ",".join(LOG_COLUMNS)
    catalog.close()


def test_a_run_spanning_a_pulled_cable_keeps_the_other_devices_data(tmp_path: Path) -> None:
    catalog = Catalog(tmp_path / "catalog.sqlite")
    session = a_session(catalog)
    with demo_cell(rate_multiplier=10.0) as (demo, acq):
        _wait(lambda: _state(acq, "wideband") == DeviceState.STREAMING, 10, "the widebands")
        recorder = Recorder(acq, catalog)
        recorder.start(session, "with a gap", [])
        time.sleep(0.5)
        demo.server.drop_port("wideband")
        time.sleep(1.0)
        demo.server.restore_port("wideband")
        _wait(lambda: _state(acq, "wideband") == DeviceState.STREAMING, 5, "resume")
        time.sleep(0.5)
        record = recorder.stop()
    frame, _ = read_run(catalog.run_path(record))
    assert np.diff(frame["time_s"].to_numpy()).max() < 0.1  # no hole in the dyno's rows
    afr = frame["afr_front"].to_numpy()
    assert np.isfinite(afr[:20]).all() and np.isfinite(afr[-5:]).all()
    assert np.isnan(afr).sum() > 50  # the gap shows as missing AFR, nothing invented
    catalog.close()


def test_kill_9_mid_run_loses_at_most_a_second_and_the_run_is_recovered(tmp_path: Path) -> None:
    cell = VirtualCell(CellConfig())
    with CellServer(cell) as server:
        urls = {e.device: e.url for e in server.endpoints}
        env = dict(os.environ)  # the test's own data directory (conftest)
        child = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("record_child.py")), urls["dyno"],
             urls["wideband"]], env=env, stdout=subprocess.PIPE, text=True)
        try:
            started = json.loads(child.stdout.readline())
            time.sleep(3.0)
            killed_at = time.monotonic()
            child.send_signal(signal.SIGKILL)
            assert child.wait(10) == -signal.SIGKILL
        finally:
            child.kill()
            child.stdout.close()
    catalog = Catalog()
    assert [r.id for r in catalog.runs_in_status("recording")] == [started["run_id"]]
    recovery = recover_runs(catalog)
    recovered = recovery.runs
    assert [r.status for r in recovered] == ["recovered"] and recovery.problems == ()
    frame, meta = read_run(catalog.run_path(recovered[0]))
    assert meta.source == "recovered" and meta.name == "killed mid-run"
    last_row_at = started["recording_since"] + float(frame["time_s"].iloc[-1])
    lost_s = killed_at - last_row_at
    print(f"kill -9 after {killed_at - started['recording_since']:.2f} s of recording: "
          f"{len(frame)} rows recovered, {lost_s:.2f} s lost")
    assert lost_s <= 1.0
    assert len(frame) >= 200
    assert recover_runs(catalog).runs == ()  # nothing left to recover
    catalog.close()
