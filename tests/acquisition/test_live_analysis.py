"""The live path and the offline path agree: the same readings make the same rows through the
merger as through log mode's row rule, and the analysis worker's results over a streamed run
equal an offline pass over the run it recorded."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dynoai_desktop.acquisition.acquisition import Acquisition, device_configs, live_buffer
from dynoai_desktop.acquisition.analysis import AnalysisWorker
from dynoai_desktop.acquisition.merger import BlockFeed, RowMerger
from dynoai_desktop.acquisition.recorder import Recorder
from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.core.channels import LOG_COLUMNS
from dynoai_desktop.core.rows import RowBlock
from dynoai_desktop.core.table import Table
from dynoai_desktop.demo import DemoCell
from dynoai_desktop.devices.registry import device_registry
from dynoai_desktop.sim.cell import CellConfig, VirtualCell
from dynoai_desktop.sim.emitters import decoder_options
from dynoai_desktop.sim.logmode import run_log
from dynoai_desktop.storage.catalog import Catalog
from dynoai_desktop.storage.resources import demo_base_tables
from dynoai_desktop.storage.run_files import read_run

SYNC_TIMEOUT_S = 300.0  # the analysis worker catching up on a loaded machine: a bound, not a goal


class CellHitCounter:
    """An accumulator for the worker: rows per cell (nearest) of a table's normalised grid."""

    def __init__(self, table: Table) -> None:
        self._view = table.normalised()
        self.load_channel = table.col_axis
        self.hits = np.zeros(self._view.shape, dtype=np.int64)

    def add(self, block: RowBlock) -> None:
        rpm, load = block.channel("rpm"), block.channel(self.load_channel)
        usable = np.isfinite(rpm) & np.isfinite(load)
        if usable.any():
            np.add.at(self.hits, self._view.nearest_cell(rpm[usable], load[usable]), 1)

    def snapshot(self) -> CellHits:
        return CellHits(self.hits.copy())


@dataclass(frozen=True)
class CellHits:
    hits: np.ndarray

    @property
    def rows_counted(self) -> int:
        return int(self.hits.sum())


SIM_SECONDS = 25.0  # widebands warm up, then the default plan's first pull


def _decoded_readings(cell: VirtualCell, seconds: float):  # noqa: ANN202
    """(device, time_s, readings) per emission, decoded by the app's own codecs."""
    registry = device_registry()
    decoders = {}
    for device in cell.devices:
        kind = registry.get(device.protocol)
        decoders[device.name] = kind.make_decoder(kind.resolve_options(decoder_options(device)))
        decoders[device.name].feed(cell.greeting(device.name))
    out = []
    while cell.time_s < seconds - 1e-9:
        for emission in cell.advance(min(seconds, cell.time_s + 1.0)):
            readings = decoders[emission.device].feed(emission.data)
            if readings:
                out.append((emission.device, emission.time_s, readings))
    return out


def test_the_row_rule_live_equals_offline_on_the_same_readings() -> None:
    offline = run_log(VirtualCell(CellConfig(seed=5)), SIM_SECONDS)

    buffer = live_buffer()
    t0 = 1000.0
    merger = RowMerger(buffer, pacer="dyno", t0=t0)
    feed = BlockFeed()
    merger.subscribe(feed)
    for device, time_s, readings in _decoded_readings(VirtualCell(CellConfig(seed=5)),
                                                      SIM_SECONDS):
        merger.add(device, readings, [t0 + time_s] * len(readings))
    live = RowBlock.concat([b for b in feed.drain() if isinstance(b, RowBlock)], LOG_COLUMNS)
    in_buffer = buffer.window()

    assert len(offline) > 2000
    assert len(live) == len(offline) == len(in_buffer["time_s"])
    for name in LOG_COLUMNS:
        np.testing.assert_allclose(live.channel(name), offline.channel(name), rtol=0,
                                   atol=1e-9, equal_nan=True, err_msg=name)
        np.testing.assert_allclose(in_buffer[name], offline.channel(name), rtol=0, atol=1e-9,
                                   equal_nan=True, err_msg=name)
    assert np.isfinite(offline.channel("afr_front")).mean() > 0.3  # after the warm-up


