"""The live-logging panel under load: frames per second and the longest UI stall.

Serves the virtual cell from its own process (``dynoai simulate``, dyno line 100 Hz + an MTS
wideband chain) at 1x and 10x, reads it through the acquisition core into the ring buffer, and
shows the live panel (offscreen unless a display is set). Prints per rate: panel repaints per
second, the longest gap between 5 ms heartbeat timer ticks (a UI stall), and the acquisition's
dyno-line latency to the buffer (p50/p99, method as in acquisition_latency.py).

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/live_panel_fps.py [--seconds 15]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from latency_tap import LatencyTap  # noqa: E402
from PySide6.QtCore import QElapsedTimer, QTimer, qInstallMessageHandler  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from dynoai_desktop.acquisition.acquisition import Acquisition  # noqa: E402
from dynoai_desktop.acquisition.reader import DeviceConfig  # noqa: E402
from dynoai_desktop.core.display import DisplayUnits  # noqa: E402
from dynoai_desktop.ui.panels.live_logging import LiveLoggingPanel  # noqa: E402
from dynoai_desktop.ui.theme import apply_theme  # noqa: E402


def measure(app: QApplication, rate: float, seconds: float) -> str:
    server = subprocess.Popen(
        [sys.executable, "-m", "dynoai_desktop.cli", "simulate", "--rate-multiplier", str(rate),
         "--plan", "wot_pull"], stdout=subprocess.PIPE, text=True)
    try:
        lines = [server.stdout.readline().split() for _ in range(2)]
        devices = [DeviceConfig(n, p, u, primary=n == "dyno") for n, p, u in lines]
        acq = Acquisition(devices)
        tap = LatencyTap()
        acq.tap(tap)
        panel = LiveLoggingPanel(acq.buffer, DisplayUnits(), clock=acq.now_s)
        panel.resize(1200, 800)
        panel.show()
        gaps: list[float] = []
        clock = QElapsedTimer()
        heartbeat = QTimer()
        heartbeat.setInterval(5)

        def beat() -> None:
            gaps.append(clock.restart() / 1000.0)

        heartbeat.timeout.connect(beat)
        with acq:
            end = time.monotonic() + 2.0
            while time.monotonic() < end:  # connect and settle
                app.processEvents()
            tap.clear()
            repaints0 = panel.repaints
            clock.start()
            heartbeat.start()
            start = time.monotonic()
            while time.monotonic() - start < seconds:
                app.processEvents()
                time.sleep(0.001)
            heartbeat.stop()
            wall = time.monotonic() - start
            fps = (panel.repaints - repaints0) / wall
        panel.close()
    finally:
        server.terminate()
        server.wait(10)
        server.stdout.close()
    return (f"x{rate:<3g} panel {fps:5.1f} FPS, longest UI stall {max(gaps[1:]) * 1000:5.1f} ms, "
            f"{tap.summary(rate)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    qInstallMessageHandler(lambda kind, context, message: None)  # offscreen chatter
    app = QApplication.instance() or QApplication(sys.argv[:1])
    apply_theme(app)
    for rate in (1.0, 10.0):
        print(measure(app, rate, args.seconds), flush=True)


if __name__ == "__main__":
    main()
