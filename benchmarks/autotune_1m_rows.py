"""Autotune on a 1,000,000-row run file: the whole ``dynoai autotune`` process against a bare one.

    .venv/bin/python benchmarks/autotune_1m_rows.py [--short] [--rows N] [--repeats N]
                                                    [--plan NAME] [--keep DIR]

Goal (the autotune issue's performance goal): on a 1,000,000-row Parquet log the whole
``dynoai autotune`` process takes <= 1.5x a bare Python process that only imports numpy and
pandas, reads the same file and bins it with ``np.bincount``. Both are timed here, in the same
run:

1. The log: one real run of the virtual cell (``dynoai simulate --preset m8-114-stock --plan
   autotune --seed 1 --sensor-errors-per-h 0 --log run.csv --truth truth.json``, about 20
   simulated minutes at 100 Hz), tiled with its time shifted until exactly ``--rows`` rows; a
   2 s gap between tiles keeps ``time_s`` rising (a gap over 1 s is a seam, docs/formats.md
   §autotune: each tile is filtered on its own, like the runs of one session). Written as a run
   file with ``storage.run_files.write_run`` (the §2 channels, float64, ``dynoai.run``
   metadata), what ``dynoai autotune FILE.parquet`` reads. The VE tables given are the ECM's
   base calibration the run was made with (the truth's ``ecm_tables``), as Table CSVs.
2. Timed as subprocesses, alternating, ``--repeats`` times after one untimed pair (the file in
   the page cache for both): (a) ``python -m dynoai_desktop.cli autotune FILE --ve-front F
   --ve-rear R --out DIR``; (b) ``python -c`` importing numpy and pandas only, reading the
   columns autotune reads (``AUTOTUNE_CHANNELS``) with ``pd.read_parquet`` and binning each
   cylinder's AFR / target on the VE table's grid (nearest cell by ``np.searchsorted`` on the
   breakpoints' midpoints, sums and counts by ``np.bincount``). Wall time of each whole process.

Prints rows, file size, both medians and minimums and the ratio (a) / (b) against the goal. A
figure-printing script: it never asserts on timings (this machine is shared and noisy), and
exits 0 whatever the ratio; it exits 1 only when a process fails.

``--short``: 100,000 rows, 1 repeat, and the shorter built-in ``default`` plan as the source
run, for the test that the script runs. ``--keep DIR`` writes the files to DIR and keeps them.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dynoai_desktop.core.autotune import AUTOTUNE_CHANNELS  # noqa: E402
from dynoai_desktop.core.table import Table  # noqa: E402
from dynoai_desktop.core.table_csv import format_table_csv  # noqa: E402
from dynoai_desktop.core.weather import Weather  # noqa: E402
from dynoai_desktop.storage.log_files import read_any_log  # noqa: E402
from dynoai_desktop.storage.run_files import RunMetadata, write_run  # noqa: E402

GOAL_RATIO = 1.5
PRESET = "m8-114-stock"
SEED = 1
TILE_GAP_S = 2.0  # between tiles: over 1 s, so a seam
CYLINDERS = ("front", "rear")

BARE_SCRIPT = """\
import sys
import numpy as np
import pandas as pd

rows = np.array({rows!r})
cols = np.array({cols!r})
frame = pd.read_parquet(sys.argv[1], columns={columns!r})
rpm = frame["rpm"].to_numpy()
kpa = frame["map_kpa"].to_numpy()
cell = (np.searchsorted((rows[1:] + rows[:-1]) / 2, rpm) * cols.size
        + np.searchsorted((cols[1:] + cols[:-1]) / 2, kpa))
target = frame["afr_target"].to_numpy()
used = 0
for cyl in ("front", "rear"):
    ratio = frame[f"afr_{{cyl}}"].to_numpy() / target
    ok = np.isfinite(ratio) & np.isfinite(rpm) & np.isfinite(kpa)
    ok &= frame[f"afr_{{cyl}}_status"].to_numpy() == 0
    sums = np.bincount(cell[ok], weights=ratio[ok], minlength=rows.size * cols.size)
    counts = np.bincount(cell[ok], minlength=rows.size * cols.size)
    used += int(counts.sum())
