"""How strongly two trace filters go together: normalized pointwise mutual information (NPMI).

From the 2x2 table of traces matching filter 1, filter 2, both or neither: NPMI is
``log(p12 / (p1 * p2)) / -log(p12)``, in [-1, 1]: 1 when the filters always match together,
0 when independent, -1 when they never do. The smoothed value adds 0.5 to every cell (Jeffreys
prior) so that small counts give a finite, less extreme estimate.
"""

from __future__ import annotations

import math

SMOOTHING = 0.5


def _npmi(n11: float, n10: float, n01: float, n00: float) -> float:
    n = n11 + n10 + n01 + n00
    p12, p1, p2 = n11 / n, (n11 + n10) / n, (n11 + n01) / n
    if p12 >= 1.0:
        return 1.0  # every trace matches both: perfect co-occurrence (and -log(1) would be 0)
    if p12 <= 0.0:
        return -1.0
    return max(-1.0, min(1.0, math.log(p12 / (p1 * p2)) / -math.log(p12)))


def npmi_from_counts(total: int, count1: int, count2: int, joint: int) -> tuple[float, float]:
    """(NPMI, smoothed NPMI); both NaN when a filter matches nothing or the table is empty."""
    if total <= 0 or count1 <= 0 or count2 <= 0:
        return math.nan, math.nan
    cells = (joint, count1 - joint, count2 - joint, total - count1 - count2 + joint)
    if min(cells) < 0:
        raise ValueError(f"inconsistent counts: total={total} count1={count1} count2={count2} joint={joint}")
    plain = -1.0 if joint == 0 else _npmi(*cells)
    smoothed = _npmi(*(c + SMOOTHING for c in cells))
    return plain, smoothed
