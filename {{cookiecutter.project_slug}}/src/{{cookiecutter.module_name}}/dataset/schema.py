"""Decide which raw columns are features and of which type, and check raw data against that.

prepare infers the schema once from the raw CSV (params.yaml may override any column) and saves
it as JSON; train builds its preprocessing from it, evaluate reads the target and task from it.
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_integer_dtype, is_numeric_dtype

from ..config import DataSection
from ..paths import written

NUMERIC, CATEGORICAL, DATETIME, DROP = "numeric", "categorical", "datetime", "drop"
# Free text (reviews, descriptions, titles): words, turned into TF-IDF features.
TEXT = "text"
FEATURE_KINDS = (NUMERIC, CATEGORICAL, DATETIME, TEXT)
# A column that identifies rows: not a feature, echoed back with each prediction.
ID = "id"
# The JSON type of a raw column's values, as records sent to the API carry them.
JSON_NUMBER, JSON_STRING, JSON_BOOLEAN = "number", "string", "boolean"

# A text column counts as numbers or dates when this share of its non-missing values parses
# (a few "?" or "n/a" placeholders must not turn a numeric column into a categorical one).
PARSE_SHARE = 0.95
# Text with more distinct values than this share of its rows names rows (IDs, free text) rather
# than describing them: one-hot encoding it would only memorise the training rows.
ID_SHARE = 0.5
MIN_ID_DISTINCT = 10
# Such text is free text, not an ID, when its values are made of words: a median of at least
# TEXT_WORDS of them (a product code has one, a person's name two, a car model's three).
TEXT_WORDS = 4
# Free text may repeat ("Great product!"): text of this many words on average is free text
# whatever its number of distinct values.
LONG_TEXT_WORDS = 8
WORD = r"[^\W_]+"  # a run of letters or digits, in any alphabet
# A column named like an identifier ("id", "customer_id", "OrderID", "uuid", "id_str", R's
# "rownames") whose values are (nearly) all distinct is an ID, not a measurement.
ID_NAME = re.compile(
    r"(?i:(^|[^a-z])(id|uuid|guid)([^a-z]|$))|[a-z](ID|Id)$|(?i:^(key|index|row_?names)$)"
)
ID_DISTINCT_SHARE = 0.95
# Whole numbers that are (nearly) all distinct, every one of at least ID_DIGITS digits, spread
# over more than ID_SPAN_PER_ROW values per row: codes drawn from a huge space (an 18-digit
# account number), not measurements (prices and counts repeat or have fewer digits; epoch
# seconds have 10).
ID_DIGITS = 12
ID_SPAN_PER_ROW = 1e4
# Text found in a numeric or date column that does not parse ("?", "n/a"): treated as missing
# in training, so accepted as missing in the records sent for prediction. At most this many.
MAX_NA_MARKERS = 20
# Guessing a date format on every value is slow (dateutil); a sample of distinct values is enough.
DATE_SAMPLE = 1000
# Date formats tried in order, the first that parses the column wins: ISO, then slashed dates
# (month first as pandas reads them, else day first: 31/12 rules month-first out), then slow
# per-value guessing for anything else.
DATE_FORMATS = ("ISO8601", "%m/%d/%Y", "%d/%m/%Y", "mixed")


@dataclass
class Schema:
    target: str
    task: str
    features: dict[str, str]  # column -> NUMERIC | CATEGORICAL | DATETIME | TEXT, in file order
    date_formats: dict[str, str]  # datetime column -> format given to pandas.to_datetime
    dropped: dict[str, str]  # column -> why it is not a feature
    # Columns that identify rows (dropped, echoed with each prediction).
    ids: list[str] = field(default_factory=list)
    # Every raw column (features, dropped, target) -> the JSON type of its values.
    raw_types: dict[str, str] = field(default_factory=dict)
    # Numeric / date column -> text values that did not parse in training (read as missing).
    na_markers: dict[str, list[str]] = field(default_factory=dict)

    def columns(self, kind: str) -> list[str]:
        return [column for column, found in self.features.items() if found == kind]

    def save(self, path: Path) -> None:
        text = json.dumps(asdict(self), indent=2, ensure_ascii=False)
        with written(path) as partial:
            partial.write_text(text + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Schema:
        return cls(**json.loads(path.read_text(encoding="utf-8")))

    def summary(self) -> str:
        kinds = [
            f"{kind} ({format_columns(self.columns(kind))})"
            for kind in FEATURE_KINDS
            if self.columns(kind)
        ]
        dropped = "; ".join(f"{column!r}: {why}" for column, why in self.dropped.items())
        return f"features: {', '.join(kinds)}" + (f" | dropped {dropped}" if dropped else "")


def infer_schema(frame: pd.DataFrame, data: DataSection) -> Schema:
    """Type every column but the target, honouring the overrides listed in params.yaml."""
    overrides = _overrides(frame, data)
    features: dict[str, str] = {}
    dropped: dict[str, str] = {}
    ids: list[str] = []
    for column in frame.columns:
        if column == data.target:
            continue
        if column in overrides:
            kind = overrides[column]
            why = "listed in data.id_columns" if kind == ID else "listed in data.drop_columns"
        else:
            kind, why = _infer_kind(frame[column], data.decimal)
        if kind == ID:
            ids.append(column)
        if kind in (DROP, ID):
            dropped[column] = why
        else:
            features[column] = kind
    if not features:
        raise SystemExit(
            "no usable feature column (dropped: "
            + "; ".join(f"{column!r} {why}" for column, why in dropped.items())
            + "): list columns in data.numeric_features, data.categorical_features or "
            "data.text_features"
        )
    date_formats = {
        column: _date_format(frame[column].dropna().astype(str)) or DATE_FORMATS[-1]
        for column, kind in features.items()
        if kind == DATETIME
    }
    raw_types = {column: json_type(frame[column]) for column in frame.columns}
    na_markers = {
        column: _unparsed(frame[column], kind, data.decimal, date_formats.get(column))
        for column, kind in features.items()
        if kind in (NUMERIC, DATETIME)
    }
    na_markers = {column: markers for column, markers in na_markers.items() if markers}
    return Schema(
        data.target, data.task, features, date_formats, dropped, ids, raw_types, na_markers
    )


def json_type(series: pd.Series) -> str:
    """How a record carries this column's values in JSON."""
    values = series.dropna()
    if is_bool_dtype(series) or (
        len(values) and all(isinstance(value, (bool, np.bool_)) for value in values.unique())
    ):
        return JSON_BOOLEAN
    return JSON_NUMBER if is_numeric_dtype(series) else JSON_STRING


