"""`dynoai advise-timing` (docs/formats.md "`dynoai advise-timing`"): on a knocking bike's logs
from the virtual cell, the advised spark tables and timing.json; every bad input exits 2 in one
line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from dynoai_desktop.core.plan import IdleStep, PlanSpec, PullStep
from dynoai_desktop.sim.cell import CellConfig, VirtualCell
from dynoai_desktop.sim.logmode import run_log_direct
from dynoai_desktop.sim.plans import plan_from_spec
from dynoai_desktop.sim.presets import get_preset
from dynoai_desktop.storage.table_files import read_table_csv, write_table_csv
from tests.commands.model_helpers import run_cli

pytestmark = pytest.mark.once_without_qt  # long: runs in the suite without Qt

PRESET = "tc110-stage3"  # 10.3:1 on a 9.2:1 spark: knocks at full load (docs/simulator.md)


@pytest.fixture(scope="module")
def knocking(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two hot WOT pulls of the Stage 3 TC110 as a Log CSV, its spark tables and build."""
    folder = tmp_path_factory.mktemp("knocking")
    spec = PlanSpec("pulls", (PullStep(2000.0, 5500.0), IdleStep(10.0),
                              PullStep(2000.0, 5500.0)), engine_temp_c=130.0)
    preset = get_preset(PRESET)
    cell = VirtualCell(CellConfig(preset=preset, plan=plan_from_spec(spec), loop_plan=False))
    block = run_log_direct(cell, None)
    log = folder / "pulls.csv"
    pd.DataFrame({k: np.asarray(v) for k, v in block.columns.items()}).to_csv(log, index=False)
    front, rear = folder / "spark_front.csv", folder / "spark_rear.csv"
    write_table_csv(front, cell.tables.spark_front)
    write_table_csv(rear, cell.tables.spark_rear)
    build = folder / "build.json"
    build.write_text(preset.build.to_json(), encoding="utf-8")
    return {"log": log, "front": front, "rear": rear, "build": build, "folder": folder}


def _args(k: dict[str, Path], out: Path, shop: Path, *extra: object) -> list[object]:
    return ["advise-timing", k["log"], "--build", k["build"], "--spark-front", k["front"],
            "--spark-rear", k["rear"], "--out", out, "--catalog", shop, *extra]


def test_a_knocking_bike_gets_its_knock_cells_retarded_and_marked(
        knocking: dict[str, Path], shop: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "advice"
    code, stdout, err = run_cli(_args(knocking, out, shop), capsys)
    assert code == 0, err
    report: dict[str, Any] = json.loads((out / "timing.json").read_text(encoding="utf-8"))
    assert report["kind"] == "dynoai-timing-advice" and report["schema_version"] == 1
    assert report["model"]["kind"] == "knock" and report["model"]["prior"] is True
    knocked_any = False
    for name in ("spark_front", "spark_rear"):
        table = report["tables"][name]
        assert f"{name}: " in stdout
        prone = np.array(table["knock_prone"])
        knocked = np.array(table["knocked_here"])
        change = np.array(table["change_deg"])
        assert (prone | ~knocked).all()  # every cell that knocked is knock-prone
        assert (change[knocked] < 0).all()  # ... and retarded
        assert not (change[prone] > 0).any()  # never advanced
        assert (np.abs(change) <= 2.0 + 1e-9).all()
        assert not prone[:, np.array(table["map_kpa"]) < 50.0].any()
        before = read_table_csv(knocking["front" if name == "spark_front" else "rear"])
        after = read_table_csv(out / table["file"])
        assert np.allclose(after.values, np.round(before.values + change, 2))
        assert after.name == before.name
        knocked_any |= bool(knocked.any())
    assert knocked_any  # the Stage 3 TC110 knocked on its stock spark


def test_without_knock_retard_logged_the_mask_is_the_models_alone(
        knocking: dict[str, Path], shop: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    frame = pd.read_csv(knocking["log"]).drop(
        columns=["knock_retard_front_deg", "knock_retard_rear_deg"])
    log = tmp_path / "no_knock.csv"
    frame.to_csv(log, index=False)
    out = tmp_path / "advice"
    code, _stdout, err = run_cli(_args({**knocking, "log": log}, out, shop), capsys)
    assert code == 0, err
    assert "the mask is the model's alone" in err
    report = json.loads((out / "timing.json").read_text(encoding="utf-8"))
    for table in report["tables"].values():
        assert not np.array(table["change_deg"]).any()


@pytest.mark.parametrize(("change", "named"), [
    ({"--spark-front": None, "--spark-rear": None}, "no spark table given"),
    ({"--max-advance-deg": "20"}, "--max-advance-deg 20"),
    ({"LOG": "missing.csv"}, "missing.csv: no such file"),
    ({"--build": "missing.json"}, "--build"),
])
def test_bad_input_exits_2_in_one_line(knocking: dict[str, Path], shop: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str],
                                       change: dict[str, str | None], named: str) -> None:
    args: dict[str, object] = {"LOG": knocking["log"], "--build": knocking["build"],
                               "--spark-front": knocking["front"],
                               "--spark-rear": knocking["rear"]}
    for key, value in change.items():
        args[key] = value if value is None else tmp_path / value if "." in value else value
    argv: list[object] = ["advise-timing", args.pop("LOG")]
    for key, value in args.items():
        if value is not None:
            argv += [key, value]
    argv += ["--out", tmp_path / "out", "--catalog", shop]
    code, _out, err = run_cli(argv, capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and named in err, err
    assert not (tmp_path / "out" / "timing.json").exists()
