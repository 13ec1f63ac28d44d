"""`make monitor` on a batch bigger than memory (compute.engine: dask).

Every partition of the batch is reduced to a `Summary`: how its columns parsed, their missing
values, category counts, numeric values binned on a grid of reference values
(monitoring/grid_drift.py), the model's predictions binned or counted the same way, and the
labels' scores. Summaries add up, pairwise, so memory holds a few partitions and their
summaries, never the batch. The report rows come from the same functions as the in-memory
monitor (monitoring/checks.py): counts, completeness, unknown categories, chi-square and scores
are exact; KS and Wasserstein carry the grid's error bound. Free text is judged on a sample of
the batch (CHART_ROWS rows, drawn from every partition): its unknown words and its drift
(monitoring/text_drift.py), and its outliers (the rows listed are numbered in the sample: the
batch's own numbers when the sample holds it whole). A batch no larger than one partition is
checked in memory, as the pandas engine does.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..config import Params
from ..dataset.schema import CATEGORICAL, NUMERIC, TEXT, Schema, to_numbers
from ..engine.batches import open_batch
from ..engine.cluster import dask_client
from ..engine.settings import compute_settings
from ..modeling.metrics import classification_scores, primary_metric
from ..modeling.model import load_pipeline
from ..paths import MODEL_DIR
from . import drift
from .checks import (
    ParsedColumn,
    completeness_check,
    drift_checks,
    drift_columns,
    parse_features,
    schema_checks,
    unknown_categories_check,
    unknown_words_check,
)
from .grid_drift import Bins, grid_drift, make_grid
from .model_checks import (
    check_outliers,
    divergence_check,
    held_out,
    output_check,
    performance_check,
)
from .settings import MonitoringSettings
from .text_drift import text_drift

CHART_ROWS = 20_000  # rows of the batch the report's charts are drawn from (a sample)
EXAMPLES = 10  # unknown categories named per column


@dataclass
class Plan:
    """What every partition is compared with (built once from the reference, shipped once)."""

    schema: Schema
    decimal: str
    numeric_grids: dict[str, np.ndarray]  # drift-tested numeric feature -> grid
    seen: dict[str, set[str]]  # categorical feature -> categories of the reference
    model: Any  # the fitted pipeline, or None
    reference_predictions: Any  # the model's outputs on the test split (else the reference)
    expected_score: float | None  # its primary metric on the test split (None: no test split)
    output_grid: np.ndarray | None  # regression: grid of the reference's targets/predictions
    target_kind: str  # integer | float | text: how the batch's labels are read
    sample_rows: int  # per partition, for the report's charts


@dataclass
class Outputs:
    """Predictions or labels: binned (regression) or counted per class (classification)."""

    bins: Bins | None = None
    counts: pd.Series = field(default_factory=lambda: pd.Series(dtype="int64"))

    @property
    def total(self) -> int:
        return self.bins.total if self.bins is not None else int(self.counts.sum())

    def __add__(self, other: Outputs) -> Outputs:
        bins = other.bins if self.bins is None else self.bins + other.bins
        return Outputs(bins, self.counts.add(other.counts, fill_value=0))


@dataclass
class Summary:
    rows: int
    parsed: dict[str, ParsedColumn]
    numeric: dict[str, Bins]
    categories: dict[str, pd.Series]  # category text -> count
    unknown: dict[str, int]
    examples: dict[str, set[str]]
    labels: Outputs  # the target's values (rows that have one)
    predicted_all: Outputs
    predicted_labelled: Outputs  # on the rows that have a label
    pairs: pd.Series  # classification: (actual, predicted) -> count
    errors: np.ndarray  # regression: count, sum e, sum e^2, sum |e|, sum y, sum y^2
    sample: pd.DataFrame

    def __add__(self, other: Summary) -> Summary:
        def merge(first: dict, second: dict, add=operator.add) -> dict:
            return {
                key: add(first[key], second[key])
                if key in first and key in second
                else first.get(key, second.get(key))
                for key in {**first, **second}
            }

        def counts(first: pd.Series, second: pd.Series) -> pd.Series:
            return first.add(second, fill_value=0)

        return Summary(
            self.rows + other.rows,
            merge(self.parsed, other.parsed),
            merge(self.numeric, other.numeric),
            merge(self.categories, other.categories, counts),
            merge(self.unknown, other.unknown),
            merge(
                self.examples,
                other.examples,
                lambda a, b: set(sorted(a | b)[:EXAMPLES]),
            ),
            self.labels + other.labels,
            self.predicted_all + other.predicted_all,
            self.predicted_labelled + other.predicted_labelled,
            counts(self.pairs, other.pairs),
            self.errors + other.errors,
            pd.concat([self.sample, other.sample]),
        )


def _outputs(values: Any, grid: np.ndarray | None) -> Outputs:
    if grid is not None:
        return Outputs(bins=Bins.of(np.asarray(values, dtype=float), grid))
    return Outputs(counts=drift.category_counts(pd.Series(values)))


def labels_of(values: pd.Series, kind: str, decimal: str) -> tuple[np.ndarray, pd.Series]:
    """Which rows have a label, and those labels as the reference holds them (a CSV is read
    as text): integers (integer-coded classes), floats, or the values as they are."""
    parsed = values if kind == "text" else to_numbers(values, decimal)
    labelled = parsed.notna().to_numpy()
    present = parsed[labelled]
    if kind == "integer" and np.all(np.mod(present.to_numpy(), 1) == 0):
        present = present.astype("int64")
    return labelled, present


def target_kind(target: pd.Series) -> str:
    if pd.api.types.is_integer_dtype(target):
        return "integer"
    return "float" if pd.api.types.is_numeric_dtype(target) else "text"


def summarise(frame: pd.DataFrame, plan: Plan) -> Summary:
    """One partition's summary."""
    schema = plan.schema
    typed, parsed = parse_features(frame, schema, plan.decimal)
    numeric = {
        column: Bins.of(typed[column].to_numpy(dtype=float, na_value=np.nan), grid)
        for column, grid in plan.numeric_grids.items()
        if column in typed.columns
    }
    categories, unknown, examples = {}, {}, {}
    for column in plan.seen:
        if column not in typed.columns:
            continue
        counts = drift.category_counts(typed[column])
        categories[column] = counts
        new = counts[~counts.index.isin(plan.seen[column])]
        unknown[column] = int(new.sum())
        examples[column] = set(sorted(new.index)[:EXAMPLES])
    labels, labelled = Outputs(), np.zeros(len(frame), dtype=bool)
    if schema.target in frame.columns:
        labelled, values = labels_of(frame[schema.target], plan.target_kind, plan.decimal)
        labels = _outputs(values, plan.output_grid)
    predicted_all = predicted_labelled = Outputs()
    pairs = pd.Series(dtype="int64")
    errors = np.zeros(6)
    if plan.model is not None and len(frame):
        predicted = plan.model.predict(typed[list(schema.features)])
        predicted_all = _outputs(predicted, plan.output_grid)
        if labelled.any():
            predicted_labelled = _outputs(predicted[labelled], plan.output_grid)
            actual = values.to_numpy()
            if schema.task == "classification":
                pairs = pd.Series(list(zip(actual, predicted[labelled], strict=True)))
                pairs = pairs.value_counts(sort=False)
            else:
                error = np.asarray(predicted[labelled], dtype=float) - actual.astype(float)
                actual = actual.astype(float)
                errors = np.array(
                    [
                        len(error),
                        error.sum(),
                        (error**2).sum(),
                        np.abs(error).sum(),
                        actual.sum(),
                        (actual**2).sum(),
                    ]
                )
    # in the partition's order: a batch the sample holds whole keeps its row numbers (outliers)
    sample = frame.sample(n=min(len(frame), plan.sample_rows), random_state=0).sort_index()
    return Summary(
        len(frame),
        parsed,
        numeric,
        categories,
        unknown,
        examples,
        labels,
        predicted_all,
        predicted_labelled,
        pairs,
        errors,
        sample,
    )


