"""The decel-pop recommender judged on bikes it never saw: does its overlay stop the pops?

    .venv/bin/python benchmarks/decel_overlay.py [--dataset PATH | --decel-shop N] [--bikes 10]
        [--test-seed 2] [--steady-bikes N] [--short]

1. *Training*: ``ml.decel.train_decel`` on the shop history (``dynoai simulate-shop
   --export-dataset``), or with ``--decel-shop N`` on the decel part of the first N sessions of
   the simulated shop played here (``decel_shop.py``: the same decel test and hand fix, about a
   tenth of a session's time).
2. *Pops*: bikes of another shop seed (never trained on), each on a well-tuned map (its true VE
   tables, ``sim.shop.bike_true_ve``: what autotune converges to), run the built-in ``decel``
   plan; those that pop are kept until ``--bikes`` of them. The evidence is read from that run's
   logs by the training extractor (``ml.training.patterns.decel``, "pop" markers where the tuner
   heard them), the model recommends, the overlays are applied as the app applies them
   (``core.overlay.apply`` under the default authority limits), and the ``decel`` plan runs
   again with the same noise. Per build: pops before -> after, the cut, the enrichment and zone.
   Goal: the pops of all these builds together cut by >= 70 %.
3. *AFR outside the closed-throttle cells*: for the first ``--steady-bikes`` of them, steady
   holds at 1500-4500 rpm x 30-60 kPa on the tables before and after the overlay (same noise);
   the mean |AFR - target| of the held cells outside the overlay's mask. Goal: no rise beyond
   ``AFR_OUTSIDE_TOLERANCE``.

A measurement: exits 0 whether the goals pass or miss, 2 on bad input (no dataset, too little to
train on). ``--short`` proves the loop runs in about a minute: the decel model shipped as the
prior (trained on the 200-session history; training itself is tested in tests/ml), one popping
bike, with the steady holds on every other rpm and kPa of their grid.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from decel_shop import (  # noqa: E402
    DECEL_PLAN_DECELS,
    STEADY_KPA,
    STEADY_RPM,
    Pair,
    Trial,
    decel_shop,
    decel_trial,
    steady_afr_error,
)

from dynoai_desktop.core.build_spec import BuildSpec  # noqa: E402
from dynoai_desktop.core.errors import InputError  # noqa: E402
from dynoai_desktop.core.overlay import AuthorityLimits, apply  # noqa: E402
from dynoai_desktop.core.tune import Tune  # noqa: E402
from dynoai_desktop.ml import decel, errors  # noqa: E402
from dynoai_desktop.ml.decel import (  # noqa: E402
    DecelEvidence,
    DecelModel,
    DecelRecommendation,
)
from dynoai_desktop.ml.decel_train import train_decel  # noqa: E402
from dynoai_desktop.ml.errors import ModelError  # noqa: E402
from dynoai_desktop.ml.features import Air, build_group, cam_class  # noqa: E402
from dynoai_desktop.ml.registry import PRIORS_DIR, load_version, prior_version  # noqa: E402
from dynoai_desktop.ml.train import is_held_out  # noqa: E402
from dynoai_desktop.ml.training.dataset import load  # noqa: E402
from dynoai_desktop.sim.shop import ShopBike, bike_true_ve, draw_shop  # noqa: E402

DEFAULT_DATASET = Path("/tmp/shop200.json")
MAKE_DATASET = (".venv/bin/python -m dynoai_desktop simulate-shop --sessions 200 --seed 1 "
                "--jobs 2 --catalog /tmp/shop200 --export-dataset /tmp/shop200.json  (25 min)")
CUT_GOAL_PCT = 70.0
AFR_OUTSIDE_TOLERANCE = 0.02
"""AFR: the same noise gives the same readings where the tables did not change; this allows
for the little the ECM's interpolation carries from a changed cell into its neighbour's."""
BIKES = 10
MAX_SCANNED = 120
SHORT_BIKES = 1
SHORT_STEADY_BIKES = 1
SHORT_STEADY_GRID = (STEADY_RPM[::2], STEADY_KPA[::2])
"""--short's steady holds: every other rpm and kPa of the grid (proves the loop in a third of
the time)."""


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


@dataclass(frozen=True)
class Outcome:
    bike: ShopBike
    before: Trial
    after: Trial
    recommendation: DecelRecommendation
    applied_pct: float  # the largest enrichment applied, after the authority limit
    limited: int
    tables_before: Pair
    tables_after: Pair

    @property
    def cut_pct(self) -> float:
        return 100.0 * (1.0 - self.after.pops / self.before.pops)


def build_summary(build: BuildSpec) -> str:
    overlap = build.cam.overlap_deg
    cam = f"{cam_class(build)} cam" + (f" {overlap:g}° overlap" if overlap is not None else "")
    return (f"{build.engine_family.label} stage {build.stage}, {build.exhaust.value}, "
            f"{build.air_cleaner.value}, {cam}")


def evidence_of(trial: Trial) -> DecelEvidence:
    """What the trial's logs say, as the training records say it."""
    if trial.record is not None:
        return DecelEvidence.from_record(trial.record)
    return DecelEvidence(0.0, pops_heard_per_decel=trial.pops / DECEL_PLAN_DECELS)


