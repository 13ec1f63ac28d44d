"""The evaluate stage: metrics.json and the plot data are complete and sane."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from {{ cookiecutter.module_name }}.paths import METRICS_FILE, PLOTS_DIR, TEST_DATA
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
            else:
                assert len(frame) == test_rows
    if task == "regression":
        residuals = pd.read_csv(root / PLOTS_DIR / "residuals" / "test.csv")
        scatter = pd.read_csv(root / PLOTS_DIR / "predicted_vs_actual" / "test.csv")
        np.testing.assert_allclose(
            residuals["residual"], scatter["actual"] - scatter["predicted"], atol=1e-3
        )
