"""Kolmogorov-Smirnov and Wasserstein-1 of a batch too big for memory, in one pass.

The reference (the training split) is in memory; the batch is not. Both are reduced to the
same summary on a grid of reference values: per bin between two grid points, the count, the
values equal to its left point, and the sum of distances to it. Summaries of partitions add up.
From them the two empirical CDFs are known exactly at every grid point and just before it, and
their integrals over every bin too, so:

- with a grid of every distinct reference value (up to `compute.drift_grid` of them), the KS
  statistic is exact (the reference CDF is flat between its own values), and Wasserstein-1 is
  exact except on bins where the two CDFs cross, where it is bounded;
- with more distinct values, the grid is that many reference quantiles and both statistics
  come with an error bound (`ks_error_bound`, `wasserstein_error_bound` in the report).

The p-value is scipy's asymptotic Kolmogorov distribution (`scipy.stats.kstwo`), as
monitoring/drift.py uses for large samples. We sum bins ourselves because scipy has no
streaming two-sample test; the benchmark (benchmarks/scale_out.py) compares the result with the
in-memory statistics on the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from .drift import Drift


def make_grid(reference: np.ndarray, size: int) -> np.ndarray:
    """Every distinct reference value, or `size` quantiles (minimum and maximum included)."""
    distinct = np.unique(reference)
    if len(distinct) <= size:
        return distinct
    return np.unique(np.quantile(reference, np.linspace(0.0, 1.0, size), method="inverted_cdf"))


@dataclass
class Bins:
    """Bin k holds values in [grid[k-1], grid[k]) (bin 0 below grid[0], the last from the last
    grid point on): counts, values equal to the left point, summed distance to the left point
    (bin 0: to grid[0])."""

    counts: np.ndarray
    ties: np.ndarray
    distance: np.ndarray

    @classmethod
    def of(cls, values: np.ndarray, grid: np.ndarray) -> Bins:
        values = np.asarray(values, dtype=float)
        values = values[~np.isnan(values)]
        size = len(grid) + 1
        where = np.searchsorted(grid, values, side="right")
        left = grid[np.maximum(where - 1, 0)]
        distance = np.where(where == 0, grid[0] - values, values - left)
        tie = (where > 0) & (values == left)
        return cls(
            np.bincount(where, minlength=size),
            np.bincount(where[tie], minlength=size),
            np.bincount(where, weights=distance, minlength=size),
        )

    def __add__(self, other: Bins) -> Bins:
        return Bins(
            self.counts + other.counts, self.ties + other.ties, self.distance + other.distance
        )

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    def segments(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per open segment between grid points (plus the two tails): the CDF at its start,
        just before its end, and the integral of (hi - CDF) over it times the total."""
        n = self.total
        before = np.cumsum(self.counts)[:-1]  # values below grid[j]
        at = before + self.ties[1:]  # values up to grid[j]
        low = np.concatenate([[0.0], at / n])
        high = np.concatenate([before / n, [1.0]])
        # Within a segment the CDF climbs by one step per value: integral of (high - CDF) is
        # the summed distance of those values to the segment start, over n. Ties sit on the
        # start point (distance 0), bin 0 measures to grid[0] from below (its high is F(g0-)).
        return low, high, self.distance / n


def grid_drift(reference: Bins, current: Bins, grid: np.ndarray) -> Drift:
    """KS and normalised Wasserstein from the two summaries (see the module docstring)."""
    n, m = reference.total, current.total
    low_r, high_r, dist_r = reference.segments()
    low_c, high_c, dist_c = current.segments()
    ks = float(np.max(np.maximum(np.abs(low_r - low_c), np.abs(high_r - high_c))))
    ks_high = float(np.max(np.maximum(high_r - low_c, high_c - low_r)))
    width = np.concatenate([[0.0], np.diff(grid), [0.0]])
    # Integral of (F_ref - F_cur) over each inner segment: (high*width - dist) per side. The
    # tails have no width: there only one CDF moves, by the summed distances.
    signed = (high_r - high_c) * width - (dist_r - dist_c)
    signed[0] = dist_c[0] - dist_r[0]
    signed[-1] = dist_c[-1] - dist_r[-1]
    area = np.abs(signed)
    apart = (high_r <= low_c) | (high_c <= low_r)  # no crossing: the area is exact
    upper = np.where(apart, area, width * np.maximum(high_r - low_c, high_c - low_r))
    wasserstein = float(area.sum())
    bound = float(np.maximum(upper - area, 0.0).sum())
    p_value = float(stats.kstwo.sf(ks, round(n * m / (n + m)))) if n and m else 1.0
    return Drift(
        "ks",
        ks,
        min(max(p_value, 0.0), 1.0),
        "wasserstein_norm",
        float("nan"),  # set by the caller, which knows the reference's spread
        {
            "wasserstein": wasserstein,
            "ks_error_bound": max(ks_high - ks, 0.0),
            "wasserstein_error_bound": bound,
        },
    )