def _unparsed(series: pd.Series, kind: str, decimal: str, date_format: str | None) -> list[str]:
    values = series.dropna()
    if kind == NUMERIC:
        parsed = to_numbers(values, decimal)
    else:
        parsed = parse_dates(values.astype(str), date_format or DATE_FORMATS[-1])
    failed = values[parsed.isna().to_numpy()].astype(str).unique()
    return sorted(failed)[:MAX_NA_MARKERS]


def validate(frame: pd.DataFrame, schema: Schema, decimal: str = ".") -> None:
    """Fail when a column's values do not fit its type (typically a wrong override)."""
    check_parse_failures(parse_failures(frame, schema, decimal), schema)


@dataclass
class ParseFailures:
    """A numeric or date column's values that do not parse; adds up over the partitions of a
    bigger file with `+`."""

    values: int  # values present
    failed: int  # of which do not parse
    example: object = None  # the first that does not parse
    markers: list[str] = field(
        default_factory=list
    )  # distinct failed texts, at most MAX_NA_MARKERS

    def __add__(self, other: ParseFailures) -> ParseFailures:
        markers = sorted(set(self.markers) | set(other.markers))[:MAX_NA_MARKERS]
        example = self.example if self.example is not None else other.example
        return ParseFailures(
            self.values + other.values, self.failed + other.failed, example, markers
        )


