"""How much CPU the virtual cell takes to serve its devices, at 1x and at --rate-multiplier 10.

Serves the default cell in-process over loopback TCP, drains every port with plain sockets for a
few seconds, and prints per rate: simulated seconds per wall second, bytes/s and frames/s served,
and the process's CPU as % of one core (server + the draining clients).

    .venv/bin/python benchmarks/sim_serve_load.py [--seconds 8] [--short]

``--short``: 0.5 s per case, for the test that the script runs.
"""

from __future__ import annotations

import argparse
import socket
import time

from dynoai_desktop.sim.cell import CellConfig, VirtualCell
from dynoai_desktop.sim.server import CellServer


def measure(rate: float, seconds: float, protocol: str) -> str:
    cell = VirtualCell(CellConfig(wideband_protocol=protocol))
    with CellServer(cell, rate_multiplier=rate) as server:
        clients = []
        for ep in server.endpoints:
            host, port = ep.url.removeprefix("socket://").split(":")
            sock = socket.create_connection((host, int(port)))
            sock.setblocking(False)
            clients.append(sock)
        time.sleep(0.3)
        received = 0

        def frames() -> int:
            return sum(server.stats(ep.device).emissions_sent for ep in server.endpoints)

        frames0 = frames()
        cpu0, wall0, sim0 = time.process_time(), time.monotonic(), cell.time_s
        while time.monotonic() - wall0 < seconds:
            for sock in clients:
                try:
                    received += len(sock.recv(65536))
                except BlockingIOError:
                    pass
            time.sleep(0.005)
        cpu, wall, sim = time.process_time() - cpu0, time.monotonic() - wall0, cell.time_s - sim0
        sent = frames() - frames0
        for sock in clients:
            sock.close()
    return (f"{protocol:13s} x{rate:<4g} sim {sim / wall:5.2f} s per s, {received / wall:8.0f} "
            f"bytes/s, {sent / wall:6.0f} frames/s, CPU {100 * cpu / wall:5.1f} % "
            "of one core")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--short", action="store_true",
                        help="0.5 s per case (a test runs this)")
    args = parser.parse_args()
    seconds = 0.5 if args.short else args.seconds
    for protocol in ("innovate-mts", "aem-ascii"):
        for rate in (1.0, 10.0):
            print(measure(rate, seconds, protocol), flush=True)


if __name__ == "__main__":
    main()
