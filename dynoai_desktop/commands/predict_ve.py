"""``dynoai predict-ve --build BUILD.json --out DIR`` (docs/formats.md "`dynoai predict-ve`"): a
build's base VE tables, front and rear, from the model its scope uses, with the 90 % interval of
every learned cell in ``uncertainty.json``.

The model is the active one of the narrowest scope that has one: the ``--scope`` given (else the
build's engine family), then the shop, then the prior the app ships. Cells the model did not
learn keep the shipped stage map's value and have no interval.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from threadpoolctl import threadpool_limits

from dynoai_desktop.commands.catalog_option import add_catalog_argument, open_catalog
from dynoai_desktop.commands.models import version_dict
from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.core.errors import InputError
from dynoai_desktop.ml.base_ve import KIND, BaseVePrediction
from dynoai_desktop.ml.cell_model import INTERVAL
from dynoai_desktop.ml.features import STANDARD_AMBIENT_C, Air
from dynoai_desktop.ml.registry import ModelRegistry, ModelVersion, check_scope
from dynoai_desktop.storage.file_io import read_bytes, write_bytes_atomic
from dynoai_desktop.storage.resources import base_map_tables
from dynoai_desktop.storage.table_files import write_table_csv

HELP = ("predict a build's base VE tables (front, rear) from the shop's model, with a "
        "90-percent interval per learned cell")
UNCERTAINTY_KIND = "dynoai-ve-uncertainty"
UNCERTAINTY_FILE = "uncertainty.json"
SCHEMA_VERSION = 1
BARO_KPA = (50.0, 110.0)
AMBIENT_C = (-30.0, 60.0)
TABLE_FILES = {"front": "ve_front", "rear": "ve_rear"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--build", type=Path, required=True, metavar="BUILD.json",
                        help="the bike's build spec (JSON, docs/formats.md 'Build spec')")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help=f"folder for ve_front.csv, ve_rear.csv and {UNCERTAINTY_FILE} "
                             "(created if missing; the files are overwritten)")
    parser.add_argument("--scope", metavar="S",
                        help="the narrowest model scope to use: vehicle:<id> or "
                             "family:<the build's family> (default: the build's family; "
                             "shop and then the prior when it has no active model)")
    parser.add_argument("--baro-kpa", type=float, metavar="X",
                        help="the day's barometric pressure, kPa (default: standard "
                             "atmosphere at the build's altitude_m)")
    parser.add_argument("--ambient-c", type=float, metavar="T",
                        help=f"the cell's air temperature, °C (default {STANDARD_AMBIENT_C:g})")
    add_catalog_argument(parser)


def _in_range(option: str, value: float | None, lo: float, hi: float, unit: str) -> None:
    if value is not None and not (math.isfinite(value) and lo <= value <= hi):
        raise InputError(f"{option} {value:g}: give {lo:g} to {hi:g} {unit}")


def read_build(path: Path) -> BuildSpec:
    """The build spec in ``path``; InputError naming ``--build`` and the file."""
    try:
        text = read_bytes(path).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"--build {path}: not UTF-8 text (byte {exc.start}); a build spec "
                         "is UTF-8 JSON") from None
    except InputError as exc:  # missing, a folder, unreadable: said by file_io
        raise InputError(f"--build {exc}") from None
    try:
        return BuildSpec.from_json(text, source=str(path))
    except InputError as exc:
        raise InputError(f"--build {exc}") from None


def scopes_for(build: BuildSpec, scope: str | None) -> list[str]:
    """The scopes tried, narrowest first (``resolve`` ends with the shop's and the prior)."""
    family = f"family:{build.engine_family.value}"
    if scope is None:
        return [family, "shop"]
    check_scope(scope)
    if scope.startswith("family:") and scope != family:
        raise InputError(f"--scope {scope}: the build is a {build.engine_family.value}; give "
                         f"{family}, a vehicle:<id> or shop")
    return {"shop": ["shop"], family: [family, "shop"]}.get(scope, [scope, family, "shop"])


def _grid(values: npt.NDArray[np.float64]) -> list[list[float | None]]:
    return [[None if math.isnan(x) else round(float(x), 2) for x in row] for row in values]


def uncertainty(prediction: BaseVePrediction, v: ModelVersion, build: BuildSpec,
                air: dict[str, Any]) -> dict[str, Any]:
    """What ``uncertainty.json`` holds (docs/formats.md)."""
    tables = {}
    for cylinder, p in prediction.cylinders().items():
        tables[TABLE_FILES[cylinder]] = {
            "file": f"{TABLE_FILES[cylinder]}.csv",
            "stage_map": f"{build.engine_family.value}_stage{build.stage}_{cylinder}.csv",
            "rpm": [float(x) for x in p.stage_map.row_breakpoints],
            "map_kpa": [float(x) for x in p.stage_map.col_breakpoints],
            "lower_pct": _grid(p.lower), "upper_pct": _grid(p.upper),
            "learned": p.learned.tolist()}
    return {"kind": UNCERTAINTY_KIND, "schema_version": SCHEMA_VERSION, "interval": INTERVAL,
            "model": version_dict(v), "build": build.to_dict(), "air": air, "tables": tables}


def half_width_pct(prediction: BaseVePrediction) -> float | None:
    """Mean half-width of the learned cells' intervals, % of the predicted VE."""
    widths = [((p.upper - p.lower) / 2.0 / p.table.values * 100.0)[p.learned]
              for p in prediction.cylinders().values()]
    joined = np.concatenate(widths)
    return float(joined.mean()) if joined.size else None


def run(args: argparse.Namespace) -> int:
    _in_range("--baro-kpa", args.baro_kpa, *BARO_KPA, "kPa")
    _in_range("--ambient-c", args.ambient_c, *AMBIENT_C, "°C")
    if args.out.exists() and not args.out.is_dir():
        raise InputError(f"--out {args.out}: is a file; give a folder")
    build = read_build(args.build)
    scopes = scopes_for(build, args.scope)
    air = Air(args.baro_kpa if args.baro_kpa is not None else
              Air.at_altitude(build.altitude_m).baro_kpa,
              args.ambient_c if args.ambient_c is not None else STANDARD_AMBIENT_C)
    front, rear = base_map_tables(build.engine_family.value, build.stage)
    with open_catalog(args.catalog) as catalog:
        registry = ModelRegistry(catalog)
        version = registry.resolve(KIND, scopes)
        model = registry.load(version)
    with threadpool_limits(limits=1):
        prediction = model.predict(build, air, front, rear)
    args.out.mkdir(parents=True, exist_ok=True)
    for cylinder, p in prediction.cylinders().items():
        write_table_csv(args.out / f"{TABLE_FILES[cylinder]}.csv", p.table)
    air_json = {"baro_kpa": air.baro_kpa, "ambient_temp_c": air.ambient_temp_c,
                "baro_from": "given" if args.baro_kpa is not None else "altitude",
                "ambient_from": "given" if args.ambient_c is not None else "standard"}
    text = json.dumps(uncertainty(prediction, version, build, air_json), indent=1,
                      ensure_ascii=False, allow_nan=False)
    write_bytes_atomic(args.out / UNCERTAINTY_FILE, (text + "\n").encode("utf-8"))
    learned = {c: int(p.learned.sum()) for c, p in prediction.cylinders().items()}
    cells = sum(p.learned.size for p in prediction.cylinders().values())
    width = half_width_pct(prediction)
    print(f"{version.kind} {version.scope} {version.label} ({version.metadata.get('source', '?')}"
          f"): {sum(learned.values())} of {cells} cells learned (front {learned['front']}, rear "
          f"{learned['rear']}), mean 90 % interval ±"
          f"{'n/a' if width is None else f'{width:.1f} %'} of VE; wrote {args.out}")
    return 0
