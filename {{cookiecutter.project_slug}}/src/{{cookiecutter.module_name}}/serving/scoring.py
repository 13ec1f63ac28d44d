"""Scoring request columns: the fast numpy scorer when it reproduces the model, else the
Pipeline itself; class probabilities for a classifier."""

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .fast_forest import compile_model, verify

LOGGER = logging.getLogger(__name__)


def fast_scorer(model: Any, path: Path) -> Any:
    """The numpy scorer of fast_forest.py when it reproduces the model on the model's input
    example (recorded at training), else None: the API then calls the model itself."""
    example_file = path / "input_example.json"
    fast = compile_model(model)
    if fast is None or not example_file.exists():
        LOGGER.info("fast path off: the model is scored by its Pipeline")
        return None
    example = json.loads(example_file.read_text(encoding="utf-8"))
    frame = pd.DataFrame(example["data"], columns=example["columns"])
    if not verify(fast, model, frame, hasattr(model, "classes_")):
        LOGGER.warning("fast path off: it does not reproduce the model's predictions")
        return None
    return fast


def score_columns(served: Any, columns: dict[str, list], classes: list[str]) -> dict[str, list]:
    """Predictions, and for a classifier the class probabilities (one predict_proba call)."""
    if served.fast is not None:
        output = np.asarray(served.fast.predict(columns), dtype=float)
    else:
        frame = pd.DataFrame(columns, columns=list(served.columns))
        model = served.model
        output = np.asarray(model.predict_proba(frame) if classes else model.predict(frame))
    if not classes:
        values = output.astype(float)
        if not np.isfinite(values).all():
            raise ValueError("the model predicted a non-finite value for these records")
        return {"predictions": values.tolist()}
    probabilities = output.astype(float)
    best = probabilities.argmax(axis=1)
    return {
        "predictions": [classes[index] for index in best],
        "probabilities": [
            {label: round(float(p), 6) for label, p in zip(classes, row, strict=True)}
            for row in probabilities
        ],
    }
