"""Acquisition figures: bytes-to-buffer latency, CPU and memory of the reading process.

The virtual cell runs in its own process (``dynoai simulate``) so that its CPU is not counted;
this process reads its three devices (the dyno line at 100 Hz and two widebands at their real
rates: two AEM gauges, 10 Hz each) through the ordinary acquisition path, for ``--seconds`` at 1x
and at ``--rate-multiplier 10``.

Latency: from the dyno line's send time to its row being in the ring buffer (see
latency_tap.py for how the send time is known).

    .venv/bin/python benchmarks/acquisition_latency.py [--seconds 20] [--short]

``--short``: 1 s per rate after a 1 s settle, for the test that the script runs.
"""

from __future__ import annotations

import argparse
import resource
import time

from latency_tap import LatencyTap
from served_cell import served_cell

from dynoai_desktop.acquisition.acquisition import Acquisition


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


SETTLE_S = 2.0  # connect and settle before measuring


def measure(rate: float, seconds: float, settle_s: float = SETTLE_S) -> str:
    with served_cell(rate) as devices:
        acq = Acquisition(devices)
        tap = LatencyTap()
        acq.tap(tap)
        with acq:
            time.sleep(settle_s)  # connect and settle
            tap.clear()
            cpu0, wall0, rss0 = time.process_time(), time.monotonic(), _rss_mb()
            time.sleep(seconds)
            cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
            rss = _rss_mb()
            rows = len(acq.buffer)
    return (f"x{rate:<3g} {len(tap.stamps) / wall:6.0f} dyno lines/s, {tap.summary(rate)}, "
            f"CPU {100 * cpu / wall:5.1f} % of one core, RSS {rss:6.1f} MB "
            f"(+{rss - rss0:4.1f} MB), {rows} rows in the buffer")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--short", action="store_true",
                        help="1 s per rate after a 1 s settle (a test runs this)")
    args = parser.parse_args()
    seconds, settle_s = (1.0, 1.0) if args.short else (args.seconds, SETTLE_S)
    for rate in (1.0, 10.0):
        print(measure(rate, seconds, settle_s), flush=True)


if __name__ == "__main__":
    main()
