"""Scores shared by train (validation view), evaluate (test split) and the monitor, and which
way each is better: plain floats. Add a metric to classification_scores or regression_scores."""

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


def classification_scores(
    actual: object, predicted: object, sample_weight: object = None
) -> dict[str, float]:
    """Weights count each (actual, predicted) pair that many times (the out-of-core monitor
    passes the pairs' counts)."""
    return {
        "accuracy": float(accuracy_score(actual, predicted, sample_weight=sample_weight)),
        "f1_macro": float(
            f1_score(actual, predicted, average="macro", sample_weight=sample_weight)
        ),
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


# The headline metric of each task and which way is better: the baseline check of train, the
# registry's promotion and the monitor's performance check all ask here.
PRIMARY_METRIC = {"classification": "accuracy", "regression": "rmse"}
# The scores task_scores gives for each task (what `make automl` may rank by).
TASK_METRICS = {"classification": ("accuracy", "f1_macro"), "regression": ("rmse", "mae", "r2")}
# Every metric the scores below produce, with its better direction: add a new one here too.
BETTER = {
    "accuracy": "higher",
    "f1_macro": "higher",
    "roc_auc": "higher",
    "r2": "higher",
    "rmse": "lower",
    "mae": "lower",
}


def primary_metric(task: str) -> str:
    return PRIMARY_METRIC[task]


def higher_is_better(metric: str) -> bool:
    name = metric.removeprefix("val_").removeprefix("baseline_")
    if name not in BETTER:
        raise SystemExit(f"metric {metric!r} has no direction: add it to BETTER in {__name__}")
    return BETTER[name] == "higher"


def is_better(metric: str, candidate: float, reference: float) -> bool:
    """True when `candidate` is strictly better than `reference` on `metric`."""
    return candidate > reference if higher_is_better(metric) else candidate < reference


def task_scores(task: str, actual: object, predicted: object) -> dict[str, float]:
    """The scores of the task: classification_scores or regression_scores."""
    if task == "classification":
        return classification_scores(actual, predicted)
    return regression_scores(actual, predicted)
