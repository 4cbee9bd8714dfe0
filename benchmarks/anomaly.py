"""The session anomaly detector judged on injected faults: a shop history of sound sessions, and
sessions of another shop seed with one fault each, all extracted as the app extracts them.

    .venv/bin/python benchmarks/anomaly.py [--clean-catalog DIR] [--faulty-catalog DIR]
        [--clean 200] [--faulty 52] [--prior] [--write-dataset FILE.json] [--short]

The sound sessions: ``--clean-catalog`` (a ``dynoai simulate-shop`` history), else ``--clean``
played here (seed 1). The faulty ones: ``--faulty-catalog``'s sessions, else ``--faulty`` played
here (seed 2), each with one fault injected into its runs before extraction
(``ml.training.faults``: a stuck wideband, the widebands swapped, a dead sensor, the day's air
entered wrong; in turn, so each kind is a quarter). The detector is trained as a shop trains it,
on all of them together (faults and all: a shop does not know which of its sessions are bad), or
with ``--prior`` the shipped prior is used. ``--write-dataset``: every record judged, the sound
and the faulty interleaved, as one training-data file (the dataset view's screenshot reads it).

Goals (issue 21): at least 90 % of the faulty sessions flagged, at most 5 % of the sound ones. A
measurement: exits 0 whether the goals pass or miss, 2 on bad input. ``--short``: one short
session (one autotune round), judged as it is and with a fault, by the prior (proves the loop,
not its figure).
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dynoai_desktop.commands.shop_played import SHORT_PROFILE  # noqa: E402
from dynoai_desktop.commands.simulate_shop import open_catalog, simulate_shop  # noqa: E402
from dynoai_desktop.core.errors import InputError  # noqa: E402
from dynoai_desktop.core.plan import DEFAULT_FAN_CFM  # noqa: E402
from dynoai_desktop.ml.anomaly import (  # noqa: E402
    KIND,
    AnomalyDetector,
    by_vehicle,
    fit_detector,
    health_rows,
    others_of_vehicle,
)
from dynoai_desktop.ml.errors import ModelError  # noqa: E402
from dynoai_desktop.ml.registry import PRIORS_DIR, load_version, prior_version  # noqa: E402
from dynoai_desktop.ml.training.dataset import dataset_json  # noqa: E402
from dynoai_desktop.ml.training.extract import extract  # noqa: E402
from dynoai_desktop.ml.training.faults import FAULTS, inject  # noqa: E402
from dynoai_desktop.ml.training.from_catalog import read_session  # noqa: E402
from dynoai_desktop.ml.training.records import (  # noqa: E402
    DATASET_KIND,
    SCHEMA_VERSION,
    Dataset,
    TuningSession,
)

FLAGGED_GOAL, CLEAN_GOAL = 0.90, 0.05


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def session_ids(folder: Path) -> list[int]:
    with sqlite3.connect(folder / "catalog.sqlite") as db:
        return [int(r[0]) for r in db.execute("SELECT id FROM sessions ORDER BY id")]


def records(folder: Path, faulty: bool, rng: np.random.Generator, limit: int | None
            ) -> tuple[list[TuningSession], list[tuple[str, str]]]:
    """The catalog's sessions as training records (each with a fault when ``faulty``), and
    per record (fault kind, what was done)."""
    out, done = [], []
    ids = session_ids(folder)[:limit]
    with open_catalog(folder) as catalog:
        for n, sid in enumerate(ids):
            data = replace(read_session(catalog, sid), fan_cfm=DEFAULT_FAN_CFM)
            if faulty:
                kind = FAULTS[n % len(FAULTS)]
                data, what = inject(data, kind, rng)
                data = replace(data, session_id=f"faulty:{sid}")
                done.append((kind, what))
            out.append(extract(data))
            if (n + 1) % 25 == 0:
                print(f"  {n + 1}/{len(ids)} {'faulty' if faulty else 'sound'} extracted",
                      flush=True)
    return out, done


def played(folder: Path, count: int, seed: int, short: bool) -> Path:
    print(f"playing {count} session(s) of shop seed {seed} ...", flush=True)
    simulate_shop(folder, count, seed, 1 if short else 2,
                  profile=replace(SHORT_PROFILE, max_rounds=1) if short else None)
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clean-catalog", type=Path)
    parser.add_argument("--faulty-catalog", type=Path)
    parser.add_argument("--clean", type=int, default=200)
    parser.add_argument("--faulty", type=int, default=52)
    parser.add_argument("--prior", action="store_true", help="judge by the shipped prior")
    parser.add_argument("--write-dataset", type=Path, metavar="FILE.json")
    parser.add_argument("--short", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    rng = np.random.default_rng(21)
    try:
        with tempfile.TemporaryDirectory(prefix="anomaly-bench-") as tmp:
            clean_dir = args.clean_catalog or played(Path(tmp) / "clean",
                                                     1 if args.short else args.clean, 1,
                                                     args.short)
            faulty_dir = args.faulty_catalog or (clean_dir if args.short else played(
                Path(tmp) / "faulty", args.faulty, 2, args.short))
            clean, _ = records(clean_dir, False, rng, 1 if args.short else args.clean)
            faulty, done = records(faulty_dir, True, rng, 1 if args.short else args.faulty)
        if args.prior or args.short:
            version = prior_version(KIND, PRIORS_DIR)
            detector: AnomalyDetector = load_version(version)
            print(f"detector: the shipped prior ({version.sessions_learned} sessions learned)")
        else:
            detector = fit_detector(health_rows([*clean, *faulty]))
            print(f"detector: trained here on all {len(clean) + len(faulty)} sessions, "
                  "faults and all")
    except (InputError, ModelError, OSError) as exc:
        print(f"anomaly: {exc}", file=sys.stderr)
        return 2
    grouped = by_vehicle([*clean, *faulty])

    def flags(s: TuningSession) -> list[str]:
        return detector.flags(s, others_of_vehicle(s, grouped))

    clean_flags = [flags(s) for s in clean]
    faulty_flags = [flags(s) for s in faulty]
    caught: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for (kind, what), found in zip(done, faulty_flags, strict=True):
        total[kind] += 1
        caught[kind] += bool(found)
        if not found:
            print(f"  missed: {what}")
    for found, s in zip(clean_flags, clean, strict=True):
        if found:
            print(f"  sound session flagged: {s.session_id} {s.vehicle}: {found[0]}")
    for kind in FAULTS:
        if total[kind]:
            print(f"{kind}: {caught[kind]} of {total[kind]} flagged")
    n_f, n_c = len(faulty), len(clean)
    hit = sum(bool(f) for f in faulty_flags) / n_f if n_f else 0.0
    false = sum(bool(f) for f in clean_flags) / n_c if n_c else 0.0
    print(f"faulty sessions flagged: {sum(bool(f) for f in faulty_flags)} of {n_f} "
          f"({hit * 100:.1f} %; goal >= {FLAGGED_GOAL * 100:.0f} %: "
          f"{verdict(hit >= FLAGGED_GOAL)})")
    print(f"sound sessions flagged: {sum(bool(f) for f in clean_flags)} of {n_c} "
          f"({false * 100:.1f} %; goal <= {CLEAN_GOAL * 100:.0f} %: "
          f"{verdict(false <= CLEAN_GOAL)})")
    if args.write_dataset is not None:
        mixed = [s for pair in zip(clean, faulty, strict=False) for s in pair]
        mixed += clean[len(faulty):] + faulty[len(clean):]
        dataset = Dataset(SCHEMA_VERSION, DATASET_KIND, mixed, source="benchmarks/anomaly.py")
        args.write_dataset.write_text(dataset_json(dataset), encoding="utf-8")
        print(f"wrote {len(mixed)} records to {args.write_dataset}")
    print(f"time: {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
