"""``--truth OUT.json``: what the simulated engine really is, for tests and benchmarks.

Tables are written as {"name", "units", "rpm", "<col_axis>", "values"} with values as rows.
The layout is in docs/simulator.md §9; version 2 added the bike (build shape and its own
scatter), the effective VE, the mixture, fuel film and closed-loop constants, the load-dependent
wideband delay per cylinder and the sensors' offsets.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import numpy as np

from dynoai_desktop.core.table import Table
from dynoai_desktop.sim import ecm
from dynoai_desktop.sim.cell import DECEL_POP_ZONE_RPM, VirtualCell
from dynoai_desktop.sim.ecm_tables import MAP_BREAKPOINTS_KPA, RPM_BREAKPOINTS, true_ve_table
from dynoai_desktop.sim.engine import FRONT, REAR

SCHEMA = "dynoai-sim-truth"
VERSION = 3
TRUTH_HEAD_TEMP_C = 120.0
TRUTH_IAT_C = 30.0
DELAY_RPM = (700, 800, 1000, 1250, 1500, 2000, 2500, 3000, 3500, 4000, 4500, 5000, 5500, 6000,
             6500)
DELAY_MAP_KPA = (20, 30, 40, 50, 60, 70, 80, 90, 100)


def table_dict(table: Table) -> dict[str, Any]:
    """A table in the truth file's JSON shape (raw layout)."""
    return {
        "name": table.name,
        "units": table.units,
        "rpm": table.row_breakpoints.tolist(),
        table.col_axis: table.col_breakpoints.tolist(),
        "values": np.round(table.values, 4).tolist(),
    }


def _grid(name: str, units: str, value) -> dict[str, Any]:  # noqa: ANN001
    values = [[round(value(r, m), 4) for m in MAP_BREAKPOINTS_KPA] for r in RPM_BREAKPOINTS]
    return {"name": name, "units": units, "rpm": list(RPM_BREAKPOINTS),
            "map_kpa": list(MAP_BREAKPOINTS_KPA), "values": values}


