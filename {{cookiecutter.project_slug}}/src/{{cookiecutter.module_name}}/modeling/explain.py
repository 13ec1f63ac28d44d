"""Why the model predicts what it does, with SHAP: per record (the API's /explain) and overall
(evaluate's feature importance). Contributions are reported per raw feature: the columns the
preprocessing makes of one feature (one-hot categories, date parts) are added up.

The explainer fits the model family: TreeExplainer for forests and boosting (exact, and fast:
about a millisecond a record here), LinearExplainer for linear models, SHAP's generic
permutation explainer on a background sample for anything else. Contributions are in the units
of what the explainer explains: probabilities for forests, log-odds for boosting and linear
classifiers, the target's units for regressors.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.pipeline import FeatureUnion, Pipeline

from .estimators import can_approximate_shap, is_tree_model, model_size
from .features import TextOneHotEncoder

LINEAR_MODELS = (LinearRegression, LogisticRegression, Ridge)
FORESTS = ("RandomForest", "ExtraTrees", "DecisionTree")
# Exact TreeSHAP work (TreeSize.shap_cost's units) evaluate spends on the global importance:
# roughly 2-5 s on a 2-core machine (measured: 1.1e9 units a second for LightGBM's 1,500 trees
# on a 5-class table), so that evaluate stays a small share of the pipeline. When it buys fewer
# than MIN_EXACT_ROWS rows, Saabas' approximation (shap's approximate=True: one root-to-leaf
# path per tree, ~1e4 times cheaper on deep forests) explains the whole sample instead; a family
# shap cannot approximate (LightGBM) is explained exactly on MIN_EXACT_ROWS rows, past the budget.
IMPORTANCE_BUDGET = 5e9
MIN_EXACT_ROWS = 200
# /explain is interactive: exact when one record costs at most this (~20-50 ms), else Saabas.
RECORD_BUDGET = 5e7
# SHAP's permutation explainer scores ~1,000 perturbed copies of each row against the
# background: evaluate explains at most this many rows with it.
PERMUTATION_ROWS = 100


@dataclass
class ImportancePlan:
    """How many rows evaluate explains, and whether exactly."""

    rows: int
    approximate: bool
    note: str  # for the stage's output: what was chosen and why


@dataclass
class Explanations:
    """Contributions of each raw feature to each record's output."""

    values: np.ndarray  # records x raw features x outputs (1 for regression, else classes)
    base: np.ndarray  # outputs: the expected output the contributions start from
    features: list[str]  # raw feature names, in the order of `values`
    units: str
    # Per free-text feature: each record's words (n-grams) present in it, with their
    # contributions per output (filled when `explain(..., words=True)`).
    words: list[dict[str, list[tuple[str, np.ndarray]]]] | None = None
    # Per free-text feature: each n-gram's mean |SHAP| (when `explain(..., word_importance=True)`).
    word_importance: dict[str, pd.Series] | None = None


# The words /explain lists under a free-text feature: those of the record that weigh most.
TOP_WORDS = 5
# The words evaluate's importance lists per free-text feature: those that weigh most overall.
PLOTTED_WORDS = 20


@dataclass
class Importance:
    """Mean |SHAP| over a sample of records (averaged over the classes), largest first."""

    features: pd.DataFrame  # feature, importance: one row per raw feature
    words: dict[str, pd.DataFrame]  # free-text feature -> ngram, importance: its PLOTTED_WORDS


def text_vocabularies(model: Pipeline) -> dict[str, tuple[slice, np.ndarray]]:
    """Per free-text feature: its block of the preprocessing's output and the n-gram of each
    column of that block (a TF-IDF branch: a vectorizer, or a union of them, last)."""
    preprocess = model.steps[0][1]
    found = {}
    for name, transformer, columns in preprocess.transformers_:
        last = getattr(transformer, "steps", [(None, transformer)])[-1][1]
        if not isinstance(last, (TfidfVectorizer, FeatureUnion)) or len(columns) != 1:
            continue
        span = preprocess.output_indices_[name]
        ngrams = np.asarray([str(n).split("__")[-1] for n in last.get_feature_names_out()])
        found[str(columns[0])] = (span, ngrams)
    return found


def raw_feature_of(model: Pipeline) -> list[str]:
    """For each column the preprocessing outputs, the raw feature it comes from, read off the
    ColumnTransformer's layout (`output_indices_`): a branch of one column owns all it outputs
    (a date's parts), a one-hot encoder owns each feature's block of categories, other
    branches map one to one. Names are not parsed: a category "1" of `x` is `x`'s, even beside
    a numeric feature named `x_1`."""
    preprocess = model.steps[0][1]
    owners: list[str | None] = [None] * len(preprocess.get_feature_names_out())
    for name, transformer, columns in preprocess.transformers_:
        span = preprocess.output_indices_.get(name)
        if span is None or span.stop == span.start or transformer == "drop":
            continue
        columns = list(columns)
        encoder = getattr(transformer, "steps", [(None, transformer)])[-1][1]
        if len(columns) == 1:
            blocks = [span.stop - span.start]
        elif isinstance(encoder, TextOneHotEncoder):
            blocks = [
                int(encoder.output_columns(feature)[1].max()) + 1 for feature in range(len(columns))
            ]
        else:
            blocks = [1] * len(columns)
        if sum(blocks) != span.stop - span.start:
            raise ValueError(f"cannot tell which raw feature each of {name!r}'s outputs is")
        position = span.start
        for column, width in zip(columns, blocks, strict=True):
            owners[position : position + width] = [str(column)] * width
            position += width
    return [owner or "" for owner in owners]


