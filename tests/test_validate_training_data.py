"""``dynoai validate-training-data`` (FORMATS.md §6) and the training-data schema it checks."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dynoai_desktop.ml.training.dataset import SCHEMA_PATH, check_text, dataset_json, schema_text
from dynoai_desktop.ml.training.records import Dataset
from dynoai_desktop.ml.training.typed_json import read

ROOT = Path(__file__).resolve().parents[1]


def table(channel: str = "map_kpa") -> dict[str, Any]:
    return {"load_channel": channel, "rpm": [1000, 2000, 3000], "load": [40, 70, 100],
            "values": [[50, 60, 65], [60, 72, 80], [62, 78, 88]]}


def session(n: int = 1) -> dict[str, Any]:
    return {
        "session_id": f"s{n}", "simulated": True, "vehicle": "2014 Street Glide",
        "build": {"engine_family": "twin_cam_103", "stage": 2},
        "environment": {"ambient_temp_c": 24.0, "baro_kpa": 100.8, "humidity_pct": 40,
                        "iat_peak_c": 52.0, "soak_minutes": 5, "fan_cfm": 12000},
        "runs": [{"name": "warm-up", "duration_s": 120, "rows": 12000, "kind": "warm-up"},
                 {"name": "pulls", "duration_s": 95.5, "rows": 9550, "kind": "pulls"}],
        "dyno_time_s": 900,
        "tables_before": {"ve_front": table(), "ve_rear": table()},
        "tables_after": {"ve_front": table(), "ve_rear": table()},
        "outcome": {"afr_error_rms_before": 0.9, "afr_error_rms_after": 0.2,
                    "cells_corrected": 80, "autotune_rounds": 2, "converged": True},
        "patterns": {
            "ve_scaling": {"front": {"midrange": {"change_pct": 4.5, "cells": 20}},
                           "rear": {"midrange": {"change_pct": 2.0, "cells": 18},
                                    "wot": {"change_pct": 6.0, "cells": 8}}},
            "cylinder_imbalance": {"load_channel": "map_kpa", "cells": [
                {"rpm": 3000, "load": 70, "afr_rear_minus_front": -0.3,
                 "front_correction_pct": 1.0, "rear_correction_pct": 3.1, "samples": 400}]},
            "decel_popping": {"events": 6, "spike_afr": 16.8, "zone_rpm": [1750, 4000],
                              "zone_tps_pct": [0, 2], "pops_per_decel_before": 2.5,
                              "enrichment_pct": 12, "pops_per_decel_after": 0.2},
            "knock_timing": {"knock_cells": [{"rpm": 2500, "map_kpa": 100, "degrees": 2.5,
                                              "events": 3}]},
            "afr_targets": {"idle": 13.8, "cruise": 14.2, "midrange": 13.2, "wot": 12.8},
        },
        "refusals": {"heat_soak": "no heat-soaked run in the session"},
    }


def dataset(sessions: int = 2) -> dict[str, Any]:
    return {"schema_version": 1, "kind": "dynoai-training-data",
            "created_at": "2026-12-05T16:00:00Z", "source": "test",
            "sessions": [session(n) for n in range(1, sessions + 1)]}


def validate(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dynoai_desktop", "validate-training-data",
                           *map(str, args)], capture_output=True, text=True, timeout=60,
                          cwd=ROOT)


def write(tmp_path: Path, data: object, name: str = "data.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


# ------------------------------------------------------------------------ the schema
def test_the_published_schema_is_the_one_the_reader_checks() -> None:
    assert (ROOT / SCHEMA_PATH).read_text(encoding="utf-8") == schema_text(), (
        "docs/formats/training-data.schema.json is out of date: write schema_text() to it")


def test_a_dataset_reads_and_writes_back_equal() -> None:
    data = dataset()
    record, problems = read(Dataset, data)
    assert problems == [] and record is not None
    again, problems = read(Dataset, json.loads(dataset_json(record)))
    assert problems == [] and again == record


# ------------------------------------------------------------------------ the command
def test_a_valid_dataset_exits_0_with_its_contents(tmp_path: Path) -> None:
    done = validate(write(tmp_path, dataset()))
    assert done.returncode == 0, done.stderr
    assert "valid" in done.stdout and "2 sessions (2 simulated)" in done.stdout
    assert "0.50 dyno hours" in done.stdout
    assert "ve_scaling 2" in done.stdout and "heat_soak 0" in done.stdout
    assert "twin_cam_103 2" in done.stdout
    assert done.stderr == ""


def test_json_output_and_several_files(tmp_path: Path) -> None:
    a, b = write(tmp_path, dataset(2), "a.json"), write(tmp_path, dataset(1), "b.json")
    done = validate(a, b, "--json")
    assert done.returncode == 0
    out = json.loads(done.stdout)
    assert out["valid"] and [f["valid"] for f in out["files"]] == [True, True]
    assert out["summary"]["sessions"] == 3
    assert out["summary"]["patterns"]["decel_popping"] == 3


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: d["sessions"][0].pop("environment"),
     "sessions[0].environment: missing; it is required"),
    (lambda d: d["sessions"][0]["outcome"].update(converged="yes"),
     "sessions[0].outcome.converged: must be true or false, got 'yes'"),
    (lambda d: d["sessions"][0]["runs"][0].update(rows=12.5),
     "sessions[0].runs[0].rows: must be a whole number, got 12.5"),
    (lambda d: d["sessions"][0]["environment"].update(baro_kpa=140),
     "sessions[0].environment.baro_kpa: 140 is out of range 50 to 110 kPa"),
    (lambda d: d["sessions"][1]["patterns"]["afr_targets"].update(wot=30),
     "sessions[1].patterns.afr_targets.wot: 30 is out of range 8 to 22 AFR"),
    (lambda d: d["sessions"][0]["tables_after"]["ve_front"]["values"].pop(),
     "sessions[0].tables_after.ve_front: values must be 3 rows of 3 (rpm x load)"),
    (lambda d: d["sessions"][0]["build"].update(engine_family="v_rod"),
     "engine_family"),
    (lambda d: d["sessions"][1].update(session_id="s1"), "session_id 's1' appears twice"),
    (lambda d: d["sessions"][0]["patterns"].update(gremlins={}),
     "sessions[0].patterns.gremlins: unknown field"),
    (lambda d: d.update(kind="a shopping list"), "kind: 'a shopping list' is not a training"),
])
def test_an_invalid_dataset_exits_1_naming_the_problem(tmp_path: Path, edit, message: str,
                                                       ) -> None:  # noqa: ANN001
    data = copy.deepcopy(dataset())
    edit(data)
    done = validate(write(tmp_path, data))
    assert done.returncode == 1, done.stdout
    assert message in done.stdout
    assert done.stderr.startswith("dynoai validate-training-data: ") and \
        done.stderr.count("\n") == 1


def test_a_session_with_a_pattern_neither_extracted_nor_refused_is_a_warning() -> None:
    data = dataset(1)
    data["sessions"][0]["refusals"] = {}
    report = check_text(json.dumps(data), "x.json")
    assert report.valid
    assert report.warnings == ["sessions[0] (s1): heat_soak neither extracted nor refused "
                               "with a reason"]


@pytest.mark.parametrize(("content", "name", "message"), [
    ("{not json", "bad.json", "bad.json: not valid JSON (line 1, column 2"),
    ("{}", "data.txt", "data.txt: not a .json file"),
    (None, "missing.json", "missing.json: no such file"),
])
def test_unreadable_input_exits_2(tmp_path: Path, content: str | None, name: str,
                                  message: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content, encoding="utf-8")
    done = validate(path)
    assert done.returncode == 2
    assert done.stderr.startswith("dynoai validate-training-data: ") and message in done.stderr
    assert "Traceback" not in done.stderr


def test_the_command_imports_no_qt(tmp_path: Path) -> None:
    probe = ("import sys, runpy; sys.argv = ['dynoai', 'validate-training-data', sys.argv[1]];"
             "from dynoai_desktop import cli\n"
             "try:\n    cli.main()\nexcept SystemExit:\n    pass\n"
             "assert not any(m.startswith('PySide6') for m in sys.modules), 'Qt imported'")
    done = subprocess.run([sys.executable, "-c", probe, str(write(tmp_path, dataset()))],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