def check_batch(
    root: Path,
    path: Path,
    schema: Schema,
    settings: MonitoringSettings,
    reference: pd.DataFrame,
    params: Params,
) -> tuple[list[dict], dict, pd.DataFrame]:
    """The checks of a batch read partition by partition; its rows and columns; a sample of it
    for the charts. Raises UnreadableData for a batch that cannot be read."""
    import dask

    frame = open_batch(path, params)
    columns = [str(column) for column in frame.columns]
    model_file = root / MODEL_DIR / "MLmodel"
    model = load_pipeline(root / MODEL_DIR) if model_file.is_file() else None
    if model is None:
        print(f"prediction drift skipped: {MODEL_DIR} not found (run `dvc repro`)")
    plan = build_plan(root, schema, settings, reference, params, columns, model, frame.npartitions)
    with dask_client(compute_settings(params)):
        shipped = dask.delayed(plan, pure=True)
        level = [dask.delayed(summarise)(part, shipped) for part in frame.to_delayed()]
        while len(level) > 1:  # add pairwise: a tree, so no one sum waits for every partition
            level = [
                dask.delayed(operator.add)(*level[i : i + 2]) if i + 1 < len(level) else level[i]
                for i in range(0, len(level), 2)
            ]
        total: Summary = level[0].compute()
    batch = {"rows": total.rows, "columns": columns, "engine": "dask"}
    checks = schema_checks(columns, total.parsed, schema)
    if any(row["failed"] and row["severity"] == "unusable" for row in checks) or not total.rows:
        return checks, batch, total.sample
    checks += quality_checks(total, reference, schema, settings)
    checks += feature_drift_checks(total, plan, reference, settings)
    # outliers on the batch's sample (CHART_ROWS rows from every partition), as text is judged
    typed, _ = parse_features(total.sample, schema, params.data.decimal)
    checks += check_outliers(root, typed, schema, settings)
    checks += model_checks(root, total, plan, reference, settings)
    return checks, batch, total.sample


