"""Schema inference on a hostile CSV: accents and spaces in names, dates, IDs, booleans, gaps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.module_name }}.config import DataSection
from {{ cookiecutter.module_name }}.dataset.raw import read_table
from {{ cookiecutter.module_name }}.dataset.schema import (
    CATEGORICAL,
    DATETIME,
    NUMERIC,
    Schema,
    infer_schema,
    validate,
)

ROWS = 60


def hostile_frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    price = rng.normal(100, 10, ROWS).round(2)
    price[[3, 7]] = np.nan
    quantity = rng.integers(1, 9, ROWS).astype(str).astype(object)
    quantity[5] = "?"  # a placeholder in a column of numbers
    city = rng.choice(["Paris", "Lyon", "Nantes"], ROWS).astype(object)
    city[[1, 2]] = None
    dates = pd.date_range("2021-01-01", periods=ROWS, freq="7D").strftime("%Y-%m-%d")
    active = rng.choice(["True", "False"], ROWS).astype(object)
    active[4] = None  # read back as an object column of booleans and NaN
    return pd.DataFrame(
        {
            "Unnamed: 0": range(ROWS),
            "n° client": [f"C-{i:05d}" for i in range(ROWS)],
            "prix (€)": price,
            "quantité": quantity,
            "ville": city,
            "Année de vente": dates,
            "actif": active,
            "constante": "même valeur",
            "vide": np.nan,
            "classe": rng.choice(["oui", "non"], ROWS),
        }
    )


DATA = DataSection(
    raw_path="data/raw/hostile.csv", target="classe", task="classification", sep=",", decimal="."
)


@pytest.fixture
def raw(tmp_path) -> pd.DataFrame:
    """The frame as prepare reads it back from a CSV file (types come from the text)."""
    path = tmp_path / "hostile.csv"
    hostile_frame().to_csv(path, index=False)
    return read_table(path)


def test_each_column_gets_a_type_or_a_reason_to_be_dropped(raw):
    schema = infer_schema(raw, DATA)
    assert schema.features == {
        "prix (€)": NUMERIC,
        "quantité": NUMERIC,
        "ville": CATEGORICAL,
        "Année de vente": DATETIME,
        "actif": CATEGORICAL,
    }
    assert schema.date_formats == {"Année de vente": "ISO8601"}
    assert schema.dropped["n° client"].startswith("ID-like text")
    assert schema.dropped["Unnamed: 0"].startswith("row number")
    assert schema.dropped["constante"].startswith("constant")
    assert schema.dropped["vide"] == "all values missing"
    validate(raw, schema)


def test_overrides_win_over_inference(raw):
    data = DATA.model_copy(
        update={"categorical_features": ["quantité"], "drop_columns": ["prix (€)"]}
    )
    schema = infer_schema(raw, data)
    assert schema.features["quantité"] == CATEGORICAL
    assert "prix (€)" not in schema.features
    assert schema.dropped["prix (€)"] == "listed in data.drop_columns"


def test_an_override_naming_no_column_lists_the_columns(raw):
    with pytest.raises(SystemExit, match=r"data.datetime_features lists 'date'.*'Année de vente'"):
        infer_schema(raw, DATA.model_copy(update={"datetime_features": ["date"]}))


def test_a_wrong_override_fails_validation_with_the_fix(raw):
    schema = infer_schema(raw, DATA.model_copy(update={"numeric_features": ["ville"]}))
    with pytest.raises(SystemExit, match=r"'ville' is used as numeric.*data.numeric_features"):
        validate(raw, schema)


def test_the_schema_survives_its_json_file(raw, tmp_path):
    schema = infer_schema(raw, DATA)
    schema.save(tmp_path / "schema.json")
    assert Schema.load(tmp_path / "schema.json") == schema
    assert "Année de vente" in (tmp_path / "schema.json").read_text(encoding="utf-8")


def test_row_names_are_ids_echoed_and_not_features(raw):
    frame = raw.assign(
        customer_id=np.arange(ROWS) * 7 + 1000,  # numbers, but named and distinct like an ID
        id_str=np.arange(ROWS) * 997 + 6_971_079_756,  # a tweet's ID, as a number
        rownames=[*map(str, range(1, ROWS)), "oops"],  # R's row names, one value misread
        paid=np.linspace(0, 1, ROWS),  # ends in "id" yet a measurement
        valid_share=np.linspace(0, 1, ROWS),  # "id_" inside a word: a measurement
    )
    schema = infer_schema(frame, DATA)
    assert schema.ids == ["Unnamed: 0", "n° client", "customer_id", "id_str", "rownames"]
    assert schema.features["paid"] == NUMERIC
    assert schema.features["valid_share"] == NUMERIC
    assert not set(schema.ids) & set(schema.features)
    assert schema.dropped["customer_id"].startswith("ID column")


def test_unique_codes_from_a_huge_space_are_ids_not_features(raw):
    """18-digit account numbers, all distinct and not consecutive, are IDs; numbers that are
    all distinct yet measure something (epoch seconds, prices) stay features."""
    rng = np.random.default_rng(1)
    frame = raw.assign(
        account=rng.choice(10**17, ROWS, replace=False) + 10**17,
        signed_up=1_600_000_000 + np.sort(rng.choice(10**7, ROWS, replace=False)),
        amount=rng.choice(10**6, ROWS, replace=False) + 0.5,
    )
    schema = infer_schema(frame, DATA)
    assert "account" in schema.ids and "account" not in schema.features
    assert "data.numeric_features" in schema.dropped["account"]
    assert schema.features["signed_up"] == NUMERIC
    assert schema.features["amount"] == NUMERIC
    kept = infer_schema(frame, DATA.model_copy(update={"numeric_features": ["account"]}))
    assert kept.features["account"] == NUMERIC


def test_messages_show_values_as_written_not_numpy_reprs(raw):
    schema = infer_schema(raw.assign(zero=np.float64(0.0), seven=np.int64(7)), DATA)
    assert schema.dropped["zero"] == "constant (0.0)"
    assert schema.dropped["seven"] == "constant (7)"


def test_id_columns_can_be_listed(raw):
    data = DATA.model_copy(update={"id_columns": ["ville"]})
    schema = infer_schema(raw, data)
    assert "ville" in schema.ids and "ville" not in schema.features
    assert schema.dropped["ville"] == "listed in data.id_columns"


def test_raw_types_and_missing_markers_are_recorded(raw):
    schema = infer_schema(raw, DATA)
    assert schema.raw_types["prix (€)"] == "number"
    assert schema.raw_types["ville"] == "string"
    assert schema.raw_types["actif"] == "boolean"
    assert set(schema.raw_types) == set(raw.columns)  # the target and dropped columns too
    assert schema.na_markers == {"quantité": ["?"]}  # read as missing in training


def test_a_schema_saved_before_ids_existed_still_loads(tmp_path):
    path = tmp_path / "schema.json"
    path.write_text(
        '{"target": "y", "task": "regression", "features": {"x": "numeric"}, '
        '"date_formats": {}, "dropped": {}}'
    )
    schema = Schema.load(path)
    assert schema.ids == [] and schema.raw_types == {} and schema.na_markers == {}
