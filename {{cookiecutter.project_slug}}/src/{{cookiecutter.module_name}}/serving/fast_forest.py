"""A fast scorer for the API: the trained Pipeline's arithmetic redone with numpy on request
columns, without pandas and scikit-learn's per-call checks (a one-row predict through the
Pipeline takes ~20 ms for the default forest; this ~0.3 ms).

compile_model() reads the fitted preprocessing (imputer medians, scaler statistics, one-hot
categories) and, for a random forest or extra trees, every tree's nodes; anything it does not
know returns None and the API uses the Pipeline itself. verify() compares both on sample rows
at start-up, so a mismatch can never reach a response.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from ..modeling.features import MISSING_CATEGORY, _category, as_numbers, as_text

Columns = dict[str, list[Any]]  # feature -> one value per row (None = missing)
FORESTS = (RandomForestClassifier, RandomForestRegressor, ExtraTreesClassifier, ExtraTreesRegressor)
UNSEEN = "\x00unseen category"


def _number(value: Any) -> float:
    if value is None or isinstance(value, bool):
        return np.nan if value is None else float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return np.nan  # text that is no number is missing, as in features.as_numbers


class FastModel:
    def __init__(self, branches: list[Callable[[Columns, int], np.ndarray]], head: Any) -> None:
        self.branches, self.head = branches, head

    def transform(self, columns: Columns) -> np.ndarray:
        rows = len(next(iter(columns.values())))
        return np.hstack([branch(columns, rows) for branch in self.branches])

    def predict(self, columns: Columns) -> np.ndarray:
        """Class probabilities (classifier) or predictions (regressor)."""
        return self.head(self.transform(columns))


def compile_model(model: Any) -> FastModel | None:
    """A FastModel for Pipeline([preprocess, estimator]) as train builds it, else None."""
    if not isinstance(model, Pipeline) or len(model.steps) != 2:
        return None
    preprocess, estimator = model.steps[0][1], model.steps[1][1]
    if getattr(preprocess, "remainder", None) != "drop":
        return None
    branches = []
    for name, pipeline, columns in preprocess.transformers_:
        if name == "remainder" or pipeline == "drop":
            continue
        branch = _branch(pipeline, list(columns))
        if branch is None:
            return None
        branches.append(branch)
    head = _forest(estimator) if isinstance(estimator, FORESTS) else _sklearn_head(estimator)
    return FastModel(branches, head)


def _branch(pipeline: Any, columns: list[str]) -> Callable[[Columns, int], np.ndarray] | None:
    steps = [step for _, step in getattr(pipeline, "steps", [])]
    kinds = [type(step) for step in steps]
    if (
        kinds == [FunctionTransformer, SimpleImputer, StandardScaler]
        and steps[0].func is as_numbers
    ):
        medians = steps[1].statistics_.astype(float)
        scaler = steps[2]
        mean = scaler.mean_ if scaler.with_mean else np.zeros_like(medians)
        scale = scaler.scale_ if scaler.with_std else np.ones_like(medians)

        def numeric(values: Columns, rows: int) -> np.ndarray:
            block = np.array([[_number(v) for v in values[c]] for c in columns], dtype=float).T
            block = np.where(np.isnan(block), medians, block)
            return (block - mean) / scale

        return numeric
    if kinds == [FunctionTransformer, SimpleImputer, OneHotEncoder] and steps[0].func is as_text:
        encoder = steps[2]
        if encoder.drop is not None:
            return None
        lookups = [_one_hot_lookup(encoder, position) for position in range(len(columns))]

        def categorical(values: Columns, rows: int) -> np.ndarray:
            blocks = []
            for column, (table, unknown) in zip(columns, lookups, strict=True):
                keys = [MISSING_CATEGORY if v is None else _category(v) for v in values[column]]
                blocks.append(np.array([table.get(key, unknown) for key in keys]))
            return np.hstack(blocks)

        return categorical

    # Anything else (date parts, a custom step): the branch itself, on a small DataFrame.
    def fallback(values: Columns, rows: int) -> np.ndarray:
        frame = pd.DataFrame({column: values[column] for column in columns}, columns=columns)
        return np.asarray(pipeline.transform(frame), dtype=float)

    return fallback


def _one_hot_lookup(encoder: OneHotEncoder, position: int) -> tuple[dict[str, np.ndarray], Any]:
    """Each known category of one column -> its output slice (and the slice of an unseen one),
    taken from the fitted encoder itself."""
    categories = list(encoder.categories_)
    base = [str(values[0]) for values in categories]
    start = sum(encoder._n_features_outs[:position])
    stop = start + encoder._n_features_outs[position]

    def encode(value: str) -> np.ndarray:
        row = np.array([[*base[:position], value, *base[position + 1 :]]], dtype=object)
        return np.asarray(encoder.transform(row), dtype=float)[0, start:stop]

    table = {str(category): encode(str(category)) for category in categories[position]}
    return table, encode(UNSEEN)


def _sklearn_head(estimator: Any) -> Callable[[np.ndarray], np.ndarray]:
    if hasattr(estimator, "predict_proba"):
        return estimator.predict_proba
    return estimator.predict


def _forest(forest: Any) -> Callable[[np.ndarray], np.ndarray]:
    """All trees as flat node arrays, walked level by level for every row and tree at once."""
    trees = [member.tree_ for member in forest.estimators_]
    offsets = np.cumsum([0] + [tree.node_count for tree in trees])[:-1]
    left = np.concatenate([t.children_left + o for t, o in zip(trees, offsets, strict=True)])
    right = np.concatenate([t.children_right + o for t, o in zip(trees, offsets, strict=True)])
    feature = np.concatenate([t.feature for t in trees])
    threshold = np.concatenate([t.threshold for t in trees])
    leaf = feature < 0
    feature = np.where(leaf, 0, feature)
    left, right = (
        np.where(leaf, np.arange(len(leaf)), left),
        np.where(leaf, np.arange(len(leaf)), right),
    )
    values = np.concatenate([t.value[:, 0, :] for t in trees])
    classifier = hasattr(forest, "classes_")
    if classifier:  # a tree's probabilities are its leaf's class shares
        totals = values.sum(axis=1, keepdims=True)
        values = np.divide(values, totals, out=np.zeros_like(values), where=totals > 0)
    else:
        values = values[:, 0]
    depth = max(tree.max_depth for tree in trees)

    def head(matrix: np.ndarray) -> np.ndarray:
        # Trees compare float32 features (scikit-learn's DTYPE) with float64 thresholds.
        matrix = matrix.astype(np.float32)
        rows = np.arange(len(matrix))[:, None]
        node = np.broadcast_to(offsets, (len(matrix), len(offsets))).copy()
        for _ in range(depth):
            go_left = matrix[rows, feature[node]] <= threshold[node]
            node = np.where(go_left, left[node], right[node])
        return values[node].mean(axis=1)

    return head


def verify(fast: FastModel, model: Any, frame: pd.DataFrame, classifier: bool) -> bool:
    """True when the fast scorer reproduces the Pipeline on `frame` (and on it with every
    value missing, and with unseen categories)."""
    probes = [frame, frame.iloc[:1].map(lambda _: None)]
    text = [c for c in frame.columns if frame[c].map(lambda v: isinstance(v, str)).any()]
    if text:
        probes.append(frame.assign(**{c: UNSEEN for c in text}))
    for probe in probes:
        records = probe.astype(object).where(probe.notna(), None)
        columns = {c: records[c].tolist() for c in records.columns}
        expected = model.predict_proba(probe) if classifier else model.predict(probe)
        if not np.allclose(fast.predict(columns), expected, rtol=1e-9, atol=1e-9):
            return False
    return True
