"""Stage train: fit preprocessing + estimator as one Pipeline, check it beats a dummy baseline
on a validation view, export it to ONNX (checked against scikit-learn on the test split), then
store it in models/ and in MLflow (run, registry, lineage tags).

The model directory holds, beside MLflow's files, the schema of the raw data (what a record
sent for prediction may hold) and the ONNX export with its verification."""

from __future__ import annotations

import io
import json
import os
from dataclasses import asdict
from pathlib import Path

import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

from ..config import Params, load_params
from ..dataset.raw import out_of_core
from ..dataset.schema import Schema
from ..dataset.split import read_train_split, split_off
from ..modeling.estimators import build_baseline, build_estimator, model_size
from ..modeling.metrics import is_better, primary_metric, task_scores
from ..modeling.model import build_model, fit
from ..modeling.onnx_export import Verification, export_verified
from ..modeling.outliers import OutlierDetector
from ..paths import (
    MODEL_BACKGROUND,
    MODEL_DIR,
    MODEL_ONNX,
    MODEL_ONNX_CHECK,
    MODEL_OUTLIERS,
    MODEL_SCHEMA,
    RUN_FILE,
    SCHEMA_FILE,
    TEST_DATA,
    TRAIN_DATA,
    UNLOGGED_RUN_FILE,
    require_outputs,
    stage_main,
    write_json,
)
from ..tracking.lineage import lineage_tags
from ..tracking.server import TrackingUnavailable, check_tracking_server

# Test rows the ONNX export is checked on (a seeded sample when the split is bigger).
VERIFY_ROWS = 20_000


def run(root: Path | str = ".") -> dict[str, str]:
    root = Path(root)
    params = load_params(root)
    check_tracking_server(params.mlflow.tracking_uri)  # in seconds, before the fit
    require_outputs(root, SCHEMA_FILE, TRAIN_DATA, TEST_DATA)
    schema = Schema.load(root / SCHEMA_FILE)
    estimator = build_estimator(
        params.model.name, params.model.params, schema.task, params.split.seed
    )
    train = read_train_split(root, params)
    scores = compare_with_baseline(train, schema, params, estimator)
    features, target = train[list(schema.features)], train[schema.target]
    model = build_model(
        schema, params.features.min_category_frequency, estimator, params.features.text
    )
    model, rows = fit_everywhere(model, features, target, root, params, schema)
    test = pd.read_parquet(root / TEST_DATA)
    extras, verification = model_extras(model, schema, features, test[features.columns], params)

    run_record = {
        "params": run_params(params, schema, estimator, rows=rows),
        "metrics": scores,
        "tags": lineage_tags(root, params.data.raw_path),
        "primary_metric": f"val_{primary_metric(schema.task)}",
    }
    run_record["tags"]["onnx_verified"] = str(verification.verified).lower()
    # An experiment (`dvc exp run`, `make sweep`) is not registered: the one kept is, by
    # `make register` after `dvc exp apply`.
    experiment = os.environ.get("DVC_EXP_NAME")
    if experiment:
        run_record["tags"]["dvc_experiment"] = experiment
    # imports mlflow (seconds): only once everything above has passed
    from ..tracking import training_run

    try:
        logged = training_run.log_training(
            params.mlflow,
            model=model,
            features=features,
            extras=extras,
            register=not experiment,
            **run_record,
        )
    except training_run.LOGGING_ERRORS as error:
        training_run.keep_unlogged(root, model, features, extras, run_record)
        problem = " ".join(str(error).split())[:160]
        raise TrackingUnavailable(
            f"MLflow tracking store {params.mlflow.tracking_uri} failed while logging the run "
            f"({problem}): the fitted model is kept in {MODEL_DIR}/ and its run in "
            f"{UNLOGGED_RUN_FILE}; once the store is back, `python -m {__package__.split('.')[0]}"
            ".tracking log-kept` logs and registers it"
        ) from None
    training_run.copy_model(logged["model_uri"], root / MODEL_DIR)
    write_json(root / RUN_FILE, logged)
    if experiment:
        registered = f"experiment {experiment}, not registered (`make register` once kept)"
    else:
        registered = f"registered as {logged['registered_model']} version " + str(
            logged["registered_version"]
        )
        if logged["promoted"]:
            registered += f" (alias {params.mlflow.registered_alias!r})"
    print(f"model saved to {MODEL_DIR}/, MLflow run {logged['run_id']}, {registered}")
    return logged


