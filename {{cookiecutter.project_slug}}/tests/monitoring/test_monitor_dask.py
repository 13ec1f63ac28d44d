"""The out-of-core monitor: KS and Wasserstein from partition summaries agree with the
in-memory statistics (exactly, or within the bound they report), and a batch gets the same
checks and verdict from either engine."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import yaml

from {{ cookiecutter.module_name }}.config import load_params
from {{ cookiecutter.module_name }}.monitoring import drift
from {{ cookiecutter.module_name }}.monitoring.grid_drift import Bins, grid_drift, make_grid
from {{ cookiecutter.module_name }}.monitoring.run import monitor

RNG = np.random.default_rng(7)
SAMPLES = {
    "shifted": (RNG.normal(size=4000), RNG.normal(0.2, 1.3, size=50_000)),
    "integers": (RNG.integers(0, 30, 4000).astype(float), RNG.integers(3, 40, 50_000) * 1.0),
    "beyond the reference": (RNG.normal(size=3000), RNG.normal(4, 1, size=20_000)),
    "unshifted, rounded": (RNG.normal(size=4000).round(1), RNG.normal(size=30_000).round(2)),
}


def summarised(values: np.ndarray, grid: np.ndarray, parts: int = 5) -> Bins:
    pieces = [Bins.of(piece, grid) for piece in np.array_split(values, parts)]
    total = pieces[0]
    for piece in pieces[1:]:
        total = total + piece
    return total


@pytest.mark.parametrize("name", list(SAMPLES))
@pytest.mark.parametrize("grid_size", [100_000, 64])
def test_grid_statistics_match_the_in_memory_ones(name, grid_size):
    reference, current = SAMPLES[name]
    exact = drift.numeric_drift(reference, current)
    grid = make_grid(reference, grid_size)
    found = grid_drift(Bins.of(reference, grid), summarised(current, grid), grid)
    ks_bound = found.extra["ks_error_bound"]
    w_bound = found.extra["wasserstein_error_bound"]
    if len(grid) == len(np.unique(reference)):  # every reference value on the grid: exact KS
        assert ks_bound == 0
    assert found.statistic == pytest.approx(exact.statistic, abs=ks_bound + 1e-12)
    assert found.statistic <= exact.statistic + 1e-12  # the grid never overstates KS
    assert found.extra["wasserstein"] == pytest.approx(
        exact.extra["wasserstein"], abs=w_bound + 1e-9
    )
    if grid_size == 64:  # a coarse grid says so
        assert ks_bound > 0 or w_bound >= 0


@pytest.fixture(scope="module")
def project(pipeline_run, tmp_path_factory):
    root = tmp_path_factory.mktemp("monitor-dask") / "project"
    shutil.copytree(pipeline_run["root"], root)
    params = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))
    params["compute"]["partition_mb"] = 0.01  # many partitions
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    return root


def drifted_batch(root, rows: int = 8000) -> pd.DataFrame:
    """Raw rows resampled, the first numeric feature scaled, some values unparsable or
    missing, a category never seen, the labels kept."""
    params = load_params(root)
    raw = pd.read_csv(root / params.data.raw_path)
    batch = raw.sample(rows, replace=True, random_state=5).reset_index(drop=True)
    schema = json.loads((root / "data/processed/schema.json").read_text(encoding="utf-8"))
    numeric = [c for c, kind in schema["features"].items() if kind == "numeric"]
    categorical = [c for c, kind in schema["features"].items() if kind == "categorical"]
    batch[numeric[0]] = pd.to_numeric(batch[numeric[0]], errors="coerce") * 1.1
    batch.loc[batch.index[::50], numeric[-1]] = np.nan
    if categorical:
        batch[categorical[0]] = batch[categorical[0]].astype(object)
        batch.loc[batch.index[::40], categorical[0]] = "never seen"
    return batch


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_both_engines_reach_the_same_checks_and_verdict(project, suffix, monkeypatch, tmp_path):
    batch = drifted_batch(project)
    path = tmp_path / f"batch{suffix}"
    if suffix == ".csv":
        batch.to_csv(path, index=False)
    else:
        batch.to_parquet(path, row_group_size=1000)
    reports = {}
    for engine in ("pandas", "dask"):
        monkeypatch.setenv("COMPUTE_ENGINE", engine)
        code, report = monitor(path, project, out_dir=tmp_path / engine)
        reports[engine] = (code, report)
    (code, memory), (dask_code, partitions) = reports["pandas"], reports["dask"]
    assert partitions["batch"]["engine"] == "dask" and "engine" not in memory["batch"]
    assert dask_code == code and partitions["message"] == memory["message"]
    assert partitions["batch"]["rows"] == len(batch)
    assert [(r["check"], r["column"], r["failed"]) for r in partitions["checks"]] == [
        (r["check"], r["column"], r["failed"]) for r in memory["checks"]
    ]
    checks = {row["check"] for row in memory["checks"]}
    assert {"feature_drift", "completeness", "prediction_drift", "label_drift"} <= checks
    for exact, found in zip(memory["checks"], partitions["checks"], strict=True):
        for key, value in exact.items():
            if key == "observed":  # the dtype as read: a CSV is text to the Dask engine
                continue
            if key in ("effect", "wasserstein") and "wasserstein_error_bound" in found:
                bound = found["wasserstein_error_bound"]
                if key == "effect":
                    bound /= found["reference_std"]
                assert found[key] == pytest.approx(value, abs=bound + 1e-9), exact
            elif isinstance(value, float):
                assert found[key] == pytest.approx(value, rel=1e-9, abs=1e-12), (key, exact)
            else:
                assert found[key] == value, (key, exact)
    page = (tmp_path / "dask" / "report.html").read_text(encoding="utf-8")
    assert page.count("<svg") == sum(r["check"] == "feature_drift" for r in partitions["checks"])


@pytest.mark.slow
def test_the_dask_engine_checks_free_text_on_a_sample_of_the_batch(monkeypatch, tmp_path):
    """A text column is checked by both engines (unknown words, drift of its TF-IDF and length):
    the Dask engine on a sample drawn from every partition, so its figures are estimates that
    reach the same verdicts."""
    from conftest import project_params, trained_on
    from synthetic import review_frame

    task = project_params()["data"]["task"]
    frame = review_frame(task, rows=2000)[["review", "label"]]
    data = {"raw_path": "data/raw/reviews.csv", "target": "label", "task": task}
    root = trained_on(tmp_path / "project", frame, data=data, compute={"partition_mb": 0.01})
    batches = {"same": review_frame(task, rows=3000, seed=1)}
    bad = batches["same"]["label"] == "negative" if task == "classification" else None
    if bad is None:
        bad = batches["same"]["label"] < 3
    batches["negative"] = batches["same"][bad]
    batches["german"] = batches["same"].assign(review="das produkt kam kaputt an und war schlecht")
    for name, batch in batches.items():
        path = tmp_path / f"{name}.csv"
        batch.to_csv(path, index=False)
        found = {}
        for engine in ("pandas", "dask"):
            monkeypatch.setenv("COMPUTE_ENGINE", engine)
            _, report = monitor(path, root, out_dir=tmp_path / name / engine)
            found[engine] = {
                row["check"]: row for row in report["checks"] if row["column"] == "review"
            }
        assert report["batch"]["engine"] == "dask"
        memory, partitions = found["pandas"], found["dask"]
        checks = {"data_type", "completeness", "unknown_words", "feature_drift"}
        assert set(partitions) == set(memory) == checks
        for check in memory:
            assert partitions[check]["failed"] == memory[check]["failed"], (name, check)
        drifted = memory["feature_drift"]["failed"]
        assert drifted == (name != "same"), (name, memory["feature_drift"])
        assert memory["unknown_words"]["failed"] == (name == "german")
