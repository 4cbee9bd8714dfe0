"""The cylinder-balance predictor judged against the true rear/front VE ratio of bikes it never
saw (issue 20).

    .venv/bin/python benchmarks/cylinder_balance_model.py [--dataset PATH] [--seed 1] [--short]

The dataset is a simulated shop history (``dynoai simulate-shop --export-dataset``): session
"session:i" is bike i - 1 of ``sim.shop.draw_shop(seed, n)``, so each bike's true VE, front and
rear, is known (``sim.shop.bike_true_ve``). ``ml.train.train_cylinder_balance`` trains on the
dataset, leaving out its fixed held-out build groups (family / cam class); on those bikes, per
*covered cell* (a cell the session tuned on both cylinders), the error of a rear/front ratio is
|ratio / true ratio - 1| in %:

1. against each bike's own true ratio (the truth), for the model, the stage maps' own ratio, and
   the *oracle floor*: the nominal engine of the bike's exact build (no bike scatter,
   sim/scatter.py), the best any build-only predictor can do. Goal: every covered cell within
   ±1.5 % (RMS and max reported, and the share of cells within).
2. against the build's true ratio (the nominal engine): what a build-only predictor predicts.
3. seeding: the held-out bikes' rear base map seeded from the predicted front × the predicted
   ratio, against the base-VE model's own rear, both scored on the true rear VE over the tuned
   zone (|VE / true VE - 1|, mean).

A measurement: exits 0 whether the goals pass or miss, 2 on bad input. ``--short``: a perfect shop
of 40 bikes made here (sessions that end on the true VE in the tuned zone), in about a minute.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.base_ve_model import (  # noqa: E402
    DEFAULT_DATASET,
    MAKE_DATASET,
    SHORT_SESSIONS,
    Case,
    nominal_ve,
    perfect_shop,
    shop_cases,
    verdict,
)
from dynoai_desktop.core.errors import InputError  # noqa: E402
from dynoai_desktop.core.table import Table  # noqa: E402
from dynoai_desktop.ml.cylinder_balance import (  # noqa: E402
    FRONT_TABLE,
    REAR_TABLE,
    BalanceModel,
)
from dynoai_desktop.ml.errors import ModelError  # noqa: E402
from dynoai_desktop.ml.features import session_air  # noqa: E402
from dynoai_desktop.ml.suggest import seeded_rear  # noqa: E402
from dynoai_desktop.ml.train import train_base_ve, train_cylinder_balance  # noqa: E402
from dynoai_desktop.ml.training.dataset import load  # noqa: E402
from dynoai_desktop.sim.shop import TUNED_ZONE, ve_error_pct  # noqa: E402

CELL_GOAL_PCT = 1.5


def covered(case: Case) -> np.ndarray:
    """The cells the session tuned on both cylinders (MAP tables on the truth's grid)."""
    s = case.session
    tables = [s.tables_before[FRONT_TABLE], s.tables_after[FRONT_TABLE],
              s.tables_before[REAR_TABLE], s.tables_after[REAR_TABLE]]
    bf, af, br, ar = (np.asarray(t.values, dtype=np.float64) for t in tables)
    return (np.abs(af / bf - 1.0) > 1e-6) & (np.abs(ar / br - 1.0) > 1e-6)


def ratio(front: Table, rear: Table) -> np.ndarray:
    return np.asarray(rear.values, dtype=np.float64) / np.asarray(front.values, dtype=np.float64)


def cell_errors(predicted: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return np.abs(predicted[mask] / truth[mask] - 1.0) * 100.0


def summary(errors: np.ndarray) -> str:
    return (f"RMS {np.sqrt(np.mean(errors ** 2)):.2f} %, max {errors.max():.2f} %, mean "
            f"{errors.mean():.2f} %, {np.mean(errors <= CELL_GOAL_PCT):.0%} of cells within "
            f"±{CELL_GOAL_PCT:g} %")


def held_out_figures(model: BalanceModel, cases: list[Case]) -> None:
    got: dict[str, list[np.ndarray]] = {k: [] for k in ("model", "stage", "oracle", "build")}
    per_bike = []
    for case in cases:
        mask = covered(case)
        learned = model.learned_mask(case.stage_maps[1])
        mask &= learned
        if not mask.any():
            continue
        predicted = model.predict(case.build, session_air(case.session), *case.stage_maps)
        truth = ratio(*case.truth)
        nominal = ratio(*nominal_ve(case))
        errors = cell_errors(predicted.ratio.values, truth, mask)
        got["model"].append(errors)
        got["stage"].append(cell_errors(ratio(*case.stage_maps), truth, mask))
        got["oracle"].append(cell_errors(nominal, truth, mask))
        got["build"].append(cell_errors(predicted.ratio.values, nominal, mask))
        per_bike.append((case, errors))
    if not per_bike:
        print("held-out: no covered cell the model learned")
        return
    for case, errors in per_bike:
        print(f"  {case.label}: {errors.size} cells, RMS {np.sqrt(np.mean(errors ** 2)):.2f} %, "
              f"max {errors.max():.2f} %")
    pooled = {k: np.concatenate(v) for k, v in got.items()}
    model_errors = pooled["model"]
    ok = bool(model_errors.max() <= CELL_GOAL_PCT)
    print(f"held-out rear/front ratio vs each bike's true ratio ({len(per_bike)} bikes, "
          f"{model_errors.size} covered cells): model {summary(model_errors)} (goal every "
          f"covered cell within ±{CELL_GOAL_PCT:g} %: {verdict(ok)})")
    print(f"  stage maps' own ratio: {summary(pooled['stage'])}")
    print(f"  oracle floor (each bike's exact build, nominal engine, no bike scatter): "
          f"{summary(pooled['oracle'])}")
    print(f"held-out rear/front ratio vs the build's true ratio (nominal engine): model "
          f"{summary(pooled['build'])}")


def seeding_figures(balance: BalanceModel, sessions: list, cases: list[Case]) -> None:
    base = train_base_ve(sessions, source="benchmarks/cylinder_balance_model.py")
    assert base.model is not None
    own, seeded = [], []
    for case in cases:
        air = session_air(case.session)
        prediction = base.model.predict(case.build, air, *case.stage_maps)
        rear = seeded_rear(base.model, balance, case.build, air, *case.stage_maps)
        own.append(ve_error_pct(prediction.rear.table, case.truth[1], TUNED_ZONE))
        seeded.append(ve_error_pct(rear.table, case.truth[1], TUNED_ZONE))
    print(f"rear base map vs true rear VE over the tuned zone ({len(cases)} held-out bikes): "
          f"base-VE model's own rear {np.mean(np.concatenate(own)):.2f} %, seeded from its "
          f"front × the predicted ratio {np.mean(np.concatenate(seeded)):.2f} %")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET,
                        help=f"a simulated shop history (default {DEFAULT_DATASET})")
    parser.add_argument("--seed", type=int, default=1, help="the shop's seed (default 1)")
    parser.add_argument("--short", action="store_true",
                        help=f"a perfect shop of {SHORT_SESSIONS} bikes made here")
    args = parser.parse_args()
    started = time.perf_counter()
    try:
        if args.short:
            sessions = perfect_shop(args.seed, SHORT_SESSIONS)
            print(f"--short: a perfect shop of {len(sessions)} bikes (seed {args.seed})")
        else:
            if not args.dataset.is_file():
                print(f"{args.dataset}: no such dataset; make it with\n  {MAKE_DATASET}",
                      file=sys.stderr)
                return 2
            sessions = load(args.dataset).sessions
            print(f"{args.dataset}: {len(sessions)} sessions (shop seed {args.seed})")
        cases = shop_cases(sessions, args.seed)
        t = time.perf_counter()
        result = train_cylinder_balance(sessions, source="benchmarks/cylinder_balance_model.py")
    except (InputError, ModelError) as exc:
        print(exc, file=sys.stderr)
        return 2
    assert result.model is not None
    figures = result.metadata["metrics"]["held_out"]
    print(f"time: train_cylinder_balance {time.perf_counter() - t:.1f} s "
          f"({result.metadata['sessions_learned']} sessions learned); held-out vs the tuned "
          f"ratio: MAE {figures['mae_pct']:.2f} %, RMS {figures['rms_pct']:.2f} %, max "
          f"{figures['max_pct']:.2f} % (stage maps {figures['stage_mae_pct']:.2f} %), coverage "
          f"{figures['coverage_90']:.1%}; gate {result.reason}")
    held = sorted((cases[i] for i in result.metadata["held_out_sessions"]),
                  key=lambda c: c.bike.index)
    held_out_figures(result.model, held)
    t = time.perf_counter()
    seeding_figures(result.model, sessions, held)
    print(f"time: seeding {time.perf_counter() - t:.1f} s; total "
          f"{time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
