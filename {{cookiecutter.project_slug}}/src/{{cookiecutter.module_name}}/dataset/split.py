"""Seeded row splits, stratified on the class when the data allows it."""

from __future__ import annotations

import math

import pandas as pd
from sklearn.model_selection import train_test_split

MIN_ROWS_PER_SIDE = 5


def split_rows(
    frame: pd.DataFrame,
    target: str,
    share: float,
    *,
    seed: int,
    stratify: bool,
    purpose: str,
    share_key: str,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split off `share` of the rows (for `purpose`); the rest is returned first."""
    held_out = math.ceil(share * len(frame))  # how train_test_split rounds
    kept = len(frame) - held_out
    if min(held_out, kept) < MIN_ROWS_PER_SIDE:
        raise SystemExit(
            f"too few rows to split: {len(frame)} rows give {kept} to fit and {held_out} to "
            f"{purpose}; need {MIN_ROWS_PER_SIDE} on each side (add data or change {share_key})"
        )
    labels = frame[target] if stratify else None
    if labels is not None:
        counts = labels.value_counts()
        # train_test_split refuses to stratify in these cases; a plain seeded split still works.
        if counts.min() < 2:
            reason = f"class {counts.idxmin()!r} has a single row"
        elif min(held_out, kept) < len(counts):
            reason = f"{len(counts)} classes do not fit in {min(held_out, kept)} rows"
        else:
            reason = ""
        if reason:
            print(f"{purpose} split not stratified: {reason}")
            labels = None
    return train_test_split(frame, test_size=held_out, random_state=seed, stratify=labels)
