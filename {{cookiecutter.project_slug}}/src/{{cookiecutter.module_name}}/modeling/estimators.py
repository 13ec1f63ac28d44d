"""The estimator families that `model.name` picks from, and the dummy baselines to beat."""

from __future__ import annotations

from sklearn.base import BaseEstimator
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

FAMILIES: dict[str, dict[str, type[BaseEstimator]]] = {
    "random_forest": {
        "classification": RandomForestClassifier,
        "regression": RandomForestRegressor,
    },
    "gradient_boosting": {
        "classification": HistGradientBoostingClassifier,
        "regression": HistGradientBoostingRegressor,
    },
    "linear": {"classification": LogisticRegression, "regression": Ridge},
}


# Models whose splits do not depend on the scale of a feature: their numbers go in unscaled.
TREE_MODELS = (
    DecisionTreeClassifier,
    DecisionTreeRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)


def needs_scaling(estimator: BaseEstimator) -> bool:
    return not isinstance(estimator, TREE_MODELS)


def build_estimator(name: str, params: dict, task: str, seed: int) -> BaseEstimator:
    """The estimator of family `name` for `task`, with `params` checked against its signature."""
    if name not in FAMILIES:
        raise SystemExit(
            f"params.yaml: model.name {name!r} is unknown; use one of {', '.join(FAMILIES)}"
        )
    estimator_class = FAMILIES[name][task]
    accepted = estimator_class().get_params()
    for key in params:
        if key not in accepted:
            raise SystemExit(
                f"params.yaml: model.params.{key} is not a parameter of "
                f"{estimator_class.__name__}; valid: {', '.join(sorted(accepted))}"
            )
    settings = dict(params)
    if "random_state" in accepted:
        settings.setdefault("random_state", seed)  # reproducible unless params.yaml says otherwise
    return estimator_class(**settings)


def build_baseline(task: str) -> BaseEstimator:
    """What a model must beat: always the most frequent class, or always the mean."""
    if task == "classification":
        return DummyClassifier(strategy="most_frequent")
    return DummyRegressor(strategy="mean")
