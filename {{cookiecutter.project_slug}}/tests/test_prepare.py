"""The prepare stage: missing targets dropped, a clean split, the raw file left alone, and bad
data stopped with one line that says what to fix."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.module_name }}.paths import SCHEMA_FILE, TEST_DATA, TRAIN_DATA
from {{ cookiecutter.module_name }}.pipeline import prepare
from {{ cookiecutter.module_name }}.tracking.lineage import file_md5

ROWS = 200


def labelled_frame(rows: int = ROWS, classes: tuple = ("rare", "common", "common", "common")):
    rng = np.random.default_rng(1)
    return pd.DataFrame(
        {
            "x": rng.normal(size=rows),
            "colour": rng.choice(["red", "blue"], rows),
            "label": [classes[i % len(classes)] for i in range(rows)],
        }
    )


CLASSIFY = {"raw_path": "data/raw/table.csv", "target": "label", "task": "classification"}


def test_rows_without_target_are_dropped_and_counted(make_project, capsys):
    frame = labelled_frame()
    frame.loc[[0, 5, 9], "label"] = None
    root = make_project(frame, data=CLASSIFY)
    prepare.run(root)
    assert "dropped 3 rows with a missing target 'label'" in capsys.readouterr().out
    train, test = pd.read_parquet(root / TRAIN_DATA), pd.read_parquet(root / TEST_DATA)
    assert len(train) + len(test) == ROWS - 3
    assert train["label"].notna().all() and test["label"].notna().all()


def test_the_split_is_disjoint_sized_stratified_and_leaves_the_raw_file_alone(make_project):
    root = make_project(labelled_frame(), data=CLASSIFY, split={"test_size": 0.25})
    raw = root / CLASSIFY["raw_path"]
    before = file_md5(raw)
    prepare.run(root)
    assert file_md5(raw) == before
    train, test = pd.read_parquet(root / TRAIN_DATA), pd.read_parquet(root / TEST_DATA)
    # The index is the row's position in the raw file.
    assert set(train.index).isdisjoint(test.index)
    assert sorted([*train.index, *test.index]) == list(range(ROWS))
    assert len(test) == math.ceil(0.25 * ROWS)
    expected = labelled_frame()["label"].value_counts(normalize=True)
    for part in (train, test):
        shares = part["label"].value_counts(normalize=True)
        assert shares["rare"] == pytest.approx(expected["rare"], abs=0.02)
    assert (root / SCHEMA_FILE).is_file()


def test_a_missing_raw_file_asks_for_dvc_pull(make_project):
    root = make_project(data=CLASSIFY)
    (root / CLASSIFY["raw_path"]).unlink()
    with pytest.raises(SystemExit, match=r"table.csv not found: run `dvc pull`.*data.raw_path"):
        prepare.run(root)


@pytest.mark.parametrize(
    ("frame", "data", "message"),
    [
        (
            labelled_frame(),
            {**CLASSIFY, "target": "Label"},
            r"data.target 'Label' is not a column .*columns: 'x', 'colour', 'label'",
        ),
        (
            labelled_frame().assign(label=np.linspace(0, 1, ROWS)),
            CLASSIFY,
            "has 200 distinct numeric values: set data.task: regression",
        ),
        (
            labelled_frame(),
            {**CLASSIFY, "task": "regression"},
            "target 'label' is not numeric .*set data.task: classification",
        ),
        (
            labelled_frame(classes=("only",)),
            CLASSIFY,
            "has 1 class.*needs at least 2",
        ),
        (labelled_frame(rows=8), CLASSIFY, "too few rows to split: 8 rows"),
    ],
    ids=["unknown target", "float classes", "text regression", "one class", "tiny"],
)
def test_bad_data_stops_with_one_line_naming_the_fix(make_project, frame, data, message):
    root = make_project(frame, data=data)
    with pytest.raises(SystemExit, match=message):
        prepare.run(root)
