"""What an overlay is: per-cell changes proposed for one named table, and what made them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from dynoai_desktop.core.errors import InputError
from dynoai_desktop.core.tune import ChangeSource

FloatArray = npt.NDArray[np.float64]
BoolMask = npt.NDArray[np.bool_]


class OverlaySource(StrEnum):
    """What made an overlay."""

    AUTOTUNE = "autotune"
    PREDICTED_BASE_MAP = "predicted base map"
    DECEL_ENRICHMENT = "decel enrichment"
    CYLINDER_BALANCE = "cylinder balance"
    HEAT_SOAK = "heat soak"
    TIMING = "timing advice"
    MANUAL = "manual"

    @property
    def change_source(self) -> ChangeSource:
        """How a version made by this overlay is recorded in the tune's history."""
        if self is OverlaySource.MANUAL:
            return ChangeSource.MANUAL_EDIT
        return ChangeSource(self.value)  # the other names are shared with ChangeSource


# The only source whose per-cell evidence is a measurement (wideband against target): the one
# allowed to lean a WOT VE cell, and then no further than the measured rich error.
MEASURED_SOURCES = frozenset({OverlaySource.AUTOTUNE})


class OverlayKind(StrEnum):
    """How :attr:`Overlay.change` reads.

    ``multiplicative``: percent of the cell's value, +3.0 = × 1.03 (VE corrections, enrichment).
    ``absolute``: added in the table's units, -0.3 = 0.3 AFR richer, +1.5 = 1.5° more advance.
    """

    MULTIPLICATIVE = "multiplicative %"
    ABSOLUTE = "absolute"


def _array(name: str, what: str, raw: npt.ArrayLike, dtype: type) -> np.ndarray:
    try:
        arr = np.array(raw, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise InputError(f"overlay on {name!r}: its {what} is not {dtype.__name__} values "
                         f"({exc})") from None
    if arr.ndim != 2:
        raise InputError(f"overlay on {name!r}: its {what} must be rows x columns, got shape "
                         f"{arr.shape}")
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class Overlay:
    """Per-cell changes to table ``table``, proposed by ``source``.

    ``change``, ``mask`` and the optional arrays have the table's raw shape. Only cells where
    ``mask`` is true are proposed; each needs a finite change (elsewhere anything, NaN included).
    ``confidence`` (0–1) says how sure the source is of each cell. ``evidence`` is, per cell,
    the measured rich error in percent: how much richer than its target the mixture was
    measured, so the most the cell's VE may be lowered (NaN: not measured there).
    """

    table: str
    kind: OverlayKind
    change: FloatArray
    mask: BoolMask
    source: OverlaySource
    confidence: FloatArray | None = None
    evidence: FloatArray | None = None
    description: str = ""

    def __post_init__(self) -> None:
        name = self.table
        object.__setattr__(self, "kind", OverlayKind(self.kind))
        object.__setattr__(self, "source", OverlaySource(self.source))
        change = _array(name, "change", self.change, np.float64)
        mask = np.asarray(self.mask)
        if mask.dtype != np.bool_:
            raise InputError(f"overlay on {name!r}: its mask must be true/false per cell, got "
                             f"{mask.dtype} values")
        mask = _array(name, "mask", mask, bool)
        if mask.shape != change.shape:
            raise InputError(f"overlay on {name!r}: its mask has shape {mask.shape} but its "
                             f"change {change.shape}")
        bad = np.argwhere(mask & ~np.isfinite(change))
        if bad.size:
            r, c = (int(i) for i in bad[0])
            raise InputError(f"overlay on {name!r}: cell (row {r + 1}, column {c + 1}) is in the "
                             f"mask but its change is {change[r, c]}; leave it out of the mask")
        if self.kind is OverlayKind.MULTIPLICATIVE and (change[mask] <= -100.0).any():
            raise InputError(f"overlay on {name!r}: a change of -100 % or less would zero or "
                             "flip a cell; multiplicative changes are percent of the cell")
        object.__setattr__(self, "change", change)
        object.__setattr__(self, "mask", mask)
        for what in ("confidence", "evidence"):
            raw = getattr(self, what)
            if raw is None:
                continue
            arr = _array(name, what, raw, np.float64)
            if arr.shape != change.shape:
                raise InputError(f"overlay on {name!r}: its {what} has shape {arr.shape} but "
                                 f"its change {change.shape}")
            object.__setattr__(self, what, arr)
        if self.confidence is not None:
            conf = self.confidence[mask]
            if ((conf < 0) | (conf > 1)).any() or np.isnan(conf).any():
                raise InputError(f"overlay on {name!r}: confidence must be 0 to 1 in every "
                                 "cell of the mask")

    def proposed(self, before: FloatArray) -> FloatArray:
        """The value each masked cell would get, before any rule; NaN outside the mask."""
        if before.shape != self.change.shape:
            raise InputError(f"overlay on {self.table!r}: its cells have shape "
                             f"{self.change.shape} but the table {before.shape}")
        change = np.where(self.mask, self.change, 0.0)
        if self.kind is OverlayKind.MULTIPLICATIVE:
            out = before * (1.0 + change / 100.0)
        else:
            out = before + change
        return np.where(self.mask, out, np.nan)
