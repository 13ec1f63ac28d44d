"""prepare out of core (compute.engine: dask, a raw file of many partitions): the same schema,
rows, values and types as the in-memory prepare, an exact stratified test split, and the same
one-line errors."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.module_name }}.config import load_params
from {{ cookiecutter.module_name }}.dataset.schema import Schema
from {{ cookiecutter.module_name }}.engine.partitions import partitions
from {{ cookiecutter.module_name }}.paths import SCHEMA_FILE, TEST_DATA, TRAIN_DATA
from {{ cookiecutter.module_name }}.pipeline import prepare

from conftest import scaffold

ROWS = 6000
PARTITION_MB = 0.03  # about 30 KB: the raw file spans many partitions
RAW = {"raw_path": "data/raw/big.csv", "target": "label", "task": "classification"}


def raw_frame(rows: int = ROWS) -> pd.DataFrame:
    """Columns whose type only the whole file tells: integers with a gap in the last rows,
    booleans, integer-coded categories, a placeholder in a numeric column; a row number; a
    rare class; missing targets."""
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {
            "n": np.arange(rows) + 1,  # a row number: an ID, not a feature
            "x": rng.normal(size=rows).round(4),
            "count": rng.integers(0, 50, rows),
            "flag": rng.choice([True, False], rows),
            "grade": rng.choice([1, 2, 3], rows),
            "colour": rng.choice(["red", "blue", "green"], rows),
            "label": rng.choice(["a", "b", "c"], rows, p=[0.6, 0.3, 0.1]),
        }
    )
    frame["count"] = frame["count"].astype(object)
    frame.loc[rows - 3, "count"] = None  # read as floats: only the end of the file says so
    frame["x"] = frame["x"].astype(object)
    frame.loc[11, "x"] = "?"
    frame.loc[[20, 3000, rows - 1], "label"] = None
    frame.loc[[40, 41], "label"] = "rare"
    return frame


def prepared(make_project, frame: pd.DataFrame, engine: str, **changes) -> tuple:
    root = make_project(
        frame,
        data={**RAW, **changes.pop("data", {})},
        compute={"engine": engine, "partition_mb": PARTITION_MB, "schema_rows": 2000},
        **changes,
    )
    prepare.run(root)
    schema = Schema.load(root / SCHEMA_FILE)
    return root, schema, pd.read_parquet(root / TRAIN_DATA), pd.read_parquet(root / TEST_DATA)


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """The same raw file prepared by each engine."""
    frame = raw_frame()
    runs = {}
    for engine in ("pandas", "dask"):
        root = tmp_path_factory.mktemp(engine)
        runs[engine] = prepared(
            lambda *args, root=root, **changes: scaffold(root, *args, **changes), frame, engine
        )
    return frame, runs


def test_the_raw_file_spans_partitions(both):
    root = both[1]["dask"][0]
    params = load_params(root)
    assert partitions(root / params.data.raw_path, params.compute.partition_mb) > 5


def test_schema_is_the_in_memory_one(both):
    _, runs = both
    memory, dask = runs["pandas"][1], runs["dask"][1]
    assert dask.features == memory.features
    assert dask.ids == memory.ids == ["n"]
    assert dask.raw_types == memory.raw_types
    assert dask.na_markers == memory.na_markers == {"x": ["?"]}


def test_rows_values_and_types_are_the_in_memory_ones(both):
    _, runs = both
    _, _, train, test = runs["dask"]
    _, _, memory_train, memory_test = runs["pandas"]
    rows = pd.concat([train, test]).sort_index()
    memory_rows = pd.concat([memory_train, memory_test]).sort_index()
    assert list(rows.index) == [i for i in range(ROWS) if i not in (20, 3000, ROWS - 1)]
    pd.testing.assert_frame_equal(rows, memory_rows)
    assert str(rows["count"].dtype) == "float64" and rows["flag"].dtype == bool


def test_test_split_is_exact_and_stratified(both, capsys):
    frame, runs = both
    _, _, train, test = runs["dask"]
    labelled = ROWS - 3
    assert len(test) == math.ceil(0.2 * labelled)
    assert not set(train.index) & set(test.index)
    counts = frame["label"].dropna().value_counts()
    for label, rows in counts.items():
        share = (test["label"] == label).sum() / rows
        assert abs(share - 0.2) <= 1 / rows, label


def test_split_is_seeded(both, make_project):
    frame, runs = both
    _, _, _, test = prepared(make_project, frame, "dask")
    assert list(test.index) == list(runs["dask"][3].index)


def test_parquet_raw_prepares_alike(both, make_project):
    _, runs = both
    root = make_project(
        data={**RAW, "raw_path": "data/raw/big.parquet"},
        compute={"engine": "dask", "partition_mb": PARTITION_MB, "schema_rows": 2000},
    )
    # As pandas reads the CSV: a Parquet file carries those types itself.
    typed = pd.read_csv(runs["dask"][0] / RAW["raw_path"])
    typed.to_parquet(root / "data/raw/big.parquet", row_group_size=500)
    prepare.run(root)
    assert Schema.load(root / SCHEMA_FILE).features == runs["pandas"][1].features
    rows = pd.concat([pd.read_parquet(root / p) for p in (TRAIN_DATA, TEST_DATA)]).sort_index()
    memory = pd.concat(runs["pandas"][2:]).sort_index()
    pd.testing.assert_frame_equal(rows, memory)


def test_wrong_type_override_is_the_in_memory_error(make_project):
    frame = raw_frame()
    with pytest.raises(SystemExit, match=r"^column 'colour' is used as numeric but 100% .*"):
        prepared(make_project, frame, "dask", data={"numeric_features": ["colour"]})


def test_text_regression_target_is_one_line(make_project):
    frame = raw_frame()
    target = {"target": "colour", "task": "regression"}
    with pytest.raises(SystemExit, match=r"^data.task is regression but target 'colour' .*"):
        prepared(make_project, frame, "dask", data=target)


def test_single_row_class_splits_unstratified(make_project, capsys):
    frame = raw_frame()
    frame.loc[41, "label"] = "a"  # "rare" keeps one row
    _, _, train, test = prepared(make_project, frame, "dask")
    assert "test split not stratified: class 'rare' has a single row" in capsys.readouterr().out
    assert len(train) + len(test) == ROWS - 3
