"""Plot data for `dvc plots show`; templates and axes are declared in dvc.yaml `plots:`.

dvc.yaml declares the plots of both tasks, since the task is picked in params.yaml at run time.
The kinds the task does not draw get a header-only CSV: DVC draws nothing for it, whereas a
missing file makes `dvc plots show` / `dvc plots diff` warn (and git keeps no empty folder).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_curve

COLUMNS = {
    "confusion": ("actual", "predicted"),
    "roc": ("fpr", "tpr"),
    "predicted_vs_actual": ("actual", "predicted"),
    "residuals": ("predicted", "residual"),
    "importance": ("feature", "importance"),
    "word_importance": ("ngram", "importance"),
}
TASK_KINDS = {
    "classification": ("confusion", "roc", "importance", "word_importance"),
    "regression": ("predicted_vs_actual", "residuals", "importance", "word_importance"),
}


def write_classification(
    plots_dir: Path,
    actual: pd.Series,
    predicted: np.ndarray,
    probabilities: np.ndarray,
    classes: np.ndarray,
) -> None:
    """Confusion pairs, and one ROC curve per class (only the second class's when binary)."""
    _reset(plots_dir, "classification")
    actual = np.asarray(actual)
    _write(plots_dir / "confusion" / "test.csv", actual=actual, predicted=predicted)
    for position, label in enumerate(classes):
        hits = actual == label
        if (len(classes) == 2 and position == 0) or hits.all() or not hits.any():
            continue  # the binary mirror curve, or a class the test split lacks or is made of
        fpr, tpr, _ = roc_curve(hits, probabilities[:, position])
        _write(plots_dir / "roc" / f"{_file_stem(label)}.csv", fpr=fpr, tpr=tpr)
    if not any((plots_dir / "roc").iterdir()):  # a single-class test split has no curve
        _write(plots_dir / "roc" / "test.csv", fpr=[], tpr=[])


def write_regression(plots_dir: Path, actual: pd.Series, predicted: np.ndarray) -> None:
    _reset(plots_dir, "regression")
    actual = np.asarray(actual, dtype=float)
    _write(plots_dir / "predicted_vs_actual" / "test.csv", actual=actual, predicted=predicted)
    _write(plots_dir / "residuals" / "test.csv", predicted=predicted, residual=actual - predicted)


def write_importance(
    plots_dir: Path, importance: pd.DataFrame, words: dict[str, pd.DataFrame]
) -> None:
    """Mean |SHAP| per raw feature, largest first (modeling/explain.py); per free-text feature,
    its words that weigh most, one file each (a header-only one when there is no text)."""
    _write(
        plots_dir / "importance" / "test.csv", **{c: importance[c] for c in COLUMNS["importance"]}
    )
    for feature, frame in words.items():
        columns = {c: frame[c] for c in COLUMNS["word_importance"]}
        _write(plots_dir / "word_importance" / f"{_file_stem(feature)}.csv", **columns)
    if not words:
        _write(plots_dir / "word_importance" / "test.csv", ngram=[], importance=[])


def _reset(plots_dir: Path, task: str) -> None:
    shutil.rmtree(plots_dir, ignore_errors=True)  # files of an earlier run may not be rewritten
    for kind, columns in COLUMNS.items():
        (plots_dir / kind).mkdir(parents=True)
        if kind not in TASK_KINDS[task]:
            _write(plots_dir / kind / "test.csv", **{column: [] for column in columns})


def _write(path: Path, **columns: np.ndarray | list) -> None:
    pd.DataFrame(columns).to_csv(path, index=False, float_format="%.6g")


def _file_stem(label: object) -> str:
    return re.sub(r"[^\w.-]+", "_", str(label)).strip("_") or "class"
