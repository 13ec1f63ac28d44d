"""The checks of a batch that concern the model: its predictions against those on the test
split (drift and Kullback-Leibler divergence), the labels' drift and the performance when the
batch carries the target, and its outliers against the detector train stored with the model.
Each returns report rows (checks.check_row)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..dataset.schema import Schema
from ..modeling.metrics import higher_is_better, is_better, primary_metric, task_scores
from ..modeling.model import load_pipeline
from ..modeling.outliers import OutlierDetector, Outliers
from ..paths import MODEL_DIR, MODEL_OUTLIERS, TEST_DATA
from . import drift
from .checks import check_row
from .settings import MonitoringSettings


def output_drift(
    name: str, reference: Any, current: Any, numeric: bool, settings: MonitoringSettings
) -> dict:
    """Drift of one output (predictions or labels) of a batch in memory (output_check)."""
    if numeric:
        found = drift.numeric_drift(np.asarray(reference, float), np.asarray(current, float))
    else:
        found = drift.categorical_drift(pd.Series(reference), pd.Series(current))
    return output_check(name, found, numeric, settings)


def output_check(
    name: str, found: drift.Drift, numeric: bool, settings: MonitoringSettings
) -> dict:
    """The row of one output's drift: no correction, it is a single test."""
    threshold = settings.numeric_effect if numeric else settings.categorical_effect
    return test_row(name, found, threshold, settings)


def test_row(name: str, found: drift.Drift, threshold: float, settings: MonitoringSettings) -> dict:
    """A test's row: failed when significant (alpha) and its effect reaches `threshold`."""
    return check_row(
        name,
        None,
        found.p_value < settings.alpha and found.effect >= threshold,
        test=found.test,
        statistic=found.statistic,
        p_value=found.p_value,
        alpha=settings.alpha,
        effect_name=found.effect_name,
        effect=found.effect,
        threshold=threshold,
        **found.extra,
    )


def prediction_divergence(
    reference: Any, current: Any, numeric: bool, settings: MonitoringSettings
) -> dict:
    """KL divergence of a batch's predictions from the test split's: over the predicted classes,
    or over ten bins of the test split's predicted values (divergence_check)."""
    if numeric:
        reference = np.asarray(reference, dtype=float)
        edges = drift.decile_edges(reference)
        found = drift.divergence(drift.binned(reference, edges), drift.binned(current, edges))
    else:
        found = drift.divergence(
            drift.category_counts(pd.Series(reference)), drift.category_counts(pd.Series(current))
        )
    return divergence_check(found, settings)


def divergence_check(found: drift.Drift, settings: MonitoringSettings) -> dict:
    """Fails when the divergence reaches max_prediction_kl and the G-test finds it significant
    (a small batch diverges by chance alone)."""
    return test_row("prediction_divergence", found, settings.max_prediction_kl, settings)


def outlier_detector(root: Path) -> OutlierDetector | None:
    """The detector train stored with the model (None: no model yet, or no numeric feature)."""
    path = root / MODEL_DIR / MODEL_OUTLIERS
    return OutlierDetector.from_bytes(path.read_bytes()) if path.is_file() else None


def check_outliers(
    root: Path, current: pd.DataFrame, schema: Schema, settings: MonitoringSettings
) -> list[dict]:
    """The batch's share of outlying rows against the test split's (outlier_check)."""
    detector = outlier_detector(root)
    if detector is None or not (root / TEST_DATA).is_file():
        return []
    test = pd.read_parquet(root / TEST_DATA, columns=detector.columns)
    reference_share = float(detector.score(test).flagged.mean())
    return [outlier_check(detector.score(current), reference_share, len(test), settings)]


def outlier_check(
    found: Outliers, reference_share: float, reference_rows: int, settings: MonitoringSettings
) -> dict:
    """Fails when the batch's outlier share is at least outlier_ratio times the test split's and
    a one-sided binomial test finds it above that share (alpha). Lists the most outlying rows
    (their position in the batch, from 0)."""
    flagged = int(found.flagged.sum())
    rows = len(found.scores)
    # a test split without outliers still says "rare": half a row of it
    expected = max(reference_share, 0.5 / max(reference_rows, 1))
    share = flagged / rows if rows else 0.0
    threshold = settings.outlier_ratio * expected
    p_value = float(stats.binomtest(flagged, rows, expected, "greater").pvalue) if rows else 1.0
    worst = np.argsort(-found.scores, kind="stable")[: min(flagged, 10)]
    return check_row(
        "outliers",
        None,
        share >= threshold and p_value < settings.alpha,
        statistic=share,
        reference=reference_share,
        threshold=threshold,
        p_value=p_value,
        alpha=settings.alpha,
        outlying_rows=flagged,
        examples=[
            {"row": int(i), "score": round(float(found.scores[i]), 3), "reason": found.reasons[i]}
            for i in worst
        ],
    )


@dataclass
class HeldOut:
    """The model's answers on the test split: rows it never trained on."""

    actual: pd.Series
    predicted: np.ndarray

    def score(self, task: str) -> float:
        """The primary metric the batch's performance is held to."""
        return task_scores(task, self.actual, self.predicted)[primary_metric(task)]


def held_out(root: Path, model: Any, schema: Schema) -> HeldOut | None:
    """The model on the test split (None when prepare has not written it). Prediction drift
    compares a batch's predictions with these, not with those on the training rows: a forest of
    deep trees gives the training labels back there, so any new batch looked drifted (measured
    on a 59k-row table: the test split itself flagged, statistic 682 against 0.02)."""
    if not (root / TEST_DATA).is_file():
        return None
    test = pd.read_parquet(root / TEST_DATA)
    return HeldOut(test[schema.target], model.predict(test[list(schema.features)]))


def performance_check(
    task: str, observed: float, expected: float, settings: MonitoringSettings
) -> dict:
    """Fails when the batch's primary metric is worse than the test split's by more than
    performance_drop."""
    metric = primary_metric(task)
    margin = -settings.performance_drop if higher_is_better(metric) else settings.performance_drop
    threshold = expected * (1 + margin)
    return check_row(
        "performance",
        None,
        is_better(metric, threshold, observed),
        metric=metric,
        statistic=observed,
        reference=expected,
        threshold=threshold,
        reference_data=TEST_DATA.as_posix(),
    )


def check_model(
    root: Path,
    reference: pd.DataFrame,
    current: pd.DataFrame,
    labels: Any,
    schema: Schema,
    settings: MonitoringSettings,
) -> list[dict]:
    """Prediction drift, and when the batch carries the target: label drift and performance."""
    checks = []
    regression = schema.task == "regression"
    if labels is not None:
        checks.append(
            output_drift("label_drift", reference[schema.target], labels, regression, settings)
        )
    if not (root / MODEL_DIR / "MLmodel").is_file():
        print(f"prediction drift skipped: {MODEL_DIR} not found (run `dvc repro`)")
        return checks
    model = load_pipeline(root / MODEL_DIR)
    columns = list(schema.features)
    predicted = model.predict(current[columns])
    test = held_out(root, model, schema)
    baseline = test.predicted if test is not None else model.predict(reference[columns])
    checks.append(output_drift("prediction_drift", baseline, predicted, regression, settings))
    checks.append(prediction_divergence(baseline, predicted, regression, settings))
    if labels is not None and test is not None:
        observed = task_scores(schema.task, labels, predicted)[primary_metric(schema.task)]
        checks.append(performance_check(schema.task, observed, test.score(schema.task), settings))
    return checks
