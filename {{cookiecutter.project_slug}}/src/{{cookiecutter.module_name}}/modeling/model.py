"""The model: preprocessing + estimator as one scikit-learn Pipeline, fitted on raw feature
columns; and loading it back from an MLflow model directory."""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import pandas as pd
import yaml
from sklearn.base import BaseEstimator, clone
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import InvalidParameterError

from ..config import TextSection
from ..dataset.schema import Schema
from .estimators import needs_scaling, takes_sparse
from .features import build_preprocessor


def build_model(
    schema: Schema,
    min_category_frequency: int | float,
    estimator: BaseEstimator,
    text: TextSection | None = None,
) -> Pipeline:
    """All preprocessing inside: the model takes raw feature columns. `text`: params.yaml
    features.text, for free-text columns."""
    preprocessor = build_preprocessor(
        schema, min_category_frequency, needs_scaling(estimator), text, takes_sparse(estimator)
    )
    return Pipeline([("preprocess", preprocessor), ("model", clone(estimator))])


def fit(model: BaseEstimator, features: pd.DataFrame, target: pd.Series) -> BaseEstimator:
    """Fit on every core: an estimator whose n_jobs is unset (None) takes joblib's default,
    which is one core (a forest's trees one at a time); predictions stay on one. A model.params
    n_jobs wins. Threads, not processes: the forest's trees release the GIL, and the
    ColumnTransformer would otherwise start worker processes and copy the data to them."""
    from joblib import parallel_config

    try:
        with parallel_config(backend="threading", n_jobs=-1):
            return model.fit(features, target)
    except InvalidParameterError as error:  # a value in model.params the estimator refuses
        raise SystemExit(f"params.yaml: model.params: {error}") from None


def load_pipeline(model_dir: Path) -> Pipeline:
    """The fitted Pipeline of an MLflow model directory. A plain pickle from this scikit-learn
    version is unpickled directly, without importing mlflow (seconds): it is the file mlflow's
    own loader would unpickle, so no less safe. Anything else goes through mlflow."""
    import sklearn

    meta = yaml.safe_load((model_dir / "MLmodel").read_text(encoding="utf-8"))
    flavor = (meta.get("flavors") or {}).get("sklearn") or {}
    if (
        flavor.get("serialization_format") == "pickle"
        and flavor.get("sklearn_version") == sklearn.__version__
    ):
        with (model_dir / flavor.get("pickled_model", "model.pkl")).open("rb") as handle:
            return pickle.load(handle)
    import mlflow.sklearn  # seconds: other formats, other scikit-learn versions

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # version-mismatch notices: the load itself may work
        return mlflow.sklearn.load_model(str(model_dir))
