"""Stage evaluate: score the model from models/ on the test split, explain it, describe it.

Writes reports/metrics.json (DVC metrics), reports/plots/ (DVC plots, feature importance among
them) and reports/model_card.md; adds the scores, the importance and the card to the MLflow run
that trained the model, and the card as the registered version's description.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from ..config import Params, load_params
from ..dataset.schema import Schema
from ..dataset.split import read_train_split
from ..modeling.estimators import build_baseline
from ..modeling.explain import Explainer, Importance, global_importance
from ..modeling.metrics import primary_metric, roc_auc_ovr, task_scores
from ..modeling.model import load_pipeline
from ..paths import (
    METRICS_FILE,
    MODEL_BACKGROUND,
    MODEL_CARD,
    MODEL_DIR,
    MODEL_ONNX_CHECK,
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
from . import model_card, plots


def run(root: Path | str = ".") -> dict[str, float]:
    root = Path(root)
    params = load_params(root)
    check_tracking_server(params.mlflow.tracking_uri)
    require_outputs(root, SCHEMA_FILE, TRAIN_DATA, TEST_DATA, MODEL_DIR, RUN_FILE)
    schema = Schema.load(root / SCHEMA_FILE)
    columns = list(schema.features)
    train, test = read_train_split(root, params), pd.read_parquet(root / TEST_DATA)
    features, actual = test[columns], test[schema.target]
    baseline = build_baseline(schema.task).fit(train[columns], train[schema.target])

    model = load_pipeline(root / MODEL_DIR)
    predicted, baseline_predicted = model.predict(features), baseline.predict(features)
    metrics = task_scores(schema.task, actual, predicted)
    headline = primary_metric(schema.task)
    baseline_score = task_scores(schema.task, actual, baseline_predicted)[headline]
    explained = feature_importance(root, model, features, params)
    importance = explained.features
    with written(root / PLOTS_DIR) as partial:
        if schema.task == "classification":
            probabilities = model.predict_proba(features)
            roc_auc = roc_auc_ovr(actual, probabilities, model.classes_)
            if roc_auc is None:
                print("roc_auc left out: the test split holds a single class")
            else:
                metrics["roc_auc"] = roc_auc
            plots.write_classification(partial, actual, predicted, probabilities, model.classes_)
        else:
            plots.write_regression(partial, actual, predicted)
        plots.write_importance(partial, importance, explained.words)
    metrics[f"baseline_{headline}"] = baseline_score
    write_json(root / METRICS_FILE, metrics)
    print("test " + ", ".join(f"{name} {value:.4f}" for name, value in metrics.items()))
    top = ", ".join(importance["feature"].head(3))
    print(f"features that matter most (mean |SHAP|): {top}")

    trained = json.loads((root / RUN_FILE).read_text(encoding="utf-8"))
    onnx_check = json.loads((root / MODEL_DIR / MODEL_ONNX_CHECK).read_text(encoding="utf-8"))
    card = model_card.render(
        model_card.CardInputs(
            params=params,
            schema=schema,
            trained=trained,
            metrics=metrics,
            train=train,
            test=test,
            predicted=np.asarray(predicted),
            importance=importance,
            estimator=model.steps[-1][1],
            scorer=scorer_line(onnx_check),
        )
    )
    with written(root / MODEL_CARD) as partial:
        partial.write_text(card, encoding="utf-8")

    # Same names as metrics.json: the run's headline scores are the test ones (train's: val_*).
    from ..tracking.training_run import log_evaluation  # imports mlflow (seconds)

    files = {
        "feature_importance.csv": root / PLOTS_DIR / "importance" / "test.csv",
        "model_card.md": root / MODEL_CARD,
    }
    for path in sorted((root / PLOTS_DIR / "word_importance").glob("*.csv")):
        if explained.words:  # else the folder holds DVC's header-only file
            files[f"word_importance_{path.name}"] = path
    log_evaluation(params.mlflow, trained, metrics, files, card)
    return metrics


def feature_importance(
    root: Path, model: Pipeline, features: pd.DataFrame, params: Params
) -> Importance:
    """Mean |SHAP| per raw feature (and per word of free text) on a sample of the test split:
    explain.sample_rows rows, or fewer (or approximated) when the model is too big for exact
    SHAP on that many."""
    background = pd.read_parquet(root / MODEL_DIR / MODEL_BACKGROUND)
    explainer = Explainer(model, background, list(getattr(model, "classes_", [])))
    plan = explainer.importance_plan(len(features), params.explain.sample_rows)
    print(f"feature importance: {plan.note}")
    sample = features.sample(plan.rows, random_state=params.split.seed)
    return global_importance(explainer, sample, approximate=plan.approximate)


def scorer_line(check: dict) -> str:
    if check.get("verified"):
        return (
            f"It is exported to ONNX (model.onnx), which reproduces scikit-learn within "
            f"{check['max_difference']:.1e} on the test split: predictions use onnxruntime."
        )
    return f"Predictions use scikit-learn: {check.get('reason', 'no ONNX export')}."


def main() -> None:
    stage_main(run, __doc__)


if __name__ == "__main__":
    main()
