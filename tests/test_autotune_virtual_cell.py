"""`dynoai autotune` end to end on the virtual cell: a known VE error in a region is corrected
toward the truth's effective VE (a loose check; benchmarks/ measures it precisely)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dynoai_desktop.cli import main
from dynoai_desktop.core.table import Table
from dynoai_desktop.storage.table_files import read_table_csv, write_table_csv

pytestmark = pytest.mark.once_without_qt  # long: runs in the suite without Qt

ERROR = 0.92  # the base map is 8 % lean of the ECM's own in the region
REGION_RPM = (2500.0, 3500.0)
REGION_KPA = (50.0, 80.0)


def _table(d: dict) -> Table:
    return Table(d["name"], d["units"], "rpm", "map_kpa", d["rpm"], d["map_kpa"], d["values"])


def test_a_known_error_is_corrected_toward_the_truth(tmp_path: Path) -> None:
    first = tmp_path / "t0.json"
    assert main(["simulate", "--plan", "steady_grid", "--duration-s", "1", "--log",
                 str(tmp_path / "l0.csv"), "--truth", str(first)]) == 0
    ecm = json.loads(first.read_text(encoding="utf-8"))["ecm_tables"]
    paths = {}
    for name in ("ve_front", "ve_rear"):
        table = _table(ecm[name])
        rpm = table.row_breakpoints[:, None]
        kpa = table.col_breakpoints[None, :]
        region = ((rpm >= REGION_RPM[0]) & (rpm <= REGION_RPM[1])
                  & (kpa >= REGION_KPA[0]) & (kpa <= REGION_KPA[1]))
        paths[name] = tmp_path / f"{name}_base.csv"
        write_table_csv(paths[name], table.with_values(
            np.where(region, np.round(table.values * ERROR, 2), table.values)))
    log, truth_path, out = tmp_path / "run.csv", tmp_path / "truth.json", tmp_path / "out"
    assert main(["simulate", "--plan", "steady_grid", "--ve-front", str(paths["ve_front"]),
                 "--ve-rear", str(paths["ve_rear"]), "--log", str(log), "--truth",
                 str(truth_path), "--sensor-errors-per-h", "0"]) == 0
    assert main(["autotune", str(log), "--ve-front", str(paths["ve_front"]), "--ve-rear",
                 str(paths["ve_rear"]), "--out", str(out)]) == 0
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    for name, cyl in (("ve_front", "front"), ("ve_rear", "rear")):
        base = read_table_csv(paths[name]).values
        corrected = read_table_csv(out / f"{name}.csv").values
        effective = np.array(truth["ve_effective"][cyl]["values"], dtype=float)
        steady = [(c["row"], c["col"]) for c in report["tables"][name]["cells"]
                  if c["samples_used"] >= 200 and c["held_reason"] in (None, "clamped")
                  and REGION_RPM[0] <= c["rpm"] <= REGION_RPM[1]
                  and REGION_KPA[0] <= c["load"] <= REGION_KPA[1]]
        assert len(steady) >= 8, name
        rows, cols = np.array(steady).T
        before = np.abs(base[rows, cols] / effective[rows, cols] - 1)
        after = np.abs(corrected[rows, cols] / effective[rows, cols] - 1)
        assert np.mean(after < before) >= 0.8, (name, before, after)
        assert after.mean() < 0.6 * before.mean(), (name, before.mean(), after.mean())
