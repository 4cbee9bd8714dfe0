"""`dynoai predict-ve` (docs/formats.md "`dynoai predict-ve`"): the tables and uncertainty.json
it writes, the model it picks, and every bad input exiting 2 in one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dynoai_desktop.cli import QT_PACKAGES
from dynoai_desktop.core.build_spec import BuildSpec
from dynoai_desktop.ml.features import Air
from dynoai_desktop.storage.resources import base_map_tables
from dynoai_desktop.storage.table_files import read_table_csv
from tests.commands.model_helpers import copy_of_prior, run_cli, tamper

BUILD = {"engine_family": "twin_cam_103", "stage": 2, "exhaust": "two_into_one",
         "air_cleaner": "high_flow",
         "cam": {"name": "S&S 585", "intake_duration_deg": 234, "exhaust_duration_deg": 242,
                 "overlap_deg": 32}}
FILES = ("ve_front.csv", "ve_rear.csv", "uncertainty.json")


def _build_file(folder: Path, build: dict[str, Any] = BUILD, name: str = "build.json") -> Path:
    path = folder / name
    path.write_text(json.dumps(build), encoding="utf-8")
    return path


def _grid(rows: list[list[float | None]]) -> np.ndarray:
    return np.array([[np.nan if x is None else x for x in row] for row in rows], dtype=float)


def test_the_prior_predicts_tables_on_the_stage_map_axes(
        shop: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "out" / "new"
    code, out, err = run_cli(["predict-ve", "--build", _build_file(tmp_path), "--out", out_dir,
                              "--catalog", shop], capsys)
    assert code == 0, err
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(FILES)
    assert out.count("\n") == 1
    assert out.startswith("base_ve shop prior (simulated shop history")
    assert "cells learned (front " in out and "mean 90 % interval ±" in out

    build = BuildSpec.from_dict(BUILD)
    report = json.loads((out_dir / "uncertainty.json").read_text(encoding="utf-8"))
    assert report["kind"] == "dynoai-ve-uncertainty"
    assert report["schema_version"] == 1 and report["interval"] == 0.9
    model = report["model"]
    assert (model["kind"], model["scope"], model["version"], model["label"]) == (
        "base_ve", "shop", 0, "prior")
    assert model["prior"] is True and model["sessions_learned"] > 0
    assert model["source"].startswith("simulated shop history")
    assert report["build"] == build.to_dict()
    assert report["air"] == {"baro_kpa": Air.at_altitude(0.0).baro_kpa, "ambient_temp_c": 25.0,
                             "baro_from": "altitude", "ambient_from": "standard"}

    learned_total = 0
    for name, stage_map in zip(("ve_front", "ve_rear"), base_map_tables("twin_cam_103", 2),
                               strict=True):
        table = read_table_csv(out_dir / f"{name}.csv")
        assert (table.name, table.units, table.col_axis) == (stage_map.name, stage_map.units,
                                                             "map_kpa")
        assert np.array_equal(table.row_breakpoints, stage_map.row_breakpoints)
        assert np.array_equal(table.col_breakpoints, stage_map.col_breakpoints)
        entry = report["tables"][name]
        assert entry["file"] == f"{name}.csv"
        assert entry["rpm"] == stage_map.row_breakpoints.tolist()
        assert entry["map_kpa"] == stage_map.col_breakpoints.tolist()
        learned = np.array(entry["learned"], dtype=bool)
        lower, upper = _grid(entry["lower_pct"]), _grid(entry["upper_pct"])
        assert learned.shape == table.shape
        assert np.isnan(lower[~learned]).all() and np.isnan(upper[~learned]).all()
        assert not np.isnan(lower[learned]).any()
        assert np.array_equal(table.values[~learned], stage_map.values[~learned])
        values, stage = table.values[learned], stage_map.values[learned]
        assert (values != stage).mean() > 0.95
        assert (lower[learned] <= values + 0.01).all() and (values <= upper[learned] + 0.01).all()
        assert (lower[learned] < upper[learned]).all()
        learned_total += int(learned.sum())
    assert 0 < learned_total
    assert f"{learned_total} of " in out


def test_the_days_air_is_used_when_given(shop: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    high = _build_file(tmp_path, {**BUILD, "altitude_m": 1600}, "high.json")
    code, _, err = run_cli(["predict-ve", "--build", high, "--out", tmp_path / "a", "--catalog",
                            shop], capsys)
    assert code == 0, err
    air = json.loads((tmp_path / "a" / "uncertainty.json").read_text(encoding="utf-8"))["air"]
    assert air["baro_kpa"] == Air.at_altitude(1600).baro_kpa < 85.0
    code, _, err = run_cli(["predict-ve", "--build", high, "--out", tmp_path / "b", "--catalog",
                            shop, "--baro-kpa", "97.5", "--ambient-c", "35"], capsys)
    assert code == 0, err
    air = json.loads((tmp_path / "b" / "uncertainty.json").read_text(encoding="utf-8"))["air"]
    assert air == {"baro_kpa": 97.5, "ambient_temp_c": 35.0, "baro_from": "given",
                   "ambient_from": "given"}


def test_the_familys_active_model_comes_before_the_shops(
        shop: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    copy_of_prior(shop, "family:twin_cam_103", activate=True)
    build = _build_file(tmp_path)
    code, out, err = run_cli(["predict-ve", "--build", build, "--out", tmp_path / "o",
                              "--catalog", shop], capsys)
    assert code == 0, err
    assert out.startswith("base_ve family:twin_cam_103 v1 (a copy of the prior (test))")
    model = json.loads((tmp_path / "o" / "uncertainty.json").read_text(encoding="utf-8"))["model"]
    assert (model["scope"], model["version"], model["prior"]) == ("family:twin_cam_103", 1,
                                                                  False)
    code, out, _ = run_cli(["predict-ve", "--build", build, "--out", tmp_path / "o",
                            "--catalog", shop, "--scope", "shop"], capsys)
    assert code == 0 and out.startswith("base_ve shop prior")
    # another family's bike does not get it
    code, out, _ = run_cli(["predict-ve", "--build", _build_file(
        tmp_path, {"engine_family": "milwaukee_eight_114"}, "m8.json"), "--out", tmp_path / "m8",
        "--catalog", shop], capsys)
    assert code == 0 and out.startswith("base_ve shop prior")


def test_a_changed_model_file_is_not_used(shop: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    tamper(copy_of_prior(shop, activate=True))
    code, out, err = run_cli(["predict-ve", "--build", _build_file(tmp_path), "--out",
                              tmp_path / "o", "--catalog", shop], capsys)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("dynoai predict-ve: DYN-M003 integrity failure: base_ve model shop v1")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(("name", "text", "says"), [
    ("missing.json", None, "no such file"),
    ("broken.json", "{\"engine_family\": ", "not valid JSON"),
    ("field.json", '{"engine_family": "twin_cam_103", "stage": 9}', "'stage' = 9"),
    ("unknown.json", '{"engine_family": "twin_cam_103", "turbo": true}', "'turbo'"),
    ("family.json", '{"engine_family": "shovelhead"}', "engine_family"),
    ("latin1.json", None, "not UTF-8"),
])
def test_a_bad_build_file_exits_2_naming_it(shop: Path, tmp_path: Path, name: str,
                                            text: str | None, says: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / name
    if text is not None:
        path.write_text(text, encoding="utf-8")
    elif name == "latin1.json":
        path.write_bytes('{"engine_family": "twin_cam_103", "cam": {"name": "Wood Ü"}}'
                         .encode("latin-1"))
    code, out, err = run_cli(["predict-ve", "--build", path, "--out", tmp_path / "o",
                              "--catalog", shop], capsys)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1, err
    assert err.startswith(f"dynoai predict-ve: --build {path}")
    assert says in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(("extra", "says"), [
    (["--baro-kpa", "140"], "--baro-kpa 140: give 50 to 110 kPa"),
    (["--baro-kpa", "nan"], "--baro-kpa nan"),
    (["--ambient-c", "-80"], "--ambient-c -80: give -30 to 60 °C"),
    (["--scope", "family:milwaukee_eight_114"], "--scope family:milwaukee_eight_114: the build "
                                                "is a twin_cam_103"),
    (["--scope", "garage"], "model scope 'garage' is not valid"),
    (["--baro-kpa", "high"], "argument --baro-kpa: invalid float value"),
])
def test_bad_options_exit_2_naming_them(shop: Path, tmp_path: Path, extra: list[str], says: str,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["predict-ve", "--build", _build_file(tmp_path), "--out",
                            tmp_path / "o", "--catalog", shop, *extra], capsys)
    assert code == 2
    assert err.count("\n") == 1, err
    assert says in err


def test_out_must_be_a_folder(shop: Path, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "o").write_text("a file", encoding="utf-8")
    code, _, err = run_cli(["predict-ve", "--build", _build_file(tmp_path), "--out",
                            tmp_path / "o", "--catalog", shop], capsys)
    assert code == 2 and err == f"dynoai predict-ve: --out {tmp_path / 'o'}: is a file; give " \
                                "a folder\n"


NO_QT = """
import sys
from dynoai_desktop.cli import main
catalog, build, out = sys.argv[1:4]
for argv in (["models", "list", "--catalog", catalog], ["models", "verify", "--catalog", catalog],
             ["predict-ve", "--build", build, "--out", out, "--catalog", catalog]):
    assert main(argv) == 0, argv
loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set({qt}))
assert not loaded, f"the model commands imported {{loaded}}"
print("no Qt imported")
"""


def test_the_model_commands_import_no_qt(shop: Path, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", NO_QT.format(qt=sorted(QT_PACKAGES)), str(shop),
                           str(_build_file(tmp_path)), str(tmp_path / "o")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "no Qt imported" in done.stdout
