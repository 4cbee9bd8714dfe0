"""The virtual cell obeys the host's test commands (docs/simulator.md §2 and §7): a hold at an
rpm and a MAP, a pull on inertia, a load-control sweep at a MAP or wide open, a decel down a
ramp, each followed by idle; ``release`` after them idles; the plan file's sweep step."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from dynoai_desktop.commands.simulate import apply_control
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.plan import SweepStep
from dynoai_desktop.devices.base import DynoCommand
from dynoai_desktop.sim.cell import CellConfig, VirtualCell
from dynoai_desktop.sim.plans import Plan, idle, parse_plan, step_phases, sweep

IDLE_RPM_MAX = 1200.0


@dataclass(frozen=True)
class Sample:
    t: float
    rpm: float
    map_kpa: float
    tps: float
    label: str


def _cell(plan: Plan | None = None) -> VirtualCell:
    cell = VirtualCell(CellConfig(plan=plan or Plan("idle", tuple(idle(600.0)))))
    cell.advance(1.0)
    return cell


def _run(cell: VirtualCell, seconds: float, every: float = 0.05) -> list[Sample]:
    """Advance ``seconds`` of simulated time, sampling what the cell reads every ``every``."""
    out = []
    start = cell.time_s
    for i in range(1, round(seconds / every) + 1):
        cell.advance(start + i * every)
        v = cell.values
        out.append(Sample(cell.time_s, v["rpm"], v["map_kpa"], v["tps_pct"],
                          cell.runner.phase.label))
    return out


def _during(samples: list[Sample], prefix: str) -> list[Sample]:
    return [s for s in samples if s.label.startswith(prefix)]


def _slope(samples: list[Sample], trim_s: float = 0.5) -> float:
    """rpm/s over the middle of ``samples`` (``trim_s`` left out at each end)."""
    mid = [s for s in samples if samples[0].t + trim_s <= s.t <= samples[-1].t - trim_s]
    return float(np.polyfit([s.t for s in mid], [s.rpm for s in mid], 1)[0])


# ---------------------------------------------------------------------------- the phases
def test_a_sweep_settles_at_its_map_then_ramps_at_its_rate() -> None:
    phases = sweep(2500.0, 4500.0, 70.0, 400.0)
    assert [p.label for p in phases] == ["hold 2500 rpm 70 kPa (settling)", "hold 2500 rpm 70 kPa",
                                         "sweep 2500-4500 rpm 70 kPa at 400 rpm/s"]
    ramp = phases[-1]
    for t, target in ((0.0, 2500.0), (2.5, 3500.0), (5.0, 4500.0), (9.0, 4500.0)):
        sp = ramp.command(t, 2490.0, 2600.0)
        assert (sp.map_kpa, sp.tps_pct, sp.target_rpm, sp.steady) == (70.0, None, target, False)
    wot = sweep(2500.0, 4500.0, None, 600.0, tps_pct=100.0)[-1].command(1.0, 2500.0, 3000.0)
    assert (wot.map_kpa, wot.tps_pct, wot.target_rpm) == (None, 100.0, 3100.0)
    with pytest.raises(ValueError):
        sweep(2500.0, 4500.0, 70.0, 400.0, tps_pct=100.0)
    with pytest.raises(ValueError):
        sweep(2500.0, 4500.0, None, 400.0)


def test_a_plan_file_sweep_step_becomes_sweep_phases() -> None:
    step = SweepStep(2500.0, 4500.0, 70.0)
    assert [p.label for p in step_phases(step)] == \
        [p.label for p in sweep(2500.0, 4500.0, 70.0, 300.0)]
    plan = parse_plan(json.dumps({"steps": [
        {"type": "idle", "seconds": 2},
        {"type": "sweep", "from_rpm": 2500, "to_rpm": 4500, "map_kpa": 70, "rpm_per_s": 400}]}),
        "sweep.json")
    assert plan.phases[-1].label == "sweep 2500-4500 rpm 70 kPa at 400 rpm/s"


# ---------------------------------------------------------------------------- the cell
def test_hold_rpm_map_holds_both_until_the_next_command() -> None:
    cell = _cell()
    assert cell.receive("dyno", b"!HOLD 3000 MAP 80\r\n") == b"#ACK HOLD 3000 MAP 80\r\n"
    samples = _run(cell, 25.0)
    held = [s for s in samples if s.t >= samples[0].t + 10.0]
    assert all(abs(s.rpm - 3000.0) < 50.0 for s in held), (min(s.rpm for s in held),
                                                           max(s.rpm for s in held))
    assert all(abs(s.map_kpa - 80.0) < 4.0 for s in held)
    assert {s.label for s in held} == {"hold 3000 rpm 80 kPa"}
    assert cell.runner.plan.name == "host hold 3000 rpm 80 kPa"


def test_a_sweep_holds_its_map_while_the_rpm_ramps_then_idles() -> None:
    cell = _cell()
    assert cell.command(DynoCommand("pull", (2500.0, 4500.0, 70.0, 400.0))) is None
    samples = _run(cell, 25.0)
    ramp = _during(samples, "sweep 2500-4500 rpm 70 kPa at 400 rpm/s")
    assert len(ramp) >= 80  # about 5 s of the ramp
    assert all(abs(s.map_kpa - 70.0) < 4.0 for s in ramp), (min(s.map_kpa for s in ramp),
                                                            max(s.map_kpa for s in ramp))
    assert ramp[0].rpm < 2700.0 and max(s.rpm for s in ramp) >= 4450.0
    assert _slope(ramp) == pytest.approx(400.0, rel=0.1)
    after = samples[samples.index(ramp[-1]) + 1:]
    assert after and {s.label for s in after} == {"idle"}
    assert all(s.tps < 0.5 for s in after[10:])  # the throttle shuts within 0.05 s
    assert all(s.rpm < IDLE_RPM_MAX for s in after if s.t > after[0].t + 5.0)


def test_a_pull_without_map_sweeps_on_inertia_then_idles() -> None:
    cell = _cell()
    assert cell.receive("dyno", b"!PULL 2000 5500\r\n") == b"#ACK PULL 2000 5500\r\n"
    samples = _run(cell, 25.0)
    wot = _during(samples, "pull 2000-5500 rpm")
    open_ = [s for s in wot if "braking" not in s.label]
    assert all(s.tps > 99.0 for s in open_[5:])
    assert max(s.rpm for s in open_) >= 5450.0
    assert _during(samples, "pull 2000-5500 rpm (braking)")
    assert samples[-1].label == "idle" and samples[-1].rpm < IDLE_RPM_MAX


def test_a_pull_with_a_rate_and_no_map_is_a_wide_open_ramp() -> None:
    cell = _cell()
    assert cell.command(DynoCommand("pull", (2500.0, 5000.0, None, 600.0))) is None
    samples = _run(cell, 20.0)
    ramp = _during(samples, "sweep 2500-5000 rpm 100 % throttle at 600 rpm/s")
    assert ramp and all(s.tps > 99.0 for s in ramp)
    assert _slope(ramp) == pytest.approx(600.0, rel=0.1)
    assert max(s.rpm for s in ramp) >= 4950.0
    assert samples[-1].label == "idle" and samples[-1].rpm < IDLE_RPM_MAX


@pytest.mark.parametrize(("rate", "wanted"), [(None, 500.0), (800.0, 800.0)])
def test_a_falling_pull_decelerates_with_the_throttle_shut(rate: float | None, wanted: float
                                                           ) -> None:
    cell = _cell()
    assert cell.command(DynoCommand("pull", (4500.0, 1500.0, None, rate))) is None
    samples = _run(cell, 28.0)
    down = _during(samples, "decel 4500-1500 rpm")
    assert down and all(s.tps < 0.5 for s in down[2:])
    assert all(s.map_kpa < 35.0 for s in down[5:])  # closed throttle: low MAP
    assert down[0].rpm > 4400.0 and down[-1].rpm < 1700.0
    assert _slope(down) == pytest.approx(-wanted, rel=0.1)
    assert samples[-1].label == "idle" and samples[-1].rpm < IDLE_RPM_MAX


def test_release_after_a_host_test_idles_and_after_a_plain_hold_resumes_the_plan() -> None:
    own = Plan("mine", tuple(idle(600.0, fan_cfm=0.0)))
    cell = _cell(own)
    cell.command(DynoCommand("hold_rpm", 2500.0))
    _run(cell, 6.0)
    assert cell.receive("dyno", b"!RELEASE\r\n") == b"#ACK RELEASE\r\n"
    assert cell.runner.plan is own  # the cell's own plan went on underneath

    cell.command(DynoCommand("hold_rpm_map", (3000.0, 60.0)))
    assert cell.runner.fan_cfm == 0.0  # the fan stays as it was
    _run(cell, 8.0)
    cell.command(DynoCommand("release"))
    samples = _run(cell, 6.0)
    assert {s.label for s in samples} == {"idle"} and samples[-1].rpm < IDLE_RPM_MAX
    assert cell.runner.plan is not own

    # a plain hold over a host test: the host test does not go on underneath
    cell.command(DynoCommand("pull", (2500.0, 4500.0, 70.0, 400.0)))
    cell.command(DynoCommand("hold_rpm", 2800.0))
    samples = _run(cell, 10.0)
    assert {s.label for s in samples} == {"idle"} and abs(samples[-1].rpm - 2800.0) < 30.0
    cell.command(DynoCommand("release"))
    assert _run(cell, 6.0)[-1].rpm < IDLE_RPM_MAX

    assert cell.command(DynoCommand("run_plan", "tip_in")) is None
    cell.command(DynoCommand("hold_rpm", 2000.0))
    cell.command(DynoCommand("release"))
    assert cell.runner.plan.name == "tip_in"  # a plan run by name is the cell's own again


@pytest.mark.parametrize(
    ("line", "reply"),
    [
        (b"!PULL 2000 9000", b"#ERR PULL 2000 9000: cannot pull 9000 rpm; pull 800-6000 rpm\r\n"),
        (b"!PULL 700 3000", b"#ERR PULL 700 3000: cannot pull 700 rpm; pull 800-6000 rpm\r\n"),
        (b"!HOLD 6500 MAP 80", b"#ERR HOLD 6500 MAP 80: cannot hold 6500 rpm; hold 800-6000 "
                               b"rpm\r\n"),
        (b"!HOLD 9000", b"#ERR HOLD 9000: cannot hold 9000 rpm; hold 800-6000 rpm\r\n"),
        (b"!PULL 2500 4500 MAP 120", b""),  # not a command: the line refuses it, no reply
    ],
)
def test_out_of_range_commands_are_refused_and_change_nothing(line: bytes, reply: bytes) -> None:
    own = Plan("mine", tuple(idle(600.0)))
    cell = _cell(own)
    assert cell.receive("dyno", line + b"\r\n") == reply
    assert cell.runner.plan is own and cell._override is None


@pytest.mark.parametrize(
    ("cmd", "error"),
    [
        (DynoCommand("hold_rpm_map", (3000.0, 120.0)), "cannot hold 120 kPa; hold 10-105 kPa"),
        (DynoCommand("hold_rpm_map", (3000.0, float("nan"))), "cannot hold nan kPa"),
        (DynoCommand("hold_rpm_map", 3000.0), "hold_rpm_map takes (rpm, map_kpa)"),
        (DynoCommand("pull", (2500.0, 4500.0)), "pull takes (from_rpm, to_rpm, map_kpa"),
        (DynoCommand("pull", (2500.0, 2600.0, None, None)), "differ by 200 or more"),
        (DynoCommand("pull", (2500.0, 4500.0, 9.0, None)), "cannot hold 9 kPa"),
        (DynoCommand("pull", (2500.0, 4500.0, None, 5000.0)),
         "cannot ramp at 5000 rpm/s; ramp at 50-3000 rpm/s"),
    ],
)
def test_bad_values_called_directly_give_an_error_text(cmd: DynoCommand, error: str) -> None:
    own = Plan("mine", tuple(idle(600.0)))
    cell = _cell(own)
    assert error in (cell.command(cmd) or "")
    assert cell.runner.plan is own


def _bytes_of_a_session() -> list[tuple[str, float, bytes]]:
    cell = _cell()
    out = []
    for at, line in ((2.0, b"!HOLD 2500 MAP 50\r\n"), (9.0, b"!PULL 2500 4000 MAP 60 RATE 500\r\n"),
                     (18.0, b"!PULL 4000 2000\r\n")):
        out += [(e.device, e.time_s, e.data) for e in cell.advance(at)]
        cell.receive("dyno", line)
    out += [(e.device, e.time_s, e.data) for e in cell.advance(26.0)]
    return out


def test_the_same_commands_give_the_same_bytes() -> None:
    assert _bytes_of_a_session() == _bytes_of_a_session()


def test_the_stdin_control_takes_the_same_commands() -> None:
    cell = _cell()
    server: Any = None  # hold and pull do not touch the server
    assert apply_control("pull 2500 4500 map 70 rate 400", server, cell) == \
        "ok: pull 2500 4500 map 70 rate 400"
    cell.advance(1.5)
    assert cell.runner.plan.name == "host pull 2500-4500 rpm"
    assert cell.runner.plan.phases[2].label == "sweep 2500-4500 rpm 70 kPa at 400 rpm/s"
    apply_control("hold 3000 MAP 80", server, cell)
    cell.advance(2.0)
    assert cell.runner.plan.name == "host hold 3000 rpm 80 kPa"
    apply_control("hold 2000", server, cell)
    cell.advance(2.5)
    assert cell._override == 2000.0
    for bad in ("pull 2000", "pull 5000 5100 map 40", "hold 3000 map", "hold 3000 rate 300"):
        with pytest.raises(InputError, match=bad.split()[0] + ": say"):
            apply_control(bad, server, cell)
