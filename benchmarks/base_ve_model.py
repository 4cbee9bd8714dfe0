"""The base-VE predictor judged against the true VE of bikes it never saw (issue 19).

    .venv/bin/python benchmarks/base_ve_model.py [--dataset PATH] [--closed-loop-bikes N]
        [--seed 1] [--short]

The dataset is a simulated shop history (``dynoai simulate-shop --export-dataset``): session
"session:i" is bike i - 1 of ``sim.shop.draw_shop(seed, n)``, so each session's true VE is
known (``sim.shop.bike_true_ve``). Every figure is |VE / true VE - 1| in % (``ve_error_pct``)
over ``TUNED_ZONE``, front and rear cells pooled, mean over cells and bikes:

1. *held-out*: ``ml.train.train_base_ve`` trains on the dataset, leaving out its fixed held-out
   build groups (family / cam class); on those bikes the prediction against the shipped stage
   map of the bike's family and stage (goal: <= 3 % and the stage map's error >= 2x the
   model's). The *oracle floor* is the nominal engine of each bike's exact build (no bike
   scatter, sim/scatter.py): the best any build-only predictor can do. A 5-fold grouped variant
   holds out every group once (the same estimators, no conformal widening: MAE only).
2. *closed loop*: on the virtual cell (``commands.shop_session.autotune_versions``, the shop
   session's own rounds), the predicted map + 1 autotune round against the stage map + 2
   rounds, for the first N held-out bikes (goal: predicted + 1 closer to the truth).
3. *coverage*: the share of held-out cells whose true VE lies in the stated 90 % interval
   (goal 80-95 %).

A measurement: exits 0 whether the goals pass or miss, 2 on bad input (no dataset, a dataset
that is not the seed's shop history, too little to train on).

``--short`` proves the script runs in about 20 s: a *perfect shop* of 40 bikes (sessions
that start on the stage map and end on the true VE in the tuned zone, made here, no cell
runs), the grouped cross-validation in 2 folds, one closed-loop bike with short rounds.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.model_selection import GroupKFold

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dynoai_desktop.commands.shop_played import (  # noqa: E402
    SHORT_PROFILE,
    PlayedVersion,
    SessionProfile,
)
from dynoai_desktop.commands.shop_session import autotune_versions  # noqa: E402
from dynoai_desktop.core.build_spec import BuildSpec  # noqa: E402
from dynoai_desktop.core.errors import InputError  # noqa: E402
from dynoai_desktop.core.table import Table  # noqa: E402
from dynoai_desktop.ml.base_ve import BaseVeModel, samples_from_sessions  # noqa: E402
from dynoai_desktop.ml.cell_model import fit_estimators, learned_cells  # noqa: E402
from dynoai_desktop.ml.errors import ModelError  # noqa: E402
from dynoai_desktop.ml.features import build_group, session_air  # noqa: E402
from dynoai_desktop.ml.train import train_base_ve  # noqa: E402
from dynoai_desktop.ml.training.dataset import load  # noqa: E402
from dynoai_desktop.ml.training.records import (  # noqa: E402
    Environment,
    Outcome,
    Patterns,
    TableRecord,
    TuningSession,
)
from dynoai_desktop.sim.ecm_tables import true_ve_table  # noqa: E402
from dynoai_desktop.sim.engine import FRONT, REAR, EngineModel  # noqa: E402
from dynoai_desktop.sim.presets import preset_for_build  # noqa: E402
from dynoai_desktop.sim.shop import (  # noqa: E402
    TUNED_ZONE,
    ShopBike,
    bike_true_ve,
    draw_shop,
    ve_error_pct,
)
from dynoai_desktop.storage.resources import base_map_tables  # noqa: E402

DEFAULT_DATASET = Path("/tmp/shop200.json")
MAKE_DATASET = (".venv/bin/python -m dynoai_desktop simulate-shop --sessions 200 --seed 1 "
                "--jobs 2 --catalog /tmp/shop200 --export-dataset /tmp/shop200.json  (25 min)")
MAE_GOAL_PCT = 3.0
RATIO_GOAL = 2.0
COVERAGE_GOAL = (0.80, 0.95)
CLOSED_LOOP_BIKES = 8
CV_FOLDS = 5
SHORT_CV_FOLDS = 2  # --short proves the loop, not its figure
SHORT_SESSIONS = 40
SHORT_CLOSED_LOOP_BIKES = 1

ROUND_NOTE = re.compile(r"autotune round (\d+)\b")
Pair = tuple[Table, Table]  # (front, rear)


@dataclass(frozen=True)
class Case:
    """One session's bike with what it is scored against."""

    session: TuningSession
    bike: ShopBike
    build: BuildSpec
    stage_maps: Pair  # the shipped generic map of its family and stage
    truth: Pair  # bike_true_ve

    @property
    def label(self) -> str:
        return (f"{self.session.session_id} {self.build.engine_family.value} stage "
                f"{self.build.stage} ({build_group(self.build)})")


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def errors_pct(tables: Pair, truth: Pair) -> np.ndarray:
    """|table / truth - 1| in % over TUNED_ZONE, front and rear cells together."""
    return np.concatenate([ve_error_pct(t, v, TUNED_ZONE) for t, v in zip(tables, truth,
                                                                            strict=True)])


