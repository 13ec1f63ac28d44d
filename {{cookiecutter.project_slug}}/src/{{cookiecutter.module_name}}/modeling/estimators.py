"""The model families that `model.name` picks from, and the dummy baselines to beat.

A family is one `Family` entry in FAMILIES: its estimator class per task, whether it is made of
decision trees, whether it takes sparse input, the parameters it is built with, the grid
`make sweep` tries, the ranges `make automl` searches, and its ONNX converter when skl2onnx has
none of its own. Everything else (scaling, SHAP, the ONNX export, sweeps, the AutoML search,
the tests that run every family) reads that entry: adding a family is one entry here, plus its
library in pyproject.toml, when the library follows scikit-learn's estimator API and has a
converter skl2onnx can register. One that does not needs a wrapper module too
(labelled_xgboost.py is one): CatBoost's classifier predicts a column, not a vector, and
CatBoost exports ONNX only on its own, outside a Pipeline.

Defaults are chosen for tables of a few hundred to millions of rows on a laptop: each family uses
every core, and a tree family's size is bounded by its parameters (not by the data), so that its
training, its file, its ONNX export and its explanations stay small as the data grows.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sklearn.base import BaseEstimator
from sklearn.dummy import DummyClassifier, DummyRegressor

from .complexity import TreeSize, booster_size, tree_size

TASKS = ("classification", "regression")


@dataclass(frozen=True)
class Range:
    """Values `make automl` draws a parameter from: between low and high, on a log scale for
    parameters whose effect is multiplicative (learning rates, regularisation, tree counts)."""

    low: float
    high: float
    log: bool = False
    integer: bool = False

    def clip(self, value: float) -> float:
        """`value` moved inside the range (a default of 0 for a log-scale penalty, say)."""
        clipped = min(max(value, self.low), self.high)
        return round(clipped) if self.integer else clipped


# A parameter's values to search: a Range, or a list of choices.
Tuning = dict[str, Range | list[Any]]


@dataclass(frozen=True)
class Family:
    """Everything the project knows about one model family."""

    estimators: dict[str, str]  # task -> "module:Class", imported only when the family is used
    tree: bool  # splits on thresholds: numbers go in unscaled, TreeSHAP explains it
    sparse: bool  # takes scipy sparse input (text columns' TF-IDF) without densifying it
    defaults: dict[str, Any]  # built with these; model.params in params.yaml wins key by key
    # `make sweep` tries these when sweep.space is empty (a small grid: each point is a run)
    space: dict[str, list[Any]]
    # `make automl` searches these estimator parameters (model.params keys), starting from the
    # defaults above; keep each range where the family's size stays bounded (see defaults).
    # None: the search tries the family with its defaults only.
    tuning: Tuning = field(default_factory=dict)
    task_defaults: dict[str, dict[str, Any]] = field(default_factory=dict)  # per task, on top
    task_space: dict[str, dict[str, list[Any]]] = field(default_factory=dict)  # per task
    task_tuning: dict[str, Tuning] = field(default_factory=dict)  # per task, on top
    # Modules a saved model of the family imports beyond scikit-learn: pinned in its
    # requirements (tracking/training_run.py), so the API's image installs them.
    libraries: tuple[str, ...] = ()
    # Registers the converter of an estimator skl2onnx does not know (None: skl2onnx's own).
    onnx_converter: Callable[[], None] | None = None
    # Its size (trees, nodes, TreeSHAP cost), which bounds the export and the explanations.
    size: Callable[[BaseEstimator], TreeSize | None] = tree_size
    # shap's Saabas approximation (approximate=True) takes its trees. shap explains LightGBM
    # with LightGBM's own exact TreeSHAP and refuses to approximate it: a model too big to
    # explain exactly is then explained exactly on fewer rows (modeling/explain.py).
    approximate_shap: bool = True

    def estimator_class(self, task: str) -> type[BaseEstimator]:
        module, name = self.estimators[task].split(":")
        return getattr(importlib.import_module(module), name)

    def params(self, task: str) -> dict[str, Any]:
        return {**self.defaults, **self.task_defaults.get(task, {})}

    def search_space(self, task: str) -> dict[str, list[Any]]:
        return {**self.space, **self.task_space.get(task, {})}

    def tuning_space(self, task: str) -> Tuning:
        return {**self.tuning, **self.task_tuning.get(task, {})}


def _register_lightgbm() -> None:
    from lightgbm import LGBMClassifier, LGBMRegressor
    from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )

    options = {"nocl": [True, False], "zipmap": [True, False, "columns"]}
    update_registered_converter(
        LGBMClassifier,
        "LightGbmLGBMClassifier",
        calculate_linear_classifier_output_shapes,
        convert_lightgbm,
        options=options,
    )
    update_registered_converter(
        LGBMRegressor,
        "LightGbmLGBMRegressor",
        calculate_linear_regressor_output_shapes,
        convert_lightgbm,
        options={"split": None},
    )


def _register_xgboost() -> None:
    from onnxmltools.convert.xgboost.operator_converters.XGBoost import convert_xgboost
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )
    from xgboost import XGBRegressor

    from .labelled_xgboost import LabelledXGBClassifier

    update_registered_converter(
        LabelledXGBClassifier,
        "XGBoostXGBClassifier",
        calculate_linear_classifier_output_shapes,
        convert_xgboost,
        options={"nocl": [True, False], "zipmap": [True, False, "columns"]},
    )
    update_registered_converter(
        XGBRegressor,
        "XGBoostXGBRegressor",
        calculate_linear_regressor_output_shapes,
        convert_xgboost,
    )


FAMILIES: dict[str, Family] = {
    # The default: the most accurate of these on the sample and on public tables of 2k-1.4M
    # rows, the fastest to fit, ~1 MB on disk, ~2 ms a record to explain (benchmarks/).
    "lightgbm": Family(
        estimators={
            "classification": "lightgbm:LGBMClassifier",
            "regression": "lightgbm:LGBMRegressor",
        },
        tree=True,
        sparse=True,
        defaults={
            "n_estimators": 300,  # boosting rounds
            "learning_rate": 0.05,
            "num_leaves": 31,  # leaves per tree: bounds each tree whatever the rows
            "min_child_samples": 5,  # fewest rows in a leaf (small tables need it low)
            "verbose": -1,  # no per-split chatter
        },
        space={"model.params.learning_rate": [0.05, 0.1], "model.params.num_leaves": [15, 63]},
        tuning={
            "n_estimators": Range(50, 1000, log=True, integer=True),
            "learning_rate": Range(0.01, 0.3, log=True),
            "num_leaves": Range(7, 255, log=True, integer=True),
            "min_child_samples": Range(2, 100, log=True, integer=True),
            "colsample_bytree": Range(0.3, 1.0),  # share of the features each tree sees
            "reg_lambda": Range(0.001, 10, log=True),  # L2 penalty on leaf values
        },
        libraries=("lightgbm",),
        onnx_converter=_register_lightgbm,
        size=booster_size,
        approximate_shap=False,
    ),
    "xgboost": Family(
        estimators={
            "classification": f"{__package__}.labelled_xgboost:LabelledXGBClassifier",
            "regression": "xgboost:XGBRegressor",
        },
        tree=True,
        # Dense: XGBoost reads the zeros a sparse matrix leaves out as missing values, which
        # its ONNX form (and any dense input) reads as zeros.
        sparse=False,
        defaults={
            "n_estimators": 300,
            "learning_rate": 0.1,
            "max_depth": 6,  # bounds each tree whatever the rows
            "tree_method": "hist",  # histograms: fast on millions of rows
            # XGBoost's own defaults, written out: make automl starts its search from them
            "min_child_weight": 1.0,
            "subsample": 1.0,
            "colsample_bytree": 1.0,
            "reg_lambda": 1.0,
        },
        space={"model.params.learning_rate": [0.05, 0.1], "model.params.max_depth": [4, 8]},
        tuning={
            "n_estimators": Range(50, 1000, log=True, integer=True),
            "learning_rate": Range(0.01, 0.3, log=True),
            "max_depth": Range(3, 10, integer=True),
            "min_child_weight": Range(0.5, 20, log=True),
            "subsample": Range(0.5, 1.0),  # share of the rows each tree sees
            "colsample_bytree": Range(0.3, 1.0),
            "reg_lambda": Range(0.001, 10, log=True),
        },
        libraries=("xgboost",),
        onnx_converter=_register_xgboost,
        size=booster_size,
    ),
    # scikit-learn's histogram gradient boosting: no library beyond scikit-learn, dense input.
    "gradient_boosting": Family(
        estimators={
            "classification": "sklearn.ensemble:HistGradientBoostingClassifier",
            "regression": "sklearn.ensemble:HistGradientBoostingRegressor",
        },
        tree=True,
        sparse=False,
        defaults={"max_iter": 200, "learning_rate": 0.1, "min_samples_leaf": 5},
        space={"model.params.learning_rate": [0.05, 0.1], "model.params.max_leaf_nodes": [15, 63]},
        tuning={
            "max_iter": Range(50, 1000, log=True, integer=True),
            "learning_rate": Range(0.01, 0.3, log=True),
            "max_leaf_nodes": Range(7, 127, log=True, integer=True),
            "min_samples_leaf": Range(2, 100, log=True, integer=True),
            "l2_regularization": Range(0.001, 10, log=True),
        },
    ),
    "random_forest": Family(
        estimators={
            "classification": "sklearn.ensemble:RandomForestClassifier",
            "regression": "sklearn.ensemble:RandomForestRegressor",
        },
        tree=True,
        sparse=True,
        defaults={
            "n_estimators": 100,
            # A leaf holds at least this share of the rows: at most 10k leaves a tree at any
            # size (a tree grown to single rows on 1M rows is ~1M nodes, and 100 of them GBs).
            "min_samples_leaf": 0.0001,
            "max_features": "sqrt",  # features tried per split (regression's default: all)
            "max_depth": 32,  # TreeSHAP goes wrong on deeper trees (depth 250 on free text)
        },
        space={
            "model.params.n_estimators": [100, 300],
            "model.params.max_features": ["sqrt", 0.5],
        },
        tuning={
            "n_estimators": Range(50, 300, log=True, integer=True),
            "max_features": ["sqrt", 0.3, 0.6, 1.0],
            # a share of the rows, as in defaults: at most 10k leaves a tree at any size
            "min_samples_leaf": Range(0.0001, 0.01, log=True),
            "max_depth": Range(8, 32, integer=True),
        },
    ),
    "linear": Family(
        estimators={
            "classification": "sklearn.linear_model:LogisticRegression",
            "regression": "sklearn.linear_model:Ridge",
        },
        tree=False,
        sparse=True,
        defaults={},
        space={},
        task_defaults={"classification": {"max_iter": 1000}},
        task_space={
            "classification": {"model.params.C": [0.1, 1.0, 10.0]},
            "regression": {"model.params.alpha": [0.1, 1.0, 10.0]},
        },
        task_tuning={
            "classification": {"C": Range(0.001, 100, log=True)},  # inverse of the penalty
            "regression": {"alpha": Range(0.001, 100, log=True)},  # the penalty
        },
    ),
}


def family_of(estimator: BaseEstimator) -> Family | None:
    """The family an estimator belongs to (None for one outside FAMILIES). Only libraries
    already imported are looked at: an estimator's own library is, the others need not be."""
    for family in FAMILIES.values():
        for path in family.estimators.values():
            module, name = path.split(":")
            loaded = sys.modules.get(module)
            if loaded is not None and isinstance(estimator, getattr(loaded, name)):
                return family
    return None