class Explainer:
    def __init__(self, model: Pipeline, background: pd.DataFrame, classes: list[Any]) -> None:
        import shap

        self.preprocess, self.estimator = model.steps[0][1], model.steps[-1][1]
        self.is_tree = is_tree_model(self.estimator)
        self.size = model_size(self.estimator) if self.is_tree else None
        self.can_approximate = self.is_tree and can_approximate_shap(self.estimator)
        self.features = list(background.columns)
        owners = raw_feature_of(model)
        # transformed column -> raw feature: a 0/1 matrix that adds up a feature's columns
        self.fold = np.zeros((len(owners), len(self.features)))
        for column, owner in enumerate(owners):
            if owner in self.features:
                self.fold[column, self.features.index(owner)] = 1
        self.classes = classes
        self.vocabularies = text_vocabularies(model)
        reference = self.transformed(background)
        if self.is_tree:
            self.explainer = shap.TreeExplainer(self.estimator)  # exact, needs no background
            forest = type(self.estimator).__name__.startswith(FORESTS)
            self.units = "probability" if classes and forest else self._margin_units()
        elif isinstance(self.estimator, LINEAR_MODELS):
            self.explainer = shap.LinearExplainer(self.estimator, reference)
            self.units = self._margin_units()
        else:
            output = self.estimator.predict_proba if classes else self.estimator.predict
            self.explainer = shap.Explainer(output, reference, algorithm="permutation")
            self.units = "probability" if classes else "target"

    def transformed(self, records: pd.DataFrame) -> np.ndarray:
        """The estimator's input for `records`, dense (TF-IDF comes sparse; SHAP wants arrays:
        a bounded number of rows here)."""
        matrix = self.preprocess.transform(records)
        if hasattr(matrix, "toarray"):
            matrix = matrix.toarray()
        return np.asarray(matrix, dtype=float)

    def _margin_units(self) -> str:
        return "log-odds" if self.classes else "target"

    def exact_per_record(self) -> bool:
        """Whether a request's records are explained exactly (see RECORD_BUDGET): always for a
        family shap cannot approximate."""
        if not self.is_tree or self.size is None or not self.can_approximate:
            return True
        return self.size.shap_cost <= RECORD_BUDGET

    def importance_plan(self, available: int, wanted: int) -> ImportancePlan:
        """Rows (of `available`) that evaluate explains for the global importance: `wanted`
        (explain.sample_rows) unless exact SHAP of that many rows would exceed the budget."""
        rows = min(wanted, available)
        if not self.is_tree:
            generic = not isinstance(self.estimator, LINEAR_MODELS)
            if generic and rows > PERMUTATION_ROWS:
                note = f"permutation SHAP on {PERMUTATION_ROWS} of {available} rows (capped)"
                return ImportancePlan(PERMUTATION_ROWS, False, note)
            return ImportancePlan(rows, False, f"exact SHAP on {rows} of {available} rows")
        cost = self.size.shap_cost if self.size is not None else 0.0
        affordable = int(IMPORTANCE_BUDGET // cost) if cost else rows
        if affordable >= rows:
            return ImportancePlan(rows, False, f"exact TreeSHAP on {rows} of {available} rows")
        size = self.size.describe() if self.size is not None else "the model"
        if not self.can_approximate:
            shown = min(rows, max(affordable, MIN_EXACT_ROWS))
            note = (
                f"exact TreeSHAP on {shown} of {available} rows ({size}: shap has no "
                f"approximation for {type(self.estimator).__name__})"
            )
            return ImportancePlan(shown, False, note)
        if affordable >= MIN_EXACT_ROWS:
            note = (
                f"exact TreeSHAP on {affordable} of {available} rows ({size}: more rows would "
                "exceed the explanation budget)"
            )
            return ImportancePlan(affordable, False, note)
        note = (
            f"approximate SHAP (Saabas) on {rows} of {available} rows ({size}: exact TreeSHAP "
            f"would afford only {affordable} rows)"
        )
        return ImportancePlan(rows, True, note)

    def explain(
        self,
        records: pd.DataFrame,
        approximate: bool = False,
        words: bool = False,
        word_importance: bool = False,
    ) -> Explanations:
        """`words`: also the contributions of the words of each record's free text;
        `word_importance`: each n-gram's mean |SHAP| over the records, per free-text feature."""
        transformed = self.transformed(records)
        if self.is_tree:
            with warnings.catch_warnings():  # shap's notice that LightGBM's binary output
                warnings.simplefilter("ignore", UserWarning)  # changed shape: handled below
                found = self.explainer.shap_values(transformed, approximate=approximate)
            values = np.asarray(found)
            base = np.atleast_1d(np.asarray(self.explainer.expected_value, dtype=float))
        elif hasattr(self.explainer, "shap_values"):
            values = np.asarray(self.explainer.shap_values(transformed))
            base = np.atleast_1d(np.asarray(self.explainer.expected_value, dtype=float))
        else:  # the generic explainer answers with an Explanation
            found = self.explainer(transformed)
            values, base = np.asarray(found.values), np.atleast_1d(found.base_values[0])
        if values.ndim == 2:  # one output: a regressor, or a binary classifier's margin
            values = values[:, :, None]
        if values.shape[0] != len(records) and values.shape[-1] == len(records):
            values = np.moveaxis(values, 0, -1)  # older SHAP: a list per class
        folded = np.einsum("rco,cf->rfo", values, self.fold)
        found = Explanations(folded, base, self.features, self.units)
        if word_importance:
            found.word_importance = {
                feature: pd.Series(np.abs(values[:, span, :]).mean(axis=(0, 2)), index=ngrams)
                for feature, (span, ngrams) in self.vocabularies.items()
            }
        if words:
            found.words = [
                {
                    feature: [
                        (str(ngrams[i]), values[row, span.start + i])
                        for i in np.flatnonzero(transformed[row, span])
                    ]
                    for feature, (span, ngrams) in self.vocabularies.items()
                }
                for row in range(len(records))
            ]
        return found

    def contributions(self, explanations: Explanations, predicted: list[Any]) -> list[np.ndarray]:
        """Per record, the contribution of each raw feature to what was predicted: the
        predicted class's output (a binary margin counts for the second class; the first
        class's is its negative), or the regressor's output."""
        out = []
        for row, label in enumerate(predicted):
            values = explanations.values[row]
            if not self.classes or values.shape[1] == 1:
                sign = -1.0 if self.classes and label == self.classes[0] else 1.0
                out.append(sign * values[:, 0])
            else:
                out.append(values[:, self.classes.index(label)])
        return out


def top_contributions(
    explainer: Explainer, records: pd.DataFrame, predicted: list[Any], top: int
) -> list[dict[str, Any]]:
    """Per record: the base value and the `top` largest contributions by size (exactly, or
    approximated when the model is too big for exact SHAP on a request)."""
    explanations = explainer.explain(
        records, approximate=not explainer.exact_per_record(), words=True
    )
    answer = []
    for row, values in enumerate(explainer.contributions(explanations, predicted)):
        words = explanations.words[row] if explanations.words else {}
        order = np.argsort(-np.abs(values))[:top]
        base = explanations.base
        if explainer.classes and len(base) == len(explainer.classes):
            base_value = float(base[explainer.classes.index(predicted[row])])
        else:
            base_value = float(base[0]) * (
                -1 if explainer.classes and predicted[row] == explainer.classes[0] else 1
            )
        answer.append(
            {
                "base_value": round(base_value, 6),
                "contributions": [
                    {
                        "feature": explanations.features[i],
                        "value": _json_value(records.iloc[row][explanations.features[i]]),
                        "contribution": round(float(values[i]), 6),
                        **_top_words(explainer, words, explanations.features[i], predicted[row]),
                    }
                    for i in order
                ],
            }
        )
    return answer


def _top_words(
    explainer: Explainer, words: dict[str, list[tuple[str, np.ndarray]]], feature: str, label: Any
) -> dict[str, Any]:
    """{"words": [...]} for a free-text feature: its words that pushed the prediction most, each
    with its contribution (in the feature's units); {} for other features."""
    if feature not in words:
        return {}
    scored = []
    for ngram, outputs in words[feature]:
        if not explainer.classes or len(outputs) == 1:
            sign = -1.0 if explainer.classes and label == explainer.classes[0] else 1.0
            scored.append((ngram, sign * float(outputs[0])))
        else:
            scored.append((ngram, float(outputs[explainer.classes.index(label)])))
    scored.sort(key=lambda item: -abs(item[1]))
    return {
        "words": [
            {"ngram": ngram, "contribution": round(value, 6)} for ngram, value in scored[:TOP_WORDS]
        ]
    }


def global_importance(
    explainer: Explainer, records: pd.DataFrame, approximate: bool = False
) -> Importance:
    """Mean |SHAP| per raw feature over `records`, and per n-gram of each free-text feature."""
    explanations = explainer.explain(records, approximate=approximate, word_importance=True)
    importance = np.abs(explanations.values).mean(axis=(0, 2))
    frame = pd.DataFrame({"feature": explanations.features, "importance": importance})
    words = {
        feature: means.nlargest(PLOTTED_WORDS).rename_axis("ngram").reset_index(name="importance")
        for feature, means in (explanations.word_importance or {}).items()
    }
    return Importance(frame.sort_values("importance", ascending=False, ignore_index=True), words)


def _json_value(value: Any) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    return value.item() if isinstance(value, np.generic) else value