def parse_failures(
    frame: pd.DataFrame, schema: Schema, decimal: str = "."
) -> dict[str, ParseFailures]:
    """What does not parse in each numeric and date feature of `frame`."""
    found = {}
    for column, kind in schema.features.items():
        if column not in frame.columns:
            raise SystemExit(f"the data has no column {column!r}: re-run `dvc repro` from prepare")
        if kind not in (NUMERIC, DATETIME):
            continue
        values = frame[column].dropna()
        if kind == NUMERIC:
            parsed = to_numbers(values, decimal)
        else:
            parsed = parse_dates(values.astype(str), schema.date_formats[column])
        failed = values[parsed.isna().to_numpy()]
        found[column] = ParseFailures(
            len(values),
            len(failed),
            failed.iloc[0] if len(failed) else None,
            sorted(failed.astype(str).unique())[:MAX_NA_MARKERS],
        )
    return found


def check_parse_failures(failures: dict[str, ParseFailures], schema: Schema) -> None:
    for column, found in failures.items():
        if found.values and found.failed > (1 - PARSE_SHARE) * found.values:
            kind = schema.features[column]
            fix = "data.numeric_features" if kind == NUMERIC else "data.datetime_features"
            raise SystemExit(
                f"column {column!r} is used as {kind} but {found.failed / found.values:.0%} of "
                f"its values are not (e.g. {format_value(found.example)}): fix {fix} in "
                "params.yaml or the data"
            )


def to_numbers(values: pd.Series, decimal: str = ".") -> pd.Series:
    """Floats, also from text ("12,5" when the decimal mark is ","); NaN where it is no number.

    read_csv applies the decimal mark only to columns that are numbers throughout, so a column
    with a "?" placeholder stays text.
    """
    if is_numeric_dtype(values):
        return values.astype(float)
    text = values.astype(str)
    if decimal != ".":
        text = text.str.replace(decimal, ".", regex=False)
    return pd.to_numeric(text, errors="coerce")