def mae_pct(pairs: list[tuple[Pair, Pair]]) -> float:
    """Mean over the cells of every (tables, truth) pair."""
    return float(np.mean(np.concatenate([errors_pct(t, v) for t, v in pairs])))


def nominal_ve(case: Case) -> Pair:
    """The true VE of the bike's exact build with no bike scatter, at the day's air: what a
    perfect build-only predictor would say (the oracle floor)."""
    engine = EngineModel(preset_for_build(case.build, "nominal"), case.bike.weather.baro_kpa,
                         bike_seed=None)
    return true_ve_table(engine, FRONT), true_ve_table(engine, REAR)


def zone_cells(truth: Table) -> np.ndarray:
    rpm, kpa = np.meshgrid(truth.row_breakpoints, truth.col_breakpoints, indexing="ij")
    (r0, r1), (k0, k1) = TUNED_ZONE
    return (rpm >= r0) & (rpm <= r1) & (kpa >= k0) & (kpa <= k1)


# ------------------------------------------------------------------ the data
def _record(table: Table) -> TableRecord:
    return TableRecord(table.col_axis, table.row_breakpoints.tolist(),
                       table.col_breakpoints.tolist(), table.values.tolist())


def perfect_shop(seed: int, count: int) -> list[TuningSession]:
    """Sessions of the first ``count`` bikes of the shop that start on their stage maps and end
    on their true VE inside TUNED_ZONE (the stage map elsewhere): --short's training data."""
    out = []
    for bike in draw_shop(seed, count):
        maps = base_map_tables(bike.build.engine_family.value, bike.build.stage)
        after = [m.with_values(np.where(zone_cells(t), np.round(t.values, 2), m.values))
                 for m, t in zip(maps, bike_true_ve(bike), strict=True)]
        w = bike.weather
        out.append(TuningSession(
            f"session:{bike.index + 1}", True, bike.vehicle, bike.build.to_dict(),
            Environment(w.ambient_temp_c, w.baro_kpa, w.humidity_pct), [], 0.0,
            {"ve_front": _record(maps[0]), "ve_rear": _record(maps[1])},
            {"ve_front": _record(after[0]), "ve_rear": _record(after[1])},
            Outcome(cells_corrected=0, autotune_rounds=0, converged=True), Patterns(),
            {}, bike.started_at.isoformat()))
    return out


def shop_cases(sessions: list[TuningSession], seed: int) -> dict[str, Case]:
    """Each session with its bike of the shop (InputError when a session is not the seed's)."""
    indices = {}
    for s in sessions:
        prefix, _, number = s.session_id.partition(":")
        if prefix != "session" or not number.isdigit() or int(number) < 1:
            raise InputError(f"session id {s.session_id!r}: not a simulated shop's "
                             "'session:<i>'; give a dataset made by simulate-shop")
        indices[s.session_id] = int(number) - 1
    bikes = draw_shop(seed, max(indices.values(), default=-1) + 1)
    cases = {}
    for s in sessions:
        bike = bikes[indices[s.session_id]]
        build = BuildSpec.from_dict(s.build, f"session {s.session_id}")
        if build != bike.build:
            raise InputError(f"{s.session_id}: its build is not bike {bike.index + 1} of the "
                             f"shop with seed {seed}; give the seed it was made with (--seed)")
        maps = base_map_tables(build.engine_family.value, build.stage)
        cases[s.session_id] = Case(s, bike, build, maps, bike_true_ve(bike))
    return cases


def predict(model: BaseVeModel, case: Case) -> tuple[Pair, list[tuple[np.ndarray, ...]]]:
    """The predicted tables and, per cylinder, (lower, upper, learned) of the interval."""
    prediction = model.predict(case.build, session_air(case.session), *case.stage_maps)
    cyls = (prediction.front, prediction.rear)
    return (cyls[0].table, cyls[1].table), [(c.lower, c.upper, c.learned) for c in cyls]