def build_plan(
    root: Path,
    schema: Schema,
    settings: MonitoringSettings,
    reference: pd.DataFrame,
    params: Params,
    columns: list[str],
    model: Any,
    partitions: int,
) -> Plan:
    size = compute_settings(params).drift_grid
    tested = drift_columns(schema, settings, columns)
    grids = {}
    for column, kind in tested.items():
        if kind == NUMERIC:
            values = reference[column].dropna().to_numpy(dtype=float)
            if len(values):
                grids[column] = make_grid(values, size)
    seen = {
        column: set(drift.category_counts(reference[column]).index)
        for column, kind in schema.features.items()
        if kind == CATEGORICAL and column in columns
    }
    target = reference[schema.target]
    test = None if model is None else held_out(root, model, schema)
    predicted = test.predicted if test is not None else None
    if model is not None and predicted is None:
        predicted = model.predict(reference[list(schema.features)])
    output_grid = None
    if schema.task == "regression":
        values = target.dropna().to_numpy(dtype=float)
        if predicted is not None:
            values = np.concatenate([values, predicted])
        output_grid = make_grid(values, size)
    return Plan(
        schema,
        params.data.decimal,
        grids,
        seen,
        model,
        predicted,
        test.score(schema.task) if test is not None else None,
        output_grid,
        target_kind(target),
        sample_rows=math.ceil(CHART_ROWS / partitions),
    )


def quality_checks(
    total: Summary, reference: pd.DataFrame, schema: Schema, settings: MonitoringSettings
) -> list[dict]:
    checks = []
    for column, kind in schema.features.items():
        if column not in total.parsed or settings.for_column(column, "skip", False):
            continue
        parsed = total.parsed[column]
        present = parsed.present - (parsed.unparsable if kind == NUMERIC else 0)
        reference_share = float(reference[column].notna().mean())
        checks.append(completeness_check(column, present / total.rows, reference_share, settings))
        if kind == CATEGORICAL:
            checks.append(
                unknown_categories_check(
                    column,
                    total.unknown.get(column, 0),
                    present,
                    sorted(total.examples.get(column, set())),
                    settings,
                )
            )
        elif kind == TEXT:  # estimated on the batch's sample (CHART_ROWS rows)
            checks.append(
                unknown_words_check(column, reference[column], total.sample[column], settings)
            )
    return checks


def numeric_grid_drift(reference: np.ndarray, current: Bins, grid: np.ndarray) -> drift.Drift:
    """grid_drift with the effect size the in-memory monitor reports: Wasserstein-1 in
    reference standard deviations."""
    found = grid_drift(Bins.of(reference, grid), current, grid)
    spread = float(np.std(reference))
    wasserstein = found.extra["wasserstein"]
    found.effect = wasserstein / spread if spread > 0 else (0.0 if wasserstein == 0 else np.inf)
    found.extra["reference_std"] = spread
    return found


