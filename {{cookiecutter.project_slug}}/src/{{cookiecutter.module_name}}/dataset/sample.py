"""Seeded random rows drawn from data held in pieces (Parquet row groups, Dask partitions)
without loading it whole: how many rows each piece gives is drawn first, from the pieces' row
counts alone, so reading them one at a time yields a uniform sample of the exact size asked.

Used by train (`split.train_rows`: fit on a sample of a training split bigger than memory) and by
the out-of-core prepare (the test split held out from every partition).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def stratum_shares(counts: np.ndarray, total: int, at_least_one: bool = False) -> np.ndarray:
    """Split `total` rows over strata (classes) in proportion to their `counts`, by largest
    remainder so the shares add up to `total` exactly. `at_least_one`: every stratum gives a row
    first, so a rare class is not sampled away (when `total` has room for every stratum)."""
    counts = np.asarray(counts, dtype=np.int64)
    total = int(min(total, counts.sum()))
    floor = np.minimum(counts, 1) if at_least_one and total >= np.count_nonzero(counts) else 0
    floor = np.zeros_like(counts) + floor
    left = total - int(floor.sum())
    room = counts - floor
    if left <= 0 or room.sum() == 0:
        return floor
    exact = room * (left / room.sum())
    shares = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - shares), kind="stable")
    shares[order[: left - int(shares.sum())]] += 1
    return floor + np.minimum(shares, room)


def allocate(counts: np.ndarray, shares: np.ndarray, seed: int) -> np.ndarray:
    """counts[piece, stratum] rows -> how many each piece gives per stratum, so that stratum s
    gives shares[s] rows in all, drawn uniformly at random (a multivariate hypergeometric draw:
    as if the rows were picked one by one from the whole data)."""
    counts = np.asarray(counts, dtype=np.int64)
    rng = np.random.default_rng(seed)
    taken = np.zeros_like(counts)
    for stratum, share in enumerate(shares):
        if share:
            taken[:, stratum] = rng.multivariate_hypergeometric(counts[:, stratum], int(share))
    return taken


def pick(labels: pd.Series | None, taken: dict, seed: int, rows: int) -> np.ndarray:
    """Positions (0..rows-1) of one piece's drawn rows: `taken[label]` rows of each label, chosen
    uniformly at random (labels None: as many rows as `taken` adds up to, of any label)."""
    rng = np.random.default_rng(seed)
    if labels is None:
        return np.sort(rng.choice(rows, size=int(sum(taken.values())), replace=False))
    codes = labels.to_numpy()
    chosen = [
        rng.choice(np.flatnonzero(codes == label), size=int(count), replace=False)
        for label, count in taken.items()
        if count
    ]
    return np.sort(np.concatenate(chosen)) if chosen else np.array([], dtype=np.int64)


def read_rows(path: Path, rows: int | None, seed: int, stratify_on: str | None) -> pd.DataFrame:
    """The Parquet file `path`, or a seeded sample of `rows` of its rows (in file order, their
    index kept) read one row group at a time, stratified on the column `stratify_on` (every
    class keeps at least one row)."""
    import pyarrow.parquet as pq

    file = pq.ParquetFile(path)
    if rows is None or rows >= file.metadata.num_rows:
        return pd.read_parquet(path)
    groups = range(file.num_row_groups)
    if stratify_on is None:
        counts = np.array([[file.metadata.row_group(g).num_rows] for g in groups])
        labels: list = [None]
    else:
        per_group = [
            file.read_row_group(g, columns=[stratify_on]).column(0).to_pandas() for g in groups
        ]
        labels = sorted(pd.concat(per_group).dropna().unique(), key=str)
        counts = np.array([[(found == label).sum() for label in labels] for found in per_group])
    taken = allocate(counts, stratum_shares(counts.sum(axis=0), rows, at_least_one=True), seed)
    parts = []
    for g in groups:
        if taken[g].sum() == 0:
            continue
        group = file.read_row_group(g, use_pandas_metadata=True).to_pandas()
        found = None if stratify_on is None else group[stratify_on]
        positions = pick(found, dict(zip(labels, taken[g], strict=True)), seed + 1 + g, len(group))
        parts.append(group.iloc[positions])
    return pd.concat(parts)