def applied(tables: Pair, rec: DecelRecommendation) -> tuple[Pair, float, int]:
    """The tables with the overlays applied as the app does (default authority limits)."""
    tune = Tune({t.name: t for t in tables})
    limited, limits = 0, AuthorityLimits()
    for overlay in rec.overlays:
        tune, record = apply(tune, overlay, limits)
        limited += record.cells_limited
    out = (tune.table(tables[0].name), tune.table(tables[1].name))
    pct = max(float(np.max(a.values / b.values - 1.0)) * 100.0
              for a, b in zip(out, tables, strict=True))
    return out, pct, limited


def trial_bike(model: DecelModel, bike: ShopBike) -> Outcome | None:
    """The bike before and after the recommended overlay (None: it does not pop)."""
    tables = bike_true_ve(bike)
    before = decel_trial(bike, tables)
    if not before.pops:
        return None
    w = bike.weather
    rec = model.recommend(bike.build, Air(w.baro_kpa, w.ambient_temp_c), evidence_of(before),
                          *tables)
    after_tables, pct, limited = applied(tables, rec)
    after = decel_trial(bike, after_tables)
    return Outcome(bike, before, after, rec, pct, limited, tables, after_tables)


def pops_figures(outcomes: list[Outcome]) -> None:
    for o in outcomes:
        rec = o.recommendation
        held = " (held-out group)" if is_held_out(build_group(o.bike.build)) else ""
        limited = f", {o.limited} cells limited" if o.limited else ""
        print(f"  bike {o.bike.index + 1}: {build_summary(o.bike.build)}{held}: pops "
              f"{o.before.pops} -> {o.after.pops} (cut {o.cut_pct:.0f} %); +{rec.enrichment_pct:g} "
              f"% at {rec.zone_rpm[0]:g}-{rec.zone_rpm[1]:g} rpm x <={rec.zone_map_kpa[1]:g} kPa, "
              f"P {rec.probability:.2f}, applied +{o.applied_pct:.1f} %{limited}")
        print(f"      {rec.description}")
    before = sum(o.before.pops for o in outcomes)
    after = sum(o.after.pops for o in outcomes)
    total = 100.0 * (1.0 - after / before) if before else float("nan")
    median = float(np.median([o.cut_pct for o in outcomes])) if outcomes else float("nan")
    stopped = sum(1 for o in outcomes if o.after.pops == 0)
    enrich = [o.recommendation.enrichment_pct for o in outcomes]
    print(f"enrichment recommended: median {np.median(enrich):.1f} %, range "
          f"{min(enrich):g}-{max(enrich):g} %; pops stopped on {stopped} of {len(outcomes)} builds")
    print(f"decel pops cut on {len(outcomes)} popping builds never trained on: total {before} -> "
          f"{after} pops = {total:.1f} %, median per build {median:.1f} % (goal total >= "
          f"{CUT_GOAL_PCT:g} %: {verdict(total >= CUT_GOAL_PCT)})")


def masked_cells(o: Outcome) -> set[tuple[float, float]]:
    """(rpm, kPa) of the cells the overlays proposed."""
    table = o.tables_before[0]
    return {(float(table.row_breakpoints[i]), float(table.col_breakpoints[j]))
            for ov in o.recommendation.overlays for i, j in zip(*np.nonzero(ov.mask),
                                                                   strict=True)}


def afr_outside_figures(outcomes: list[Outcome],
                        steady_grid: tuple[tuple[float, ...], tuple[float, ...]]) -> None:
    outside_before, outside_after, inside_before, inside_after = [], [], [], []
    for o in outcomes:
        mask = masked_cells(o)
        before = steady_afr_error(o.bike, o.tables_before, *steady_grid)
        after = steady_afr_error(o.bike, o.tables_after, *steady_grid)
        cells = sorted(set(before) & set(after))
        out = [c for c in cells if c not in mask]
        ins = [c for c in cells if c in mask]
        outside_before += [before[c] for c in out]
        outside_after += [after[c] for c in out]
        inside_before += [before[c] for c in ins]
        inside_after += [after[c] for c in ins]
        print(f"  bike {o.bike.index + 1}: |AFR error| outside the overlay ({len(out)} held "
              f"cells) {np.mean([before[c] for c in out]):.3f} -> "
              f"{np.mean([after[c] for c in out]):.3f} AFR"
              + (f"; inside ({len(ins)} cells) {np.mean([before[c] for c in ins]):.3f} -> "
                 f"{np.mean([after[c] for c in ins]):.3f} AFR" if ins else ""))
    if not outside_before:
        print("AFR error outside the closed-throttle cells: no held cell (no bike asked for)")
        return
    b, a = float(np.mean(outside_before)), float(np.mean(outside_after))
    print(f"AFR error outside the closed-throttle cells ({len(outside_before)} held cells, "
          f"{len(outcomes)} bikes): before {b:.3f} AFR, after {a:.3f} AFR, change {a - b:+.3f} "
          f"(goal no rise beyond {AFR_OUTSIDE_TOLERANCE:g} AFR: "
          f"{verdict(a - b <= AFR_OUTSIDE_TOLERANCE)})")


