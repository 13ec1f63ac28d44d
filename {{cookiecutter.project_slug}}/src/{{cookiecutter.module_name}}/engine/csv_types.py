"""The type pandas.read_csv gives a column, decided over every partition of a CSV read as text.

The Dask engine reads a CSV as text (engine/batches.py), since the type of a column can only be
known once every row has been seen. prepare then types each partition as one read_csv of the
whole file would have (booleans, integers, floats or text), so the splits it writes, and the model
trained on them, are the same as with the pandas engine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from ..dataset.schema import to_numbers

# The words read_csv reads as booleans (its default true_values / false_values).
BOOLEAN_WORDS = {"True": True, "TRUE": True, "true": True}
BOOLEAN_WORDS |= {"False": False, "FALSE": False, "false": False}
INTEGER = re.compile(r"[+-]?\d+")
TEXT, BOOLEAN, INTEGERS, FLOATS = "text", "boolean", "integers", "floats"


@dataclass
class TextFacts:
    """What the text values of a column seen so far are; partitions' facts add up with `+`."""

    present: bool = False  # some value is not missing
    missing: bool = False  # some value is missing
    booleans: bool = True  # every value present is a boolean word
    integers: bool = True  # ... an integer
    numbers: bool = True  # ... a number (decimal mark as data.decimal)

    def __add__(self, other: TextFacts) -> TextFacts:
        either = ("present", "missing")
        return TextFacts(
            **{
                item.name: (any if item.name in either else all)(
                    (getattr(self, item.name), getattr(other, item.name))
                )
                for item in fields(self)
            }
        )

    @property
    def kind(self) -> str:
        """read_csv's choice: no value -> floats (all NaN); booleans; integers without gaps
        (a gap makes them floats); numbers; else text."""
        if not self.present:
            return FLOATS
        if self.booleans:
            return BOOLEAN
        if self.integers and not self.missing:
            return INTEGERS
        return FLOATS if self.numbers else TEXT


def text_facts(frame: pd.DataFrame, decimal: str) -> dict[str, TextFacts]:
    """Facts about each column of a partition read as text."""
    found = {}
    for column in frame.columns:
        values = frame[column].dropna().astype(str)
        found[column] = TextFacts(
            present=len(values) > 0,
            missing=len(values) < len(frame),
            booleans=bool(values.isin(BOOLEAN_WORDS.keys()).all()),
            integers=bool(values.str.fullmatch(INTEGER).all()),
            numbers=bool(to_numbers(values, decimal).notna().all()),
        )
    return found


def as_read(values: pd.Series, kind: str, decimal: str) -> pd.Series:
    """A text column typed as read_csv would type it (`kind` from the whole file's facts)."""
    if kind == TEXT:
        return plain_text(values)
    if kind == BOOLEAN:
        flags = values.map(BOOLEAN_WORDS)
        return flags.astype(bool) if flags.notna().all() else flags.astype(object)
    numbers = to_numbers(values, decimal)
    return numbers.astype("int64") if kind == INTEGERS else numbers


def plain_text(values: pd.Series) -> pd.Series:
    """Dask's Arrow-backed strings (missing: pd.NA) as pandas' own readers give text, so what
    is written and read back has the pandas engine's types."""
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.na_value is pd.NA:
        return values.astype(object).where(values.notna(), np.nan)
    return values
