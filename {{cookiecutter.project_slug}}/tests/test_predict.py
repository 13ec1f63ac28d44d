"""Batch prediction and the record check it shares with the API: raw rows in (IDs, dropped
columns, the target), one output row per input row, bad rows named without losing the others."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.module_name }}.config import load_params
from {{ cookiecutter.module_name }}.dataset.schema import Schema
from {{ cookiecutter.module_name }}.modeling.model import load_pipeline
from {{ cookiecutter.module_name }}.paths import MODEL_DIR, SCHEMA_FILE
from {{ cookiecutter.module_name }}.pipeline import prepare, train
from {{ cookiecutter.module_name }}.predict.__main__ import main as predict_main
from {{ cookiecutter.module_name }}.predict.records import RecordSchema

from synthetic import AWKWARD_TEXT, customers

MODULE = "{{ cookiecutter.module_name }}.predict"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from conftest import scaffold

    root = scaffold(
        tmp_path_factory.mktemp("customers"),
        customers(),
        data={"raw_path": "data/raw/customers.csv", "target": "churned", "task": "classification"},
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        prepare.run(root)
        train.run(root)
    return root


def test_ids_and_markers_are_learnt_from_the_raw_data(trained):
    schema = Schema.load(trained / SCHEMA_FILE)
    assert schema.ids == ["customer_id", "name"]
    assert set(schema.features) == {"spend", "plan", "tenure"}
    assert schema.na_markers == {"spend": ["?"]}


def test_raw_records_are_checked_field_by_field(trained):
    records = RecordSchema(Schema.load(trained / SCHEMA_FILE))
    raw = json.loads(customers(5, seed=1).to_json(orient="records"))
    good = records.check_records(raw)  # IDs, the constant and the target ride along
    assert good.errors == [] and len(good.features) == 5
    assert good.ids.columns.tolist() == ["customer_id", "name"]
    bad = [
        {**raw[0], "spend": "lots"},  # text that is no number and no marker
        {**raw[1], "plan": 3},  # a category of text sent as a number
        {**raw[2], "favourite_colour": "red"},  # never a column of the raw data
        {key: value for key, value in raw[3].items() if key != "tenure"},  # a missing feature
        {**raw[4], "spend": "?", "tenure": None},  # a marker of missing, and a null: fine
    ]
    checked = records.check_records(bad)
    found = {(error.row, error.field, error.type) for error in checked.errors}
    assert found == {
        (0, "spend", "numeric_value"),
        (1, "plan", "categorical_value"),
        (2, "favourite_colour", "extra_forbidden"),
        (3, "tenure", "missing"),
    }
    assert checked.rows.tolist() == [4]


def test_make_predict_writes_one_row_per_input_row_with_the_ids(trained, monkeypatch, capsys):
    monkeypatch.chdir(trained)
    batch = customers(50, seed=2)
    batch.loc[7, "spend"] = "lots"  # one bad row
    batch.to_csv("batch.csv", index=False)
    code = predict_main(["batch.csv", "out.csv"])
    out = pd.read_csv("out.csv")
    assert code == 1  # some rows refused, the others scored
    assert len(out) == 50 and out["row"].tolist() == list(range(1, 51))
    assert out["customer_id"].tolist() == batch["customer_id"].tolist()
    assert out.loc[7, "error"] == "spend: not a number: 'lots'"
    assert out["prediction"].isna().tolist() == [i == 7 for i in range(50)]
    assert set(out["prediction"].dropna()) <= {"yes", "no"}
    probabilities = out[["probability_no", "probability_yes"]].drop(index=7)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    assert "row 8, spend: not a number: 'lots'" in capsys.readouterr().err

    # The same as the Pipeline itself, row for row.
    model = load_pipeline(trained / MODEL_DIR)
    good = batch.drop(index=7)
    good = good.assign(spend=pd.to_numeric(good["spend"], errors="coerce"))
    expected = model.predict(good[["spend", "plan", "tenure"]])
    assert out["prediction"].drop(index=7).tolist() == expected.tolist()


def test_a_csv_output_reads_back_row_for_row_whatever_the_echoed_text(trained, monkeypatch):
    """Echoed IDs holding line breaks (a bare \r too), quotes, separators and non-ASCII text:
    pandas and the csv module read the output back with one row per input row."""
    monkeypatch.chdir(trained)
    batch = customers(len(AWKWARD_TEXT) * 3, seed=4)
    names = (AWKWARD_TEXT * 3)[: len(batch)]
    batch["name"] = pd.Series(names, dtype=object)
    batch.loc[1, "name"] = None  # a missing ID
    batch.to_csv("awkward.csv", index=False, quoting=csv.QUOTE_ALL)
    assert predict_main(["awkward.csv", "out.csv"]) == 0
    out = pd.read_csv("out.csv", keep_default_na=False, na_values=[""])
    assert len(out) == len(batch)
    assert [None if pd.isna(name) else name for name in out["name"]] == batch["name"].tolist()
    with open("out.csv", newline="", encoding="utf-8") as handle:
        assert len(list(csv.reader(handle))) == len(batch) + 1  # and the header


def test_chunks_and_parquet_give_the_same_predictions(trained, monkeypatch):
    monkeypatch.chdir(trained)
    batch = customers(120, seed=3)
    batch.assign(spend=pd.to_numeric(batch["spend"], errors="coerce")).to_parquet("b.parquet")
    assert predict_main(["b.parquet", "whole.parquet"]) == 0
    params = load_params(trained)
    params.predict.chunk_rows = 25  # five chunks, written one after the other
    from {{ cookiecutter.module_name }}.predict.batch import predict_file
    from {{ cookiecutter.module_name }}.predict.model_source import load_model

    model = load_model(trained, params)
    result = predict_file(model, params, trained / "b.parquet", trained / "chunked.parquet", False)
    assert (result.rows, result.scored, result.refused) == (120, 120, 0)
    whole, chunked = pd.read_parquet("whole.parquet"), pd.read_parquet("chunked.parquet")
    pd.testing.assert_frame_equal(whole, chunked, check_exact=False, atol=1e-5)  # float32 sums


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("spend,plan\n1,basic\n", "lacks the feature columns 'tenure'"),
        ("spend,plan,tenure,size\n1,basic,3,42\n", "columns the raw data never had: 'size'"),
        ("", "is empty"),
    ],
)
def test_a_file_that_cannot_be_scored_exits_2_in_one_line(
    trained, tmp_path, capsys, content, message
):
    batch = tmp_path / "batch.csv"
    batch.write_text(content)
    assert predict_main([str(batch), "--root", str(trained)]) == 2
    error = capsys.readouterr().err
    assert error.strip().startswith("predict: nothing scored:") and message in error
    assert len(error.strip().splitlines()) == 1
    assert not (trained / "data" / "predictions" / "batch.csv").exists()


@pytest.mark.slow
def test_the_command_exits_2_in_one_line_without_a_traceback(trained, tmp_path):
    """What a scheduler sees, from a fresh interpreter (the cases above run in this one)."""
    batch = tmp_path / "batch.csv"
    batch.write_text("spend,plan\n1,basic\n")
    done = subprocess.run(
        [sys.executable, "-m", MODULE, str(batch), "--root", str(trained)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert done.stderr.strip().startswith("predict: nothing scored:")
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
