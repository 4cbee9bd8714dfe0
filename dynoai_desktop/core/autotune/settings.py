"""Autotune's knobs and the names it reports (FORMATS.md §3), in one place."""

from __future__ import annotations

from dataclasses import dataclass

REJECT_REASONS: tuple[str, ...] = (
    "warmup", "invalid_afr", "closed_throttle", "transient", "dwell", "closed_loop")
"""Why a sample was not used, in the order the filters are tried (a sample counts once)."""

HELD_REASONS: tuple[str, ...] = (
    "too_few_samples", "ci_too_wide", "locked", "closed_loop", "clamped")
"""Why a cell's correction was held back (``clamped``: applied, but limited)."""

CYLINDERS: dict[str, str] = {"ve_front": "front", "ve_rear": "rear"}
"""VE table name -> the cylinder whose wideband and trims it is corrected from."""


@dataclass(frozen=True)
class AutotuneSettings:
    """How autotune filters, weighs and limits; the defaults are the command line's."""

    max_change_pct: float = 10.0
    """Authority: the most any cell moves in one invocation (all logs together)."""
    min_weight: float = 20.0
    """Least summed bilinear weight (a sample at a cell's centre counts 1) a cell needs."""
    max_ci95_pct: float = 2.0
    """Widest 95 % interval of a cell's correction that is still applied."""
    delay_ms: float | None = None
    """Wideband delay given by the user (all rpm); None: measured from the log, else default."""
    smooth: bool = True
    """Light smoothing among corrected cells (never across a strong step, never into empty
    cells)."""
    afr_min: float = 10.0
    afr_max: float = 19.5
    stuck_spread_afr: float = 0.05
    warmup_below_c: float = 60.0
    """Engine (head) temperature below which the engine is still warming up."""
    closed_throttle_below_pct: float = 2.0
    """A throttle under this is shut: decel or overrun, even at steady rpm."""
    tps_rate_pct_per_s: float = 15.0
    map_rate_kpa_per_s: float = 20.0
    smoothing_s: float = 0.1
    """Moving-average window on TPS and MAP before their rate of change is taken."""
    settle_s: float = 0.3
    """Samples this long after a transient are still rejected (fuel film, sensor settling)."""
    min_dwell_s: float = 0.5
    """A steady stretch shorter than this is rejected whole."""
    wot_tps_pct: float = 90.0
    wot_map_fraction_of_baro: float = 0.9
    seam_gap_s: float = 1.0
    """A gap in time_s longer than this is a seam: no filter, rate or delay crosses it."""
    smooth_step_pct: float = 2.0
    """Neighbours further apart than this are a real step: smoothing leaves it sharp."""
    sample_block_s: float = 0.2
    """Samples closer than this are not independent (for the 95 % interval)."""
