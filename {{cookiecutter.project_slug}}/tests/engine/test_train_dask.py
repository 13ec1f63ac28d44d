"""train out of core (compute.engine: dask, a train split of many partitions): the xgboost
family fits with xgboost.dask on every row, and the model is an ordinary Pipeline afterwards
(ONNX export verified, scores like an in-memory fit's)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from {{ cookiecutter.module_name }}.config import load_params
from {{ cookiecutter.module_name }}.engine.partitions import partitions
from {{ cookiecutter.module_name }}.modeling.labelled_xgboost import LabelledXGBClassifier
from {{ cookiecutter.module_name }}.modeling.model import load_pipeline
from {{ cookiecutter.module_name }}.paths import MODEL_DIR, MODEL_ONNX_CHECK, TRAIN_DATA
from {{ cookiecutter.module_name }}.pipeline import evaluate, prepare, train

from conftest import project_params, scaffold
from synthetic import synthetic_frame

TASK = project_params()["data"]["task"]
DATA = {"raw_path": "data/raw/big.csv", "target": "target", "task": TASK}
XGBOOST = {"name": "xgboost", "params": {"n_estimators": 50}}


def trained(root, engine: str) -> tuple[dict, str]:
    features, target = synthetic_frame(TASK)
    frame = pd.concat([features] * 10, ignore_index=True).assign(
        target=pd.concat([target] * 10, ignore_index=True)
    )
    compute = {"engine": engine, "partition_mb": 0.02}  # the raw file: many partitions
    scaffold(root, frame, data=DATA, model=XGBOOST, compute=compute)
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        patch.delenv("COMPUTE_ENGINE", raising=False)
        prepare.run(root)
        train.run(root)
        return evaluate.run(root), root


@pytest.mark.slow
def test_xgboost_trains_on_every_partition_with_xgboost_dask(tmp_path, capsys):
    metrics, root = trained(tmp_path / "dask", "dask")
    said = capsys.readouterr().out
    train_rows = len(pd.read_parquet(root / TRAIN_DATA))
    assert partitions(root / TRAIN_DATA, load_params(root).compute.partition_mb) > 1
    assert f"xgboost.dask: fitted on {train_rows} rows in" in said, said
    model = load_pipeline(root / MODEL_DIR)
    if TASK == "classification":
        assert isinstance(model.steps[-1][1], LabelledXGBClassifier)
        assert sorted(model.classes_) == ["big", "small"]
    check = json.loads((root / MODEL_DIR / MODEL_ONNX_CHECK).read_text(encoding="utf-8"))
    assert check["verified"], check
    in_memory, _ = trained(tmp_path / "pandas", "pandas")
    assert "xgboost.dask" not in capsys.readouterr().out
    for name, score in in_memory.items():
        if not name.startswith("baseline"):
            assert metrics[name] == pytest.approx(score, rel=0.05), name
