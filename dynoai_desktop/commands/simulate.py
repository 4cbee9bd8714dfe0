"""``dynoai simulate``: the virtual dyno cell on loopback ports, or straight to a Log CSV.

The contract is FORMATS.md §4 (shared); docs/simulator.md documents every option.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from dynoai_desktop.core import tune
from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.core.channels import LOG_COLUMNS, SensorStatus
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.log_csv import format_log_csv
from dynoai_desktop.core.weather import CELL_AIR, Weather
from dynoai_desktop.devices import dyno_line
from dynoai_desktop.devices.base import DynoCommand
from dynoai_desktop.sim.cell import CellConfig, VirtualCell
from dynoai_desktop.sim.closed_loop import ClosedLoopParams, with_closed_loop_cells
from dynoai_desktop.sim.dyno import DEFAULT_GEAR, GEAR_MPH_PER_RPM
from dynoai_desktop.sim.ecm_tables import EcmTables, base_tables
from dynoai_desktop.sim.emitters import WIDEBAND_PROTOCOLS
from dynoai_desktop.sim.engine import EngineModel
from dynoai_desktop.sim.logmode import run_log
from dynoai_desktop.sim.plans import BUILTIN_PLANS, Plan, builtin_plan, parse_plan
from dynoai_desktop.sim.presets import (
    DEFAULT_PRESET,
    PRESETS,
    EnginePreset,
    get_preset,
    preset_for_build,
)
from dynoai_desktop.sim.scatter import BIKE_SEED_MAX, DEFAULT_BIKE_SEED
from dynoai_desktop.sim.server import CellServer
from dynoai_desktop.sim.truth import truth_json
from dynoai_desktop.sim.wideband import WidebandParams
from dynoai_desktop.storage.file_io import read_bytes, write_bytes_atomic
from dynoai_desktop.storage.tune_files import read_table

HELP = "run the virtual dyno cell: serve its devices on loopback ports, or write a Log CSV"

_TABLE_OPTIONS = (  # option, EcmTables field, Power Vision item name inside a .pvv
    ("ve_front", "ve_front", None),
    ("ve_rear", "ve_rear", None),
    ("afr_target", "afr_target", tune.AFR_TARGET),
    ("spark_front", "spark_front", tune.SPARK_FRONT),
    ("spark_rear", "spark_rear", tune.SPARK_REAR),
)
_VE_PVV_NAMES = {("ve_front", "map"): tune.VE_FRONT_MAP, ("ve_rear", "map"): tune.VE_REAR_MAP,
                 ("ve_front", "tps"): tune.VE_FRONT_TPS, ("ve_rear", "tps"): tune.VE_REAR_TPS}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    presets = ", ".join(PRESETS)
    parser.add_argument("--preset", default=None, metavar="NAME",
                        help=f"the simulated bike's build: {presets} (default {DEFAULT_PRESET})")
    parser.add_argument("--build", type=Path, metavar="BUILD.json",
                        help="any build instead of a preset: a build spec JSON file "
                             "(docs/formats.md); the engine follows from it")
    parser.add_argument("--bike-seed", type=int, default=DEFAULT_BIKE_SEED, metavar="N",
                        help="which bike of the build (0 to 2^31-1): two bikes of one build "
                             "differ as real ones do; --seed only changes the noise")
    parser.add_argument("--closed-loop", action="store_true",
                        help="the ECM trims fuel on its O2 sensors in cruise where the AFR "
                             "table asks for 14.3-14.9 (default: open loop, as when VE tuning)")
    parser.add_argument("--gear", type=int, choices=sorted(GEAR_MPH_PER_RPM),
                        default=DEFAULT_GEAR, help=f"the gear on the dyno (default {DEFAULT_GEAR})")
    for option, _, _ in _TABLE_OPTIONS:
        flag = "--" + option.replace("_", "-")
        parser.add_argument(flag, dest=option, type=Path, metavar="F",
                            help="table to load into the ECM (Table CSV, or a .pvv holding it); "
                                 "default: the preset's base calibration")
    parser.add_argument("--ve-mode", choices=("map", "tps"), default="map",
                        help="fuel from MAP-based (default) or TPS-based VE tables")
    parser.add_argument("--plan", default="default", metavar="NAME|FILE",
                        help=f"built-in plan ({', '.join(BUILTIN_PLANS)}) or a plan .json file")
    parser.add_argument("--seed", type=int, default=1, metavar="N",
                        help="random seed: the same seed and plan give the same run")
    parser.add_argument("--duration-s", type=float, metavar="S",
                        help="stop after S simulated seconds (the plan repeats until then); "
                             "default: serve until stopped, log the plan once")
    parser.add_argument("--rate-multiplier", type=float, default=1.0, metavar="K",
                        help="serve K times faster than real time (stress tests)")
    parser.add_argument("--wideband-protocol", choices=WIDEBAND_PROTOCOLS,
                        default="innovate-mts", help="what the widebands speak")
    parser.add_argument("--pty", action="store_true",
                        help="also serve each device on a pty (POSIX); its path is the URL")
    parser.add_argument("--port", action="append", default=[], metavar="DEVICE=PORT",
                        help="serve DEVICE on this TCP port (default: any free port); "
                             "repeatable, e.g. --port dyno=7001 --port wideband=7002")
    parser.add_argument("--log", type=Path, metavar="OUT.csv",
                        help="log mode: run the plan without ports and write a Log CSV")
    parser.add_argument("--truth", type=Path, metavar="OUT.json",
                        help="write the simulated engine's ground truth")
    parser.add_argument("--baro-kpa", type=float, default=CELL_AIR.baro_kpa,
                        help="barometric pressure in the cell (kPa)")
    parser.add_argument("--ambient-temp-c", type=float, default=CELL_AIR.ambient_temp_c,
                        help="air temperature in the cell (°C)")
    parser.add_argument("--humidity-pct", type=float, default=CELL_AIR.humidity_pct,
                        help="relative humidity in the cell (%%)")
    parser.add_argument("--sensor-errors-per-h", type=float,
                        default=WidebandParams.error_rate_per_h,
                        help="random short wideband errors per hour per sensor (0 = none)")
    parser.add_argument("--control-stdin", action="store_true",
                        help="serve mode: read fault-injection and dyno commands from stdin "
                             "(see docs/simulator.md)")


# ----------------------------------------------------------------------------- inputs
MAX_RATE_MULTIPLIER = 20.0  # the cell steps ~30-40x real time on one core of this machine


def _check(args: argparse.Namespace) -> None:
    numbers = ("rate_multiplier", "duration_s", "baro_kpa", "ambient_temp_c", "humidity_pct",
               "sensor_errors_per_h")
    for name in numbers:
        value = getattr(args, name)
        if value is not None and not math.isfinite(value):
            raise InputError(f"--{name.replace('_', '-')} must be a number, not {value}")
    if not 0 < args.rate_multiplier <= MAX_RATE_MULTIPLIER:
        raise InputError(f"--rate-multiplier must be above 0 and at most "
                         f"{MAX_RATE_MULTIPLIER:g}")
    if args.duration_s is not None and not 0 < args.duration_s <= 7 * 24 * 3600:
        raise InputError("--duration-s must be above 0 and at most a week")
    if not 60.0 <= args.baro_kpa <= 110.0:
        raise InputError("--baro-kpa must be 60-110 kPa (sea level is about 101.3)")
    if not -20.0 <= args.ambient_temp_c <= 50.0:
        raise InputError("--ambient-temp-c must be -20 to 50 °C")
    if not 0.0 <= args.humidity_pct <= 100.0:
        raise InputError("--humidity-pct must be 0-100 %")
    if args.sensor_errors_per_h < 0:
        raise InputError("--sensor-errors-per-h cannot be negative")
    if args.pty and args.log:
        raise InputError("--pty serves ports; --log writes a file without ports: pick one")
    if args.control_stdin and args.log:
        raise InputError("--control-stdin is for serve mode; leave it out with --log")
    if args.build is not None and args.preset is not None:
        raise InputError("--preset and --build both name the engine: pick one")
    if not 0 <= args.bike_seed <= BIKE_SEED_MAX:
        raise InputError(f"--bike-seed must be a whole number 0 to {BIKE_SEED_MAX}")


def _preset(args: argparse.Namespace) -> EnginePreset:
    if args.build is None:
        return get_preset(args.preset or DEFAULT_PRESET)
    path = args.build
    try:
        text = read_bytes(path).decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{path}: a build file must be UTF-8 JSON text") from None
    return preset_for_build(BuildSpec.from_json(text, str(path)), name=path.stem)


def _ports(specs: list[str]) -> dict[str, int]:
    ports = {}
    for spec in specs:
        device, _, port = spec.partition("=")
        if not device or not port.isdigit() or not 0 < int(port) < 65536:
            raise InputError(f"--port {spec!r}: write DEVICE=PORT, e.g. dyno=7001")
        ports[device] = int(port)
    return ports


def _plan(spec: str) -> Plan:
    if spec.lower().endswith(".json") or "/" in spec or "\\" in spec:
        path = Path(spec)
        try:
            text = read_bytes(path).decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"{path}: a plan file must be UTF-8 JSON text") from None
        return parse_plan(text, str(path))
    return builtin_plan(spec)


def _tables(args: argparse.Namespace, engine: EngineModel) -> EcmTables | None:
    given = {field: getattr(args, option) for option, field, _ in _TABLE_OPTIONS
             if getattr(args, option) is not None}
    if not given and args.ve_mode == "map":
        return None
    tables = base_tables(engine, args.ve_mode)
    for option, field, pvv_name in _TABLE_OPTIONS:
        path = getattr(args, option)
        if path is None:
            continue
        name = _VE_PVV_NAMES.get((option, args.ve_mode), pvv_name)
        table = read_table(path, name if path.suffix.lower() == ".pvv" else None)
        want = "tps_pct" if field.startswith("ve_") and args.ve_mode == "tps" else "map_kpa"
        if table.col_axis != want:
            hint = " (or --ve-mode tps)" if field.startswith("ve_") and want == "map_kpa" else ""
            raise InputError(f"--{option.replace('_', '-')} {path}: the table is over "
                             f"{table.col_axis}, the ECM needs it over rpm x {want}{hint}")
        tables = dataclasses.replace(tables, **{field: table})
    if args.closed_loop and args.afr_target is None:  # the base AFR table's cruise cells
        tables = dataclasses.replace(tables, afr_target=with_closed_loop_cells(
            tables.afr_target, ClosedLoopParams()))
    return tables


def _config(args: argparse.Namespace, loop_plan: bool) -> CellConfig:
    preset = _preset(args)
    weather = Weather.of_air(args.baro_kpa, args.ambient_temp_c, args.humidity_pct)
    # the same engine the cell builds
    engine = EngineModel(preset, weather.baro_kpa, args.bike_seed)
    return CellConfig(
        preset=preset,
        plan=_plan(args.plan),
        tables=_tables(args, engine),
        seed=args.seed,
        bike_seed=args.bike_seed,
        closed_loop=args.closed_loop,
        gear=args.gear,
        wideband_protocol=args.wideband_protocol,
        weather=weather,
        loop_plan=loop_plan,
        wideband=WidebandParams(error_rate_per_h=args.sensor_errors_per_h),
    )


def _write_truth(path: Path | None, cell: VirtualCell) -> None:
    if path is not None:
        write_bytes_atomic(path, truth_json(cell).encode("utf-8"))


# ----------------------------------------------------------------------------- modes
def _run_log(args: argparse.Namespace) -> int:
    cell = VirtualCell(_config(args, loop_plan=args.duration_s is not None))
    rows = run_log(cell, args.duration_s)
    write_bytes_atomic(args.log, format_log_csv(rows.columns, LOG_COLUMNS).encode("utf-8"))
    _write_truth(args.truth, cell)
    return 0


_SENSOR_STATES = {"ok": None, "warming": SensorStatus.WARMING_UP,
                  "calibrating": SensorStatus.CALIBRATING, "error": SensorStatus.SENSOR_ERROR}
CONTROL_HELP = ("drop DEVICE | restore DEVICE | garbage DEVICE BYTES | stall DEVICE SECONDS | "
                "sensor front|rear ok|warming|calibrating|error [CODE] | hold RPM [MAP KPA] | "
                "pull FROM_RPM TO_RPM [MAP KPA] [RATE RPM_PER_S] | release | plan NAME")


def apply_control(line: str, server: CellServer, cell: VirtualCell) -> str:
    """Carry out one control line; returns what happened, in words (raises InputError)."""
    words = line.split()
    if not words:
        return ""
    verb, rest = words[0].lower(), words[1:]
    devices = {d.name for d in cell.devices}

    def device() -> str:
        if not rest or rest[0] not in devices:
            raise InputError(f"{verb}: name a device: {', '.join(sorted(devices))}")
        return rest[0]

    def number(i: int, what: str) -> float:
        try:
            return float(rest[i])
        except (IndexError, ValueError):
            raise InputError(f"{verb}: give {what}") from None

    if verb == "drop":
        server.drop_port(device())
    elif verb == "restore":
        server.restore_port(device())
    elif verb == "garbage":
        name, count = device(), int(number(1, "a number of bytes"))
        server.inject_garbage(name, bytes(cell.config.seed * 7 + i * 131 & 0xFF
                                          for i in range(max(0, min(count, 1_000_000)))))
    elif verb == "stall":
        name = device()
        server.stall(name, number(1, "seconds"))
    elif verb == "sensor":
        if len(rest) < 2 or rest[0] not in ("front", "rear") or rest[1] not in _SENSOR_STATES:
            raise InputError("sensor: say front|rear and ok|warming|calibrating|error [CODE]")
        code = int(number(2, "an error code")) if len(rest) > 2 else 0
        status = _SENSOR_STATES[rest[1]]
        cell.post(lambda: cell.set_sensor_state(rest[0], status, code))
    elif verb == "hold" and len(rest) <= 1:
        rpm = number(0, "an rpm")
        cell.post(lambda: cell.command(DynoCommand("hold_rpm", rpm)))
    elif verb in ("hold", "pull"):  # the dyno line's own !HOLD ... MAP / !PULL commands
        cmd = dyno_line.parse_command("!" + " ".join([verb, *rest]).upper())
        if cmd is None:
            usage = ("hold RPM MAP KPA" if verb == "hold"
                     else "pull FROM_RPM TO_RPM [MAP KPA] [RATE RPM_PER_S]")
            raise InputError(f"{verb}: say {usage} (docs/dyno-line-protocol.md)")
        cell.post(lambda: cell.command(cmd))
    elif verb == "release":
        cell.post(lambda: cell.command(DynoCommand("release")))
    elif verb == "plan":
        name = rest[0] if rest else ""
        builtin_plan(name)  # check now, so the error reaches the operator
        cell.post(lambda: cell.command(DynoCommand("run_plan", name)))
    else:
        raise InputError(f"unknown control {verb!r}; use {CONTROL_HELP}")
    return "ok: " + line.strip()


def _read_controls(server: CellServer, cell: VirtualCell, stop: threading.Event) -> None:
    for line in sys.stdin:
        if stop.is_set():
            return
        try:
            reply = apply_control(line, server, cell)
        except InputError as exc:
            reply = f"error: {exc}"
        if reply:
            sys.stderr.write(f"dynoai simulate: {reply}\n")
            sys.stderr.flush()


def _run_serve(args: argparse.Namespace) -> int:
    cell = VirtualCell(_config(args, loop_plan=True))
    ports = _ports(args.port)
    unknown = set(ports) - {d.name for d in cell.devices}
    if unknown:
        raise InputError(f"--port: no device {sorted(unknown)[0]!r}; the devices are "
                         f"{', '.join(d.name for d in cell.devices)}")
    _write_truth(args.truth, cell)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    server = CellServer(cell, rate_multiplier=args.rate_multiplier, pty=args.pty,
                        duration_s=args.duration_s, ports=ports)
    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        endpoints = server.start()
        for ep in endpoints:
            url = ep.pty_path if args.pty and ep.pty_path else ep.url
            sys.stdout.write(f"{ep.device} {ep.protocol} {url}\n")
            if args.pty:
                sys.stderr.write(f"dynoai simulate: {ep.device} also on {ep.url}\n")
        sys.stdout.flush()
        if args.control_stdin:
            threading.Thread(target=_read_controls, args=(server, cell, stop),
                             name="sim-control-stdin", daemon=True).start()
        while not stop.is_set() and not server.wait(0.2):
            pass
    finally:
        server.stop()
        for s, handler in previous.items():
            signal.signal(s, handler)
    if server.error is not None:
        raise InputError(f"the virtual cell stopped: {server.error}")
    _write_truth(args.truth, cell)
    return 0


def run(args: argparse.Namespace) -> int:
    _check(args)
    if args.log is not None:
        return _run_log(args)
    return _run_serve(args)