def build_truth(cell: VirtualCell) -> dict[str, Any]:
    """The ground truth of ``cell``'s engine, ECM, sensors and (so far) events."""
    engine, config = cell.engine, cell.config
    ve_true = {"front": table_dict(true_ve_table(engine, FRONT)),
               "rear": table_dict(true_ve_table(engine, REAR))}
    return {
        "schema": SCHEMA,
        "version": VERSION,
        "preset": config.preset.name,
        "title": config.preset.title,
        "build": config.preset.build.to_dict(),
        "seed": config.seed,
        "plan": config.plan.name,
        "wideband_protocol": config.wideband_protocol,
        "weather": {**asdict(config.weather),
                    "correction_factor": round(config.weather.correction_factor, 4)},
        "bike_seed": config.bike_seed,
        "bike": engine.truth_dict(),
        "ve_true": ve_true,
        "ve_true_tps": {"front": table_dict(true_ve_table(engine, FRONT, "tps")),
                        "rear": table_dict(true_ve_table(engine, REAR, "tps"))},
        "ecm_tables": {
            "ve_mode": cell.tables.ve_mode,
            "ve_front": table_dict(cell.tables.ve_front),
            "ve_rear": table_dict(cell.tables.ve_rear),
            "afr_target": table_dict(cell.tables.afr_target),
            "spark_front": table_dict(cell.tables.spark_front),
            "spark_rear": table_dict(cell.tables.spark_rear),
        },
        "imbalance": {
            "rear_over_front_ve": _grid("rear VE / front VE", "ratio", engine.rear_front_ratio),
            "wot_rear_minus_front_pct": [
                {"rpm": r, "pct": round(100 * d, 2)} for r, d in engine.rear_front_diff.points
            ],
        },
        "knock_limit_deg": {
            "conditions": {"head_temp_c": TRUTH_HEAD_TEMP_C, "iat_c": TRUTH_IAT_C},
            "front": _grid("knock limit, front", "deg", lambda r, m: engine.knock_limit_deg(
                FRONT, r, m, TRUTH_HEAD_TEMP_C, TRUTH_IAT_C)),
            "rear": _grid("knock limit, rear", "deg", lambda r, m: engine.knock_limit_deg(
                REAR, r, m, TRUTH_HEAD_TEMP_C, TRUTH_IAT_C)),
            "mbt": _grid("MBT spark", "deg", engine.mbt_deg),
            "retard_step_deg": ecm.KNOCK_STEP_DEG,
            "retard_max_deg": ecm.KNOCK_MAX_DEG,
            "removal_s_per_deg": ecm.KNOCK_REMOVAL_S_PER_DEG,
        },
        "wideband": _wideband(cell),
        "decel": {
            "dfco_entry": dict(zip(("map_kpa_below", "tps_pct_below", "head_temp_c_above",
                                    "after_s"), ecm.DFCO_ENTRY, strict=True)),
            "dfco_exit": dict(zip(("map_kpa_above", "tps_pct_above", "head_temp_c_below"),
                                  ecm.DFCO_EXIT, strict=True)),
            "pop_zone_rpm": list(DECEL_POP_ZONE_RPM),
            "pops_on_decel": config.preset.pops_on_decel,
            "decel_enleanment_gain": ecm.DE_GAIN,
        },
        "heat_soak": asdict(config.thermal),
        "mixture": asdict(config.mixture),
        "fuel_film": asdict(config.film),
        "closed_loop": asdict(config.closed_loop_params) if config.closed_loop else None,
        "dyno": {"gear": cell.dyno.gear, "inertia_kg_m2": round(cell.dyno.inertia_kg_m2, 4),
                 "mph_per_rpm": round(cell.dyno.mph_per_rpm, 6)},
        "map_sensor_offset_kpa": round(engine.map_sensor_offset_kpa, 4),
        "ve_effective": cell.effective_ve.tables(),
        "events": [asdict(e) for e in cell.events if e.kind != "phase"],
        "phases": [asdict(e) for e in cell.events if e.kind == "phase"],
    }


def _wideband(cell: VirtualCell) -> dict[str, Any]:
    """The sensors: constants, warm-up, this bike's offsets and delay per cylinder."""
    wb, sensors = cell.config.wideband, cell.sensors
    out: dict[str, Any] = {
        **asdict(wb),
        "warmup_s": {"front": round(sensors[FRONT].warmup_s, 3),
                     "rear": round(sensors[REAR].warmup_s, 3)},
        "lambda_offset": {"front": round(sensors[FRONT].offset_lambda, 6),
                          "rear": round(sensors[REAR].offset_lambda, 6)},
        "delay_scale": {"front": round(sensors[FRONT].delay_scale, 6),
                        "rear": round(sensors[REAR].delay_scale, 6)},
        "delay_formula": ("delay_s = delay_base_s + delay_scale * delay_idle_s * "
                          "(1000/rpm)^delay_exponent * (delay_reference_map_kpa/MAP)"
                          "^delay_load_exponent"),
        # The nominal curve at the reference MAP (no bike's delay scale), as version 1 had it.
        "delay_curve": [{"rpm": r, "delay_s": round(wb.delay_s(r), 4)} for r in DELAY_RPM],
    }
    for c, name in ((FRONT, "front"), (REAR, "rear")):
        scale = sensors[c].delay_scale
        out[f"delay_{name}"] = {
            "name": f"wideband delay ({name})", "units": "s", "rpm": list(DELAY_RPM),
            "map_kpa": list(DELAY_MAP_KPA),
            "values": [[round(wb.delay_base_s + scale * wb.transport_s(r, m), 4)
                        for m in DELAY_MAP_KPA] for r in DELAY_RPM]}
    return out


def truth_json(cell: VirtualCell) -> str:
    """The truth as JSON text."""
    return json.dumps(build_truth(cell), indent=1, ensure_ascii=False) + "\n"
