"""The Dask engine: its settings, and `make predict` by partitions giving the pandas engine's
output row for row."""

from __future__ import annotations

import shutil
import time

import pandas as pd
import pytest
import yaml

from {{ cookiecutter.module_name }}.config import load_params
from {{ cookiecutter.module_name }}.dataset.raw import out_of_core
from {{ cookiecutter.module_name }}.engine import cluster
from {{ cookiecutter.module_name }}.predict.__main__ import main as predict_main

BATCH_ROWS = 6000
PARTITION_MB = 0.01  # 10 KB: the test batch spans many partitions


@pytest.fixture(scope="module")
def project(pipeline_run, tmp_path_factory):
    """A copy of the trained scratch project with small partitions, and a batch of its raw
    rows resampled, one value unparsable."""
    root = tmp_path_factory.mktemp("engine") / "project"
    shutil.copytree(pipeline_run["root"], root)
    params = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))
    params["compute"].update(engine="dask", partition_mb=PARTITION_MB)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    raw = pd.read_csv(root / params["data"]["raw_path"])
    batch = raw.sample(BATCH_ROWS, replace=True, random_state=3).reset_index(drop=True)
    numeric = batch.select_dtypes("number").columns.drop(params["data"]["target"], errors="ignore")
    text = batch[numeric[0]].map(lambda value: None if pd.isna(value) else str(value))
    batch[numeric[0]] = text.where(batch.index != 4321, "not a number")
    batch.to_csv(root / "batch.csv", index=False)
    batch.to_parquet(root / "batch.parquet", row_group_size=1000)
    return root


def test_unknown_engine_is_one_line_naming_the_key(make_project):
    root = make_project(compute={"engine": "spark"})
    with pytest.raises(SystemExit, match=r"^params.yaml: compute.engine: .*pandas.*dask"):
        load_params(root)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_partitions_score_as_the_pandas_engine(project, suffix, monkeypatch, capsys):
    monkeypatch.chdir(project)
    source = project / f"batch{suffix}"
    assert out_of_core(load_params(project), source)
    outputs = {}
    for engine in ("pandas", "dask"):
        monkeypatch.setenv("COMPUTE_ENGINE", engine)
        output = project / f"out-{engine}{suffix}.csv"
        assert predict_main([str(source), str(output), "--root", str(project)]) == 1
        outputs[engine] = pd.read_csv(output)
        assert not list(project.glob(".*.parts")), "part files left behind"
    printed = capsys.readouterr().err
    assert printed.count("row 4322,") == 2, printed  # the bad row, numbered alike by both
    assert len(outputs["dask"]) == BATCH_ROWS
    # onnxruntime on one thread per partition adds float32 terms in another order: 1e-6 apart
    pd.testing.assert_frame_equal(outputs["pandas"], outputs["dask"], check_exact=False, atol=1e-5)


def test_a_batch_of_one_partition_runs_in_memory(project, tmp_path):
    small = tmp_path / "small.csv"
    pd.read_csv(project / "batch.csv", nrows=20).to_csv(small, index=False)
    assert not out_of_core(load_params(project), small)


def test_unreachable_scheduler_stops_in_seconds_with_one_line(project, monkeypatch):
    import socket

    with socket.socket() as unused:  # a port nothing listens on
        unused.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{unused.getsockname()[1]}"
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", address)
    monkeypatch.setattr(cluster, "CONNECT_SECONDS", 2)
    start = time.monotonic()
    with (
        pytest.raises(SystemExit, match=f"cannot reach the Dask scheduler at {address}"),
        cluster.dask_client(load_params(project).compute),
    ):
        pass
    assert time.monotonic() - start < 10
