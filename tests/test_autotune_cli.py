"""`dynoai autotune` (FORMATS.md §3): files written, report.json, every bad input exits 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dynoai_desktop.cli import QT_PACKAGES, main
from dynoai_desktop.core.table import Table
from dynoai_desktop.storage.run_files import RunMetadata, write_run
from dynoai_desktop.storage.table_files import read_table_csv, write_table_csv
from tests.core.autotune_logs import steady_log, ve_table
from tests.realdata import REALDATA

CELL_KEYS = {"row", "col", "rpm", "load", "samples_used", "weight", "rejected", "correction_pct",
             "ci95_pct", "confidence", "applied_change_pct", "held_reason"}
REJECT_KEYS = {"warmup", "transient", "closed_throttle", "invalid_afr", "dwell"}
HELD = {None, "too_few_samples", "ci_too_wide", "locked", "closed_loop", "clamped"}


def _write_log(path: Path, **kw: object) -> Path:
    log = steady_log(**kw)  # type: ignore[arg-type]
    pd.DataFrame(dict(log.columns)).to_csv(path, index=False)
    return path


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    front, rear = tmp_path / "ve_front_in.csv", tmp_path / "ve_rear_in.csv"
    write_table_csv(front, ve_table("VE front"))
    write_table_csv(rear, ve_table("VE rear"))
    return {"front": front, "rear": rear, "out": tmp_path / "out",
            "lean": _write_log(tmp_path / "lean.csv", afr=13.65),
            "lean2": _write_log(tmp_path / "lean2.csv", afr=13.65, rpm=4000.0),
            "stuck": _write_log(tmp_path / "stuck.csv", afr=10.0, noise_afr=0.0)}


def _run(argv: list[object], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    try:
        code = main(["autotune", *map(str, argv)])
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, capsys.readouterr().err


def test_report_and_tables_follow_formats_section_3(files: dict[str, Path],
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run([files["lean"], files["lean2"], "--ve-front", files["front"], "--ve-rear",
                      files["rear"], "--out", files["out"]], capsys)
    assert code == 0, err
    assert "reading" in err  # progress on stderr
    report = json.loads((files["out"] / "report.json").read_text(encoding="utf-8"))
    assert report["schema_version"] == 1
    assert report["logs"] == [str(files["lean"]), str(files["lean2"])]
    assert report["delay_source"] in {"measured", "given", "default"}
    assert all(len(pair) == 2 for pair in report["delay_ms_by_rpm"])
    assert set(report["tables"]) == {"ve_front", "ve_rear"}
    for table in report["tables"].values():
        assert table["cells"]
        for cell in table["cells"]:
            assert set(cell) == CELL_KEYS
            assert set(cell["rejected"]) == REJECT_KEYS
            assert cell["held_reason"] in HELD
            assert 0.0 <= cell["confidence"] <= 1.0
    cell = next(c for c in report["tables"]["ve_front"]["cells"]
                if (c["rpm"], c["load"]) == (3000.0, 60.0))
    assert cell["correction_pct"] == pytest.approx(5.0, abs=0.1)  # lean: VE raised
    assert cell["applied_change_pct"] == pytest.approx(cell["correction_pct"], abs=0.3)
    before, after = ve_table("VE front"), read_table_csv(files["out"] / "ve_front.csv")
    assert np.array_equal(after.row_breakpoints, before.row_breakpoints)
    assert np.array_equal(after.col_breakpoints, before.col_breakpoints)
    changed = after.values != before.values
    assert changed.sum() == 2 and changed[2, 2] and changed[3, 2]
    assert after.values[2, 2] == round(after.values[2, 2], 2)


def test_only_the_tables_given_are_written(files: dict[str, Path],
                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run([files["lean"], "--ve-rear", files["rear"], "--out", files["out"],
                      "--afr-target-value", "13.0", "--max-change-pct", "3", "--no-smooth",
                      "--delay-ms", "80", "--min-weight", "5"], capsys)
    assert code == 0, err
    assert sorted(p.name for p in files["out"].iterdir()) == ["report.json", "ve_rear.csv"]
    report = json.loads((files["out"] / "report.json").read_text(encoding="utf-8"))
    assert report["delay_source"] == "given"
    assert {ms for _, ms in report["delay_ms_by_rpm"]} == {80.0}
    cell = next(c for c in report["tables"]["ve_rear"]["cells"] if c["rpm"] == 3000.0)
    assert (cell["applied_change_pct"], cell["held_reason"]) == (3.0, "clamped")


def test_an_afr_target_table_is_looked_up(files: dict[str, Path], tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "target.csv"
    base = ve_table()
    write_table_csv(target, Table("AFR target", "AFR", "rpm", "map_kpa", base.row_breakpoints,
                                  base.col_breakpoints, np.full((5, 5), 13.65)))
    code, err = _run([files["lean"], "--ve-front", files["front"], "--afr-target", target,
                      "--out", files["out"]], capsys)
    assert code == 0, err
    report = json.loads((files["out"] / "report.json").read_text(encoding="utf-8"))
    cell = next(c for c in report["tables"]["ve_front"]["cells"] if c["rpm"] == 3000.0)
    assert cell["correction_pct"] == pytest.approx(0.0, abs=0.1)


def test_a_parquet_run_reads_like_its_log_csv(files: dict[str, Path], tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "run.parquet"
    write_run(run, pd.read_csv(files["lean"]), RunMetadata("run", "2026-01-01T00:00:00"))
    outs = []
    for log in (files["lean"], run):
        out = tmp_path / log.suffix.strip(".")
        assert _run([log, "--ve-front", files["front"], "--out", out], capsys)[0] == 0
        outs.append(json.loads((out / "report.json").read_text(encoding="utf-8"))["tables"])
    assert outs[0] == outs[1]


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("no_table", "no VE table given; give --ve-front FILE"),
        ("both_targets", "not allowed with argument"),
        ("no_target", "no afr_target column and no target given"),
        ("missing_log", "missing.csv: no such file"),
        ("missing_table", "nope.csv: no such file"),
        ("stuck", "no usable AFR in"),
        ("bad_limit", "--max-change-pct"),
        ("no_out", "--out"),
    ],
)
def test_bad_input_exits_2_with_one_line(case: str, message: str, files: dict[str, Path],
                                         tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    lean, front, out = files["lean"], files["front"], files["out"]
    argv: list[object] = {
        "no_table": [lean, "--out", out],
        "both_targets": [lean, "--ve-front", front, "--afr-target", front,
                         "--afr-target-value", "13", "--out", out],
        "no_target": [_write_log(tmp_path / "nt.csv"), "--ve-front", front, "--out", out],
        "missing_log": [tmp_path / "missing.csv", "--ve-front", front, "--out", out],
        "missing_table": [lean, "--ve-front", tmp_path / "nope.csv", "--out", out],
        "stuck": [files["stuck"], "--ve-front", front, "--out", out],
        "bad_limit": [lean, "--ve-front", front, "--out", out, "--max-change-pct", "-4"],
        "no_out": [lean, "--ve-front", front],
    }[case]
    if case == "no_target":
        frame = pd.read_csv(argv[0]).drop(columns=["afr_target"])  # type: ignore[arg-type]
        frame.to_csv(argv[0], index=False)  # type: ignore[arg-type]
    code, err = _run(argv, capsys)
    assert code == 2
    last = err.strip().splitlines()[-1]
    assert last.startswith("dynoai autotune: ") and message in last, err
    assert "Traceback" not in err
    assert not (out / "report.json").exists()


def test_one_unusable_log_among_usable_ones_is_a_warning(files: dict[str, Path],
                                                         capsys: pytest.CaptureFixture[str],
                                                         ) -> None:
    code, err = _run([files["lean"], files["stuck"], "--ve-front", files["front"], "--out",
                      files["out"]], capsys)
    assert code == 0
    assert f"dynoai autotune: warning: no usable AFR in {files['stuck']}" in err
    report = json.loads((files["out"] / "report.json").read_text(encoding="utf-8"))
    assert report["logs"] == [str(files["lean"]), str(files["stuck"])]
    assert any("no usable AFR" in w for w in report["warnings"])


@pytest.mark.skipif(REALDATA is None, reason="shared/realdata is not beside the repo")
def test_the_real_msl_with_its_wideband_stuck_at_10_has_no_usable_afr(
        files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert REALDATA is not None
    log = REALDATA / "empro_MS1_ms_test.msl"
    code, err = _run([log, "--ve-front", files["front"], "--afr-target-value", "13.5", "--out",
                      files["out"]], capsys)
    assert code == 2
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"dynoai autotune: no usable AFR in {log} (")
    assert "10.0" in last


NO_QT_RUN = """
import sys
from dynoai_desktop.cli import main
assert main(sys.argv[1:]) == 0
loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set({qt}))
assert not loaded, f"autotune imported {{loaded}}"
print("no Qt imported")
"""


def test_autotune_never_imports_qt(files: dict[str, Path]) -> None:
    script = NO_QT_RUN.format(qt=sorted(QT_PACKAGES))
    result = subprocess.run(
        [sys.executable, "-c", script, "autotune", str(files["lean"]), "--ve-front",
         str(files["front"]), "--out", str(files["out"])],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "no Qt imported" in result.stdout


def test_a_tunerstudio_mlg_log_is_tuned_like_its_csv(files: dict[str, Path], tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from tests.storage.mlg_writer import log_to_mlg

    mlg = tmp_path / "lean.mlg"
    mlg.write_bytes(log_to_mlg(dict(steady_log(afr=13.65).columns)))
    code, err = _run([mlg, "--ve-front", files["front"], "--out", files["out"]], capsys)
    assert code == 0, err
    report = json.loads((files["out"] / "report.json").read_text(encoding="utf-8"))
    assert report["logs"] == [str(mlg)]
    cell = next(c for c in report["tables"]["ve_front"]["cells"]
                if (c["rpm"], c["load"]) == (3000.0, 60.0))
    assert cell["correction_pct"] == pytest.approx(5.0, abs=0.1)  # lean: VE raised, as the CSV


@pytest.mark.skipif(REALDATA is None, reason="shared/realdata is not beside the repo")
def test_the_real_speeduino_mlg_with_its_afr_stuck_has_no_usable_afr(
        files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert REALDATA is not None
    log = REALDATA / "ultralog_speeduino.mlg"
    code, err = _run([log, "--ve-front", files["front"], "--afr-target-value", "13.5", "--out",
                      files["out"]], capsys)
    assert code == 2
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"dynoai autotune: no usable AFR in {log} (")
    assert "25.5" in last
