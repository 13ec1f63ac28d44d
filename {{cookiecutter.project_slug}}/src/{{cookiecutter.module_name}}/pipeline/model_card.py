"""The model card evaluate writes for every trained version (reports/model_card.md): what the
model predicts, the data it learnt from, how good it is on the test split against the baseline
and per class (or per slice), what drives it, its parameters, its limits as the data shows them,
and how to reproduce it. The same text is the registered version's description in MLflow."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_fscore_support

from ..config import Params
from ..dataset.schema import CATEGORICAL, Schema
from ..modeling.metrics import primary_metric

TOP_FEATURES = 10
# Rows of the per-class and per-slice tables: the largest classes or slices, the rest summed up.
MAX_SLICES = 20
# A class under this share of the training rows is named as a limit.
RARE_CLASS_SHARE = 0.05
MISSING_SHARE = 0.2  # likewise a feature missing this often


@dataclass
class CardInputs:
    params: Params
    schema: Schema
    trained: dict[str, Any]  # models/mlflow_run.json: run, version, lineage tags
    metrics: dict[str, float]  # the test metrics evaluate wrote, baseline included
    train: pd.DataFrame
    test: pd.DataFrame
    predicted: np.ndarray
    importance: pd.DataFrame | None  # feature, importance (mean |SHAP|)
    estimator: Any
    scorer: str  # the ONNX verification's verdict, one line


def render(card: CardInputs) -> str:
    params, trained = card.params, card.trained
    version = trained.get("registered_version")
    name = trained.get("registered_model", params.mlflow.registered_model_name)
    title = f"{name} version {version}" if version else f"{name} (not registered)"
    lines = [f"# Model card: {title}", ""]
    lines += _what(card), _data(card), _metrics(card), _slices(card)
    lines += _features(card), _parameters(card), _limits(card), _reproduce(card)
    return "\n".join(line for line in lines if line is not None).rstrip() + "\n"


def _what(card: CardInputs) -> str:
    schema = card.schema
    if schema.task == "classification":
        classes = sorted(map(str, card.train[schema.target].unique()))
        goal = f"the class of `{schema.target}` ({', '.join(f'`{c}`' for c in classes)})"
    else:
        goal = f"the value of `{schema.target}` (regression)"
    return (
        f"## What it predicts\n\nIt predicts {goal}, from "
        f"{len(schema.features)} features of a row of `{card.params.data.raw_path}`, with a "
        f"{type(card.estimator).__name__} (`model.name: {card.params.model.name}`). "
        f"{card.scorer}\n"
    )


def _data(card: CardInputs) -> str:
    schema, params, tags = card.schema, card.params, card.trained.get("tags", {})
    kinds = {}
    for column, kind in schema.features.items():
        kinds.setdefault(kind, []).append(f"`{column}`")
    rows = [
        f"- Raw data: `{params.data.raw_path}`, DVC hash `{tags.get('data_dvc_md5', 'unknown')}`",
        f"- Rows: {len(card.train)} to train, {len(card.test)} to test "
        f"(`split.test_size` {params.split.test_size}, seed {params.split.seed}"
        + (", stratified by class" if params.stratify else "")
        + ")",
    ]
    rows += [f"- {kind.capitalize()} features: {', '.join(names)}" for kind, names in kinds.items()]
    if schema.dropped:
        dropped = "; ".join(f"`{column}` ({why})" for column, why in schema.dropped.items())
        rows.append(f"- Not used: {dropped}")
    return "## Data\n\n" + "\n".join(rows) + "\n"


def _metrics(card: CardInputs) -> str:
    headline = primary_metric(card.schema.task)
    dummy = "the most frequent class" if card.schema.task == "classification" else "the mean"
    rows = ["| Metric | Model | Baseline |", "|---|---|---|"]
    for metric, value in card.metrics.items():
        if metric.startswith("baseline_"):
            continue
        baseline = card.metrics.get(f"baseline_{metric}")
        shown = f"{baseline:.4f}" if baseline is not None else "-"
        rows.append(f"| {metric} | {value:.4f} | {shown} |")
    return (
        f"## Test metrics\n\nOn the test split ({len(card.test)} rows); the baseline always "
        f"predicts {dummy}; the headline metric is `{headline}`.\n\n" + "\n".join(rows) + "\n"
    )


def _slices(card: CardInputs) -> str:
    schema, test = card.schema, card.test
    actual = test[schema.target].to_numpy()
    if schema.task == "classification":
        labels = sorted(set(actual) | set(card.predicted), key=str)
        precision, recall, f1, support = precision_recall_fscore_support(
            actual, card.predicted, labels=labels, zero_division=0
        )
        rows = ["| Class | Precision | Recall | F1 | Test rows |", "|---|---|---|---|---|"]
        table = sorted(
            zip(labels, precision, recall, f1, support, strict=True), key=lambda row: -row[4]
        )
        rows += [
            f"| {label} | {p:.3f} | {r:.3f} | {f:.3f} | {n} |"
            for label, p, r, f, n in table[:MAX_SLICES]
        ]
        if len(table) > MAX_SLICES:
            rest = sum(int(row[4]) for row in table[MAX_SLICES:])
            rows.append(f"| ({len(table) - MAX_SLICES} more classes) | | | | {rest} |")
        return "## Per class\n\n" + "\n".join(rows) + "\n"
    slices = schema.columns(CATEGORICAL)
    if slices:
        column = slices[0]
        groups = test[column].astype(object).where(test[column].notna(), "(missing)").astype(str)
        heading = f"## Per slice of `{column}`"
    else:
        column = schema.target
        groups = pd.qcut(test[schema.target], 4, duplicates="drop").astype(str)
        heading = f"## Per quartile of `{schema.target}`"
    # The MAX_SLICES largest slices, the rest as one: the card stays short for any cardinality.
    counts = groups.value_counts()
    if len(counts) > MAX_SLICES:
        other = f"({len(counts) - MAX_SLICES + 1} other values)"
        groups = groups.where(groups.isin(counts.index[: MAX_SLICES - 1]), other)
    squared = pd.Series((actual - card.predicted) ** 2, index=groups.index)
    by_slice = squared.groupby(groups.to_numpy()).agg(["mean", "size"])
    rows = ["| Slice | RMSE | Test rows |", "|---|---|---|"]
    for group, (mean, size) in by_slice.sort_index().iterrows():
        rows.append(f"| {group} | {np.sqrt(mean):.3f} | {int(size)} |")
    return heading + "\n\n" + "\n".join(rows) + "\n"


def _features(card: CardInputs) -> str | None:
    if card.importance is None or card.importance.empty:
        return None
    rows = ["| Feature | Mean \\|SHAP\\| |", "|---|---|"]
    rows += [
        f"| {row.feature} | {row.importance:.4f} |"
        for row in card.importance.head(TOP_FEATURES).itertuples()
    ]
    return "## What drives it\n\nMean absolute SHAP value per raw feature (test split).\n\n" + (
        "\n".join(rows) + "\n"
    )


def _parameters(card: CardInputs) -> str:
    settings = card.params.model.params or {}
    shown = ", ".join(f"`{key}: {value}`" for key, value in settings.items()) or "the defaults"
    return (
        f"## Parameters\n\n`model.name: {card.params.model.name}` "
        f"({type(card.estimator).__name__}) with {shown}; "
        f"`features.min_category_frequency: {card.params.features.min_category_frequency}`. "
        "Every setting is a parameter of the MLflow run.\n"
    )


def _limits(card: CardInputs) -> str:
    schema, train, test = card.schema, card.train, card.test
    limits = []
    headline = primary_metric(schema.task)
    score = card.metrics.get(headline)
    if schema.task == "classification" and score is not None:
        low, high = wilson_interval(score, len(test))
        limits.append(
            f"The test split has {len(test)} rows: its {headline} of {score:.3f} has a 95% "
            f"interval of [{low:.3f}, {high:.3f}]."
        )
    elif score is not None:
        limits.append(f"The {headline} of {score:.3f} comes from {len(test)} test rows.")
    if schema.task == "classification":
        shares = train[schema.target].value_counts(normalize=True)
        rare = shares[shares < RARE_CLASS_SHARE]
        for label, share in rare.items():
            limits.append(f"Class `{label}` is {share:.1%} of the training rows: expect it less.")
    for column in schema.features:
        share = float(train[column].isna().mean())
        if share >= MISSING_SHARE:
            limits.append(f"`{column}` is missing in {share:.0%} of the training rows.")
    limits.append(
        "It has seen only the data above: rows unlike it (new categories, values outside the "
        "training range, another period) are predicted with less certainty; `make monitor` "
        "tells when production data drifts from it."
    )
    limits.append("It was not evaluated for fairness across groups of people.")
    return "## Limitations\n\n" + "\n".join(f"- {limit}" for limit in limits) + "\n"


def _reproduce(card: CardInputs) -> str:
    tags, trained = card.trained.get("tags", {}), card.trained
    commit = tags.get("git_commit")
    dirty = tags.get("git_dirty") == "true"
    if commit:
        checkout = f"git checkout {commit}"
        if dirty:
            checkout += "  # trained with uncommitted changes: they are not in this commit"
    else:
        checkout = "(no git commit was recorded)"
    run = trained.get("run_id", "unknown")
    return (
        "## Reproduce it\n\n"
        f"```bash\n{checkout}\nmake setup && dvc pull && make repro\n```\n\n"
        f"MLflow run `{run}`.\n"
    )


def wilson_interval(share: float, count: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson interval of a share observed on `count` rows."""
    if count == 0:
        return 0.0, 1.0
    centre = (share + z * z / (2 * count)) / (1 + z * z / count)
    spread = z * math.sqrt(share * (1 - share) / count + z * z / (4 * count * count))
    spread /= 1 + z * z / count
    return max(0.0, centre - spread), min(1.0, centre + spread)
