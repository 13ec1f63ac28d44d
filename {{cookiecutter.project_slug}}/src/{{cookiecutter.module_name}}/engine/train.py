"""Train on every partition of the train split (compute.engine: dask), for the families that
have a distributed trainer: XGBoost, with xgboost.dask, on the cluster the other stages use.

The preprocessing (imputation, categories, TF-IDF) is fitted on the rows train already holds in
memory (the whole split, or split.train_rows' sample of it), then applied to each partition on
the cluster; XGBoost fits one model on every partition's rows. Its booster is then loaded into
the Pipeline's own estimator, so the ONNX export, SHAP, `make predict` and the API see the same
kind of model an in-memory fit gives. Other families fit in memory, on split.train_rows' sample
when the split is bigger than memory.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from ..config import Params
from ..dataset.schema import Schema
from ..paths import TRAIN_DATA
from .cluster import dask_client
from .settings import compute_settings

DISTRIBUTED_FAMILIES = ("xgboost",)


def fits_on_cluster(params: Params) -> bool:
    """model.name's family has a distributed trainer (the others fit in memory)."""
    return params.model.name in DISTRIBUTED_FAMILIES


def fit_on_cluster(
    model: Pipeline,
    features: pd.DataFrame,
    target: pd.Series,
    root: Path,
    params: Params,
    schema: Schema,
) -> tuple[Pipeline, int]:
    """The Pipeline fitted with xgboost.dask on every row of the train split; the rows fitted."""
    import dask
    import dask.array as da
    import dask.dataframe as dd
    from xgboost import dask as dxgb

    (step, preprocess), (last, estimator) = model.steps[0], model.steps[-1]
    preprocess = clone(preprocess).fit(features, target)
    width = len(preprocess.get_feature_names_out())
    frame = dd.read_parquet(root / TRAIN_DATA, columns=[*schema.features, schema.target])
    parts = frame.to_delayed()
    transform = dask.delayed(_transformed, pure=True)
    shipped = dask.delayed(preprocess, pure=True)  # sent to the workers once
    blocks = [
        da.from_delayed(transform(part, shipped, list(schema.features)), (np.nan, width), "f4")
        for part in parts
    ]
    classification = schema.task == "classification"
    with dask_client(compute_settings(params)) as client:
        labels = frame[schema.target]
        classes = np.unique(labels.dropna().compute()) if classification else None
        codes = dask.delayed(_codes, pure=True)
        y = da.concatenate(
            [
                da.from_delayed(codes(part, schema.target, classes), (np.nan,), "f8")
                for part in parts
            ]
        )
        X = da.concatenate(blocks)
        trainer = (dxgb.DaskXGBClassifier if classification else dxgb.DaskXGBRegressor)(
            **estimator.get_params()
        )
        trainer.client = client
        trainer.fit(X, y)
        rows = len(frame)
    fitted = clone(estimator)
    fitted.load_model(bytearray(trainer.get_booster().save_raw("json")))
    if classification:
        fitted.labels_ = classes
    print(
        f"xgboost.dask: fitted on {rows} rows in {len(parts)} partitions of {TRAIN_DATA} "
        f"(preprocessing fitted on {len(features)} of them)"
    )
    return Pipeline([(step, preprocess), (last, fitted)]), rows


def _transformed(part: pd.DataFrame, preprocess: object, columns: list[str]) -> np.ndarray:
    return np.asarray(preprocess.transform(part[columns]), dtype=np.float32)


def _codes(part: pd.DataFrame, target: str, classes: np.ndarray | None) -> np.ndarray:
    """The labels as XGBoost takes them: class numbers 0..k-1, or the regression target."""
    values = part[target].to_numpy()
    if classes is None:
        return values.astype(float)
    return np.searchsorted(classes, values).astype(float)
