"""The live-logging panel under load: paints per second, the longest UI stall, GUI-thread CPU.

The virtual cell runs in its own process (``dynoai simulate --wideband-protocol aem-ascii``: the
dyno line at 100 Hz and two AEM gauges, three devices); this process reads them through the
acquisition core into the live ring buffer, which already holds **10 minutes of history** (60,000
synthetic rows at 100 Hz, a pull every ~20 s), and shows the live panel. The panel is measured
per rate (``--rates``), history (``--histories``: ``clean`` is a realistic trace, ``noisy`` the
same with heavy noise on AFR, rpm, MAP and TPS) and chart window (``--windows``, seconds).

Prints per case: paints per second while data moves (frames the panel drew with new rows, the
panel's ``repaints``; goal >= 60 at 1x) and the paint events of the charts' view (fewer when a
frame changed nothing visible: in a 300 s window a pixel is 0.3 s), the longest gap between 5 ms
heartbeat ticks (a UI stall; goal <= 50 ms), the CPU of the GUI thread alone (utime+stime of
the main thread from ``/proc/self/task/<tid>/stat``; goal <= 15 % of a core at 1x), the whole
process' CPU, and the dyno line's latency to the buffer (p50/p99, as in acquisition_latency.py).

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python benchmarks/live_panel_fps.py
    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/live_panel_fps.py --seconds 10
    .venv/bin/python benchmarks/live_panel_fps.py --short     # 2 s at 1x: proves it runs
    ... --rates 10 --autotune     # with the live autotune accumulating on its worker
    ... --train-models /tmp/shop200.json   # the shop's model training all the while (issue 19)

Without a display (no ``DISPLAY``/``WAYLAND_DISPLAY``) it runs offscreen.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from latency_tap import LatencyTap
from PySide6.QtCore import (  # noqa: E402
    QCoreApplication,
    QElapsedTimer,
    QEvent,
    QEventLoop,
    QObject,
    QTimer,
    qInstallMessageHandler,  # noqa: E402
)
from PySide6.QtWidgets import QApplication  # noqa: E402
from served_cell import served_cell  # noqa: E402

from dynoai_desktop.acquisition.acquisition import (  # noqa: E402
    LIVE_BUFFER_S,
    LIVE_RATE_HZ,
    Acquisition,
    live_buffer,
)
from dynoai_desktop.acquisition.analysis import AnalysisWorker  # noqa: E402
from dynoai_desktop.acquisition.ring_buffer import SampleRingBuffer  # noqa: E402
from dynoai_desktop.app.training_jobs import record_text  # noqa: E402
from dynoai_desktop.app.training_process import TrainingProcess  # noqa: E402
from dynoai_desktop.core.autotune.live import LiveAutotune  # noqa: E402
from dynoai_desktop.core.display import DisplayUnits  # noqa: E402
from dynoai_desktop.ml.training.dataset import load  # noqa: E402
from dynoai_desktop.ml.training.records import SCHEMA_VERSION  # noqa: E402
from dynoai_desktop.storage.catalog import Catalog  # noqa: E402
from dynoai_desktop.storage.resources import demo_base_tables  # noqa: E402
from dynoai_desktop.ui.gc_on_gui_thread import GuiThreadGarbageCollector  # noqa: E402
from dynoai_desktop.ui.panels.live_logging import LiveLoggingPanel  # noqa: E402
from dynoai_desktop.ui.theme import apply_theme  # noqa: E402

SETTLE_S = 2.0  # connect to the cell and draw the history once before measuring
HEARTBEAT_MS = 5
HISTORY_S = float(LIVE_BUFFER_S)  # 10 minutes


def prefill(buffer: SampleRingBuffer, end_s: float, noisy: bool, seed: int = 0) -> None:
    """``HISTORY_S`` of synthetic rows at 100 Hz ending just before ``end_s``: cruising with a
    WOT pull every ~20 s (AFR near its target, rpm 2000-5800, MAP/TPS, torque, power, temps);
    ``noisy`` adds heavy noise and one-sample lean spikes (the busiest signal to draw)."""
    rng = np.random.default_rng(seed)
    n = int(HISTORY_S * LIVE_RATE_HZ)
    t = end_s - HISTORY_S + np.arange(n) / LIVE_RATE_HZ
    phase = (t % 20.0) / 20.0
    pulling = phase < 0.4
    ramp = np.clip(phase / 0.4, 0.0, 1.0)
    rpm = np.where(pulling, 2000.0 + 3800.0 * ramp, 2500.0 + 300.0 * np.sin(t))
    tps = np.where(pulling, 100.0, 18.0 + 4.0 * np.sin(0.7 * t))
    map_kpa = np.where(pulling, 97.0, 45.0 + 5.0 * np.sin(0.7 * t))
    target = np.where(pulling, 12.8, 14.2)
    afr_front = target + 0.3 + rng.normal(0.0, 0.05, n)
    afr_rear = target - 0.1 + rng.normal(0.0, 0.05, n)
    if noisy:
        afr_front += rng.normal(0.0, 0.8, n)
        afr_rear += rng.normal(0.0, 0.8, n)
        spikes = rng.integers(0, n, n // 500)
        afr_front[spikes] = 19.5
        rpm = rpm + rng.normal(0.0, 200.0, n)
        map_kpa = map_kpa + rng.normal(0.0, 8.0, n)
        tps = np.clip(tps + rng.normal(0.0, 6.0, n), 0.0, 100.0)
    torque = np.where(pulling, 95.0 + 15.0 * np.sin(np.pi * ramp) - 10.0 * ramp, 20.0)
    buffer.append_block(t, {
        "rpm": rpm, "map_kpa": map_kpa, "tps_pct": tps, "afr_front": afr_front,
        "afr_rear": afr_rear, "afr_target": target, "afr_front_status": np.zeros(n),
        "afr_rear_status": np.zeros(n), "torque_ftlb": torque,
        "power_hp": torque * rpm / 5252.0, "speed_mph": rpm / 50.0,
        "engine_temp_c": np.full(n, 160.0), "iat_c": np.full(n, 38.0),
    })


class PaintCounter(QObject):
    """Counts paint events of a widget (the charts' viewport: what reached the screen)."""

    def __init__(self) -> None:
        super().__init__()
        self.paints = 0

    def eventFilter(self, _watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Paint:
            self.paints += 1
        return False


def gui_thread_cpu_s(tid: int) -> float:
    """utime + stime of one thread of this process, in seconds (Linux /proc)."""
    with open(f"/proc/self/task/{tid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Figures:
    rate: float
    history: str
    window_s: float
    paints_per_s: float  # frames the panel drew with new rows (its ``repaints``)
    view_paints_per_s: float  # paint events of the charts' view
    stall_ms: float
    gui_cpu_pct: float
    process_cpu_pct: float
    latency: str

    def line(self) -> str:
        return (f"x{self.rate:<3g} {self.history:5s} history, {self.window_s:3g} s window: "
                f"{self.paints_per_s:5.1f} paints/s (frames drawn with new rows; "
                f"{self.view_paints_per_s:5.1f} paint events of the chart view), longest UI stall "
                f"{self.stall_ms:5.1f} ms, GUI thread CPU {self.gui_cpu_pct:5.1f} % of a core "
                f"(process {self.process_cpu_pct:5.1f} %), {self.latency}")


def _wait(app: QApplication, seconds: float) -> None:
    """Run the event loop for ``seconds`` (idle between events, as the app would be)."""
    loop = QEventLoop()
    QTimer.singleShot(round(seconds * 1000), loop.quit)
    loop.exec()


def live_autotune(acq: Acquisition) -> tuple[AnalysisWorker, QTimer]:
    """The app's live autotune on the analysis worker, fed every row (not only recorded runs:
    the most work), its result polled as the Autotune panel does."""
    tables, _label = demo_base_tables()
    worker = AnalysisWorker()
    worker.start()
    worker.register("autotune", LiveAutotune({"ve_front": tables[0], "ve_rear": tables[1]}))
    acq.subscribe(worker.feed)
    poll = QTimer()
    poll.setInterval(400)
    poll.timeout.connect(lambda: worker.result("autotune"))
    poll.start()
    return worker, poll


class BackgroundTraining:
    """The app's model training (``app.training_process.TrainingProcess``: a process of its own,
    one core) on ``sessions``, started again as each one ends, until stopped: training runs for
    the whole measurement."""

    def __init__(self, catalog: Path, sessions: int) -> None:
        self.catalog, self.sessions = catalog, sessions
        self.stopping = threading.Event()
        self.trainings: list[float] = []  # seconds each completed training took
        self.process: TrainingProcess | None = None
        self.thread = threading.Thread(target=self._run, name="models", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopping.is_set():
            start = time.monotonic()
            self.process = TrainingProcess(self.catalog, "shop", None, None, [])
            if not self.process.result().cancelled:
                self.trainings.append(time.monotonic() - start)

    def stop(self) -> str:
        self.stopping.set()
        if self.process is not None:
            self.process.cancel()
        self.thread.join()
        done = ", ".join(f"{t:.0f} s" for t in self.trainings) or "none finished"
        return f"model training on {self.sessions} sessions meanwhile: {done}"


def measure(app: QApplication, rate: float, history: str, window_s: float,
            seconds: float, autotune: bool = False,
            training: tuple[Path, int] | None = None) -> Figures:
    with served_cell(rate) as devices:
        buffer = live_buffer()
        t0 = time.monotonic() - HISTORY_S  # the history ends now on the rows' clock
        prefill(buffer, HISTORY_S, noisy=history == "noisy")
        acq = Acquisition(devices, buffer, t0=t0)
        worker = live_autotune(acq) if autotune else None
        tap = LatencyTap()
        acq.tap(tap)
        panel = LiveLoggingPanel(buffer, DisplayUnits(), clock=acq.now_s, sensor_details=lambda: {
            k: v for status in acq.statuses() for k, v in status.sensor_details.items()})
        panel.set_window(window_s)
        panel.resize(1200, 800)
        panel.show()
        counter = PaintCounter()
        panel.charts.viewport().installEventFilter(counter)
        gaps: list[float] = []
        clock = QElapsedTimer()
        heartbeat = QTimer()
        heartbeat.setInterval(HEARTBEAT_MS)
        heartbeat.timeout.connect(lambda: gaps.append(clock.restart() / 1000.0))
        tid = threading.get_native_id()
        with acq:
            background = BackgroundTraining(*training) if training else None
            _wait(app, SETTLE_S)
            tap.clear()
            paints0, frames0 = counter.paints, panel.repaints
            gui0, cpu0 = gui_thread_cpu_s(tid), time.process_time()
            clock.start()
            heartbeat.start()
            start = time.monotonic()
            _wait(app, seconds)
            wall = time.monotonic() - start
            heartbeat.stop()
            gui, cpu = gui_thread_cpu_s(tid) - gui0, time.process_time() - cpu0
            paints, frames = counter.paints - paints0, panel.repaints - frames0
            if background is not None:
                print(background.stop(), flush=True)
        if worker is not None:
            worker[1].stop()
            rows = worker[0].result("autotune")
            worker[0].stop()
            if rows is not None and rows.rows_binned == 0:
                print("live autotune binned nothing", flush=True)
        panel.timer.stop()
        panel.close()
        panel.deleteLater()
        # Free this case's panel now, not as a garbage-collection pause in the next case.
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        del panel
        gc.collect()
    return Figures(rate, history, window_s, frames / wall, paints / wall,
                   max(gaps[1:], default=0.0) * 1000.0, 100.0 * gui / wall, 100.0 * cpu / wall,
                   tap.summary(rate) if tap.stamps else "no dyno lines")


def training_catalog(dataset: Path) -> tuple[Path, int]:
    """A catalog of its own holding ``dataset``'s sessions as imported training records, as
    the app keeps them: what the training process reads."""
    folder = Path(tempfile.mkdtemp(prefix="dynoai-train-"))
    sessions = load(dataset).sessions
    with Catalog(folder / "catalog.sqlite") as catalog:
        for session in sessions:
            catalog.put_imported_training_record(session.session_id, record_text(session),
                                                 schema_version=SCHEMA_VERSION)
    return folder / "catalog.sqlite", len(sessions)


def _floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per case")
    parser.add_argument("--rates", type=_floats, default=[1.0, 10.0],
                        help="rate multipliers, e.g. 1,10")
    parser.add_argument("--histories", default="clean,noisy", help="clean, noisy or both")
    parser.add_argument("--windows", type=_floats, default=[20.0, 300.0],
                        help="chart windows in seconds, e.g. 20,300")
    parser.add_argument("--short", action="store_true",
                        help="2 s at 1x, clean history, 20 s window (a test runs this)")
    parser.add_argument("--autotune", action="store_true",
                        help="the live autotune accumulating every row on its worker meanwhile")
    parser.add_argument("--train-models", type=Path, metavar="DATASET.json",
                        help="train the base-VE model on this training data in the background "
                             "all the while, as the app's model worker does")
    args = parser.parse_args(argv)
    training = training_catalog(args.train_models) if args.train_models else None
    cases = [(r, h, w) for r in args.rates for h in args.histories.split(",")
             for w in args.windows]
    seconds = args.seconds
    if args.short:
        cases, seconds = [(1.0, "clean", 20.0)], 2.0
    qInstallMessageHandler(lambda kind, context, message: None)  # offscreen chatter
    app = QApplication.instance() or QApplication(sys.argv[:1])
    apply_theme(app)
    collector = GuiThreadGarbageCollector()  # as the app runs: garbage freed on this thread
    screen = app.primaryScreen()
    print(f"platform {app.platformName()}, screen {screen.refreshRate():g} Hz, "
          f"{seconds:g} s per case, {HISTORY_S / 60:g} min of history in the buffer"
          + (", live autotune accumulating" if args.autotune else "")
          + (f", model training on {args.train_models}" if training else ""), flush=True)
    for rate, history, window_s in cases:
        print(measure(app, rate, history, window_s, seconds, args.autotune, training).line(),
              flush=True)
    collector.stop()


if __name__ == "__main__":
    main()
