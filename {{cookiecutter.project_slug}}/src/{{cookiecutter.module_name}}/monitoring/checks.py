"""The checks of one batch against the reference (the training split): schema, data quality,
feature drift, and the model's outputs. Each returns report rows (`check_row`)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..dataset.schema import (
    CATEGORICAL,
    DATETIME,
    NUMERIC,
    PARSE_SHARE,
    Schema,
    parse_dates,
    to_numbers,
)
from ..modeling.metrics import higher_is_better, is_better, primary_metric, task_scores
from ..modeling.model import load_pipeline
from ..paths import MODEL_DIR, TEST_DATA
from . import drift
from .settings import MonitoringSettings


def check_row(name: str, column: str | None, failed: bool, severity: str, **values: Any) -> dict:
    """One row of the report: what was checked, its statistics and threshold, the verdict."""
    return {
        "check": name,
        "column": column,
        "failed": bool(failed),
        "severity": severity,
        **{key: _plain(value) for key, value in values.items()},
    }


def check_schema(
    current: pd.DataFrame, schema: Schema, decimal: str = "."
) -> tuple[list[dict], pd.DataFrame]:
    """Missing and extra columns, observed vs expected types, all-missing columns.

    Returns the checks and the batch's feature columns typed as the model expects them
    (numbers as floats). Severity "unusable": the batch cannot be judged at all.
    """
    checks = []
    missing = [column for column in schema.features if column not in current.columns]
    known = {*schema.features, schema.target, *schema.dropped}
    extra = [column for column in current.columns if column not in known]
    checks.append(check_row("missing_columns", None, bool(missing), "unusable", columns=missing))
    checks.append(check_row("extra_columns", None, bool(extra), "warning", columns=extra))
    typed = {}
    for column, kind in schema.features.items():
        if column in missing:
            continue
        values = current[column]
        present = values.dropna()
        if present.empty:
            checks.append(check_row("all_missing", column, True, "unusable", rows=len(values)))
            continue
        if kind == NUMERIC:
            parsed = to_numbers(values, decimal)
            failed_share = float(parsed[values.notna()].isna().mean())
            typed[column] = parsed
        elif kind == DATETIME:
            parsed = parse_dates(present.astype(str), schema.date_formats[column])
            failed_share = float(parsed.isna().mean())
            typed[column] = values
        else:
            failed_share = 0.0  # any value is a category (new ones: unknown_categories)
            typed[column] = values
        checks.append(
            check_row(
                "data_type",
                column,
                failed_share > 1 - PARSE_SHARE,
                "unusable",
                expected=kind,
                observed=str(values.dtype),
                unparsable_share=failed_share,
                threshold=1 - PARSE_SHARE,
            )
        )
    return checks, pd.DataFrame(typed, index=current.index)


def check_quality(
    reference: pd.DataFrame, current: pd.DataFrame, schema: Schema, settings: MonitoringSettings
) -> list[dict]:
    """Completeness (present share vs the reference's) and unknown categorical values."""
    checks = []
    for column, kind in schema.features.items():
        if column not in current.columns or settings.for_column(column, "skip", False):
            continue
        reference_share = float(reference[column].notna().mean())
        share = float(current[column].notna().mean())
        minimum = settings.for_column(column, "min_completeness", settings.min_completeness)
        threshold = minimum * reference_share
        checks.append(
            check_row(
                "completeness",
                column,
                share < threshold,
                "critical",
                statistic=share,
                reference=reference_share,
                threshold=threshold,
            )
        )
        if kind == CATEGORICAL:
            seen = set(drift.category_counts(reference[column]).index)
            present = current[column].dropna().astype(str)
            unknown = present[~present.isin(seen)]
            unknown_share = float(len(unknown) / len(present)) if len(present) else 0.0
            limit = settings.for_column(column, "max_unknown_share", settings.max_unknown_share)
            checks.append(
                check_row(
                    "unknown_categories",
                    column,
                    unknown_share > limit,
                    "critical",
                    statistic=unknown_share,
                    threshold=limit,
                    values=sorted(unknown.unique()[:10].tolist()),
                )
            )
    return checks


def feature_drift(
    reference: pd.DataFrame, current: pd.DataFrame, schema: Schema, settings: MonitoringSettings
) -> list[dict]:
    """Drift of every numeric and categorical feature, p-values corrected across columns.

    A feature drifts when its corrected p-value is below alpha AND its effect size reaches the
    threshold: significance alone flags trivial shifts once samples are large.
    """
    results = []
    for column, kind in schema.features.items():
        if kind == DATETIME or settings.for_column(column, "skip", False):
            continue  # dates move forward by nature: their drift says nothing
        if column not in current.columns:
            continue
        if kind == NUMERIC:
            ref = reference[column].to_numpy(dtype=float, na_value=np.nan)
            cur = current[column].to_numpy(dtype=float, na_value=np.nan)
            ref, cur = _present(ref), _present(cur)
            if not len(ref) or not len(cur):
                continue
            found = drift.numeric_drift(ref, cur)
            default = settings.numeric_effect
        else:
            found = drift.categorical_drift(reference[column], current[column])
            default = settings.categorical_effect
        effect_threshold = settings.for_column(column, "effect", default)
        results.append(
            {"column": column, "kind": kind, "found": found, "effect_threshold": effect_threshold}
        )
    adjusted = drift.adjust([row["found"].p_value for row in results], settings.correction)
    checks = []
    for row, p_adjusted in zip(results, adjusted, strict=True):
        found = row["found"]
        failed = p_adjusted < settings.alpha and found.effect >= row["effect_threshold"]
        checks.append(
            check_row(
                "feature_drift",
                row["column"],
                failed,
                "drift",
                kind=row["kind"],
                test=found.test,
                statistic=found.statistic,
                p_value=found.p_value,
                p_adjusted=p_adjusted,
                alpha=settings.alpha,
                correction=settings.correction,
                effect_name=found.effect_name,
                effect=found.effect,
                threshold=row["effect_threshold"],
                **found.extra,
            )
        )
    return checks


def _present(values: np.ndarray) -> np.ndarray:
    missing = np.isnan(values)
    return values[~missing] if missing.any() else values


def output_drift(
    name: str, reference: Any, current: Any, numeric: bool, settings: MonitoringSettings
) -> dict:
    """Drift of one output (predictions or labels): no correction, it is a single test."""
    if numeric:
        found = drift.numeric_drift(np.asarray(reference, float), np.asarray(current, float))
        threshold = settings.numeric_effect
    else:
        found = drift.categorical_drift(pd.Series(reference), pd.Series(current))
        threshold = settings.categorical_effect
    failed = found.p_value < settings.alpha and found.effect >= threshold
    return check_row(
        name,
        None,
        failed,
        "critical",
        test=found.test,
        statistic=found.statistic,
        p_value=found.p_value,
        alpha=settings.alpha,
        effect_name=found.effect_name,
        effect=found.effect,
        threshold=threshold,
        **found.extra,
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
    checks.append(
        output_drift(
            "prediction_drift", model.predict(reference[columns]), predicted, regression, settings
        )
    )
    if labels is not None and (root / TEST_DATA).is_file():
        test = pd.read_parquet(root / TEST_DATA)
        metric = primary_metric(schema.task)
        expected = task_scores(schema.task, test[schema.target], model.predict(test[columns]))
        observed = task_scores(schema.task, labels, predicted)
        # the metric must not get worse than the test split's by more than performance_drop
        margin = (
            -settings.performance_drop if higher_is_better(metric) else settings.performance_drop
        )
        threshold = expected[metric] * (1 + margin)
        checks.append(
            check_row(
                "performance",
                None,
                is_better(metric, threshold, observed[metric]),
                "critical",
                metric=metric,
                statistic=observed[metric],
                reference=expected[metric],
                threshold=threshold,
                reference_data=TEST_DATA.as_posix(),
            )
        )
    return checks


def _plain(value: Any) -> Any:
    """JSON-safe: numpy scalars to Python, NaN/inf to None."""
    if isinstance(value, (np.generic,)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value