print(used, float(sums.sum()))
"""


def cli(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "dynoai_desktop.cli", *map(str, args)]


def run(args: list[str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        shown = " ".join(args[2:])[:200]
        raise RuntimeError(f"{shown} exited {done.returncode}: {done.stderr.strip()[-2000:]}")
    return done


def timed(args: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    done = run(args)
    return time.perf_counter() - start, done


# ------------------------------------------------------------------------ the files
def simulate(folder: Path, plan: str) -> tuple[Path, dict]:
    log, truth = folder / "source.csv", folder / "truth.json"
    run(cli("simulate", "--preset", PRESET, "--plan", plan, "--seed", str(SEED),
            "--sensor-errors-per-h", "0", "--log", log, "--truth", truth))
    return log, json.loads(truth.read_text(encoding="utf-8"))


def tiled(frame: pd.DataFrame, rows: int) -> pd.DataFrame:
    """``frame`` repeated until ``rows`` rows, each tile's time shifted past the previous one's
    end by ``TILE_GAP_S``."""
    time_s = frame["time_s"].to_numpy(dtype=np.float64)
    period = (time_s[-1] - time_s[0]) + TILE_GAP_S
    tiles = -(-rows // len(frame))
    out = pd.concat([frame] * tiles, ignore_index=True).iloc[:rows].copy()
    shift = np.repeat(np.arange(tiles) * period, len(frame))[:rows]
    out["time_s"] = np.round(np.tile(time_s - time_s[0], tiles)[:rows] + shift, 3)
    return out


def table_from_truth(entry: dict) -> Table:
    return Table(entry["name"], entry["units"], "rpm", "map_kpa",
                 np.array(entry["rpm"], dtype=np.float64),
                 np.array(entry["map_kpa"], dtype=np.float64),
                 np.array(entry["values"], dtype=np.float64))


def write_files(folder: Path, plan: str, rows: int) -> tuple[Path, dict[str, Path], Table, float,
                                                              int]:
    """The run file and the VE Table CSVs in ``folder``; also the front table, the seconds the
    simulation took and the source run's rows."""
    start = time.perf_counter()
    source, truth = simulate(folder, plan)
    sim_s = time.perf_counter() - start
    frame = read_any_log(source).frame
    run_file = folder / f"run_{rows}.parquet"
    metadata = RunMetadata(
        name=f"autotune benchmark, {rows:,} rows",
        started_at="2026-11-22T10:00:00",
        weather=Weather(**truth["weather"]),
    )
    write_run(run_file, tiled(frame, rows), metadata)
    tables, paths = {}, {}
    for cyl in CYLINDERS:
        tables[cyl] = table_from_truth(truth["ecm_tables"][f"ve_{cyl}"])
        paths[cyl] = folder / f"ve_{cyl}.csv"
        paths[cyl].write_text(format_table_csv(tables[cyl]), encoding="utf-8")
    return run_file, paths, tables["front"], sim_s, len(frame)


def bare_script(table: Table) -> str:
    return BARE_SCRIPT.format(rows=[float(v) for v in table.row_breakpoints],
                              cols=[float(v) for v in table.col_breakpoints],
                              columns=list(AUTOTUNE_CHANNELS))


# ------------------------------------------------------------------------ main
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the run file")
    parser.add_argument("--repeats", type=int, default=5, help="timed pairs (default 5)")
    parser.add_argument("--plan", default="autotune",
                        help="built-in plan of the source run (default autotune)")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="write the files here, keep them")
    parser.add_argument("--short", action="store_true",
                        help="100,000 rows, 1 repeat, the default plan (a test runs this)")
    args = parser.parse_args()
    if args.short:
        args.rows, args.repeats, args.plan = 100_000, 1, "default"
    if args.rows < 1 or args.repeats < 1:
        parser.error("--rows and --repeats must be at least 1")

    folder = Path(tempfile.mkdtemp(prefix="autotune_1m_")) if args.keep is None else args.keep
    folder.mkdir(parents=True, exist_ok=True)
    try:
        run_file, paths, table, sim_s, source_rows = write_files(folder, args.plan, args.rows)
        size_mb = run_file.stat().st_size / 1e6
        print(f"source run: {PRESET}, plan {args.plan}, seed {SEED}: {source_rows:,} rows "
              f"(simulated in {sim_s:.1f} s), tiled with {TILE_GAP_S:g} s gaps")
        print(f"run file:   {args.rows:,} rows, {size_mb:.1f} MB ({run_file.name})")
        print(f"VE tables:  the ECM's base calibration, {table.row_breakpoints.size} rpm x "
              f"{table.col_breakpoints.size} map_kpa")
        autotune_cmd = cli("autotune", run_file, "--ve-front", paths["front"], "--ve-rear",
                           paths["rear"], "--out", folder / "out")
        bare_cmd = [sys.executable, "-c", bare_script(table), str(run_file)]
        timed(autotune_cmd)  # untimed pair: the file and the modules in the page cache
        timed(bare_cmd)
        autotune_s, bare_s = [], []
        summary, bare_out = "", ""
        for _ in range(args.repeats):
            seconds, done = timed(autotune_cmd)
            autotune_s.append(seconds)
            summary = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""
            seconds, done = timed(bare_cmd)
            bare_s.append(seconds)
            bare_out = done.stdout.strip()
    except RuntimeError as exc:
        print(f"failed: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)

    med_a, med_b = statistics.median(autotune_s), statistics.median(bare_s)
    ratio_med, ratio_min = med_a / med_b, min(autotune_s) / min(bare_s)
    print(f"autotune:   {summary}")
    print(f"bare:       {bare_out.split()[0]} usable AFR samples binned (both cylinders)")
    print(f"{args.repeats} timed pair(s), alternating, after one untimed pair:")
    print(f"(a) dynoai autotune     median {med_a:6.3f} s  min {min(autotune_s):6.3f} s  "
          f"(all: {', '.join(f'{s:.3f}' for s in autotune_s)})")
    print(f"(b) bare numpy+pandas   median {med_b:6.3f} s  min {min(bare_s):6.3f} s  "
          f"(all: {', '.join(f'{s:.3f}' for s in bare_s)})")
    verdict = "OK" if ratio_med <= GOAL_RATIO else "MISSED"
    print(f"ratio (a)/(b): median {ratio_med:.2f}x  min {ratio_min:.2f}x  "
          f"goal <= {GOAL_RATIO:g}x  {verdict}")
    if args.keep is not None:
        print(f"files kept in {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