def format_columns(columns: list[str] | pd.Index, limit: int = 20) -> str:
    """Quote column names for a one-line message (names may hold spaces or commas)."""
    names = [repr(str(column)) for column in columns]
    more = f", ... ({len(names) - limit} more)" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def format_value(value: object) -> str:
    """A value for a message, as the user wrote it: 0.0 or 'abc', not np.float64(0.0)."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def _overrides(frame: pd.DataFrame, data: DataSection) -> dict[str, str]:
    lists = {
        "numeric_features": NUMERIC,
        "categorical_features": CATEGORICAL,
        "datetime_features": DATETIME,
        "text_features": TEXT,
        "drop_columns": DROP,
        "id_columns": ID,
    }
    chosen: dict[str, str] = {}
    for name, kind in lists.items():
        key = f"data.{name}"
        for column in getattr(data, name):
            if column not in frame.columns:
                raise SystemExit(
                    f"params.yaml: {key} lists {column!r}, which is not a column of the data; "
                    f"columns: {format_columns(frame.columns)}"
                )
            if column == data.target:
                raise SystemExit(f"params.yaml: {key} lists the target {column!r}: remove it")
            if chosen.get(column, kind) != kind:
                raise SystemExit(f"params.yaml: {column!r} is listed under two types: keep one")
            chosen[column] = kind
    return chosen


def _infer_kind(series: pd.Series, decimal: str) -> tuple[str, str]:
    values = series.dropna()
    if values.empty:
        return DROP, "all values missing"
    if values.nunique() == 1:
        return DROP, f"constant ({format_value(values.iloc[0])})"
    if is_bool_dtype(series):
        return CATEGORICAL, ""
    distinct = values.nunique()
    if ID_NAME.search(str(series.name)) and distinct >= ID_DISTINCT_SHARE * len(values):
        return ID, f"ID column (named so, {distinct} distinct values in {len(values)} rows)"
    if is_numeric_dtype(series):
        if is_integer_dtype(series) and _counts_rows(series):
            return ID, "row number (consecutive integers)"
        if _is_code(values, distinct):
            return ID, (
                f"ID-like numbers ({distinct} distinct values of {ID_DIGITS}+ digits in "
                f"{len(values)} rows; data.numeric_features keeps it as a feature)"
            )
        return NUMERIC, ""
    if all(isinstance(value, (bool, np.bool_)) for value in values.unique()):
        return CATEGORICAL, ""  # booleans with missing values are read as plain objects
    if to_numbers(values, decimal).notna().mean() >= PARSE_SHARE:
        return NUMERIC, ""
    if _looks_like_dates(values.astype(str)):
        return DATETIME, ""
    many = distinct > max(MIN_ID_DISTINCT, ID_SHARE * len(values))
    if many or distinct > MIN_ID_DISTINCT:
        words = word_counts(values)
        if (many and words.median() >= TEXT_WORDS) or words.mean() >= LONG_TEXT_WORDS:
            return TEXT, ""
    if many:
        return ID, (
            f"ID-like text ({distinct} distinct values in {len(values)} rows; "
            "data.text_features keeps it as free text)"
        )
    return CATEGORICAL, ""


def word_counts(values: pd.Series) -> pd.Series:
    """Words per distinct value, on a sample of them (enough to tell text from IDs)."""
    sample = values.astype(str).drop_duplicates().head(DATE_SAMPLE)
    return sample.str.count(WORD)


def words_per_value(values: pd.Series) -> np.ndarray:
    """Words in each present value of a text column (the monitor tests their drift)."""
    return values.dropna().astype(str).str.count(WORD).to_numpy(dtype=float)


def _counts_rows(series: pd.Series) -> bool:
    """The values are the rows' positions in the file plus a constant (the index holds the
    positions: 0, 1, 2... for a whole file, scattered ones for a sample of a bigger file)."""
    offsets = series.to_numpy() - series.index.to_numpy()
    return len(series) > 1 and bool((offsets == offsets[0]).all())


def _is_code(values: pd.Series, distinct: int) -> bool:
    if is_bool_dtype(values) or len(values) < MIN_ID_DISTINCT:
        return False
    if distinct < ID_DISTINCT_SHARE * len(values):
        return False
    numbers = values.to_numpy(dtype=float)
    if not (np.mod(numbers, 1) == 0).all() or np.abs(numbers).min() < 10 ** (ID_DIGITS - 1):
        return False
    return float(numbers.max() - numbers.min()) > ID_SPAN_PER_ROW * len(values)


def _looks_like_dates(text: pd.Series) -> bool:
    sample = text.drop_duplicates().head(DATE_SAMPLE)
    # dateutil reads bare words such as "May" or "now" as dates: real dates hold digits.
    if sample.str.contains(r"\d").mean() < PARSE_SHARE:
        return False
    return _date_format(sample) is not None


def _date_format(text: pd.Series) -> str | None:
    sample = text.drop_duplicates().head(DATE_SAMPLE)
    # Guessing also reads a pair of numbers ("31,1") as a date: ask for day, month and year.
    three_parts = (sample.str.count(r"[^\W_]+") >= 3).mean() >= PARSE_SHARE
    for date_format in DATE_FORMATS:
        if date_format == "mixed" and not three_parts:
            continue
        if parse_dates(sample, date_format).notna().mean() >= PARSE_SHARE:
            return date_format
    return None


def parse_dates(values: pd.Series, date_format: str) -> pd.Series:
    """Parse text to UTC timestamps (NaT where it fails), quietly: failures are expected."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "could not infer format" and friends
        return pd.to_datetime(values, errors="coerce", format=date_format, utc=True)
