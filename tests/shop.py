"""A shop in a test's catalog: a customer, a vehicle, a session and, where wanted, a run that is
still 'recording' (as a crash leaves it) or runs saved as the recorder saves them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.core.rows import RowBlock
from dynoai_desktop.core.weather import Weather
from dynoai_desktop.storage.catalog import Catalog
from dynoai_desktop.storage.journal import Journal, finish_from_journal, journal_folder
from dynoai_desktop.storage.run_files import RunMetadata
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
                           catalog.new_run_file(session, RUN_STARTED, name), devices=devices)


def pull_columns(seconds: float = 12.0, top_hp: float = 92.0, glitch_hp: float | None = None,
                 rate_hz: float = 20.0) -> dict[str, np.ndarray]:
    """A WOT pull from 2000 to 5500 rpm whose power peaks at ``top_hp`` at 5000 rpm, with one
    reading of ``glitch_hp`` near the start if given (a drum's jolt) and one reading missed."""
    n = int(seconds * rate_hz)
    rpm = np.linspace(2000.0, 5500.0, n)
    power = top_hp - 0.000006 * (rpm - 5000.0) ** 2
    if glitch_hp is not None:
        power[3] = glitch_hp
    power[10] = np.nan
    return {"time_s": np.arange(n) / rate_hz, "rpm": rpm, "power_hp": power,
            "map_kpa": np.full(n, 98.0)}


def a_saved_run(catalog: Catalog, session: int, name: str, started: str,
                columns: Mapping[str, np.ndarray], weather: Weather | None = None) -> int:
    """A run saved as the recorder saves one (its journal, then the run file named for it and
    the run completed in the catalog with its peak power); its id."""
    air = weather or Weather()
    run_id = catalog.add_run(session, name, started,
                             catalog.new_run_file(session, started, name), weather=air)
    journal = Journal(journal_folder(catalog, run_id), RunMetadata(name, started, (), (), air),
                      zero_acq_s=100.0)
    journal.append([RowBlock.of(dict(columns, time_s=np.asarray(columns["time_s"]) + 100.0))])
    journal.close()
    finish_from_journal(catalog, run_id, "complete", "recorded")
    return run_id
