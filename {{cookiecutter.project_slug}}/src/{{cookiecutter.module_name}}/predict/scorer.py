"""Scoring checked records: onnxruntime when the model's ONNX export verified at training,
scikit-learn otherwise; class probabilities for a classifier."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from .model_source import PredictionModel
from .records import Checked

LOGGER = logging.getLogger(__name__)


@dataclass
class Scores:
    predictions: np.ndarray  # a class label or a value per record
    probabilities: np.ndarray | None  # records x classes (the model's class order), or None


def score(model: PredictionModel, checked: Checked) -> Scores:
    """Scores of the checked records (records.py): onnxruntime reads their columns as they are;
    scikit-learn gets them as a DataFrame."""
    if not len(checked.rows):
        empty = np.empty((0, len(model.classes))) if model.classes else None
        return Scores(np.asarray([], dtype=object if model.classes else float), empty)
    output = None
    if model.onnx is not None:
        try:
            output = model.onnx.run(checked.columns)
        except Exception as error:  # a value the export's check did not meet: scikit-learn
            problem = (str(error).splitlines() or [""])[0][:200]
            LOGGER.warning(
                "onnxruntime failed, scikit-learn scored", extra={"fields": {"reason": problem}}
            )
    if output is None:
        pipeline, features = model.pipeline, checked.features
        output = pipeline.predict_proba(features) if model.classes else pipeline.predict(features)
    if model.classes:
        probabilities = np.asarray(output, dtype=float)
        labels = np.asarray(model.classes, dtype=object)[probabilities.argmax(axis=1)]
        return Scores(labels, probabilities)
    values = np.asarray(output, dtype=float).reshape(-1)
    if not np.isfinite(values).all():
        raise ValueError("the model predicted a non-finite value for these records")
    return Scores(values, None)
