"""A recording process for the crash test: reads the served cell and records until killed.

    python record_child.py DYNO_URL WIDEBAND_URL   (catalog in $DYNOAI_DATA_DIR)

Prints one JSON line once recording: {"run_id": .., "recording_since": monotonic seconds}.
"""

from __future__ import annotations

import json
import sys
import time

from dynoai_desktop.acquisition.acquisition import Acquisition
from dynoai_desktop.acquisition.reader import DeviceConfig
from dynoai_desktop.acquisition.recorder import Recorder
from dynoai_desktop.acquisition.status import DeviceState
from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.storage.catalog import Catalog
from dynoai_desktop.storage.settings import DevicePort


def main() -> None:
    dyno_url, wideband_url = sys.argv[1:3]
    catalog = Catalog()
    customer = catalog.add_customer("Crash test")
    vehicle = catalog.add_vehicle(customer, "test bike", BuildSpec.stock("twin_cam_103"))
    session = catalog.start_session(vehicle, "2026-11-22T10:00:00")
    acquisition = Acquisition([DeviceConfig("dyno", "dyno-line", dyno_url, primary=True),
                               DeviceConfig("wideband", "innovate-mts", wideband_url)])
    acquisition.start()
    while acquisition.statuses()[0].state != DeviceState.STREAMING:
        time.sleep(0.01)
    recorder = Recorder(acquisition, catalog)
    run_id = recorder.start(session, "killed mid-run", [
        DevicePort("dyno", "dyno-line", dyno_url), DevicePort("wideband", "innovate-mts",
                                                              wideband_url)])
    print(json.dumps({"run_id": run_id, "recording_since": time.monotonic()}), flush=True)
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main()
