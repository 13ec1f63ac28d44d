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
