"""Two-sample drift statistics: thin glue over numpy and scipy.stats, fast on millions of rows.

Numeric columns: the Kolmogorov-Smirnov test (its p-value from scipy.stats) and, from the same
sorted pass, the Wasserstein distance divided by the reference's standard deviation: the effect
size that keeps a large sample from flagging a trivial shift. Categorical columns: the
chi-square test (scipy.stats.chi2_contingency) with the Jensen-Shannon distance as effect size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial.distance import jensenshannon

# Up to this many rows per side, scipy's own ks_2samp gives the p-value (exact when it can);
# above it, the asymptotic distribution scipy also uses (kstwo), from our one sorted pass.
SCIPY_KS_MAX_ROWS = 2000
CORRECTIONS = ("benjamini-hochberg", "bonferroni", "none")


@dataclass
class Drift:
    test: str  # "ks" | "chi2"
    statistic: float  # KS D, or the chi-square statistic
    p_value: float
    effect_name: str  # "wasserstein_norm" | "jensen_shannon"
    effect: float
    extra: dict[str, float]


def numeric_drift(reference: np.ndarray, current: np.ndarray) -> Drift:
    """KS D and p-value, plus the Wasserstein-1 distance in reference standard deviations.

    Both come from one merge of the two sorted samples: the running difference of the two
    empirical CDFs (in exact integer steps) gives D at its maximum and W1 as its integral.
    NaN must be removed first.
    """
    reference = np.asarray(reference, dtype=float)
    current = np.asarray(current, dtype=float)
    n, m = len(reference), len(current)
    merged = np.concatenate([np.sort(reference), np.sort(current)])
    order = np.argsort(merged, kind="stable")  # merges two sorted runs: linear time
    # (F_ref - F_cur) * n * m after each value: steps of m and -n, whole numbers in floats
    # (exact below 2**53), computed in place to keep memory at a few copies of one column.
    cdf_gap = np.where(order < n, float(m), float(-n))
    values = merged[order]
    del merged, order
    np.cumsum(cdf_gap, out=cdf_gap)
    np.abs(cdf_gap, out=cdf_gap)
    last_of_ties = np.empty(len(values), dtype=bool)  # the CDFs are compared after ties
    np.not_equal(values[1:], values[:-1], out=last_of_ties[:-1])
    last_of_ties[-1] = True
    scale = float(n) * float(m)
    d = float(np.max(cdf_gap, where=last_of_ties, initial=0.0)) / scale
    del last_of_ties
    # Values near the float limit (a client may send 1e308) overflow their differences: scale
    # them down by a power of two, exact, and back up at the end (inf when it is that large).
    exponent = max(int(np.frexp(max(abs(values[0]), abs(values[-1])))[1]) - 960, 0)
    steps = np.diff(np.ldexp(values, -exponent) if exponent else values)
    wasserstein = float(np.ldexp(float(np.dot(cdf_gap[:-1], steps)) / scale, exponent))
    del steps
    if max(n, m) <= SCIPY_KS_MAX_ROWS:
        p_value = float(stats.ks_2samp(reference, current).pvalue)
    else:
        p_value = float(stats.kstwo.sf(d, round(n * m / (n + m))))
    spread = float(np.std(reference))
    normalised = wasserstein / spread if spread > 0 else (0.0 if wasserstein == 0 else np.inf)
    return Drift(
        "ks",
        d,
        min(max(p_value, 0.0), 1.0),
        "wasserstein_norm",
        normalised,
        {"wasserstein": wasserstein, "reference_std": spread},
    )


def category_counts(values: pd.Series) -> pd.Series:
    """Counts per category (missing values left out), keyed by the value as text."""
    counts = values.value_counts(dropna=True, sort=False)  # no text copy of the column
    counts.index = counts.index.map(str)
    return counts.groupby(level=0).sum()


def categorical_drift(reference: pd.Series, current: pd.Series) -> Drift:
    """Chi-square test of the two category tables, Jensen-Shannon distance (base 2, 0..1) and
    the population stability index of the shares."""
    return counts_drift(category_counts(reference), category_counts(current))


def counts_drift(reference: pd.Series, current: pd.Series) -> Drift:
    table = pd.concat([reference, current], axis=1, keys=["reference", "current"]).fillna(0)
    counts = table.to_numpy(dtype=float).T
    shares = counts / counts.sum(axis=1, keepdims=True)
    if counts.shape[1] < 2:  # a single category on both sides: nothing can have moved
        return Drift("chi2", 0.0, 1.0, "jensen_shannon", 0.0, {"psi": 0.0})
    chi2 = stats.chi2_contingency(counts, correction=False)
    distance = float(jensenshannon(shares[0], shares[1], base=2))
    return Drift(
        "chi2",
        float(chi2.statistic),
        float(chi2.pvalue),
        "jensen_shannon",
        distance,
        {"psi": psi(shares[0], shares[1])},
    )


def psi(reference_shares: np.ndarray, current_shares: np.ndarray, floor: float = 1e-4) -> float:
    """Population stability index; empty cells get a small floor share (log of 0 otherwise)."""
    p = np.clip(reference_shares, floor, None)
    q = np.clip(current_shares, floor, None)
    return float(np.sum((q - p) * np.log(q / p)))


def decile_edges(reference: np.ndarray) -> np.ndarray:
    """The inner edges of ten bins of equal reference share (fewer when values repeat)."""
    return np.unique(np.quantile(reference, np.linspace(0.1, 0.9, 9)))


def binned(values: np.ndarray, edges: np.ndarray) -> pd.Series:
    """Counts of `values` per bin: bin k holds values from edges[k-1] up to edges[k]."""
    where = np.searchsorted(edges, np.asarray(values, dtype=float), side="right")
    return pd.Series(np.bincount(where, minlength=len(edges) + 1))


def divergence(reference: pd.Series, current: pd.Series) -> Drift:
    """Kullback-Leibler divergence (nats) of the current shares from the reference's, and the
    G-test of the two count tables (scipy's chi2_contingency with the log-likelihood ratio: the
    reference is a sample too, so a small one does not pass for the truth). The reference
    shares get half a count per bin: a class the reference never had would make the divergence
    infinite."""
    table = pd.concat([reference, current], axis=1, keys=["reference", "current"]).fillna(0)
    counts = table.to_numpy(dtype=float).T
    counts = counts[:, counts.sum(axis=0) > 0]
    bins, rows = counts.shape[1], counts[1].sum()
    if bins < 2 or rows == 0 or counts[0].sum() == 0:
        return Drift("g_test", 0.0, 1.0, "kl_divergence", 0.0, {"bins": bins})
    expected = (counts[0] + 0.5) / (counts[0].sum() + 0.5 * bins)
    kl = float(stats.entropy(counts[1] / rows, expected))
    g = stats.chi2_contingency(counts, correction=False, lambda_="log-likelihood")
    return Drift("g_test", float(g.statistic), float(g.pvalue), "kl_divergence", kl, {"bins": bins})


def adjust(p_values: list[float], method: str) -> list[float]:
    """p-values corrected for testing many columns at once (compare them with alpha)."""
    if not p_values or method == "none":
        return list(p_values)
    values = np.asarray(p_values, dtype=float)
    if method == "bonferroni":
        return list(np.minimum(values * len(values), 1.0))
    if method == "benjamini-hochberg":
        return list(stats.false_discovery_control(values, method="bh"))
    raise ValueError(f"unknown correction {method!r}; use one of {', '.join(CORRECTIONS)}")
