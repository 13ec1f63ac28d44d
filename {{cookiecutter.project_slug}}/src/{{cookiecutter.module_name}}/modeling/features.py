"""Preprocessing, built from the schema and kept inside the model's scikit-learn Pipeline.

The saved model therefore takes raw feature columns exactly as they appear in the CSV (or in a
serving request): numbers stored as text, missing values, unseen categories and date strings.
The functions and the class below are pickled by reference, so the model directory carries a copy
of this package (MLflow `code_paths`, see tracking/training_run.py) to load anywhere.

Every step is one that skl2onnx converts (modeling/onnx_export.py): the parsing functions and
DateParts, which ONNX cannot run on text, become the identity there, and the ONNX scorer applies
them itself before feeding the graph. A transformer you add needs a converter there too, or the
model is scored by scikit-learn (which train reports).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import FeatureUnion, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from ..config import TextSection
from ..dataset.schema import CATEGORICAL, DATETIME, NUMERIC, TEXT, Schema, parse_dates

MISSING_CATEGORY = "(missing)"


def as_numbers(frame: pd.DataFrame) -> np.ndarray:
    """Floats; text that is not a number (a "?" placeholder) becomes missing."""
    numbers = frame.apply(pd.to_numeric, errors="coerce")
    return numbers.to_numpy(dtype=float, na_value=np.nan)


def as_text(frame: pd.DataFrame | pd.Series | np.ndarray) -> np.ndarray:
    """Strings, so booleans, numbers and text encode alike; missing is a category of its own
    (same shape as `frame`)."""
    values = np.asarray(frame, dtype=object)
    # A comprehension rather than np.vectorize: the same speed on a batch, and 10 us less on
    # the API's one-row requests.
    text = np.empty(values.shape, dtype=object)
    text.reshape(-1)[:] = [_category(value) for value in values.reshape(-1)]
    return text


def as_documents(frame: pd.DataFrame | pd.Series) -> np.ndarray:
    """One text column as the 1-D array of lower-case strings a TfidfVectorizer reads; missing
    is "". Lower-cased here, in Python (every alphabet), rather than by the vectorizer: ONNX's
    own lower-casing needs an installed locale."""
    values = frame.iloc[:, 0] if isinstance(frame, pd.DataFrame) else pd.Series(np.ravel(frame))
    return values.astype(object).where(values.notna(), "").astype(str).str.lower().to_numpy()


def _category(value: object) -> object:
    if pd.isna(value):
        return MISSING_CATEGORY
    # A column with gaps is read as floats: 3.0 in training must match 3 in a request.
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class TextOneHotEncoder(OneHotEncoder):
    """OneHotEncoder over categories compared as text (as_text): 3.0 read from a CSV with gaps
    is the 3 a request sends, True is "True", missing is a category. One step rather than a
    FunctionTransformer before the encoder, so that ONNX's encoder receives the columns as they
    are fed (skl2onnx handles infrequent categories only then)."""

    def fit(self, X: pd.DataFrame, y: object = None) -> TextOneHotEncoder:
        return super().fit(_as_text_frame(X), y)

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        return super().transform(_as_text_frame(X))

    def fit_transform(self, X: pd.DataFrame, y: object = None, **params: object) -> np.ndarray:
        return self.fit(X, y).transform(X)

    def output_columns(self, feature: int) -> tuple[list[str], np.ndarray]:
        """The categories of input column `feature`, and the output column (counted from that
        feature's first) each one lands in: its own, or the feature's last column, shared by
        the infrequent ones (scikit-learn's layout)."""
        known = [str(category) for category in self.categories_[feature]]
        rare_lists = getattr(self, "infrequent_categories_", None) or [None] * len(self.categories_)
        infrequent = rare_lists[feature]
        rare = {str(category) for category in infrequent} if infrequent is not None else set()
        frequent = [category for category in known if category not in rare]
        columns = [frequent.index(c) if c not in rare else len(frequent) for c in known]
        return known, np.asarray(columns)


def _as_text_frame(frame: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        frame = pd.DataFrame(frame)
    return pd.DataFrame(as_text(frame), columns=frame.columns, index=frame.index)


class DateParts(TransformerMixin, BaseEstimator):
    """Date columns to numbers a model can use: year, month, day, day of week (NaN if unparsed)."""

    parts = ("year", "month", "day", "day_of_week")

    def __init__(self, date_format: str = "ISO8601"):
        self.date_format = date_format

    def fit(self, X: pd.DataFrame, y: object = None) -> DateParts:
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        columns = []
        for name in X.columns:
            dates = parse_dates(X[name], self.date_format).dt
            for part in self.parts:
                columns.append(getattr(dates, part).to_numpy(dtype=float, na_value=np.nan))
        return np.column_stack(columns)

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        names = [f"{column}_{part}" for column in self.feature_names_in_ for part in self.parts]
        return np.asarray(names, dtype=object)


# scikit-learn's default token pattern (words of 2+ letters or digits, any alphabet), written so
# that skl2onnx keeps it rather than swapping in an ASCII-only one. ONNX's regex engine (RE2)
# reads \w as ASCII: a word with other letters is read differently there, which the export's
# verification finds (scikit-learn then scores).
TOKEN_PATTERN = r"\b\w\w+\b"
# A model that takes no sparse input (histogram gradient boosting) gets each text column's TF-IDF
# as a dense block: its vocabulary is capped at this many n-grams so the block stays small.
DENSE_TEXT_FEATURES = 500
# ...and each categorical column keeps its most frequent categories, the rest sharing one column:
# XGBoost on flights' 4,000-value tail number, dense, took 344 s and 4.2 GB at 100k rows.
DENSE_CATEGORIES = 100


class _CountsOfKnownWords(CountVectorizer):
    """Term counts whose n-grams are made of words in the vocabulary: max_features breaks ties
    between equally frequent terms arbitrarily, so it may keep "the backbone" and drop
    "backbone". onnxruntime's TfIdfVectorizer never counts such an n-gram (its words are looked
    up among the vocabulary's words), so ONNX disagreed with scikit-learn on 11 of 4,153 tweets
    and the export failed its check. These n-grams are dropped when the vocabulary is fitted."""

    def fit_transform(self, raw_documents: object, y: object = None) -> object:
        counts = super().fit_transform(raw_documents, y)
        terms = self.get_feature_names_out()
        words = {term for term in terms if " " not in term}
        keep = np.flatnonzero([all(word in words for word in term.split(" ")) for term in terms])
        if len(keep) < len(terms):
            self.vocabulary_ = {term: index for index, term in enumerate(terms[keep])}
            counts = counts[:, keep]
        return counts


class WordTfidfVectorizer(TfidfVectorizer, _CountsOfKnownWords):
    """TfidfVectorizer over word n-grams whose words are all in its vocabulary. TfidfVectorizer
    fits its counts through its parent class, which this class order makes _CountsOfKnownWords;
    inverse document frequencies are then computed on the kept terms only."""


def text_branch(settings: TextSection, dense: bool = False) -> object:
    """One free-text column to TF-IDF features: word n-grams (1..word_ngrams), and character
    n-grams inside words when char_ngrams > 0 (they have no ONNX converter). Raw term counts:
    skl2onnx 1.20 computes sublinear ones as log(1 + tf), not scikit-learn's 1 + log(tf)."""
    limit = min(settings.max_features, DENSE_TEXT_FEATURES) if dense else settings.max_features
    common = {
        "min_df": settings.min_documents,
        "dtype": np.float32,
        "lowercase": False,  # as_documents did
    }
    words = WordTfidfVectorizer(
        ngram_range=(1, settings.word_ngrams),
        max_features=limit,
        token_pattern=TOKEN_PATTERN,
        **common,
    )
    vectorizer: object = words
    if settings.char_ngrams:
        characters = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, settings.char_ngrams), max_features=limit, **common
        )
        vectorizer = FeatureUnion([("words", words), ("characters", characters)])
    documents = FunctionTransformer(as_documents, feature_names_out="one-to-one")
    return make_pipeline(documents, vectorizer)


def build_preprocessor(
    schema: Schema,
    min_category_frequency: int | float,
    scale: bool = True,
    text: TextSection | None = None,
    sparse: bool = True,
) -> ColumnTransformer:
    """One branch per feature type; columns outside the schema (IDs, constants) are dropped.
    `scale`: standardise numbers (linear models need it; trees do not, and scaling there would
    only make ONNX's float32 arithmetic drift from scikit-learn's at split thresholds).
    `text`: how free-text columns become features (params.yaml features.text); `sparse`: the
    model takes sparse input, so TF-IDF and one-hot stay sparse (else they are dense, with a
    capped vocabulary and at most DENSE_CATEGORIES columns a categorical feature)."""
    scaler = [StandardScaler()] if scale else []
    branches = []
    if numeric := schema.columns(NUMERIC):
        numbers = make_pipeline(
            FunctionTransformer(as_numbers, feature_names_out="one-to-one"),
            SimpleImputer(strategy="median"),
            *scaler,
        )
        branches.append(("numeric", numbers, numeric))
    if categorical := schema.columns(CATEGORICAL):
        # Rare categories share one "infrequent" column; unseen ones join it (or get zeros).
        # Sparse where the model takes it: a 4,000-value column over 300k rows is 10 GB dense.
        categories = TextOneHotEncoder(
            handle_unknown="infrequent_if_exist",
            min_frequency=min_category_frequency,
            max_categories=None if sparse else DENSE_CATEGORIES,
            sparse_output=sparse,
        )
        branches.append(("categorical", categories, categorical))
    for position, column in enumerate(schema.columns(DATETIME)):
        dates = make_pipeline(
            DateParts(schema.date_formats[column]), SimpleImputer(strategy="median"), *scaler
        )
        branches.append((f"date_{position}", dates, [column]))
    for position, column in enumerate(schema.columns(TEXT)):
        if text is None:
            raise ValueError(f"text column {column!r} needs the features.text settings")
        branches.append((f"text_{position}", text_branch(text, dense=not sparse), [column]))
    # One-hot and TF-IDF blocks are sparse: the output is a sparse matrix when most of it is
    # zeros and the model takes one; dense otherwise.
    return ColumnTransformer(branches, remainder="drop", sparse_threshold=0.3 if sparse else 0)