def feature_drift_checks(
    total: Summary, plan: Plan, reference: pd.DataFrame, settings: MonitoringSettings
) -> list[dict]:
    schema = plan.schema
    found = {}
    for column, kind in drift_columns(schema, settings, list(total.parsed)).items():
        if kind == NUMERIC:
            current = total.numeric.get(column)
            if column in plan.numeric_grids and current is not None and current.total:
                values = reference[column].dropna().to_numpy(dtype=float)
                found[column] = numeric_grid_drift(values, current, plan.numeric_grids[column])
        elif kind == CATEGORICAL:
            reference_counts = drift.category_counts(reference[column])
            found[column] = drift.counts_drift(reference_counts, total.categories[column])
        elif kind == TEXT:  # the classifier takes a few thousand rows: the batch's sample has them
            current = total.sample[column].dropna()
            if len(current):
                found[column] = text_drift(reference[column].dropna(), current)
    return drift_checks(found, schema, settings)


def output_drift_of(reference: Any, current: Outputs, plan: Plan) -> drift.Drift:
    if plan.output_grid is not None:
        values = np.asarray(reference, dtype=float)
        return numeric_grid_drift(values[~np.isnan(values)], current.bins, plan.output_grid)
    reference_counts = drift.category_counts(pd.Series(reference))
    return drift.counts_drift(reference_counts, current.counts)


def output_divergence(reference: Any, current: Outputs, plan: Plan) -> drift.Drift:
    """drift.divergence of the batch's predictions: counted classes, or the grid's bins summed
    into the ten bins (at the grid points nearest the test split's deciles) the in-memory
    monitor uses."""
    if plan.output_grid is None:
        return drift.divergence(drift.category_counts(pd.Series(reference)), current.counts)
    grid = plan.output_grid
    values = np.asarray(reference, dtype=float)
    values = values[~np.isnan(values)]
    # bin k of Bins is [grid[k-1], grid[k]): the values below grid[j] are bins 0..j
    at = np.unique(np.minimum(np.searchsorted(grid, drift.decile_edges(values)), len(grid) - 1))

    def coarse(counts: np.ndarray) -> pd.Series:
        below = np.cumsum(counts)[at]
        return pd.Series(np.diff(np.concatenate([[0], below, [counts.sum()]])))

    return drift.divergence(coarse(Bins.of(values, grid).counts), coarse(current.bins.counts))


def model_checks(
    root: Path, total: Summary, plan: Plan, reference: pd.DataFrame, settings: MonitoringSettings
) -> list[dict]:
    """Label drift, prediction drift and performance, as monitoring/checks.check_model."""
    schema = plan.schema
    regression = schema.task == "regression"
    has_labels = total.labels.total > 0
    checks = []
    if has_labels:
        found = output_drift_of(reference[schema.target], total.labels, plan)
        checks.append(output_check("label_drift", found, regression, settings))
    if plan.model is None:
        return checks
    predicted = total.predicted_labelled if has_labels else total.predicted_all
    found = output_drift_of(plan.reference_predictions, predicted, plan)
    checks.append(output_check("prediction_drift", found, regression, settings))
    checks.append(
        divergence_check(output_divergence(plan.reference_predictions, predicted, plan), settings)
    )
    expected = plan.expected_score if has_labels else None
    if expected is not None:
        observed = streamed_score(schema.task, total)
        checks.append(performance_check(schema.task, observed, expected, settings))
    return checks


def streamed_score(task: str, total: Summary) -> float:
    """The primary metric of the labelled rows, from the summed pairs (classification) or
    error sums (regression)."""
    metric = primary_metric(task)
    if task == "classification":
        pairs = total.pairs[total.pairs > 0]
        actual = [actual for actual, _ in pairs.index]
        predicted = [predicted for _, predicted in pairs.index]
        scores = classification_scores(actual, predicted, sample_weight=pairs.to_numpy())
    else:
        count, _, squared, absolute, total_y, total_y2 = total.errors
        spread = total_y2 - total_y**2 / count
        scores = {
            "rmse": math.sqrt(squared / count),
            "mae": absolute / count,
            "r2": 1 - squared / spread if spread > 0 else float("nan"),
        }
    if metric not in scores:
        raise SystemExit(
            f"the out-of-core monitor cannot compute {metric!r} from partition sums: add it to "
            f"streamed_score in {__name__}, or use compute.engine: pandas"
        )
    return float(scores[metric])
