"""What the app tests on the demo cell share: waiting on a condition (never a sleep that hopes),
and a running app on the demo cell with a customer, a vehicle and an open session."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from dynoai_desktop.app.application import DynoApp
from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.demo import DemoCell

RATE = 10.0  # the demo cell at 10x: a minute of dyno time in six seconds


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str,
             each: Callable[[], object] | None = None) -> None:
    """Poll ``condition`` (calling ``each`` between polls) until it holds; fail naming
    ``what`` after ``timeout_s``: a generous bound for a loaded machine, not a measurement."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        if each is not None:
            each()
        time.sleep(0.05)


def widebands_streaming(app: DynoApp) -> bool:
    return any(s.state == "streaming" and s.role == "wideband" for s in app.live.statuses())


@contextmanager
def demo_session(customer: str) -> Iterator[tuple[DynoApp, int, int]]:
    """The app on the demo cell, its widebands streaming, a session open for a stock Twin Cam
    103 of ``customer``: (app, session id, vehicle id). The app is closed after."""
    with DemoCell(rate_multiplier=RATE) as demo:
        app = DynoApp(demo=demo.start())
        try:
            wait_for(lambda: widebands_streaming(app), 20, "the widebands")
            customer_id = app.runs.add_customer(customer)
            vehicle = app.runs.add_vehicle(customer_id, "bike", BuildSpec.stock("twin_cam_103"))
            yield app, app.runs.start_session(vehicle), vehicle
        finally:
            app.close()
