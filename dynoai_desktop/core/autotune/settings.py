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
    """Widest 95 % interval of a cell's correction that is always applied; a wider one is
    still applied when it is at most half the correction (a cell surely far off)."""
    ci_fraction_of_correction: float = 0.5
    delay_ms: float | None = None
    """Wideband delay given by the user (all rpm); None: measured from the log, else default."""
    smooth: bool = True
    """Light smoothing among corrected cells (never across a strong step, never into empty
    cells)."""
    afr_min: float = 10.0
    afr_max: float = 19.5
    stuck_spread_afr: float = 0.05
    spike_pct: float = 10.0
    """A reading this much leaner than the richest in its own ``spike_block_s`` and the blocks
    either side is a lean spike (a misfire's unburnt oxygen), not a mixture: rejected as
    ``invalid_afr``."""
    spike_block_s: float = 0.25
    warmup_below_c: float = 60.0
    """Engine (head) temperature below which the engine is still warming up."""
    closed_throttle_below_pct: float = 2.0
    """A throttle under this is shut: decel or overrun, even at steady rpm."""
    driving_torque_ftlb: float = 2.0
    """On a shut throttle, a dyno torque averaging at least this over ``torque_window_s`` means
    the engine is driving the roller (a light-load hold on the idle air), not engine braking:
    those samples are fuelled normally and kept. Without a torque column a shut throttle is
    always decel or overrun."""
    torque_window_s: float = 1.0
    hold_rpm_rate_per_s: float = 100.0
    """...and the rpm held within this (over the same second): a decel is not a hold."""
    idle_max_rpm: float = 1200.0
    """A shut throttle at or below this rpm is idle: the ECM fuels it from the table (idle
    speed control, no decel fuelling), so it is kept like a hold. Engine braking happens
    above it."""
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
    fit_ridge: float = 0.02
    """How strongly the table fit ties a cell to its own samples' plain mean (× its weight):
    enough to steady a cell the samples only touch from afar, little beside a cell's own."""
    smooth_step_pct: float = 2.0
    """Neighbours further apart than this are a real step: smoothing leaves it sharp."""
    smooth_roughness_pct: float = 1.0
    """How much a cell's true correction may differ from its neighbours' (1 σ): smoothing
    shrinks a cell toward them only as far as its own interval is wider than this."""
    sample_block_s: float = 0.2
    """Samples closer than this are not independent (for the 95 % interval)."""