# ------------------------------------------------------------------ figures 1 and 3
def held_out_figures(model: BaseVeModel, cases: list[Case]) -> None:
    model_pairs, stage_pairs, oracle_pairs = [], [], []
    inside = within = missing = 0
    for case in cases:
        tables, intervals = predict(model, case)
        model_pairs.append((tables, case.truth))
        stage_pairs.append((case.stage_maps, case.truth))
        oracle_pairs.append((nominal_ve(case), case.truth))
        for (lower, upper, learned), truth in zip(intervals, case.truth, strict=True):
            zone = zone_cells(truth)
            true = truth.values[zone & learned]
            within += int(np.sum((true >= lower[zone & learned]) & (true <= upper[zone & learned])))
            inside += true.size
            missing += int(np.sum(zone & ~learned))
    model_mae, stage_mae = mae_pct(model_pairs), mae_pct(stage_pairs)
    ratio = stage_mae / model_mae
    ok = model_mae <= MAE_GOAL_PCT and ratio >= RATIO_GOAL
    print(f"held-out MAE vs true VE ({len(cases)} bikes): model {model_mae:.2f} %, stage map "
          f"{stage_mae:.2f} %, ratio {ratio:.2f} (goal <= {MAE_GOAL_PCT:g} % and >= "
          f"{RATIO_GOAL:g}x: {verdict(ok)})")
    print(f"  oracle floor (each bike's exact build, nominal engine, no bike scatter): "
          f"{mae_pct(oracle_pairs):.2f} %")
    coverage = within / inside if inside else float("nan")
    lo, hi = COVERAGE_GOAL
    print(f"held-out 90 % interval coverage of the true VE: {coverage:.1%} of {inside} cells "
          f"(goal {lo:.0%}-{hi:.0%}: {verdict(lo <= coverage <= hi)})"
          + (f"; {missing} zone cells without an interval (not learned)" if missing else ""))


def grouped_cv(sessions: list[TuningSession], cases: dict[str, Case],
               n_folds: int = CV_FOLDS) -> None:
    """Every build group held out once (GroupKFold): MAE of the fold's model on its groups."""
    samples = samples_from_sessions(sessions)
    usable = [cases[i] for i in samples.session_ids]
    groups = np.array([build_group(c.build) for c in usable])
    folds = GroupKFold(n_splits=min(n_folds, len(set(groups.tolist()))))
    model_pairs, stage_pairs, oracle_pairs = [], [], []
    for train_idx, test_idx in folds.split(groups, groups=groups):
        train_ids = [usable[i].session.session_id for i in train_idx]
        fold = samples.subset(np.isin(samples.sessions, train_ids))
        estimators = fit_estimators(fold.X, fold.y)
        assert estimators is not None
        model = BaseVeModel(estimators, 0.0, tuple(learned_cells(fold)))
        for i in test_idx:
            case = usable[i]
            model_pairs.append((predict(model, case)[0], case.truth))
            stage_pairs.append((case.stage_maps, case.truth))
            oracle_pairs.append((nominal_ve(case), case.truth))
    model_mae, stage_mae = mae_pct(model_pairs), mae_pct(stage_pairs)
    ratio = stage_mae / model_mae
    ok = model_mae <= MAE_GOAL_PCT and ratio >= RATIO_GOAL
    print(f"{folds.n_splits}-fold grouped MAE vs true VE ({len(usable)} bikes, "
          f"{len(set(groups.tolist()))} groups): model {model_mae:.2f} %, stage map "
          f"{stage_mae:.2f} %, ratio {ratio:.2f}, oracle floor {mae_pct(oracle_pairs):.2f} % "
          f"(goal <= {MAE_GOAL_PCT:g} % and >= {RATIO_GOAL:g}x: {verdict(ok)})")


# ------------------------------------------------------------------ figure 2
def _after_round(versions: tuple[PlayedVersion, ...], k: int) -> Pair:
    """The tables after round ``k``: the last version made by round ``k`` or before (a round
    that changed no cell made none; the notes say "autotune round <k>: ...")."""
    rounds = [ROUND_NOTE.match(v.note) for v in versions[1:]]
    made = [v for v, m in zip(versions[1:], rounds, strict=True) if m and int(m[1]) <= k]
    last = made[-1] if made else versions[0]
    return last.ve_front, last.ve_rear


