"""Overlays: the rules no caller can bypass, as a tuner would notice them (issue 14)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.overlay import (
    AuthorityLimits,
    CellRule,
    Overlay,
    OverlayKind,
    OverlaySource,
    TableKind,
    apply,
    preview,
    table_kind,
)
from dynoai_desktop.core.table import Table
from dynoai_desktop.core.tune import (
    AFR_TARGET,
    SPARK_FRONT,
    VE_FRONT_MAP,
    VE_FRONT_TPS,
    ChangeSource,
    Tune,
)

RPM = [1000.0, 2000.0, 3000.0, 4000.0]
MAP_KPA = [20.0, 50.0, 80.0, 95.0, 100.0]  # the last two columns are WOT (>= 95 kPa)
TPS_PCT = [0.0, 50.0, 90.0, 100.0]  # the last two columns are WOT (>= 90 %)
LIMITS = AuthorityLimits()


def _table(name: str, units: str, values: np.ndarray, col_axis: str = "map_kpa") -> Table:
    cols = MAP_KPA if col_axis == "map_kpa" else TPS_PCT
    return Table(name, units, "rpm", col_axis, RPM, cols, values)


def _tune() -> Tune:
    ve = 40.0 + np.arange(20, dtype=float).reshape(4, 5) * 2.5  # 40 .. 87.5
    tables = [
        _table(VE_FRONT_MAP, "%", ve),
        _table(VE_FRONT_TPS, "%", ve[:, :4].copy(), "tps_pct"),
        _table(AFR_TARGET, "AFR", np.full((4, 5), 13.2)),
        _table(SPARK_FRONT, "Degrees", np.full((4, 5), 30.0)),
    ]
    return Tune({t.name: t for t in tables})


def _overlay(tune: Tune, name: str, change: float | np.ndarray,
             source: OverlaySource = OverlaySource.MANUAL,
             kind: OverlayKind = OverlayKind.MULTIPLICATIVE,
             mask: np.ndarray | None = None, **extra: object) -> Overlay:
    shape = tune.table(name).shape
    changes = np.broadcast_to(np.asarray(change, dtype=float), shape)
    return Overlay(name, kind, changes, np.ones(shape, bool) if mask is None else mask, source,
                   **extra)  # type: ignore[arg-type]


def _bits(values: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(values, dtype=np.float64).view(np.uint64)


# ---------------------------------------------------------------- authority


def test_a_correction_past_the_authority_limit_is_cut_to_it_and_says_so() -> None:
    tune = _tune()
    before = tune.table(VE_FRONT_MAP).values
    shown = preview(tune, _overlay(tune, VE_FRONT_MAP, 15.0), LIMITS)
    assert np.array_equal(shown.after, before * 1.10)  # exactly the limit, no rounding slack
    assert (shown.rules == CellRule.AUTHORITY).all()
    assert shown.why(1, 2) == "authority limit ±10 %"
    assert shown.counts == {CellRule.AUTHORITY: 20}
    assert shown.cells_changed == 20 and shown.cells_limited == 20
    assert shown.max_abs_change_pct == pytest.approx(10.0)
    assert shown.describe() == (f"manual overlay on {VE_FRONT_MAP}: 20 cells "
                                "(20 limited: 20 authority limit ±10 %)")


def test_a_change_of_exactly_the_limit_is_not_called_limited() -> None:
    tune = _tune()
    shown = preview(tune, _overlay(tune, VE_FRONT_MAP, 10.0), LIMITS)
    assert (shown.rules == CellRule.AS_PROPOSED).all() and shown.cells_limited == 0


def test_the_settings_limits_are_the_ones_applied() -> None:
    tune = _tune()
    tight = AuthorityLimits(max_ve_change_pct_per_run=4.0)
    new, record = apply(tune, _overlay(tune, VE_FRONT_MAP, -7.0), tight, when="t")
    before = tune.table(VE_FRONT_MAP).values
    assert np.array_equal(new.table(VE_FRONT_MAP).values[:, :3], before[:, :3] * 0.96)
    assert record.limits == tight and "authority ±4 % per application" in record.note


def test_afr_and_spark_take_absolute_changes_within_their_own_limits() -> None:
    tune = _tune()
    afr = preview(tune, _overlay(tune, AFR_TARGET, np.array([-0.3, -0.8, 0.2, 0.6, 0.0]),
                                 kind=OverlayKind.ABSOLUTE), LIMITS)
    assert np.allclose(afr.after[0], [12.9, 12.7, 13.4, 13.7, 13.2])
    assert afr.why(0, 1) == "authority limit ±0.5 AFR" and afr.why(0, 0) == ""
    spark = preview(tune, _overlay(tune, SPARK_FRONT, np.array([1.0, 3.0, -2.5, -1.0, 0.0]),
                                   kind=OverlayKind.ABSOLUTE), LIMITS)
    assert np.array_equal(spark.after[0], [31.0, 32.0, 28.0, 29.0, 30.0])
    assert spark.why(0, 2) == "authority limit ±2°"


def test_an_afr_table_in_lambda_gets_the_afr_limit_in_lambda() -> None:
    table = _table("afrTable1", "Lambda", np.full((4, 5), 0.90))
    tune = Tune({table.name: table})
    shown = preview(tune, _overlay(tune, "afrTable1", 0.1, kind=OverlayKind.ABSOLUTE), LIMITS)
    assert np.allclose(shown.after, 0.90 + 0.5 / 14.7)


def test_ve_never_goes_past_its_bounds_nor_is_pushed_back_by_them() -> None:
    values = np.full((4, 5), 60.0)
    values[0, 0], values[0, 1], values[0, 2] = 125.0, 135.0, 10.5
    tune = Tune({VE_FRONT_MAP: _table(VE_FRONT_MAP, "%", values)})
    mask = np.zeros((4, 5), bool)
    mask[0, :3] = True
    up = preview(tune, _overlay(tune, VE_FRONT_MAP, 8.0, mask=mask), LIMITS)
    assert up.after[0, 0] == 130.0 and up.why(0, 0) == "VE bound 130 %"
    assert up.after[0, 1] == 135.0 and up.rules[0, 1] == CellRule.VE_BOUND  # already past it
    down = preview(tune, _overlay(tune, VE_FRONT_MAP, -9.0, mask=mask), LIMITS)
    assert down.after[0, 1] == 135.0 * 0.91  # coming back inside is allowed
    assert down.after[0, 2] == 10.0 and down.why(0, 2) == "VE bound 10 %"


# ---------------------------------------------------------------- locks and knock


def test_locked_cells_are_never_moved_whatever_the_overlay_says() -> None:
    tune = _tune()
    lock = np.zeros((4, 5), bool)
    lock[1, 1:3] = True
    tune = tune.with_locked(VE_FRONT_MAP, lock)
    new, record = apply(tune, _overlay(tune, VE_FRONT_MAP, 5.0), LIMITS)
    after, before = new.table(VE_FRONT_MAP).values, tune.table(VE_FRONT_MAP).values
    assert np.array_equal(_bits(after[lock]), _bits(before[lock]))
    assert (after[~lock] > before[~lock]).all()
    assert record.cells_changed == 18 and record.counts == {CellRule.LOCKED: 2}
    assert record.undo_text == "manual overlay: 18 cells, 2 limited"
    assert new.locked == tune.locked  # the locks themselves stay


def test_spark_is_never_advanced_in_a_knock_prone_cell_but_may_be_retarded() -> None:
    tune = _tune()
    prone = np.zeros((4, 5), bool)
    prone[2, :] = True
    tune = tune.with_knock_prone(SPARK_FRONT, prone)
    advance = preview(tune, _overlay(tune, SPARK_FRONT, 1.5, kind=OverlayKind.ABSOLUTE), LIMITS)
    assert (advance.after[2] == 30.0).all() and (advance.after[~prone] == 31.5).all()
    assert advance.why(2, 0) == "knock-prone: no spark advance"
    assert advance.counts == {CellRule.KNOCK_PRONE: 5}
    retard = preview(tune, _overlay(tune, SPARK_FRONT, -1.5, kind=OverlayKind.ABSOLUTE), LIMITS)
    assert (retard.after == 28.5).all() and retard.cells_limited == 0


def test_knock_prone_cells_hold_spark_only_not_fuel() -> None:
    tune = _tune().with_knock_prone(VE_FRONT_MAP, np.ones((4, 5), bool))
    shown = preview(tune, _overlay(tune, VE_FRONT_MAP, 3.0), LIMITS)
    assert shown.cells_changed == 20


# ---------------------------------------------------------------- WOT lean guard


@pytest.mark.parametrize("source", [OverlaySource.MANUAL, OverlaySource.PREDICTED_BASE_MAP,
                                    OverlaySource.HEAT_SOAK])
def test_a_predicted_or_manual_overlay_never_leans_a_wot_cell(source: OverlaySource) -> None:
    tune = _tune()
    # Evidence on a source that did not measure anything counts for nothing.
    shown = preview(tune, _overlay(tune, VE_FRONT_MAP, -5.0, source,
                                   evidence=np.full((4, 5), 9.0)), LIMITS)
    before = tune.table(VE_FRONT_MAP).values
    assert np.array_equal(shown.after[:, 3:], before[:, 3:])  # 95 and 100 kPa
    assert (shown.rules[:, 3:] == CellRule.WOT_NO_EVIDENCE).all()
    assert shown.why(0, 4) == "WOT: only measured evidence may lean"
    assert np.array_equal(shown.after[:, :3], before[:, :3] * 0.95)  # part throttle leans


def test_a_wot_cell_may_always_be_richened() -> None:
    tune = _tune()
    shown = preview(tune, _overlay(tune, VE_FRONT_MAP, 4.0, OverlaySource.PREDICTED_BASE_MAP),
                    LIMITS)
    assert shown.cells_changed == 20 and shown.cells_limited == 0


def test_autotune_leans_a_wot_cell_no_further_than_the_measured_rich_error() -> None:
    tune = _tune()
    evidence = np.full((4, 5), np.nan)
    evidence[0, 3], evidence[1, 3], evidence[2, 3] = 2.1, 20.0, 0.0  # row 3: not measured
    shown = preview(tune, _overlay(tune, VE_FRONT_MAP, -5.0, OverlaySource.AUTOTUNE,
                                   evidence=evidence), LIMITS)
    before = tune.table(VE_FRONT_MAP).values
    assert shown.after[0, 3] == before[0, 3] * (1 - 0.021)
    assert shown.why(0, 3) == "WOT: limited to the measured rich error 2.1 %"
    assert shown.after[1, 3] == before[1, 3] * 0.95  # evidence for more: as proposed
    assert shown.rules[1, 3] == CellRule.AS_PROPOSED
    assert shown.after[2, 3] == before[2, 3] and shown.after[3, 3] == before[3, 3]
    assert shown.rules[3, 3] == CellRule.WOT_NO_EVIDENCE
    harder = preview(tune, _overlay(tune, VE_FRONT_MAP, -15.0, OverlaySource.AUTOTUNE,
                                    evidence=evidence), LIMITS)
    assert harder.after[1, 3] == before[1, 3] * 0.9 and harder.rules[1, 3] == CellRule.AUTHORITY


def test_autotune_without_evidence_never_leans_wot() -> None:
    tune = _tune()
    shown = preview(tune, _overlay(tune, VE_FRONT_MAP, -3.0, OverlaySource.AUTOTUNE), LIMITS)
    assert (shown.rules[:, 3:] == CellRule.WOT_NO_EVIDENCE).all()


def test_wot_on_a_tps_table_starts_at_90_percent_throttle() -> None:
    tune = _tune()
    shown = preview(tune, _overlay(tune, VE_FRONT_TPS, -3.0), LIMITS)
    assert (shown.rules[:, 2:] == CellRule.WOT_NO_EVIDENCE).all()
    assert (shown.rules[:, :2] == CellRule.AS_PROPOSED).all()
    later = preview(tune, _overlay(tune, VE_FRONT_TPS, -3.0), AuthorityLimits(wot_tps_pct=95.0))
    assert (later.rules[:, 2] == CellRule.AS_PROPOSED).all()


# ---------------------------------------------------------------- untouched cells, selection


def test_untouched_cells_keep_their_exact_bits_negative_zero_and_odd_floats_too() -> None:
    odd = np.array([[-0.0, 0.1 + 0.2, 5e-324, 1 / 3, -7.25],
                    [np.nextafter(30.0, 31.0), 1e-300, -0.0, 2.0 ** -40, 29.999999999999996],
                    [30.0, 30.0, 30.0, 30.0, 30.0],
                    [-0.0, 0.0, -1e-320, 12.5, 30.0]])
    table = _table(SPARK_FRONT, "Degrees", odd)
    tune = Tune({table.name: table})
    mask = np.zeros((4, 5), bool)
    mask[2, :] = True  # moved
    mask[3, :2] = True  # in the mask, but +0.0 moves nothing: -0.0 stays -0.0
    change = np.where(mask, 0.0, np.nan)
    change[2, :] = 1.0
    new, record = apply(tune, Overlay(SPARK_FRONT, OverlayKind.ABSOLUTE, change, mask,
                                      OverlaySource.MANUAL), LIMITS)
    after = new.table(SPARK_FRONT).values
    assert record.cells_changed == 5
    keep = np.ones((4, 5), bool)
    keep[2, :] = False
    assert np.array_equal(_bits(after[keep]), _bits(odd[keep]))
    assert np.signbit(after[3, 0]) and np.signbit(after[0, 0])


def test_only_the_selected_cells_are_applied() -> None:
    tune = _tune()
    overlay = _overlay(tune, VE_FRONT_MAP, 3.0, OverlaySource.AUTOTUNE,
                       confidence=np.full((4, 5), 0.8))
    chosen = np.zeros((4, 5), bool)
    chosen[0:2, 0:2] = True
    new, record = apply(tune, overlay, LIMITS, selection=chosen, when="2026-12-05T10:00:00")
    before, after = tune.table(VE_FRONT_MAP).values, new.table(VE_FRONT_MAP).values
    assert np.array_equal(after[chosen], before[chosen] * 1.03)
    assert np.array_equal(_bits(after[~chosen]), _bits(before[~chosen]))
    assert record.cells_proposed == 4 and record.cells_changed == 4
    assert record.when == "2026-12-05T10:00:00" and record.mean_confidence == pytest.approx(0.8)
    shown = preview(tune, overlay, LIMITS, selection=chosen)
    assert (shown.rules[~chosen] == CellRule.NOT_SELECTED).all()
    assert new.table(AFR_TARGET) is tune.table(AFR_TARGET)  # other tables: the same objects


def test_cells_outside_the_mask_are_not_proposed() -> None:
    tune = _tune()
    mask = np.zeros((4, 5), bool)
    mask[1, 1] = True
    change = np.full((4, 5), np.nan)  # outside the mask anything goes, NaN included
    change[1, 1] = 2.0
    shown = preview(tune, Overlay(VE_FRONT_MAP, OverlayKind.MULTIPLICATIVE, change, mask,
                                  OverlaySource.AUTOTUNE), LIMITS)
    assert shown.cells_changed == 1 and np.isnan(shown.proposed[0, 0])
    assert shown.why(0, 0) == "outside mask"


def test_an_overlay_that_changes_nothing_gives_back_the_same_tune() -> None:
    tune = _tune().with_locked(VE_FRONT_MAP, np.ones((4, 5), bool))
    new, record = apply(tune, _overlay(tune, VE_FRONT_MAP, 5.0), LIMITS)
    assert new is tune and record.cells_changed == 0 and record.cells_limited == 20


# ---------------------------------------------------------------- records, refusals


def test_the_record_names_source_table_limits_and_confidence() -> None:
    tune = _tune()
    overlay = _overlay(tune, VE_FRONT_MAP, 12.0, OverlaySource.AUTOTUNE,
                       confidence=np.full((4, 5), 0.5), description="3 pulls, 2026-12-05")
    _, record = apply(tune, overlay, LIMITS)
    assert record.made_by is ChangeSource.AUTOTUNE
    assert record.note.startswith(f"autotune overlay on {VE_FRONT_MAP}: 20 cells (20 limited: "
                                  "20 authority limit ±10 %); limits: authority ±10 % per "
                                  "application, VE 10–130 %, WOT from 95 kPa")
    assert record.note.endswith("mean confidence 0.50; 3 pulls, 2026-12-05")


def test_each_source_is_recorded_as_what_made_the_version() -> None:
    assert {s.change_source for s in OverlaySource} == {
        ChangeSource.AUTOTUNE, ChangeSource.PREDICTED_BASE_MAP, ChangeSource.DECEL_ENRICHMENT,
        ChangeSource.CYLINDER_BALANCE, ChangeSource.HEAT_SOAK, ChangeSource.TIMING,
        ChangeSource.MANUAL_EDIT}


def test_table_kinds_come_from_the_name() -> None:
    tune = _tune()
    assert [table_kind(tune.table(n)) for n in (VE_FRONT_MAP, VE_FRONT_TPS, AFR_TARGET,
                                                 SPARK_FRONT)] == \
        [TableKind.VE, TableKind.VE, TableKind.AFR, TableKind.SPARK]
    for name, kind in (("veTable", TableKind.VE), ("advTable1", TableKind.SPARK),
                       ("afrTable1", TableKind.AFR)):
        assert table_kind(_table(name, "", np.ones((4, 5)))) is kind
    for name in ("Vehicle Speed Limit", "Adaptive Knock Retard", ""):
        with pytest.raises(InputError, match="no authority limit covers it"):
            table_kind(_table(name, "Degrees", np.ones((4, 5))))


@pytest.mark.parametrize(("change", "mask", "extra", "match"), [
    (np.ones((4, 5)), np.ones((4, 4), bool), {}, "mask has shape"),
    (np.full((4, 5), np.nan), np.ones((4, 5), bool), {}, "in the mask but its change is nan"),
    (np.full((4, 5), -100.0), np.ones((4, 5), bool), {}, "-100 %"),
    (np.ones((4, 5)), np.ones((4, 5)), {}, "true/false per cell"),
    (np.ones((4, 5)), np.ones((4, 5), bool), {"confidence": np.full((4, 5), 1.5)}, "0 to 1"),
    (np.ones((4, 5)), np.ones((4, 5), bool), {"evidence": np.ones(5)}, "rows x columns"),
])
def test_a_malformed_overlay_is_refused_by_name(change: np.ndarray, mask: np.ndarray,
                                                 extra: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        Overlay(VE_FRONT_MAP, OverlayKind.MULTIPLICATIVE, change, mask, OverlaySource.AUTOTUNE,
                **extra)


def test_an_overlay_that_does_not_fit_its_table_or_tune_is_refused() -> None:
    tune = _tune()
    small = Overlay(VE_FRONT_MAP, OverlayKind.ABSOLUTE, np.ones((2, 2)), np.ones((2, 2), bool),
                    OverlaySource.MANUAL)
    with pytest.raises(InputError, match="shape"):
        preview(tune, small, LIMITS)
    with pytest.raises(InputError, match="has no table"):
        preview(Tune({}), _overlay(tune, VE_FRONT_MAP, 1.0), LIMITS)
    with pytest.raises(InputError, match="selection must be"):
        preview(tune, _overlay(tune, VE_FRONT_MAP, 1.0), LIMITS, selection=np.ones((4, 5)))


def test_limits_that_protect_nothing_are_refused() -> None:
    with pytest.raises(InputError, match="max_afr_change"):
        AuthorityLimits(max_afr_change=float("nan"))
    with pytest.raises(InputError, match="min_ve_pct 50 is above max_ve_pct 40"):
        AuthorityLimits(min_ve_pct=50.0, max_ve_pct=40.0)


# ---------------------------------------------------------------- whatever the overlay


_cells = hnp.arrays(np.float64, (4, 5), elements=st.floats(-60.0, 60.0))
_masks = hnp.arrays(np.bool_, (4, 5))


@settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(ve=hnp.arrays(np.float64, (4, 5), elements=st.floats(5.0, 140.0)), change=_cells,
       mask=_masks, locked=_masks, chosen=_masks, pct=st.floats(0.0, 25.0),
       source=st.sampled_from(OverlaySource), evidence=_cells)
def test_no_overlay_moves_a_cell_it_may_not_or_further_than_the_limit(
        ve: np.ndarray, change: np.ndarray, mask: np.ndarray, locked: np.ndarray,
        chosen: np.ndarray, pct: float, source: OverlaySource, evidence: np.ndarray) -> None:
    tune = Tune({VE_FRONT_MAP: _table(VE_FRONT_MAP, "%", ve)}).with_locked(VE_FRONT_MAP, locked)
    limits = AuthorityLimits(max_ve_change_pct_per_run=pct)
    overlay = Overlay(VE_FRONT_MAP, OverlayKind.MULTIPLICATIVE, change, mask, source,
                      evidence=evidence)
    new, record = apply(tune, overlay, limits, selection=chosen)
    after = new.table(VE_FRONT_MAP).values
    free = mask & chosen & ~locked
    assert np.array_equal(_bits(after[~free]), _bits(ve[~free]))
    ratio = after / ve
    assert (np.abs(ratio - 1.0) <= pct / 100.0 + 1e-12).all()
    moved = after != ve
    assert not (moved & (after > limits.max_ve_pct) & (after > ve)).any()
    assert not (moved & (after < limits.min_ve_pct) & (after < ve)).any()
    wot_leaned = (after < ve)[:, 3:]
    if source is not OverlaySource.AUTOTUNE:
        assert not wot_leaned.any()
    else:
        floor = ve * (1.0 - np.clip(evidence, 0.0, None) / 100.0)
        assert (after[:, 3:] >= floor[:, 3:]).all()
    assert record.cells_changed == int(moved.sum())


@settings(deadline=None, max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(spark=hnp.arrays(np.float64, (4, 5), elements=st.floats(-10.0, 45.0)),
       change=_cells, mask=_masks, prone=_masks, deg=st.floats(0.0, 5.0))
def test_no_overlay_advances_knock_prone_spark_or_moves_it_past_the_limit(
        spark: np.ndarray, change: np.ndarray, mask: np.ndarray, prone: np.ndarray,
        deg: float) -> None:
    table = _table(SPARK_FRONT, "Degrees", spark)
    tune = Tune({table.name: table}).with_knock_prone(SPARK_FRONT, prone)
    overlay = Overlay(SPARK_FRONT, OverlayKind.ABSOLUTE, change, mask, OverlaySource.AUTOTUNE)
    new, _ = apply(tune, overlay, AuthorityLimits(max_spark_advance_change_deg=deg))
    after = new.table(SPARK_FRONT).values
    assert np.array_equal(_bits(after[~mask]), _bits(spark[~mask]))
    assert (np.abs(after - spark) <= deg + 1e-9).all()
    assert not ((after > spark) & prone).any()
