"""Autotune fed as a stream gives the offline analysis's corrections (issue 16's live side)."""

from __future__ import annotations

import numpy as np
import pytest

from dynoai_desktop.core.autotune import AutotuneSettings, LogData, autotune
from dynoai_desktop.core.autotune.stream import StreamingAutotune
from tests.core.autotune_logs import steady_log, ve_table


def _session() -> LogData:
    """Holds, throttle steps, a WOT sweep, a shut-throttle decel, misfire spikes and a gap."""
    rng = np.random.default_rng(11)
    parts = []
    t0 = 0.0
    for k, (rpm, kpa, tps, lean) in enumerate([(2000.0, 40.0, 20.0, 1.04), (3000.0, 60.0, 35.0,
                                              0.97), (4000.0, 80.0, 60.0, 1.02)]):
        n = 800
        tps_col = np.where(np.arange(n) % 400 < 200, tps, tps + 15.0)
        afr = 13.0 * lean + rng.normal(0.0, 0.05, n)
        afr[300:306] *= 1.5  # a misfire
        parts.append(steady_log(seconds=8.0, rpm=rpm + rng.normal(0, 15, n),
                                map_kpa=kpa + 0.3 * (tps_col - tps) + rng.normal(0, 0.4, n),
                                tps=tps_col, afr=afr, t0=t0, name=f"hold{k}"))
        t0 += 8.0
    sweep = np.linspace(2000.0, 5000.0, 500)
    parts.append(steady_log(seconds=5.0, rpm=sweep, tps=100.0, map_kpa=97.0,
                            afr=13.0 * (1.0 + 0.03 * (sweep - 2000.0) / 3000.0), target=12.8,
                            t0=t0, name="pull"))
    t0 += 5.0
    parts.append(steady_log(seconds=4.0, rpm=np.linspace(5000.0, 1500.0, 400), tps=0.0,
                            map_kpa=20.0, afr=16.5, t0=t0, name="decel"))
    t0 += 4.0 + 3.0  # a gap: a seam
    parts.append(steady_log(seconds=6.0, rpm=2500.0, map_kpa=50.0, tps=25.0, afr=13.4, t0=t0,
                            name="after the gap"))
    return LogData("session", {key: np.concatenate([p.columns[key] for p in parts])
                               for key in parts[0].columns})


@pytest.mark.parametrize("seed", [1, 2])
def test_a_streamed_session_gives_the_offline_corrections(seed: int) -> None:
    log = _session()
    tables = {"ve_front": ve_table(), "ve_rear": ve_table("VE rear")}
    settings = AutotuneSettings(delay_ms=120.0)
    offline = autotune([log], tables, None, settings)

    stream = StreamingAutotune(tables, None, settings)
    rng = np.random.default_rng(seed)
    start = 0
    while start < log.rows:  # chunks of 1 to 90 samples, as the acquisition delivers them
        stop = min(log.rows, start + int(rng.integers(1, 90)))
        stream.feed({k: v[start:stop] for k, v in log.columns.items()})
        start = stop
    stream.finish()
    live = stream.result()

    assert stream.rows_binned == log.rows
    for name in tables:
        a, b = offline.tables[name], live.tables[name]
        assert [c.rejected for c in a.cells] == [c.rejected for c in b.cells]
        assert [c.samples_used for c in a.cells] == [c.samples_used for c in b.cells]
        assert [c.weight for c in a.cells] == pytest.approx([c.weight for c in b.cells])
        np.testing.assert_allclose(a.change_pct, b.change_pct, atol=1e-9, equal_nan=True)
        assert a.corrected == b.corrected
        assert any(c.rejected["invalid_afr"] for c in a.cells)  # the spikes were there


def test_pending_corrections_fill_in_while_the_stream_runs() -> None:
    log = _session()
    stream = StreamingAutotune({"ve_front": ve_table()}, None, AutotuneSettings(delay_ms=120.0))
    half = log.rows // 2
    stream.feed({k: v[:half] for k, v in log.columns.items()})
    early = stream.result().tables["ve_front"]
    assert 0 < stream.rows_binned < half  # the last context_s waits for what follows
    assert early.mask.any()
    stream.feed({k: v[half:] for k, v in log.columns.items()})
    stream.finish()
    assert stream.result().tables["ve_front"].mask.sum() >= early.mask.sum()


def test_the_live_accumulator_snapshots_at_most_so_often_and_flushes_on_demand() -> None:
    from dynoai_desktop.core.autotune.live import LiveAutotune
    from dynoai_desktop.core.rows import RowBlock

    log = _session()
    now = [0.0]
    live = LiveAutotune({"ve_front": ve_table()}, None, AutotuneSettings(delay_ms=120.0),
                        min_interval_s=0.25, clock=lambda: now[0])
    first = live.snapshot()
    assert first.rows_binned == 0 and not first.result.tables["ve_front"].mask.any()
    live.add(RowBlock.of({k: v[:2000] for k, v in log.columns.items()}))
    assert live.snapshot() is first  # too soon for another fit
    now[0] = 1.0
    second = live.snapshot()
    assert second.rows_binned > 0 and second.result.tables["ve_front"].mask.any()
    live.add(RowBlock.of({k: v[2000:] for k, v in log.columns.items()}))
    flushed = live.flush()
    assert flushed.rows_binned == log.rows
    offline = autotune([log], {"ve_front": ve_table()}, None, AutotuneSettings(delay_ms=120.0))
    assert flushed.result.tables["ve_front"].corrected == offline.tables["ve_front"].corrected
