"""Synthetic datasets for tests that need data unlike the bundled sample: either task with every
feature type, and a customer table with IDs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from {{ cookiecutter.module_name }}.dataset.schema import CATEGORICAL, DATETIME, NUMERIC, Schema

SYNTHETIC_ROWS = 400
FEATURES = {"size": NUMERIC, "weight": NUMERIC, "colour": CATEGORICAL, "sold": DATETIME}


def synthetic_frame(task: str, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Numbers with gaps, a rare and a missing category, dates; and a target of the task."""
    rng = np.random.default_rng(seed)
    size = rng.normal(10, 3, SYNTHETIC_ROWS)
    size[rng.random(SYNTHETIC_ROWS) < 0.1] = np.nan
    colour = rng.choice(["red", "blue", "green", "mauve"], SYNTHETIC_ROWS, p=[0.5, 0.3, 0.19, 0.01])
    colour = colour.astype(object)
    colour[rng.random(SYNTHETIC_ROWS) < 0.05] = None
    sold = pd.date_range("2020-01-01", periods=SYNTHETIC_ROWS, freq="D").strftime("%Y-%m-%d")
    features = pd.DataFrame(
        {"size": size, "weight": rng.normal(5, 1, SYNTHETIC_ROWS), "colour": colour, "sold": sold}
    )
    signal = np.nan_to_num(size, nan=10) + (colour == "red") * 3
    if task == "classification":
        target = pd.Series(np.where(signal > 11, "big", "small"))
    else:
        target = pd.Series(signal + rng.normal(0, 0.5, SYNTHETIC_ROWS))
    return features, target


def synthetic_schema(task: str) -> Schema:
    return Schema("target", task, dict(FEATURES), {"sold": "ISO8601"}, {})


CUSTOMER_ROWS = 300
# Text a CSV or JSON record may hold: line breaks (a bare carriage return among them), quotes,
# separators, non-ASCII letters and an emoji outside the Basic Multilingual Plane.
AWKWARD_TEXT = [
    "line\rbreak",
    "line\nbreak",
    "crlf\r\nbreak",
    'a "quoted" word',
    "comma, semicolon; tab\tend",
    "Zoë 中文 🚀",
    "  leading and trailing  ",
]


def customers(rows: int = CUSTOMER_ROWS, seed: int = 0) -> pd.DataFrame:
    """A CSV as teams have them: an ID, a name, a constant, a numeric column with "?"."""
    rng = np.random.default_rng(seed)
    spend = rng.gamma(2, 50, rows).round(2).astype(object)
    spend[::37] = "?"
    plan = rng.choice(["basic", "plus", "pro"], rows)
    return pd.DataFrame(
        {
            "customer_id": np.arange(rows) * 3 + 1000,
            "name": [f"Customer {i}" for i in range(rows)],
            "region": "EU",
            "spend": spend,
            "plan": plan,
            "tenure": rng.integers(1, 60, rows),
            "churned": np.where((plan == "basic") & (rng.random(rows) < 0.7), "yes", "no"),
        }
    )


REVIEW_ROWS = 1200
POSITIVE = ["great", "love", "excellent", "perfect", "happy", "recommend", "sturdy", "works well"]
NEGATIVE = ["broken", "awful", "refund", "poor", "disappointed", "waste", "flimsy", "stopped"]
FILLER = [
    "the",
    "a",
    "it",
    "this",
    "product",
    "was",
    "is",
    "and",
    "i",
    "my",
    "with",
    "for",
    "of",
    "to",
    "in",
    "on",
    "box",
    "arrived",
    "day",
    "week",
    "colour",
    "size",
    "price",
    "delivery",
    "kitchen",
    "gift",
]


def review_frame(task: str, rows: int = REVIEW_ROWS, seed: int = 0) -> pd.DataFrame:
    """Product reviews: free text whose words carry the label (a few sentiment words among
    filler), a product code and a reviewer's name (IDs, not text), gaps and awkward text."""
    rng = np.random.default_rng(seed)
    good = rng.random(rows) < 0.5
    texts = []
    for positive in good:
        words = list(rng.choice(FILLER, rng.integers(5, 14)))
        for _ in range(rng.integers(1, 4)):
            words.insert(rng.integers(len(words)), rng.choice(POSITIVE if positive else NEGATIVE))
        text = " ".join(words).capitalize() + rng.choice([".", "!", "...", ", really."])
        texts.append(text.replace(" day ", " day,\n") if rng.random() < 0.1 else text)
    frame = pd.DataFrame(
        {
            "product_code": [f"P{n:07d}" for n in rng.permutation(rows)],
            "reviewer": [
                f"{rng.choice(['Ann', 'Bo', 'Chen', 'Dee'])} Smith{n}" for n in range(rows)
            ],
            "review": texts,
        }
    )
    frame.loc[rng.random(rows) < 0.02, "review"] = None
    if task == "classification":
        frame["label"] = np.where(good, "positive", "negative")
    else:
        frame["label"] = np.where(good, 4.0, 2.0) + rng.normal(0, 0.3, rows)
    return frame