def test_the_analysis_workers_hits_equal_an_offline_pass_over_the_recorded_run(
        tmp_path: Path) -> None:
    ve_front = demo_base_tables()[0][0]
    catalog = Catalog(tmp_path / "catalog.sqlite")
    customer = catalog.add_customer("Analysis test")
    vehicle = catalog.add_vehicle(customer, "test bike", BuildSpec.stock("twin_cam_103"))
    session = catalog.start_session(vehicle, "2026-12-05T10:00:00")
    worker = AnalysisWorker()
    worker.start()
    try:
        with DemoCell(rate_multiplier=10.0) as demo:
            acquisition = Acquisition(device_configs(demo.ports))
            worker.register("hits", CellHitCounter(ve_front))
            acquisition.subscribe(worker.feed)
            recorder = Recorder(acquisition, catalog)
            recorder.start(session, "streamed", list(demo.ports))
            acquisition.start()
            deadline = time.monotonic() + 30
            while acquisition.buffer.version < 300 and time.monotonic() < deadline:
                time.sleep(0.05)
            acquisition.stop()  # no rows after this: worker and run see the same ones
            record = recorder.stop()
        assert worker.sync(timeout_s=SYNC_TIMEOUT_S)
        live = worker.result("hits")
    finally:
        worker.stop()
    frame, _ = read_run(catalog.run_path(record))
    offline = CellHitCounter(ve_front)
    offline.add(RowBlock.of({name: frame[name].to_numpy() for name in LOG_COLUMNS}))
    expected = offline.snapshot()
    assert live.rows_counted > 500
    np.testing.assert_array_equal(live.hits, expected.hits)
    assert live.rows_counted == int(np.isfinite(frame["rpm"] + frame["map_kpa"]).sum())
    catalog.close()


def test_a_failing_accumulator_is_dropped_and_the_others_go_on() -> None:
    class Broken:
        def add(self, block: RowBlock) -> None:
            raise ValueError("bad maths")

        def snapshot(self) -> None:
            return None

    worker = AnalysisWorker()
    worker.start()
    try:
        worker.register("broken", Broken())
        worker.register("hits", CellHitCounter(demo_base_tables()[0][0]))
        worker.feed.put(RowBlock.of({"time_s": [0.0, 0.01], "rpm": [2000.0, 2010.0],
                                     "map_kpa": [60.0, 61.0]}))
        assert worker.sync(timeout_s=SYNC_TIMEOUT_S)
        assert worker.result("hits").rows_counted == 2
        assert "bad maths" in worker.failures["broken"]
    finally:
        worker.stop()


class BlockRecorder:
    """An accumulator that keeps each block it is handed."""

    def __init__(self) -> None:
        self.blocks: list[RowBlock] = []

    def add(self, block: RowBlock) -> None:
        self.blocks.append(block)

    def snapshot(self) -> int:
        return sum(len(b) for b in self.blocks)


def test_blocks_waiting_for_a_busy_worker_reach_it_as_one_block_in_order() -> None:
    """A worker that fell behind catches up in one pass over the rows waiting, every row kept
    in order; a command between blocks (a run opening) still lands between the same rows."""
    worker = AnalysisWorker()
    recorder = BlockRecorder()
    worker.register("rows", recorder)
    times = np.arange(100, dtype=np.float64) * 0.01
    for start in range(0, 60, 6):  # ten blocks queued before the worker runs
        worker.feed.put(RowBlock.of({"time_s": times[start:start + 6],
                                     "rpm": 2000.0 + times[start:start + 6]}))
    seen_at_command: list[int] = []
    worker.apply("rows", lambda acc: seen_at_command.append(acc.snapshot()))
    worker.feed.put(RowBlock.of({"time_s": times[60:], "map_kpa": np.full(40, 55.0)}))
    worker.start()
    try:
        assert worker.sync(timeout_s=SYNC_TIMEOUT_S)
    finally:
        worker.stop()
    assert [len(b) for b in recorder.blocks] == [60, 40]
    assert seen_at_command == [60]
    np.testing.assert_array_equal(np.concatenate([b.time_s for b in recorder.blocks]), times)
    np.testing.assert_array_equal(recorder.blocks[0].channel("rpm"), 2000.0 + times[:60])
    assert np.isnan(recorder.blocks[0].channel("map_kpa")).all()
    assert worker.result("rows") == 100
