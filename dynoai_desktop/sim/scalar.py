"""``clamp`` for the simulation's per-step arithmetic.

On two floats the builtins ``min`` and ``max`` cost several times a plain comparison (their
argument handling), and the cell steps 500 times a simulated second. So its per-step code
clamps with ``clamp`` and writes a one-sided limit as a conditional expression, ``b if b > a
else a`` for ``max(a, b)``, in the form that keeps the builtin's result in every case (the
operand it returns on a tie, on NaN).
"""

from __future__ import annotations


def clamp(x: float, lo: float, hi: float) -> float:
    """``min(max(x, lo), hi)``, the same result in every case."""
    if lo > x:
        x = lo
    return hi if hi < x else x
