"""Scores shared by train (validation view) and evaluate (test split): plain floats."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    mean_absolute_error,
    r2_score,
    roc_auc_score,
    root_mean_squared_error,
)


def classification_scores(actual: object, predicted: object) -> dict[str, float]:
    return {
        "accuracy": float(accuracy_score(actual, predicted)),
        "f1_macro": float(f1_score(actual, predicted, average="macro")),
    }


def regression_scores(actual: object, predicted: object) -> dict[str, float]:
    return {
        "rmse": float(root_mean_squared_error(actual, predicted)),
        "mae": float(mean_absolute_error(actual, predicted)),
        "r2": float(r2_score(actual, predicted)),
    }


def roc_auc_ovr(actual: object, probabilities: np.ndarray, classes: np.ndarray) -> float | None:
    """Macro one-vs-rest ROC AUC (the plain AUC for two classes).

    Unlike roc_auc_score(multi_class="ovr"), it skips classes absent from `actual` instead of
    failing, which a small or unlucky test split can produce. None when no class is scorable.
    """
    actual = np.asarray(actual)
    scores = [
        roc_auc_score(actual == label, probabilities[:, position])
        for position, label in enumerate(classes)
        if 0 < np.sum(actual == label) < len(actual)
    ]
    return float(np.mean(scores)) if scores else None
