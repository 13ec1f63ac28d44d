"""Stage evaluate: score the model from models/ on the test split.

Writes reports/metrics.json (DVC metrics) and reports/plots/ (DVC plots), and adds the scores to
the MLflow run that trained the model.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..config import load_params
from ..dataset.schema import Schema
from ..modeling.estimators import build_baseline
from ..modeling.metrics import primary_metric, roc_auc_ovr, task_scores
from ..modeling.model import load_pipeline
from ..paths import (
    METRICS_FILE,
    MODEL_DIR,
    PLOTS_DIR,
    RUN_FILE,
    SCHEMA_FILE,
    TEST_DATA,
    TRAIN_DATA,
    require_outputs,
    stage_main,
    write_json,
    written,
)
from ..tracking.server import check_tracking_server
from . import plots


def run(root: Path | str = ".") -> dict[str, float]:
    root = Path(root)
    params = load_params(root)
    check_tracking_server(params.mlflow.tracking_uri)
    require_outputs(root, SCHEMA_FILE, TRAIN_DATA, TEST_DATA, MODEL_DIR, RUN_FILE)
    schema = Schema.load(root / SCHEMA_FILE)
    columns = list(schema.features)
    train, test = pd.read_parquet(root / TRAIN_DATA), pd.read_parquet(root / TEST_DATA)
    features, actual = test[columns], test[schema.target]
    baseline = build_baseline(schema.task).fit(train[columns], train[schema.target])

    model = load_pipeline(root / MODEL_DIR)
    predicted, baseline_predicted = model.predict(features), baseline.predict(features)
    metrics = task_scores(schema.task, actual, predicted)
    headline = primary_metric(schema.task)
    baseline_score = task_scores(schema.task, actual, baseline_predicted)[headline]
    if schema.task == "classification":
        probabilities = model.predict_proba(features)
        roc_auc = roc_auc_ovr(actual, probabilities, model.classes_)
        if roc_auc is None:
            print("roc_auc left out: the test split holds a single class")
        else:
            metrics["roc_auc"] = roc_auc
        with written(root / PLOTS_DIR) as partial:
            plots.write_classification(partial, actual, predicted, probabilities, model.classes_)
    else:
        with written(root / PLOTS_DIR) as partial:
            plots.write_regression(partial, actual, predicted)
    metrics[f"baseline_{headline}"] = baseline_score

    write_json(root / METRICS_FILE, metrics)
    print("test " + ", ".join(f"{name} {value:.4f}" for name, value in metrics.items()))

    # Same names as metrics.json: the run's headline scores are the test ones (train's: val_*).
    from ..tracking.training_run import log_test_metrics  # imports mlflow (seconds)

    trained = json.loads((root / RUN_FILE).read_text(encoding="utf-8"))
    log_test_metrics(params.mlflow, trained, metrics)
    return metrics


def main() -> None:
    stage_main(run, __doc__)


if __name__ == "__main__":
    main()