def is_tree_model(estimator: BaseEstimator) -> bool:
    """Made of decision trees: its family says so; outside FAMILIES, a scikit-learn tree model
    (an extra_trees family added in a test, say) whose trees can be read."""
    family = family_of(estimator)
    return family.tree if family is not None else tree_size(estimator) is not None


def model_size(estimator: BaseEstimator) -> TreeSize | None:
    """Trees, nodes and TreeSHAP cost of a tree model; None for other models."""
    family = family_of(estimator)
    if family is None:
        return tree_size(estimator)  # a scikit-learn tree model outside FAMILIES, or None
    return family.size(estimator) if family.tree else None


def can_approximate_shap(estimator: BaseEstimator) -> bool:
    """Whether shap's Saabas approximation takes this tree model (outside FAMILIES: assumed)."""
    family = family_of(estimator)
    return family is None or family.approximate_shap


def needs_scaling(estimator: BaseEstimator) -> bool:
    """Numbers are standardised except for tree models, whose splits ignore scale (and whose
    ONNX float32 arithmetic would only drift from scikit-learn's at split thresholds)."""
    return not is_tree_model(estimator)


def takes_sparse(estimator: BaseEstimator) -> bool:
    """Whether TF-IDF may reach it as a sparse matrix (outside FAMILIES: assumed not)."""
    family = family_of(estimator)
    return family is not None and family.sparse