def fit_everywhere(
    model: Pipeline,
    features: pd.DataFrame,
    target: pd.Series,
    root: Path,
    params: Params,
    schema: Schema,
) -> tuple[Pipeline, int]:
    """The Pipeline fitted, and on how many rows: in memory, or on every partition of the train
    split when the Dask engine has a distributed trainer for the family (engine/train.py)."""
    if out_of_core(params, root / TRAIN_DATA):
        from ..engine.train import fit_on_cluster, fits_on_cluster  # scale-out option

        if fits_on_cluster(params):
            return fit_on_cluster(model, features, target, root, params, schema)
    return fit(model, features, target), len(features)


def model_extras(
    model: Pipeline, schema: Schema, train: pd.DataFrame, test: pd.DataFrame, params: Params
) -> tuple[dict[str, bytes], Verification]:
    """The files train adds to the model directory: the schema, SHAP's reference rows and, when
    asked for, the ONNX export with what its check against scikit-learn on the test split
    found."""
    extras = {MODEL_SCHEMA: (json.dumps(asdict(schema), indent=2) + "\n").encode()}
    extras[MODEL_BACKGROUND] = background_rows(train, params)
    detector = OutlierDetector.fit(train, schema, params.split.seed)
    if detector is not None:  # without numeric features, no record is called an outlier
        extras[MODEL_OUTLIERS] = detector.to_bytes()
    size = model_size(model.steps[-1][1])
    if not params.onnx.export:
        verification = Verification(False, "onnx.export is false in params.yaml")
    elif size is not None and size.nodes > params.onnx.max_nodes:
        reason = (
            f"the model has {size.describe()}, over onnx.max_nodes ({params.onnx.max_nodes}): "
            "limit the trees' size (model.params) or raise onnx.max_nodes"
        )
        verification = Verification(False, reason)
    else:
        # Checking the export is summary work: a seeded sample of the test split bounds it.
        rows = min(len(test), VERIFY_ROWS)
        sample = test.sample(rows, random_state=params.split.seed) if rows < len(test) else test
        serialised, verification = export_verified(model, schema, sample, params.onnx.tolerance)
        if serialised is not None:
            extras[MODEL_ONNX] = serialised
    extras[MODEL_ONNX_CHECK] = (json.dumps(verification.as_dict(), indent=2) + "\n").encode()
    if verification.verified:
        print(
            f"ONNX export verified on {verification.rows} test rows (largest difference "
            f"{verification.max_difference:.1e}): predictions use onnxruntime"
        )
    else:
        print(f"ONNX export not used, predictions use scikit-learn: {verification.reason}")
    return extras, verification


def background_rows(features: pd.DataFrame, params: Params) -> bytes:
    """A sample of the train features (no target) as Parquet: what SHAP explains against."""
    rows = min(params.explain.background_rows, len(features))
    sample = features.sample(rows, random_state=params.split.seed)
    buffer = io.BytesIO()
    sample.to_parquet(buffer)
    return buffer.getvalue()


def compare_with_baseline(
    train: pd.DataFrame, schema: Schema, params: Params, estimator: BaseEstimator
) -> dict[str, float]:
    """Fit the model and the dummy baseline on part of the train split, score both on the rest."""
    fit_rows, validation = split_off(train, schema.target, params, "validate")
    columns = list(schema.features)
    results = {}
    for name, candidate in (
        (
            "model",
            build_model(
                schema, params.features.min_category_frequency, estimator, params.features.text
            ),
        ),
        ("baseline", build_baseline(schema.task)),
    ):
        fitted = fit(candidate, fit_rows[columns], fit_rows[schema.target])
        predicted = fitted.predict(validation[columns])
        results[name] = task_scores(schema.task, validation[schema.target], predicted)

    key = primary_metric(schema.task)
    model_score, baseline_score = results["model"][key], results["baseline"][key]
    verdict = "beats" if is_better(key, model_score, baseline_score) else "does NOT beat"
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
        "data.raw_path": params.data.raw_path,
        "data.target": schema.target,
        "data.task": schema.task,
        "data.train_rows": rows,
        "data.features": len(schema.features),
        **{f"split.{key}": value for key, value in params.split.model_dump().items()},
        **{f"features.{key}": value for key, value in params.features.model_dump().items()},
        "model.name": params.model.name,
        "model.class": type(estimator).__name__,
        # Every estimator setting, defaults included, not only those params.yaml lists.
        **{f"model.{key}": value for key, value in estimator.get_params().items()},
    }


def main() -> None:
    stage_main(run, __doc__)


if __name__ == "__main__":
    main()
