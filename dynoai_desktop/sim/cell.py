"""The virtual dyno cell: engine, ECM, widebands, thermal and dyno stepped together.

``VirtualCell.advance(t)`` runs the simulation to sim time ``t`` in fixed 2 ms steps and returns
the device bytes that became due (``sim.stream.Emission``). The run is deterministic: the same
config (seed, plan, tables) gives the same bytes at the same sim times, whoever listens. A
carrier (``sim.server.CellServer`` for sockets and ptys, ``sim.logmode`` for a Log CSV) moves
them on.
"""

from __future__ import annotations

import math
import queue
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from dynoai_desktop.core.channels import SensorStatus
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.power import power_hp
from dynoai_desktop.core.table import Table
from dynoai_desktop.core.units import NM_PER_FTLB
from dynoai_desktop.core.weather import CELL_AIR, Weather
from dynoai_desktop.devices import dyno_line
from dynoai_desktop.devices.base import DynoCommand
from dynoai_desktop.sim import emitters, plans
from dynoai_desktop.sim.closed_loop import ClosedLoop, ClosedLoopParams, with_closed_loop_cells
from dynoai_desktop.sim.dyno import DEFAULT_GEAR, Dyno
from dynoai_desktop.sim.ecm import Ecm, EcmOutput
from dynoai_desktop.sim.ecm_tables import (
    MAP_BREAKPOINTS_KPA,
    RPM_BREAKPOINTS,
    EcmTables,
    base_tables,
)
from dynoai_desktop.sim.effective_ve import EffectiveVe, counts_for_effective_ve
from dynoai_desktop.sim.engine import FRONT, REAR, EngineModel
from dynoai_desktop.sim.fuel_film import FilmParams
from dynoai_desktop.sim.host_plans import OPEN_ENDED_S, hold_phases, pull_phases, rpm_problem
from dynoai_desktop.sim.mixture import Mixture, MixtureParams
from dynoai_desktop.sim.plans import Phase, Plan, PlanRunner, Setpoint, builtin_plan
from dynoai_desktop.sim.presets import DEFAULT_PRESET, EnginePreset, get_preset
from dynoai_desktop.sim.scatter import DEFAULT_BIKE_SEED
from dynoai_desktop.sim.stream import Emission, ServedDevice
from dynoai_desktop.sim.thermal import ThermalModel, ThermalParams
from dynoai_desktop.sim.wideband import WidebandParams, WidebandSample, WidebandSensor

STEP_S = 0.002
THROTTLE_RATE_PCT_PER_S = 2000.0
PUMPING_NM_PER_KPA_L = 1.0 / (4.0 * math.pi)  # PMEP ≈ baro - MAP, per litre
DECEL_POP_ZONE_RPM = (1750.0, 5500.0)  # vtwin.md §5
KNOCK_MIN_MAP_KPA = 45.0  # light load does not knock (the ECM does not even listen below 50)
SETTLE_AFTER_THROTTLE_S = 1.0  # the effective VE skips this long after the throttle moves
THROTTLE_MOVED_PCT = 2.0  # ... by more than this


@dataclass(frozen=True)
class CellConfig:
    """Everything that decides what the cell does; equal configs give equal bytes."""

    preset: EnginePreset = field(default_factory=lambda: get_preset(DEFAULT_PRESET))
    plan: Plan = field(default_factory=lambda: builtin_plan("default"))
    tables: EcmTables | None = None  # None: the base calibration
    seed: int = 1
    bike_seed: int = DEFAULT_BIKE_SEED  # which bike of the preset's build (sim/scatter.py)
    wideband_protocol: str = "innovate-mts"
    weather: Weather = CELL_AIR  # measured air (``Weather.of_air``): all three readings
    loop_plan: bool = True
    wideband: WidebandParams = field(default_factory=WidebandParams)
    thermal: ThermalParams = field(default_factory=ThermalParams)
    mixture: MixtureParams = field(default_factory=MixtureParams)
    film: FilmParams = field(default_factory=FilmParams)
    closed_loop: bool = False  # closed-loop cruise where the AFR table asks (off: VE tuning)
    closed_loop_params: ClosedLoopParams = field(default_factory=ClosedLoopParams)
    gear: int = DEFAULT_GEAR


