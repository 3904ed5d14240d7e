"""Paired comparison of two models' errors on the same held-out rows: the ratio of their
RMSEs with a bootstrap interval (issue #23: "beyond noise" means a paired statistic).

Both models are scored on the *same* resampled rows in every resample, so what the two
share (hard glasses, noisy labels) cancels in the ratio. Rows that are not independent
(the viscosity points of one glass at several temperatures) are resampled as whole
groups: a cluster bootstrap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RatioInterval:
    """RMSE(a) / RMSE(b) on all rows, and its percentile bootstrap interval."""

    ratio: float
    low: float
    high: float
    level: float
    resamples: int
    groups: int

    def text(self) -> str:
        return f"{self.ratio:.2f} [{self.low:.2f}, {self.high:.2f}]"


def rmse_ratio_interval(
    y: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    groups: np.ndarray | None = None,
    resamples: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> RatioInterval:
    """RMSE of predictions ``a`` over that of ``b`` against ``y``, with a paired (cluster)
    percentile bootstrap interval at ``level``.

    Rows where any of the three is not finite are left out of both. ``groups`` (one label
    per row) makes the groups the unit that is resampled; by default every row is its own
    group. Each resample draws as many groups as there are, with replacement, and takes
    ``sqrt(sum SE_a / sum SE_b)`` over the rows of the drawn groups (with repeats)."""
    y, a, b = (np.asarray(v, dtype=float) for v in (y, a, b))
    if not (y.shape == a.shape == b.shape) or y.ndim != 1:
        raise ValueError("y, a and b must be 1-D arrays of the same length")
    keep = np.isfinite(y) & np.isfinite(a) & np.isfinite(b)
    se_a, se_b = (a[keep] - y[keep]) ** 2, (b[keep] - y[keep]) ** 2
    if len(se_a) == 0 or se_b.sum() == 0:
        raise ValueError("no rows to compare (or the reference model is exact)")
    labels = np.arange(len(se_a)) if groups is None else np.asarray(groups)[keep]
    _, group = np.unique(labels, return_inverse=True)
    n_groups = int(group.max()) + 1
    sum_a = np.bincount(group, weights=se_a, minlength=n_groups)
    sum_b = np.bincount(group, weights=se_b, minlength=n_groups)
    rng = np.random.default_rng(seed)
    ratios = np.empty(resamples)
    for start in range(0, resamples, 200):  # bounded memory: 200 x groups indices at a time
        stop = min(start + 200, resamples)
        draw = rng.integers(0, n_groups, size=(stop - start, n_groups))
        ratios[start:stop] = np.sqrt(sum_a[draw].sum(1) / sum_b[draw].sum(1))
    tail = (1 - level) / 2
    low, high = np.quantile(ratios, [tail, 1 - tail])
    return RatioInterval(
        ratio=float(np.sqrt(sum_a.sum() / sum_b.sum())),
        low=float(low),
        high=float(high),
        level=level,
        resamples=resamples,
        groups=n_groups,
    )
