"""Stage evaluate: score the model from models/ on the test split.

Writes reports/metrics.json (DVC metrics) and reports/plots/ (DVC plots), and adds the scores to
the MLflow run that trained the model.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from . import plots
from .config import (
    METRICS_FILE,
    MODEL_DIR,
    PLOTS_DIR,
    RUN_FILE,
    SCHEMA_FILE,
    TEST_DATA,
    TRAIN_DATA,
    cli_root,
    require_outputs,
)
from .estimators import build_baseline
from .metrics import classification_scores, regression_scores, roc_auc_ovr
from .schema import Schema


def run(root: Path | str = ".") -> dict[str, float]:
    root = Path(root)
    require_outputs(root, SCHEMA_FILE, TRAIN_DATA, TEST_DATA, MODEL_DIR, RUN_FILE)
    schema = Schema.load(root / SCHEMA_FILE)
    columns = list(schema.features)
    train, test = pd.read_parquet(root / TRAIN_DATA), pd.read_parquet(root / TEST_DATA)
    features, actual = test[columns], test[schema.target]
    baseline = build_baseline(schema.task).fit(train[columns], train[schema.target])

    from . import tracking  # imports mlflow (seconds)

    model = tracking.load_model(root / MODEL_DIR)
    predicted, baseline_predicted = model.predict(features), baseline.predict(features)
    if schema.task == "classification":
        probabilities = model.predict_proba(features)
        metrics = classification_scores(actual, predicted)
        roc_auc = roc_auc_ovr(actual, probabilities, model.classes_)
        if roc_auc is None:
            print("roc_auc left out: the test split holds a single class")
        else:
            metrics["roc_auc"] = roc_auc
        metrics["baseline_accuracy"] = classification_scores(actual, baseline_predicted)["accuracy"]
        plots.write_classification(
            root / PLOTS_DIR, actual, predicted, probabilities, model.classes_
        )
    else:
        metrics = regression_scores(actual, predicted)
        metrics["baseline_rmse"] = regression_scores(actual, baseline_predicted)["rmse"]
        plots.write_regression(root / PLOTS_DIR, actual, predicted)

    (root / METRICS_FILE).parent.mkdir(parents=True, exist_ok=True)
    (root / METRICS_FILE).write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    print("test " + ", ".join(f"{name} {value:.4f}" for name, value in metrics.items()))

    # Same names as metrics.json: the run's headline scores are the test ones (train's: val_*).
    trained = json.loads((root / RUN_FILE).read_text(encoding="utf-8"))
    tracking.log_test_metrics(root, trained, metrics)
    return metrics


def main() -> None:
    run(cli_root(__doc__))


if __name__ == "__main__":
    main()
