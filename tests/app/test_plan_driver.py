"""A test plan run step by step through dyno commands (app.plan_driver), on given rpm traces."""

from __future__ import annotations

import pytest

from dynoai_desktop.app.plan_driver import SETTLE_S, PlanDriver, step_command
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.plan import (
    DecelStep,
    GridStep,
    HoldStep,
    IdleStep,
    PlanSpec,
    PullStep,
    SweepStep,
)
from dynoai_desktop.devices.base import DynoCommand
from dynoai_desktop.devices.dyno_line import encode_command


def drive(spec: PlanSpec, trace: list[tuple[float, float]]) -> tuple[PlanDriver, list]:
    sent: list[tuple[float, DynoCommand]] = []
    now = [0.0]
    driver = PlanDriver(spec, lambda cmd: sent.append((now[0], cmd)))
    for t, rpm in trace:
        now[0] = t
        driver.tick(t, rpm)
    return driver, sent


def test_each_step_is_one_dyno_command_the_line_can_write() -> None:
    steps = [HoldStep(rpm=3000, seconds=2, map_kpa=80), HoldStep(rpm=2500, seconds=1, tps_pct=20),
             SweepStep(from_rpm=4500, to_rpm=2000, map_kpa=60, rpm_per_s=500),
             PullStep(from_rpm=2000, to_rpm=5500), DecelStep(from_rpm=5000, to_rpm=1500),
             IdleStep(seconds=10)]
    lines = [encode_command(step_command(s)) for s in steps]
    assert lines == [b"!HOLD 3000 MAP 80\r\n", b"!HOLD 2500\r\n",
                     b"!PULL 4500 2000 MAP 60 RATE 500\r\n", b"!PULL 2000 5500\r\n",
                     b"!PULL 5000 1500 RATE 500\r\n", b"!RELEASE\r\n"]


def test_a_hold_counts_its_seconds_from_when_the_engine_is_at_its_rpm() -> None:
    spec = PlanSpec("t", (HoldStep(rpm=3000, seconds=2, map_kpa=80), IdleStep(seconds=5)))
    # Climbing for 3 s, then at 3000 rpm.
    trace = [(t / 10, min(3000.0, 1000.0 + t * 70)) for t in range(0, 100)]
    driver, sent = drive(spec, trace)
    assert sent[0] == (0.0, DynoCommand("hold_rpm_map", (3000.0, 80.0)))
    at_rpm = next(t for t, rpm in trace if abs(rpm - 3000) <= 50)
    release_at = next(t for t, cmd in sent if cmd.action == "release")
    assert release_at == pytest.approx(at_rpm + SETTLE_S + 2.0, abs=0.11)
    assert driver.status() == "Step 2 of 2: Clutch in, idle for 5 s"


def test_a_pull_ends_when_the_engine_reaches_its_far_rpm_and_the_plan_releases() -> None:
    spec = PlanSpec("t", (PullStep(from_rpm=2000, to_rpm=5000),))
    trace = [(t / 10, 1800.0 + t * 50) for t in range(0, 80)]
    driver, sent = drive(spec, trace)
    assert [c.action for _t, c in sent] == ["pull", "release"]
    assert sent[1][0] == pytest.approx(next(t for t, rpm in trace if rpm >= 4950), abs=1e-9)
    assert driver.finished and "done" in driver.status()


def test_a_ramp_begun_with_the_engine_past_its_end_waits_for_the_engine_to_come_back() -> None:
    # "Run on dyno" pressed mid-pull at 5000 rpm: the first sweep up to 4500 is not done until
    # the engine has been back at 2500 and climbed to 4500 again; the next sweep down begins
    # where that one ended.
    spec = PlanSpec("t", (SweepStep(from_rpm=2500, to_rpm=4500, map_kpa=95, rpm_per_s=400),
                          SweepStep(from_rpm=4500, to_rpm=2000, map_kpa=55, rpm_per_s=400)))
    down = [(t / 10, min(5000.0, 7700.0 - t * 300)) for t in range(0, 19)]  # to 2300 rpm
    up = [(1.8 + t / 10, min(4500.0, 2300.0 + t * 40)) for t in range(1, 60)]
    driver, sent = drive(spec, down + up)
    assert [c.value[2] for _t, c in sent] == [95.0, 55.0]
    assert sent[1][0] == pytest.approx(next(t for t, rpm in up if rpm >= 4450), abs=1e-9)


def test_a_ramps_far_end_between_two_ticks_still_ends_it() -> None:
    """The engine reaches 4500 and the rider lets go between two looks at the latest rpm: the
    least and most rpm since the last tick carry it, and the next step starts then; what came
    before a step's command does not count for it."""
    spec = PlanSpec("t", (SweepStep(from_rpm=2500, to_rpm=4500, map_kpa=95, rpm_per_s=400),
                          SweepStep(from_rpm=4500, to_rpm=1900, map_kpa=55, rpm_per_s=400)))
    sent: list[DynoCommand] = []
    driver = PlanDriver(spec, sent.append)
    driver.tick(0.0, 1000.0)  # the first command goes; the engine is below the ramp's start
    driver.tick(1.0, 3000.0, low=1000.0, high=3000.0)
    assert [c.action for c in sent] == ["pull"]
    # 4500 was reached at 1.6 s; at 2.0 s the engine is already down at 1500 (clutch in): the
    # falling sweep's command goes, and the 1500 seen before it does not end that sweep.
    driver.tick(2.0, 1500.0, low=1500.0, high=4500.0)
    assert [c.action for c in sent] == ["pull", "pull"] and sent[1].value[:2] == (4500.0, 1900.0)
    driver.tick(3.0, 1400.0, low=1400.0, high=1500.0)  # not yet at its start (4500)
    assert len(sent) == 2 and driver.status().startswith("Step 2 of 2")
    driver.tick(4.0, 4480.0, low=1400.0, high=4480.0)  # at its start now
    assert len(sent) == 2
    driver.tick(10.0, 2500.0, low=1880.0, high=4480.0)
    assert [c.action for c in sent] == ["pull", "pull", "release"] and driver.finished


def test_a_dyno_that_does_not_obey_times_out_instead_of_hanging() -> None:
    spec = PlanSpec("t", (HoldStep(rpm=3000, seconds=1, map_kpa=80),))
    driver, sent = drive(spec, [(t, 1000.0) for t in range(0, 100)])
    assert driver.finished and sent[-1][1] == DynoCommand("release")


def test_stop_releases_the_dyno() -> None:
    spec = PlanSpec("t", (IdleStep(seconds=60),))
    driver, sent = drive(spec, [(0.0, 1000.0), (1.0, 1000.0)])
    driver.stop()
    assert sent[-1][1] == DynoCommand("release") and "Stopped" in driver.status()


def test_a_step_the_dyno_cannot_run_is_refused_up_front() -> None:
    with pytest.raises(InputError, match="a grid step cannot be run through dyno control"):
        PlanDriver(PlanSpec("t", (GridStep(rpm=[2000], map_kpa=[40]),)), lambda c: None)
