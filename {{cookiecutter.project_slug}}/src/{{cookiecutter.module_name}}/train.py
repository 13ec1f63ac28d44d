"""Stage train: fit preprocessing + estimator as one Pipeline, check it beats a dummy baseline
on a validation view, then store it in models/ and in MLflow (run, registry, lineage tags)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import InvalidParameterError

from .config import (
    MODEL_DIR,
    RUN_FILE,
    SCHEMA_FILE,
    TRAIN_DATA,
    Params,
    cli_root,
    load_params,
    require_outputs,
)
from .estimators import build_baseline, build_estimator
from .features import build_preprocessor
from .lineage import lineage_tags
from .metrics import classification_scores, regression_scores
from .schema import Schema
from .splitting import split_rows


def run(root: Path | str = ".") -> dict[str, str]:
    root = Path(root)
    params = load_params(root)
    require_outputs(root, SCHEMA_FILE, TRAIN_DATA)
    schema = Schema.load(root / SCHEMA_FILE)
    model_params = params["model"]
    estimator = build_estimator(
        model_params["name"], model_params["params"], schema.task, params["split"]["seed"]
    )
    train = pd.read_parquet(root / TRAIN_DATA)
    scores = compare_with_baseline(train, schema, params, estimator)
    features, target = train[list(schema.features)], train[schema.target]
    model = fit(build_model(schema, params, estimator), features, target)

    from . import tracking  # imports mlflow (seconds): only once everything above has passed

    logged = tracking.log_training(
        root,
        params["mlflow"],
        model=model,
        features=features,
        params=run_params(params, schema, estimator, rows=len(train)),
        metrics=scores,
        tags=lineage_tags(root, params["data"]["raw_path"]),
    )
    tracking.copy_model(logged["model_uri"], root / MODEL_DIR)
    (root / RUN_FILE).write_text(json.dumps(logged, indent=2) + "\n", encoding="utf-8")
    print(
        f"model saved to {MODEL_DIR}/, MLflow run {logged['run_id']}, registered as "
        f"{logged['registered_model']} version {logged['registered_version']}"
        + (f" (alias {tracking.CHAMPION!r})" if logged["champion"] else "")
    )
    return logged


def build_model(schema: Schema, params: Params, estimator: BaseEstimator) -> Pipeline:
    """All preprocessing inside: the model takes raw feature columns."""
    preprocessor = build_preprocessor(schema, params["features"]["min_category_frequency"])
    return Pipeline([("preprocess", preprocessor), ("model", clone(estimator))])


def fit(model: BaseEstimator, features: pd.DataFrame, target: pd.Series) -> BaseEstimator:
    try:
        return model.fit(features, target)
    except InvalidParameterError as error:  # a value in model.params the estimator refuses
        raise SystemExit(f"params.yaml: model.params: {error}") from None


def compare_with_baseline(
    train: pd.DataFrame, schema: Schema, params: Params, estimator: BaseEstimator
) -> dict[str, float]:
    """Fit the model and the dummy baseline on part of the train split, score both on the rest."""
    fit_rows, validation = split_rows(
        train,
        schema.target,
        params["split"]["validation_size"],
        seed=params["split"]["seed"],
        stratify=params["split"]["stratify"] and schema.task == "classification",
        purpose="validate",
        share_key="split.validation_size",
    )
    columns = list(schema.features)
    score = classification_scores if schema.task == "classification" else regression_scores
    results = {}
    for name, candidate in (
        ("model", build_model(schema, params, estimator)),
        ("baseline", build_baseline(schema.task)),
    ):
        fitted = fit(candidate, fit_rows[columns], fit_rows[schema.target])
        results[name] = score(validation[schema.target], fitted.predict(validation[columns]))

    key = "accuracy" if schema.task == "classification" else "rmse"
    model_score, baseline_score = results["model"][key], results["baseline"][key]
    beats = model_score > baseline_score if key == "accuracy" else model_score < baseline_score
    verdict = "beats" if beats else "does NOT beat"
    print(
        f"validation {key}: model {model_score:.4f} {verdict} baseline {baseline_score:.4f} "
        f"({len(fit_rows)} rows fitted, {len(validation)} validated)"
    )
    return {
        f"val_{prefix}{metric}": value
        for name, prefix in (("model", ""), ("baseline", "baseline_"))
        for metric, value in results[name].items()
    }


def run_params(
    params: Params, schema: Schema, estimator: BaseEstimator, rows: int
) -> dict[str, object]:
    """Everything that shaped the model, flat, as MLflow run parameters."""
    return {
        "data.raw_path": params["data"]["raw_path"],
        "data.target": schema.target,
        "data.task": schema.task,
        "data.train_rows": rows,
        "data.features": len(schema.features),
        **{f"split.{key}": value for key, value in params["split"].items()},
        **{f"features.{key}": value for key, value in params["features"].items()},
        "model.name": params["model"]["name"],
        "model.class": type(estimator).__name__,
        # Every estimator setting, defaults included, not only those params.yaml lists.
        **{f"model.{key}": value for key, value in estimator.get_params().items()},
    }


def main() -> None:
    run(cli_root(__doc__))


if __name__ == "__main__":
    main()
