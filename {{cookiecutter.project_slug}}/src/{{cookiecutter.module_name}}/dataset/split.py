"""Seeded row splits, stratified on the class when the data allows it."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

from ..config import Params
from ..paths import TRAIN_DATA
from .sample import read_rows
from .schema import format_value

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
    held_out = held_out_rows(len(frame), share, purpose, share_key)
    labels = frame[target] if stratify else None
    if labels is not None:
        reason = unstratified_reason(labels.value_counts(), held_out, len(frame) - held_out)
        if reason:
            print(f"{purpose} split not stratified: {reason}")
            labels = None
    return train_test_split(frame, test_size=held_out, random_state=seed, stratify=labels)


def held_out_rows(rows: int, share: float, purpose: str, share_key: str) -> int:
    """Rows `share` holds out of `rows` (for `purpose`), rounded up as train_test_split does;
    too few on either side stops with one line."""
    held_out = math.ceil(share * rows)
    kept = rows - held_out
    if min(held_out, kept) < MIN_ROWS_PER_SIDE:
        raise SystemExit(
            f"too few rows to split: {rows} rows give {kept} to fit and {held_out} to "
            f"{purpose}; need {MIN_ROWS_PER_SIDE} on each side (add data or change {share_key})"
        )
    return held_out


def unstratified_reason(counts: pd.Series, held_out: int, kept: int) -> str:
    """Why rows with these class counts cannot be split keeping class proportions ("": they
    can): train_test_split refuses these cases, and a plain seeded split still works."""
    if counts.min() < 2:
        return f"class {format_value(counts.idxmin())} has a single row"
    if min(held_out, kept) < len(counts):
        return f"{len(counts)} classes do not fit in {min(held_out, kept)} rows"
    return ""


def read_train_split(root: Path, params: Params) -> pd.DataFrame:
    """The train split, or the sample of it split.train_rows asks for (read row group by row
    group, so a split bigger than memory still gives one that fits)."""
    stratify_on = params.data.target if params.stratify else None
    train = read_rows(root / TRAIN_DATA, params.split.train_rows, params.split.seed, stratify_on)
    if params.split.train_rows is not None and len(train) == params.split.train_rows:
        print(f"train split: a sample of {len(train)} rows (split.train_rows)")
    return train