@dataclass
class Event:
    """Something the truth records: a knock, a decel pop, a plan phase."""

    time_s: float
    kind: str
    detail: str


class VirtualCell:
    """The simulation and its devices (implements ``sim.stream.ByteCell``)."""

    def __init__(self, config: CellConfig) -> None:
        if not config.weather.measured or config.weather.correction_factor is None:
            raise InputError(f"the virtual cell needs measured air, {config.weather} is not: "
                             "build it with Weather.of_air(baro_kpa, ambient_temp_c, "
                             "humidity_pct)")
        self.config = config
        self.engine = engine = EngineModel(config.preset, config.weather.baro_kpa,
                                           config.bike_seed)
        self.tables = config.tables or base_tables(engine)
        if config.closed_loop and config.tables is None:
            # The base calibration, as shipped, cruises closed loop at 14.6 (vtwin.md §3).
            self.tables = replace(self.tables, afr_target=with_closed_loop_cells(
                self.tables.afr_target, config.closed_loop_params))
        seeds = random.Random(config.seed)
        self._rng_engine = random.Random(seeds.getrandbits(64))
        self._rng_dyno = random.Random(seeds.getrandbits(64))
        rng_sensors = [random.Random(seeds.getrandbits(64)) for _ in range(2)]
        rng_devices = random.Random(seeds.getrandbits(64))
        rng_mixture = random.Random(seeds.getrandbits(64))
        self.ecm = Ecm(self.tables, engine.idle_rpm, self._rng_engine)
        plan = config.plan
        self.runner = PlanRunner(plan, loop=config.loop_plan)
        self.weather = config.weather
        self._dry_fraction = config.weather.dry_fraction
        self.thermal = ThermalModel(config.thermal, config.weather.ambient_temp_c,
                                    plan.start_engine_temp_c, plan.start_fan_cfm)
        self.dyno = Dyno(engine.idle_rpm, config.gear)
        self.sensors = [
            WidebandSensor(config.wideband, rng_sensors[c],
                           config.wideband.warmup_s + rng_sensors[c].uniform(0.0, 3.0),
                           offset_lambda=engine.wideband_lambda_offset[c],
                           delay_scale=engine.wideband_delay_scale[c])
            for c in (FRONT, REAR)
        ]
        self.mixture = Mixture(config.mixture, config.film, engine.reversion_strength,
                               config.wideband.idle_ripple_lambda, rng_mixture)
        self.closed_loop = ClosedLoop(config.closed_loop_params) if config.closed_loop else None
        self.effective_ve = EffectiveVe(RPM_BREAKPOINTS, MAP_BREAKPOINTS_KPA,
                                        (self.tables.ve_front, self.tables.ve_rear))
        self._steps = 0
        self._tps = 0.0
        self._throttle_ref_pct, self._throttle_moved_s = 0.0, 0.0
        self._map = engine.idle_map_kpa
        self._override: float | None = None  # rpm a host asked the dyno to hold
        self._host_driven = False  # the runner runs a host's hold/pull, not the cell's plan
        self._values: dict[str, float] | None = None  # built when read: see ``values``
        self.lambdas = [1.0, 1.0]  # what each cylinder burns (λ)
        self.lambdas_read = [1.0, 1.0]  # what its exhaust looks like to a sensor (λ)
        self.events: list[Event] = []
        self._last_label = ""
        self._dyno_fields = emitters.dyno_fields(config.closed_loop)
        self._emitters = [
            emitters.Emitter(ServedDevice("dyno", dyno_line.PROTOCOL, dyno_line.BAUDRATE),
                             emitters.DYNO_PERIOD_S, 0.0, self._dyno_frame,
                             greeting=emitters.dyno_header(self._dyno_fields)),
            *emitters.wideband_emitters(config.wideband_protocol, self._sample, rng_devices),
        ]
        self._commands = dyno_line.CommandDecoder()
        self._posted: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._values_of = (self.ecm.step(0.0, STEP_S, self.dyno.state.rpm, self._map_read, 0.0,
                                         plan.start_engine_temp_c, self.weather.ambient_temp_c,
                                         True), 0.0)  # what ``values`` shows: ECM out, torque

    @property
    def _map_read(self) -> float:
        """What the ECM's MAP sensor reads: the true MAP plus this bike's sensor offset."""
        return self._map + self.engine.map_sensor_offset_kpa

    # ---------------------------------------------------------------- ByteCell
    @property
    def devices(self) -> tuple[ServedDevice, ...]:
        """The served devices, dyno first."""
        return tuple(e.device for e in self._emitters)

    @property
    def time_s(self) -> float:
        """Simulated time now."""
        return round(self._steps * STEP_S, 6)

    def greeting(self, device: str) -> bytes:
        """The dyno line's header for each new client; nothing for the widebands."""
        return next((e.greeting for e in self._emitters if e.device.name == device), b"")

    def advance(self, to_time_s: float) -> list[Emission]:
        """Step to ``to_time_s``; return the frames that became due, in time order."""
        out: list[Emission] = []
        while not self._posted.empty():
            self._posted.get()()
        due = min(e.next_time_s for e in self._emitters)  # the next frame of any device
        now = self.time_s
        while True:
            if due <= now + 1e-9:
                for emitter in self._emitters:
                    while emitter.next_time_s <= now + 1e-9:
                        data = emitter.encode(now)
                        emitter.count += 1
                        if data:
                            out.append(Emission(emitter.device.name, now, data))
                due = min(e.next_time_s for e in self._emitters)
            if (self._steps + 1) * STEP_S > to_time_s + 1e-9:
                return out
            now = self._step()

    def receive(self, device: str, data: bytes) -> bytes:
        """Host bytes to a device: dyno commands are obeyed and answered ``#ACK``/``#ERR``."""
        if device != "dyno":
            return b""
        replies = b""
        for command in self._commands.feed(data):
            error = self.command(command)
            replies += dyno_line.encode_reply(command, error)
        return replies

    # ---------------------------------------------------------------- control and faults
    def post(self, action: Callable[[], None]) -> None:
        """Run ``action`` on the simulation's thread at the start of the next ``advance``.

        Other threads (a test, the stdin control) change the cell this way, never directly.
        """
        self._posted.put(action)

    def load_ve_tables(self, front: Table, rear: Table) -> None:
        """Flash new VE tables into the simulated ECM (call on the simulation's thread, through
        ``post``). The truth's effective VE starts again: it describes the tables loaded."""
        self.tables = replace(self.tables, ve_front=front, ve_rear=rear)
        self.ecm.load_tables(self.tables)
        self.effective_ve = EffectiveVe(RPM_BREAKPOINTS, MAP_BREAKPOINTS_KPA,
                                        (self.tables.ve_front, self.tables.ve_rear))

    def load_spark_tables(self, front: Table, rear: Table) -> None:
        """Flash new spark tables into the simulated ECM (on the simulation's thread, as
        ``load_ve_tables``)."""
        self.tables = replace(self.tables, spark_front=front, spark_rear=rear)
        self.ecm.load_tables(self.tables)

    def command(self, command: DynoCommand) -> str | None:
        """Obey a dyno command; an error text if it cannot be done.

        ``hold_rpm`` holds an rpm over whatever runs (the cell's plan goes on underneath and
        ``release`` returns to it). ``hold_rpm_map`` and ``pull`` replace what runs with the
        host's hold, pull, sweep or decel, after which the rider idles with the clutch in until
        the next command; ``release`` after them idles too. ``run_plan`` runs a built-in plan.
        """
        action, value = command.action, command.value
        if action == "hold_rpm":
            rpm = float(value)  # type: ignore[arg-type]
            problem = rpm_problem("hold", rpm)
            if problem:
                return problem
            if self._host_driven:  # nothing of the host's last command goes on underneath
                self._run_host(("host idle", []))
            self._override = rpm
            return None
        if action == "hold_rpm_map":
            try:
                rpm, map_kpa = (float(v) for v in value)  # type: ignore[union-attr]
            except (TypeError, ValueError):
                return f"hold_rpm_map takes (rpm, map_kpa), got {value!r}"
            return self._run_host(hold_phases(rpm, map_kpa), then_idle=False)
        if action == "pull":
            try:
                first, second, kpa, rate = value  # type: ignore[misc]
                numbers = (float(first), float(second), None if kpa is None else float(kpa),
                           None if rate is None else float(rate))
            except (TypeError, ValueError):
                return f"pull takes (from_rpm, to_rpm, map_kpa, rpm_per_s), got {value!r}"
            return self._run_host(pull_phases(*numbers))
        if action == "release":
            self._override = None
            if self._host_driven:
                self._run_host(("host idle", []))
            return None
        if action == "run_plan":
            try:
                plan = builtin_plan(str(value))
            except Exception as exc:  # noqa: BLE001 - the message goes back to the host
                return str(exc)
            self._override = None
            self._host_driven = False
            self.runner = PlanRunner(plan, loop=self.config.loop_plan)
            return None
        return f"unknown command {action}"

    def _run_host(self, planned: tuple[str, list[Phase]] | str, *, then_idle: bool = True
                  ) -> str | None:
        """Run a host's phases (``planned``: name and phases, or why not) instead of what runs
        now (the fan stays as it is); then, unless told not to, idle with the clutch in until
        the next command. The problem, if there is one."""
        if isinstance(planned, str):
            return planned
        name, phases = planned
        if then_idle:
            phases = [*phases, *plans.idle(OPEN_ENDED_S)]
        self._override = None
        self._host_driven = True
        self.runner = PlanRunner(Plan(name, tuple(phases), start_fan_cfm=self.runner.fan_cfm),
                                 loop=False)
        return None

    def set_sensor_state(self, cylinder: str, status: SensorStatus | None, code: int = 0
                         ) -> None:
        """Fault injection: force a wideband into a status (None = back to normal)."""
        index = {"front": FRONT, "rear": REAR}[cylinder]
        self.sensors[index].force(status, code, self.time_s)

    # ---------------------------------------------------------------- the physics step
    def _setpoint(self, t: float) -> Setpoint:
        sp = self.runner.setpoint(t, self.dyno.state.rpm)
        label = sp.label if self.runner.finished else self.runner.phase.label
        if label != self._last_label:
            self.events.append(Event(t, "phase", label))
            self._last_label = label
        if self._override is None:
            return sp
        # The rider works with the dyno: more throttle to climb to the held rpm, then cruise.
        climbing = self.dyno.state.rpm < self._override - 60.0
        return Setpoint(f"hold {self._override:g} rpm (host)", None, 80.0 if climbing else 50.0,
                        self._override)

    def _throttle(self, sp: Setpoint, rpm: float) -> float:
        baro = self.weather.baro_kpa
        if sp.clutch_in:
            wanted = 0.0
        elif sp.tps_pct is not None:
            wanted = sp.tps_pct
        else:
            wanted = self.engine.tps_for_map(sp.map_kpa or 30.0, rpm, baro)
        step = THROTTLE_RATE_PCT_PER_S * STEP_S
        change = wanted - self._tps  # by at most ``step`` either way (sim/scalar.py):
        change = change if change < step else step  # min(step, change)
        self._tps += change if change > -step else -step  # max(-step, change)
        return self._tps

    def _step(self) -> float:
        """One step of the physics; returns the new ``time_s``."""
        t = round((self._steps + 1) * STEP_S, 6)
        sp = self._setpoint(t)
        rpm = self.dyno.state.rpm
        tps = self._throttle(sp, rpm)
        baro = self.weather.baro_kpa
        target_map = self.engine.map_steady_kpa(tps, rpm, baro)
        self._map += (target_map - self._map) * (1.0 - math.exp(-STEP_S * rpm / 120.0))
        temps = self.thermal.state
        map_read = self._map_read
        out = self.ecm.step(t, STEP_S, rpm, map_read, tps, temps.head_c, temps.iat_sensor_c,
                            sp.clutch_in)
        trims = self._closed_loop(t, out, rpm, map_read, temps.head_c)
        engine_nm = self._combustion(t, out, rpm, map_read, trims, closed_throttle=tps < 2.0)
        state = self.dyno.step(STEP_S, engine_nm, sp.target_rpm, sp.clutch_in, out.idle_rpm)
        self.thermal.step(STEP_S, state.rpm, self._map, self.runner.fan_cfm)
        transport = self.config.wideband.transport_s(state.rpm, self._map)  # both sensors' flow
        for c in (FRONT, REAR):
            self.sensors[c].push(t, self.lambdas_read[c], state.rpm, self._map,
                                 transport_s=transport)
        if abs(tps - self._throttle_ref_pct) > THROTTLE_MOVED_PCT:
            self._throttle_ref_pct, self._throttle_moved_s = tps, t
        if t - self._throttle_moved_s >= SETTLE_AFTER_THROTTLE_S and \
                counts_for_effective_ve(sp, out, self.tables.ve_mode):
            self.effective_ve.add_burned(STEP_S, rpm, map_read, out.afr_target, self.lambdas,
                                         trims, self.mixture.false_lean,
                                         self.config.mixture.max_true_lambda)
        self._steps += 1
        self._values_of, self._values = (out, engine_nm if not sp.clutch_in else 0.0), None
        return t

    def _closed_loop(self, t: float, out: EcmOutput, rpm: float, map_read: float,
                     head_c: float) -> tuple[float, float]:
        """The ECM's closed-loop trims (%), 0 when it runs open loop."""
        if self.closed_loop is None:
            return 0.0, 0.0
        return self.closed_loop.step(
            t, STEP_S, afr_target=out.afr_target, map_kpa=map_read, rpm=rpm, head_c=head_c,
            enrichment_active=out.enrichment_active, hot_idle=out.hot_idle_phase > 0,
            fuel_cut=out.fuel_cut, lambdas=self.lambdas_read)

    def _combustion(self, t: float, out: EcmOutput, rpm: float, map_read: float,
                    trims: tuple[float, float], *, closed_throttle: bool) -> float:
        """Mixture, knock and torque of both cylinders; returns torque at the roller (N·m)."""
        engine, temps, map_kpa, mixture = self.engine, self.thermal.state, self._map, self.mixture
        point = engine.point(rpm, map_kpa)  # both cylinders' true VE and knock limits
        mixture.step(
            STEP_S, rpm, map_kpa, map_read_kpa=map_read, ve_true=point.ve_true,
            ve_table=out.ve_table, afr_target=out.afr_target, fuel_scale=out.fuel_scale,
            trims_pct=trims, iat_sensor_c=temps.iat_sensor_c, charge_c=temps.charge_c,
            port_temp_c=temps.head_c, closed_throttle=closed_throttle)
        self._decel_pops(t, out, rpm)
        self.lambdas[:], self.lambdas_read[:] = mixture.lam_true, mixture.lam_read
        charge_nm = engine.charge_torques_nm(point.ve_true, map_kpa, self._dry_fraction,
                                             temps.charge_c)
        torque = 0.0
        mbt = engine.mbt_deg(rpm, map_kpa)
        burns_up_to = self.config.mixture.max_true_lambda
        for c in (FRONT, REAR):
            lam, spark = self.lambdas[c], out.spark_deg[c]
            if lam > burns_up_to:
                continue  # fuel cut: nothing burns, nothing knocks
            head = temps.head_c if c == FRONT else temps.rear_head_c
            limit = engine.knock_limit_at(point, c, head, temps.charge_c)
            excess = spark - limit
            if (excess > 0 and map_kpa >= KNOCK_MIN_MAP_KPA
                    and self._rng_engine.random() < min(1.0, 6.0 * excess * STEP_S)):
                self.events.append(Event(t, "knock", f"{('front', 'rear')[c]} "
                                                     f"{spark:.1f}° > {limit:.1f}°"))
                self.ecm.knock(c, map_kpa, rpm, temps.head_c)
            torque += (charge_nm[c] * mixture.burned[c] * engine.lambda_efficiency(lam)
                       * engine.spark_efficiency(spark, mbt))
        vacuum = self.weather.baro_kpa - map_kpa
        pumping = PUMPING_NM_PER_KPA_L * (0.0 if 0.0 > vacuum else vacuum) * engine.displacement_l
        return torque - engine.friction_nm(rpm) - pumping

    def _decel_pops(self, t: float, out: EcmOutput, rpm: float) -> None:
        """Pops in the pipe: closed throttle, low MAP, lean, in the pop zone (vtwin.md §5).

        A lean closed-throttle charge misfires (more with overlap and an open pipe); what did
        not burn lights in the pipe, and the wideband sees that cycle's oxygen as a lean spike.
        """
        low, high = DECEL_POP_ZONE_RPM
        if self._tps > 2.0 or not low <= rpm <= high or out.fuel_cut:
            return  # in fuel cut there is nothing to burn in the pipe
        lean = min(1.0, max(0.0, (max(self.mixture.lam_true) - 0.95) / 0.15))
        worst = 1.0 if 2500 <= rpm <= 3000 or rpm >= 4000 else 0.5
        rate = 3.0 * self.engine.decel_pop_tendency * lean * worst
        if self._rng_engine.random() < rate * STEP_S:
            c = FRONT if self._rng_engine.random() < 0.5 else REAR
            self.mixture.force_misfire(c, self.config.mixture.pop_unburned)
            self.events.append(Event(t, "decel_pop", f"{('front', 'rear')[c]}, {rpm:.0f} rpm, "
                                                     f"MAP {self._map:.1f} kPa"))

    @property
    def values(self) -> dict[str, float]:
        """The channels now (what the dyno line carries), as of the last step. Built on the
        first read after a step: the dyno line reads them every fifth step."""
        if self._values is None:
            self._values = self._read_values(*self._values_of)
        return self._values

    def _read_values(self, out: EcmOutput, engine_nm: float) -> dict[str, float]:
        state, temps, w = self.dyno.state, self.thermal.state, self.weather
        torque_ftlb = max(engine_nm, 0.0) / NM_PER_FTLB
        values = {
            "rpm": state.rpm,
            "speed_mph": self.dyno.speed_mph(state.roller_rpm),
            "torque_ftlb": torque_ftlb,
            "power_hp": power_hp(torque_ftlb, state.rpm),
            "map_kpa": self._map_read,
            "tps_pct": self._tps,
            "afr_target": out.afr_target,
            "engine_temp_c": temps.head_c,
            "iat_c": temps.iat_sensor_c,
            "spark_front_deg": out.spark_deg[FRONT],
            "spark_rear_deg": out.spark_deg[REAR],
            "knock_retard_front_deg": out.knock_retard_deg[FRONT],
            "knock_retard_rear_deg": out.knock_retard_deg[REAR],
            "baro_kpa": w.baro_kpa,
            "ambient_temp_c": w.ambient_temp_c,
            "humidity_pct": w.humidity_pct,
            "correction_factor": w.correction_factor,
        }
        if self.closed_loop is not None:
            values["cl_trim_front_pct"], values["cl_trim_rear_pct"] = self.closed_loop.reported()
        return values

    # ---------------------------------------------------------------- device frames
    def _dyno_frame(self, t: float) -> bytes:
        v = dict(self.values)
        noise = self._rng_dyno.gauss
        v["time_s"] = t
        v["rpm"] += noise(0.0, 1.5)
        v["map_kpa"] += noise(0.0, 0.15)
        if v["torque_ftlb"] > 0:
            v["torque_ftlb"] = max(0.0, v["torque_ftlb"] + noise(0.0, 0.3))
            v["power_hp"] = power_hp(v["torque_ftlb"], v["rpm"])
        return emitters.dyno_frame(v, self._dyno_fields)

    def _sample(self, cylinder: int, t: float) -> WidebandSample:
        return self.sensors[cylinder].sample(t)
