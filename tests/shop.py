"""A shop in a test's catalog: a customer, a vehicle, a session and, where wanted, a run that is
still 'recording' (as a crash leaves it)."""

from __future__ import annotations

from collections.abc import Sequence

from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.storage.catalog import Catalog
from dynoai_desktop.storage.settings import DevicePort

SESSION_STARTED = "2026-11-22T10:00:00"
RUN_STARTED = "2026-11-22T10:00:05"


def a_session(catalog: Catalog, customer: str = "Test customer", vehicle: str = "test bike",
              family: str = "twin_cam_103") -> int:
    """A new customer with one vehicle of ``family`` and a session for it; the session's id."""
    customer_id = catalog.add_customer(customer)
    vehicle_id = catalog.add_vehicle(customer_id, vehicle, BuildSpec.stock(family))
    return catalog.start_session(vehicle_id, SESSION_STARTED)


def a_recording_run(catalog: Catalog, name: str = "cut short",
                    devices: Sequence[DevicePort] = ()) -> int:
    """A run of a new session, still 'recording' in the catalog; its id."""
    session = a_session(catalog, "Crash", "bike")
    return catalog.add_run(session, name, RUN_STARTED,
                           catalog.new_run_file(session, RUN_STARTED), devices=devices)