def closed_loop(model: BaseVeModel, cases: list[Case], profile: SessionProfile | None) -> None:
    rows = []
    for case in cases:
        predicted = predict(model, case)[0]
        ours = autotune_versions(case.bike, predicted, 1, profile)
        theirs = autotune_versions(case.bike, case.stage_maps, 2, profile)
        figures = [float(np.mean(errors_pct(t, case.truth))) for t in (
            predicted, _after_round(ours, 1), case.stage_maps, _after_round(theirs, 1),
            _after_round(theirs, 2))]
        rows.append(figures)
        print(f"  {case.label}: predicted {figures[0]:.2f} % -> 1 round {figures[1]:.2f} %; "
              f"stage map {figures[2]:.2f} % -> 1 round {figures[3]:.2f} % -> 2 rounds "
              f"{figures[4]:.2f} %")
    if not rows:
        print("closed loop: no held-out bikes asked for (--closed-loop-bikes 0)")
        return
    mean = np.mean(np.array(rows), axis=0)
    print(f"closed loop vs true VE ({len(rows)} held-out bikes): predicted + 1 round "
          f"{mean[1]:.2f} %, stage map + 2 rounds {mean[4]:.2f} % (stage map + 1 round "
          f"{mean[3]:.2f} %) (goal predicted + 1 < stage + 2: {verdict(mean[1] < mean[4])})")


# ------------------------------------------------------------------ the script
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET,
                        help=f"a simulated shop history (default {DEFAULT_DATASET})")
    parser.add_argument("--closed-loop-bikes", type=int, default=None, metavar="N",
                        help=f"held-out bikes tuned on the cell (default {CLOSED_LOOP_BIKES})")
    parser.add_argument("--seed", type=int, default=1, help="the shop's seed (default 1)")
    parser.add_argument("--short", action="store_true",
                        help=f"a perfect shop of {SHORT_SESSIONS} bikes made here, short rounds")
    args = parser.parse_args()
    n_closed = args.closed_loop_bikes
    if n_closed is None:
        n_closed = SHORT_CLOSED_LOOP_BIKES if args.short else CLOSED_LOOP_BIKES
    if n_closed < 0:
        print("--closed-loop-bikes: give 0 or more", file=sys.stderr)
        return 2
    started = time.perf_counter()
    try:
        if args.short:
            sessions = perfect_shop(args.seed, SHORT_SESSIONS)
            print(f"--short: a perfect shop of {len(sessions)} bikes (seed {args.seed}): "
                  "stage map -> true VE in the tuned zone")
        else:
            if not args.dataset.is_file():
                print(f"{args.dataset}: no such dataset; make it with\n  {MAKE_DATASET}",
                      file=sys.stderr)
                return 2
            sessions = load(args.dataset).sessions
            print(f"{args.dataset}: {len(sessions)} sessions (shop seed {args.seed})")
        cases = shop_cases(sessions, args.seed)
        t = time.perf_counter()
        print(f"time: data and true VE {t - started:.1f} s")
        result = train_base_ve(sessions, source="benchmarks/base_ve_model.py")
    except (InputError, ModelError) as exc:
        print(exc, file=sys.stderr)
        return 2
    assert result.model is not None
    model = result.model
    held = [cases[i] for i in result.metadata["held_out_sessions"]]
    held.sort(key=lambda c: c.bike.index)
    figures = result.metadata["metrics"]["held_out"]
    print(f"time: train_base_ve {time.perf_counter() - t:.1f} s "
          f"({len(result.metadata['training_sessions'])} sessions trained on, {len(held)} "
          f"held out in {len(figures['groups'])} groups: {', '.join(figures['groups'])})")
    print(f"  train_base_ve's own held-out figures (vs the sessions' tuned VE): model "
          f"{figures['mae_pct']:.2f} %, stage maps {figures['stage_mae_pct']:.2f} %, "
          f"coverage {figures['coverage_90']:.1%}; gate {result.reason}")

    t = time.perf_counter()
    held_out_figures(model, held)
    print(f"time: held-out predictions and scoring {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    n_folds = SHORT_CV_FOLDS if args.short else CV_FOLDS
    grouped_cv(sessions, cases, n_folds)
    print(f"time: {n_folds}-fold grouped {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    closed_loop(model, held[:n_closed], SHORT_PROFILE if args.short else None)
    print(f"time: closed loop {time.perf_counter() - t:.1f} s")
    print(f"time: total {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
