"""Decode throughput per codec, on one core: prints MB/s for each device's stream.

    .venv/bin/python benchmarks/decode_throughput.py [--mb 2] [--short]

Goal (issue "Device protocols"): every codec >= 1 MB/s; a single LC-2 sends about 2 kB/s.
A figure-printing script, not a timed test: this machine is shared and noisy. Exits 1 when a
stream is below the goal, except with ``--short`` (0.05 MB per stream, for the test that the
script runs: too little to judge the goal on a loaded machine, so it prints the verdict and
exits 0).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dynoai_desktop.devices.registry import device_registry  # noqa: E402
from tests.devices.streams import all_streams  # noqa: E402

GOAL_MB_S = 1.0


def decode_mb_s(protocol: str, options: dict, data: bytes, chunk: int, repeats: int = 3) -> float:
    kind = device_registry().get(protocol)
    best = float("inf")
    for _ in range(repeats):
        decoder = kind.make_decoder(kind.resolve_options(options))
        start = time.perf_counter()
        for i in range(0, len(data), chunk):
            decoder.feed(data[i : i + chunk])
        best = min(best, time.perf_counter() - start)
    return len(data) / best / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=2.0, help="stream size per codec, MB")
    parser.add_argument("--short", action="store_true",
                        help="0.05 MB per stream, exit 0 below the goal (a test runs this)")
    args = parser.parse_args()
    if args.short:
        args.mb = 0.05
    print(f"decode throughput, {args.mb:g} MB per stream, best of 3, one core (pid {os.getpid()})")
    print(f"{'device set-up':28} {'options':34} {'4 KiB chunks':>13} {'64 B chunks':>12}  goal")
    worst = float("inf")
    for stream in all_streams(200):
        reps = max(1, int(args.mb * 1e6 / len(stream.data)))
        data = stream.data * reps
        if stream.protocol == "dyno-line":  # one header, then data lines only
            header_end = stream.data.index(b"\n") + 1
            data = stream.data + stream.data[header_end:] * reps
        big = decode_mb_s(stream.protocol, stream.options, data, 4096)
        small = decode_mb_s(stream.protocol, stream.options, data, 64)
        worst = min(worst, big, small)
        ok = "ok" if min(big, small) >= GOAL_MB_S else "BELOW"
        options = str(stream.options)
        print(f"{stream.protocol:28} {options:34} {big:10.2f} MB/s {small:7.2f} MB/s  {ok}")
    garbage = os.urandom(int(args.mb * 1e6))
    for protocol in device_registry().protocols():
        rate = decode_mb_s(protocol, {}, garbage, 4096)
        print(f"{protocol + ' (random bytes)':28} {'':34} {rate:10.2f} MB/s")
    print(f"slowest valid stream: {worst:.2f} MB/s (goal >= {GOAL_MB_S:g} MB/s)")
    return 0 if worst >= GOAL_MB_S or args.short else 1


if __name__ == "__main__":
    raise SystemExit(main())