def shipped_prior() -> DecelModel:
    """--short's model: the decel prior the app ships (ModelError when it is missing)."""
    version = prior_version(decel.KIND)
    if version is None:
        raise ModelError(errors.NO_MODEL, f"no {decel.KIND} prior under {PRIORS_DIR}; make it "
                         "with scripts/make_prior_models.py")
    print(f"the shipped prior {decel.KIND} model ({version.folder}): trained on "
          f"{len(version.metadata.get('training_sessions', []))} simulated sessions")
    return load_version(version)


def trained(args: argparse.Namespace) -> DecelModel:
    """The model trained on ``--decel-shop`` or ``--dataset`` (InputError/ModelError)."""
    started = time.perf_counter()
    if args.decel_shop:
        sessions = decel_shop(args.seed, args.decel_shop)
        print(f"decel shop: the decel tests of {len(sessions)} bikes of shop seed "
              f"{args.seed}, played here ({time.perf_counter() - started:.0f} s)")
    else:
        if not args.dataset.is_file():
            raise InputError(f"{args.dataset}: no such dataset; make it with\n  {MAKE_DATASET}\n"
                             "or train on a decel shop played here (--decel-shop 150)")
        sessions = load(args.dataset).sessions
        print(f"{args.dataset}: {len(sessions)} sessions")
    t = time.perf_counter()
    result = train_decel(sessions, source="benchmarks/decel_overlay.py")
    assert result.model is not None
    meta = result.metadata
    held, cv = meta["metrics"]["held_out"], meta["metrics"]["cv"]
    print(f"time: train_decel {time.perf_counter() - t:.1f} s ({len(meta['training_sessions'])} "
          f"sessions trained on, {cv['fix_rows']} fixes; {len(meta['held_out_sessions'])} held "
          f"out in {len(held['groups'])} groups)")
    print(f"  cross-validation Brier {cv['brier']:.3f} (no-skill {cv['no_skill_brier']:.3f}); "
          f"held-out Brier {held['brier']:.3f} (no-skill {held['no_skill_brier']:.3f}), "
          f"accuracy {held['accuracy']:.2f}; gate {result.reason}")
    return result.model  # type: ignore[return-value]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET,
                        help=f"a simulated shop history (default {DEFAULT_DATASET})")
    parser.add_argument("--decel-shop", type=int, default=None, metavar="N",
                        help="train on the decel part of N shop sessions played here instead")
    parser.add_argument("--bikes", type=int, default=None,
                        help=f"popping bikes to judge on (default {BIKES})")
    parser.add_argument("--steady-bikes", type=int, default=None, metavar="N",
                        help="of them, bikes whose AFR outside the overlay is measured "
                             "(default all)")
    parser.add_argument("--seed", type=int, default=1, help="the shop's seed (default 1)")
    parser.add_argument("--test-seed", type=int, default=2,
                        help="the seed of the shop the judged bikes come from (default 2)")
    parser.add_argument("--short", action="store_true",
                        help=f"the shipped prior decel model, {SHORT_BIKES} popping bike")
    args = parser.parse_args()
    n_bikes = args.bikes or (SHORT_BIKES if args.short else BIKES)
    n_steady = args.steady_bikes
    if n_steady is None:
        n_steady = SHORT_STEADY_BIKES if args.short else n_bikes
    started = time.perf_counter()
    try:
        model = shipped_prior() if args.short else trained(args)
    except (InputError, ModelError) as exc:
        print(exc, file=sys.stderr)
        return 2

    t = time.perf_counter()
    outcomes, scanned = [], 0
    for bike in draw_shop(args.test_seed, MAX_SCANNED):
        if len(outcomes) >= n_bikes:
            break
        scanned += 1
        outcome = trial_bike(model, bike)
        if outcome is not None:
            outcomes.append(outcome)
    print(f"bikes of shop seed {args.test_seed} on their true VE: {len(outcomes)} of {scanned} "
          f"popped on the decel plan ({time.perf_counter() - t:.0f} s)")
    if not outcomes:
        print("no popping bike found: nothing to judge")
        return 0
    pops_figures(outcomes)
    t = time.perf_counter()
    afr_outside_figures(outcomes[:n_steady], SHORT_STEADY_GRID if args.short else (
        STEADY_RPM, STEADY_KPA))
    print(f"time: steady holds {time.perf_counter() - t:.0f} s; total "
          f"{time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
