"""The virtual cell the GUI and acquisition benchmarks read: ``dynoai simulate`` in its own
process (the dyno line and two AEM gauges, the ``wot_pull`` plan at ``rate`` times real time),
served on loopback ports exactly as the app would meet real devices."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from dynoai_desktop.acquisition.reader import DeviceConfig


@contextmanager
def served_cell(rate: float) -> Iterator[list[DeviceConfig]]:
    """Start the cell, yield its three devices as acquisition configs, stop it afterwards."""
    server = subprocess.Popen(
        [sys.executable, "-m", "dynoai_desktop.cli", "simulate", "--wideband-protocol",
         "aem-ascii", "--rate-multiplier", str(rate), "--plan", "wot_pull"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        lines = [server.stdout.readline().split() for _ in range(3)]
        yield [DeviceConfig(name, protocol, url,
                            {"cylinder": name.removeprefix("wideband_")}
                            if protocol == "aem-ascii" else {}, primary=name == "dyno")
               for name, protocol, url in lines]
    finally:
        server.terminate()
        server.wait(10)
        if server.stdout is not None:
            server.stdout.close()
