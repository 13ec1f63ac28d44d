"""Seeded samples of data held in pieces (dataset/sample.py), and train fitting on a sample of
the train split (split.train_rows)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from {{ cookiecutter.module_name }}.config import load_params
from {{ cookiecutter.module_name }}.dataset.sample import allocate, read_rows, stratum_shares
from {{ cookiecutter.module_name }}.paths import RUN_FILE
from {{ cookiecutter.module_name }}.pipeline import prepare, train

ROWS = 5000


@pytest.fixture
def pieces(tmp_path):
    """A Parquet file of ten row groups, its index the rows' positions, a class of 3 rows."""
    rng = np.random.default_rng(0)
    labels = rng.choice(["a", "b"], ROWS, p=[0.8, 0.2]).astype(object)
    labels[[10, 2500, 4999]] = "rare"
    frame = pd.DataFrame({"x": rng.normal(size=ROWS), "label": labels}, index=np.arange(ROWS) * 3)
    path = tmp_path / "train.parquet"
    frame.to_parquet(path, row_group_size=ROWS // 10)
    return frame, path


@pytest.mark.parametrize("total", [0, 1, 7, 100, 4999])
def test_shares_add_up_exactly(total):
    counts = np.array([4000, 997, 3])
    shares = stratum_shares(counts, total)
    assert shares.sum() == total and (shares <= counts).all()
    kept = stratum_shares(counts, total, at_least_one=True)
    assert kept.sum() == total
    if total >= 3:
        assert (kept >= 1).all()


def test_allocation_respects_every_piece():
    counts = np.array([[10, 0], [5, 5], [0, 3]])
    taken = allocate(counts, np.array([8, 4]), seed=1)
    assert list(taken.sum(axis=0)) == [8, 4]
    assert (taken <= counts).all()


def test_sample_is_exact_stratified_and_seeded(pieces):
    frame, path = pieces
    sample = read_rows(path, 500, seed=3, stratify_on="label")
    assert len(sample) == 500 and sample.index.is_unique
    pd.testing.assert_frame_equal(sample, frame.loc[sample.index])  # real rows, in file order
    assert (sample["label"] == "rare").sum() >= 1  # a rare class is not sampled away
    share = (sample["label"] == "b").mean()
    assert abs(share - (frame["label"] == "b").mean()) < 0.01
    assert list(read_rows(path, 500, seed=3, stratify_on="label").index) == list(sample.index)
    assert list(read_rows(path, 500, seed=4, stratify_on="label").index) != list(sample.index)


def test_unstratified_sample_and_whole_file(pieces):
    frame, path = pieces
    assert len(read_rows(path, 1234, seed=0, stratify_on=None)) == 1234
    pd.testing.assert_frame_equal(read_rows(path, None, seed=0, stratify_on=None), frame)
    pd.testing.assert_frame_equal(read_rows(path, ROWS + 1, seed=0, stratify_on=None), frame)


def test_train_fits_on_the_configured_sample(make_project, capsys):
    root = make_project(
        split={"train_rows": 120}, model={"name": "random_forest", "params": {"n_estimators": 10}}
    )
    prepare.run(root)
    train.run(root)
    assert "train split: a sample of 120 rows (split.train_rows)" in capsys.readouterr().out
    run_id = json.loads((root / RUN_FILE).read_text(encoding="utf-8"))["run_id"]
    client = MlflowClient(tracking_uri=load_params(root).mlflow.tracking_uri)
    logged = client.get_run(run_id).data.params
    assert logged["data.train_rows"] == "120" and logged["split.train_rows"] == "120"
