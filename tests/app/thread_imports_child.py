"""Records every module imported on a thread other than the main one while the app reads the
demo cell, records a run and stops; prints them as JSON (empty is right).

An import on a worker thread while the UI thread is inside PySide6 can deadlock, so the reader,
recorder and analysis threads must find everything imported already.
"""

from __future__ import annotations

import json
import sys
import threading
import time


class _Watch:
    """A meta-path finder that only notes who asked, then lets the real finders answer."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def find_spec(self, name, path=None, target=None):  # noqa: ANN001, ANN201
        thread = threading.current_thread()
        if thread is not threading.main_thread() and not thread.name.startswith("sim-"):
            self.seen.append((thread.name, name))
        return None


def main() -> None:
    watch = _Watch()
    sys.meta_path.insert(0, watch)
    from dynoai_desktop.app.application import DynoApp
    from dynoai_desktop.core.build_spec import BuildSpec
    from dynoai_desktop.demo import DemoCell

    with DemoCell(rate_multiplier=10.0) as demo:
        app = DynoApp(demo=demo.start())
        deadline = time.monotonic() + 20
        while app.live.buffer.version < 50 and time.monotonic() < deadline:
            time.sleep(0.05)
        customer = app.runs.add_customer("Thread test")
        vehicle = app.runs.add_vehicle(customer, "bike", BuildSpec.stock("twin_cam_103"))
        app.live.start_recording(app.runs.start_session(vehicle), "run 1")
        time.sleep(1.0)
        app.live.mark("a note")
        app.live.stop_recording()
        app.live.disconnect()
        app.live.connect()  # reconnecting opens the ports again on new reader threads
        time.sleep(0.5)
        app.close()
    print(json.dumps(sorted(set(watch.seen))))


if __name__ == "__main__":
    main()
