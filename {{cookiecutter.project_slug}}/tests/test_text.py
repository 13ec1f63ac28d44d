"""Free text as a feature: told from IDs, TF-IDF inside the model, exported to ONNX and
verified, explained word by word; a table of one text column and a label runs end to end."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from {{ cookiecutter.module_name }}.config import load_params
from {{ cookiecutter.module_name }}.dataset.schema import TEXT, Schema, infer_schema
from {{ cookiecutter.module_name }}.modeling.estimators import FAMILIES, build_estimator
from {{ cookiecutter.module_name }}.modeling.explain import PLOTTED_WORDS, Explainer, top_contributions
from {{ cookiecutter.module_name }}.modeling.features import TOKEN_PATTERN, WordTfidfVectorizer
from {{ cookiecutter.module_name }}.modeling.model import build_model, fit, load_pipeline
from {{ cookiecutter.module_name }}.modeling.onnx_export import export_verified
from {{ cookiecutter.module_name }}.paths import MODEL_DIR, MODEL_ONNX_CHECK, SCHEMA_FILE, TEST_DATA
from {{ cookiecutter.module_name }}.pipeline import evaluate, prepare, train
from {{ cookiecutter.module_name }}.predict.__main__ import main as predict_main

from conftest import PROJECT_ROOT, project_params
from synthetic import NEGATIVE, POSITIVE, review_frame

TASK = project_params()["data"]["task"]
DATA = {"raw_path": "data/raw/reviews.csv", "target": "label", "task": TASK}


def data_section(**changes):
    data = load_params(PROJECT_ROOT).data
    return data.model_copy(update={**DATA, **changes})


def test_free_text_is_told_from_ids():
    """Sentences are text; a one-token code and a two-word name, unique per row, are IDs."""
    schema = infer_schema(review_frame(TASK), data_section())
    assert schema.features == {"review": TEXT}
    assert schema.ids == ["product_code", "reviewer"]
    assert "data.text_features" in schema.dropped["reviewer"]  # the message names the fix


def test_text_features_forces_a_column_to_text_and_conflicts_are_one_line():
    forced = infer_schema(review_frame(TASK), data_section(text_features=["reviewer"]))
    assert forced.features == {"reviewer": TEXT, "review": TEXT}
    with pytest.raises(SystemExit, match="listed under two types"):
        infer_schema(
            review_frame(TASK),
            data_section(text_features=["review"], categorical_features=["review"]),
        )


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_family_learns_from_text_and_its_export_verifies(family):
    frame = review_frame(TASK)
    schema = infer_schema(frame, data_section())
    text = load_params(PROJECT_ROOT).features.text
    model = build_model(schema, 5, build_estimator(family, {}, TASK, 0), text)
    train_rows, test_rows = frame.iloc[:900], frame.iloc[900:]
    fit(model, train_rows[["review"]], train_rows["label"])
    predicted = model.predict(test_rows[["review"]])
    if TASK == "classification":
        assert (predicted == test_rows["label"]).mean() > 0.85
    else:
        assert np.corrcoef(predicted, test_rows["label"])[0, 1] > 0.8
    exported, verification = export_verified(model, schema, test_rows[["review"]], 1e-4)
    assert verification.verified, verification  # words and word pairs, missing text included
    assert exported is not None


def orphan_ngrams(vocabulary: dict[str, int]) -> list[str]:
    words = {term for term in vocabulary if " " not in term}
    return [term for term in vocabulary if not set(term.split(" ")) <= words]


def test_a_word_pair_kept_without_its_words_is_left_out_so_onnx_agrees():
    """A pair that only occurs as a pair is as frequent as its words: max_features, cutting
    through such ties, may keep the pair and drop a word. onnxruntime never counts that pair."""
    pairs = [f"alpha{i} beta{i}" for i in range(40)]
    reviews = [pairs[i] for i in range(40) for _ in range(1 + i % 3)]
    frame = pd.DataFrame(
        {
            "review": [f"{review} {('bad', 'good')[j % 2]}" for j, review in enumerate(reviews)],
            "label": [j % 2 for j in range(len(reviews))],
        }
    )
    schema = infer_schema(frame, data_section(text_features=["review"]))
    settings = {"max_features": 150, "word_ngrams": 2, "char_ngrams": 0, "min_documents": 1}
    plain = TfidfVectorizer(ngram_range=(1, 2), max_features=150, token_pattern=TOKEN_PATTERN)
    assert orphan_ngrams(plain.fit(frame["review"]).vocabulary_)  # the tie this test is about
    text = load_params(PROJECT_ROOT).features.text.model_copy(update=settings)
    model = build_model(schema, 5, build_estimator("linear", {}, TASK, 0), text)
    fit(model, frame[["review"]], frame["label"])
    vectorizer = model[0].named_transformers_["text_0"][-1]
    assert isinstance(vectorizer, WordTfidfVectorizer) and vectorizer.vocabulary_
    assert not orphan_ngrams(vectorizer.vocabulary_)
    _, verification = export_verified(model, schema, frame[["review"]], 1e-4)
    assert verification.verified, verification


def test_explanations_name_the_words_of_the_record():
    frame = review_frame(TASK)
    schema = infer_schema(frame, data_section())
    text = load_params(PROJECT_ROOT).features.text
    model = build_model(schema, 5, build_estimator("lightgbm", {}, TASK, 0), text)
    fit(model, frame[["review"]], frame["label"])
    classes = list(getattr(model, "classes_", []))
    explainer = Explainer(model, frame[["review"]].head(50), classes)
    records = pd.DataFrame({"review": ["It arrived broken, awful. Refund please", None]})
    found = top_contributions(explainer, records, list(model.predict(records)), top=3)
    words = found[0]["contributions"][0]["words"]
    assert words and {item["ngram"] for item in words} <= {
        "it", "arrived", "broken", "awful", "refund", "please", "it arrived", "arrived broken",
        "broken awful", "awful refund", "refund please",
    }  # fmt: skip
    assert {"broken", "awful", "refund"} & {item["ngram"] for item in words}
    sizes = [abs(item["contribution"]) for item in words]
    assert sizes == sorted(sizes, reverse=True)
    assert found[1]["contributions"][0]["words"] == []  # missing text: no word to name


@pytest.mark.slow
def test_a_table_of_one_text_column_and_a_label_runs_end_to_end(make_project, monkeypatch):
    """No code change: prepare finds the text, train fits TF-IDF inside the model and exports
    it (verified), evaluate explains it, the saved model scores raw text."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    frame = review_frame(TASK, rows=1500)[["review", "label"]]
    root = make_project(frame, data=DATA)
    prepare.run(root)
    assert Schema.load(root / SCHEMA_FILE).features == {"review": TEXT}
    train.run(root)
    metrics = evaluate.run(root)
    if TASK == "classification":
        assert metrics["accuracy"] > 0.85 > metrics["baseline_accuracy"]
        # as good as a plain TF-IDF + logistic regression on the same split, give or take 0.02
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        train_rows = pd.read_parquet(root / "data" / "processed" / "train.parquet")
        test_rows = pd.read_parquet(root / TEST_DATA)
        plain = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000))
        plain.fit(train_rows["review"].fillna(""), train_rows["label"])
        reference = (plain.predict(test_rows["review"].fillna("")) == test_rows["label"]).mean()
        assert metrics["accuracy"] >= reference - 0.02
    else:
        assert metrics["rmse"] < 0.6 * metrics["baseline_rmse"]
    check = (root / MODEL_DIR / MODEL_ONNX_CHECK).read_text(encoding="utf-8")
    assert '"verified": true' in check, check
    # make predict: raw text (commas, line breaks, empty, missing) scored by the ONNX export,
    # as the Pipeline itself scores it.
    model = load_pipeline(root / MODEL_DIR)
    batch = pd.DataFrame({"review": [f"I {POSITIVE[0]} it, a lot", "Broken.\nRefund!", "", None]})
    batch.to_csv(root / "batch.csv", index=False)
    monkeypatch.chdir(root)
    assert predict_main(["batch.csv", "out.csv"]) == 0
    out = pd.read_csv(root / "out.csv")
    assert out["row"].tolist() == [1, 2, 3, 4]
    expected = model.predict(pd.read_csv(root / "batch.csv"))
    if TASK == "classification":
        assert out["prediction"].tolist() == expected.tolist()
    else:
        np.testing.assert_allclose(out["prediction"], expected, rtol=1e-4, atol=1e-4)
    importance = pd.read_csv(root / "reports" / "plots" / "importance" / "test.csv")
    assert importance["feature"].tolist() == ["review"]
    # evaluate's importance per word: the sentiment words lead, not the filler
    words = pd.read_csv(root / "reports" / "plots" / "word_importance" / "review.csv")
    assert len(words) == PLOTTED_WORDS and words["importance"].is_monotonic_decreasing
    assert set(words["ngram"].head(3)) <= set(POSITIVE + NEGATIVE), words.head(3)