def accepted_params(estimator_class: type[BaseEstimator]) -> set[str]:
    """The parameters an estimator takes: scikit-learn's get_params() lists them all, some
    libraries' only those set (CatBoost), whose constructors name them instead (XGBoost's takes
    **kwargs: its get_params lists them)."""
    named = inspect.signature(estimator_class.__init__).parameters.values()
    keywords = {
        p.name for p in named if p.kind is p.KEYWORD_ONLY or p.kind is p.POSITIONAL_OR_KEYWORD
    }
    return (set(estimator_class().get_params()) | keywords) - {"self"}


def build_estimator(name: str, params: dict, task: str, seed: int) -> BaseEstimator:
    """The estimator of family `name` for `task`: the family's defaults, then `params`
    (model.params) checked against the estimator's own parameters."""
    if name not in FAMILIES:
        raise SystemExit(
            f"params.yaml: model.name {name!r} is unknown; use one of {', '.join(FAMILIES)}"
        )
    family = FAMILIES[name]
    try:
        estimator_class = family.estimator_class(task)
    except ImportError as error:
        raise SystemExit(
            f"model.name {name!r} needs {error.name or 'its library'}, which is not installed: "
            "run `make setup`"
        ) from None
    accepted = accepted_params(estimator_class)
    for key in params:
        if key not in accepted:
            raise SystemExit(
                f"params.yaml: model.params.{key} is not a parameter of "
                f"{estimator_class.__name__}; valid: {', '.join(sorted(accepted))}"
            )
    settings = {**family.params(task), **params}
    if "random_state" in accepted:
        settings.setdefault("random_state", seed)  # reproducible unless params.yaml says otherwise
    return estimator_class(**settings)


def build_baseline(task: str) -> BaseEstimator:
    """What a model must beat: always the most frequent class, or always the mean."""
    if task == "classification":
        return DummyClassifier(strategy="most_frequent")
    return DummyRegressor(strategy="mean")
