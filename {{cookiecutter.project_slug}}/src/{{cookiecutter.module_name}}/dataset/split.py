"""Seeded row splits, stratified on the class when the data allows it."""

from __future__ import annotations

import math

import pandas as pd
from sklearn.model_selection import train_test_split

from ..config import Params

MIN_ROWS_PER_SIDE = 5
# What each split holds out, and the params.yaml key of its share.
HELD_OUT = {"test": "test_size", "validate": "validation_size"}


def split_off(
    frame: pd.DataFrame, target: str, params: Params, purpose: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The split of params.yaml for `purpose` ("test": prepare, "validate": train's baseline
    check), stratified when params.stratify says so; the rest is returned first."""
    key = HELD_OUT[purpose]
    return split_rows(
        frame,
        target,
        getattr(params.split, key),
        seed=params.split.seed,
        stratify=params.stratify,
        purpose=purpose,
        share_key=f"split.{key}",
    )


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
