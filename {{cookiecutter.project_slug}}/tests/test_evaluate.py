"""The evaluate stage: metrics.json and the plot data are complete and sane."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from {{ cookiecutter.module_name }}.dataset.schema import TEXT, Schema
from {{ cookiecutter.module_name }}.paths import (
    METRICS_FILE,
    MODEL_CARD,
    PLOTS_DIR,
    SCHEMA_FILE,
    TEST_DATA,
)
from {{ cookiecutter.module_name }}.pipeline.plots import COLUMNS, TASK_KINDS


def test_metrics_are_flat_floats_and_beat_the_baseline_on_the_test_split(pipeline_run):
    root = pipeline_run["root"]
    metrics = json.loads((root / METRICS_FILE).read_text(encoding="utf-8"))
    assert metrics == pipeline_run["metrics"]
    assert all(isinstance(value, float) for value in metrics.values())
    if "accuracy" in metrics:
        assert set(metrics) == {"accuracy", "f1_macro", "roc_auc", "baseline_accuracy"}
        assert all(0 <= value <= 1 for value in metrics.values())
        assert metrics["accuracy"] > metrics["baseline_accuracy"] + 0.1
        assert metrics["roc_auc"] > 0.6
    else:
        assert set(metrics) == {"rmse", "mae", "r2", "baseline_rmse"}
        assert 0 < metrics["mae"] <= metrics["rmse"] < 0.9 * metrics["baseline_rmse"]
        assert 0 < metrics["r2"] <= 1


def test_plot_files_hold_the_test_rows_of_the_task_and_are_empty_otherwise(pipeline_run):
    root = pipeline_run["root"]
    test_rows = len(pd.read_parquet(root / TEST_DATA))
    schema = Schema.load(root / SCHEMA_FILE)
    task = "classification" if "accuracy" in pipeline_run["metrics"] else "regression"
    for kind, columns in COLUMNS.items():
        files = sorted((root / PLOTS_DIR / kind).glob("*.csv"))
        assert files, kind
        for path in files:
            frame = pd.read_csv(path)
            assert tuple(frame.columns) == columns
            if kind not in TASK_KINDS[task]:
                assert frame.empty
            elif kind == "roc":
                assert frame[["fpr", "tpr"]].stack().between(0, 1).all()
                assert frame["fpr"].is_monotonic_increasing
            elif kind == "word_importance":  # per text column: the sample data has none
                assert frame.empty == (TEXT not in schema.features.values())
            elif kind == "importance":  # one row per raw feature, largest first
                assert set(frame["feature"]) == set(schema.features)
                assert frame["importance"].is_monotonic_decreasing
                assert (frame["importance"] >= 0).all() and frame["importance"].iloc[0] > 0
            else:
                assert len(frame) == test_rows
    if task == "regression":
        residuals = pd.read_csv(root / PLOTS_DIR / "residuals" / "test.csv")
        scatter = pd.read_csv(root / PLOTS_DIR / "predicted_vs_actual" / "test.csv")
        np.testing.assert_allclose(
            residuals["residual"], scatter["actual"] - scatter["predicted"], atol=1e-3
        )


def test_the_model_card_describes_the_model_and_is_its_registered_description(pipeline_run):
    from mlflow import MlflowClient

    from {{ cookiecutter.module_name }}.config import load_params

    root, logged = pipeline_run["root"], pipeline_run["logged"]
    card = (root / MODEL_CARD).read_text(encoding="utf-8")
    headings = [line for line in card.splitlines() if line.startswith("## ")]
    assert headings[:4] == ["## What it predicts", "## Data", "## Test metrics", headings[3]]
    assert headings[-3:] == ["## Parameters", "## Limitations", "## Reproduce it"]
    assert "## What drives it" in headings
    for name, value in pipeline_run["metrics"].items():
        if not name.startswith("baseline_"):
            assert f"| {name} | {value:.4f} |" in card
    assert pipeline_run["dvc_md5"] in card  # the data it learnt from
    if pipeline_run["commit"]:
        assert f"git checkout {pipeline_run['commit']}" in card
    client = MlflowClient(load_params(root).mlflow.tracking_uri)
    version = client.get_model_version(logged["registered_model"], logged["registered_version"])
    assert version.description == card
    logged_files = {item.path for item in client.list_artifacts(logged["run_id"], "evaluation")}
    assert logged_files == {"evaluation/model_card.md", "evaluation/feature_importance.csv"}
