"""The checks of one batch against the reference (the training split): schema, data quality
and feature drift (the model's: model_checks.py). Each returns report rows (`check_row`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..dataset.schema import (
    CATEGORICAL,
    DATETIME,
    NUMERIC,
    PARSE_SHARE,
    TEXT,
    WORD,
    Schema,
    parse_dates,
    to_numbers,
)
from . import drift
from .catalog import entry
from .settings import MonitoringSettings
from .text_drift import text_drift


def check_row(name: str, column: str | None, failed: bool, **values: Any) -> dict:
    """One row of the report: what was checked, its statistics and threshold, the verdict. Its
    severity is the catalog's (the verdict grades it by monitoring.critical)."""
    return {
        "check": name,
        "column": column,
        "failed": bool(failed),
        "severity": entry(name).severity,
        **{key: _plain(value) for key, value in values.items()},
    }


@dataclass
class ParsedColumn:
    """How a batch column parsed as its schema kind (counts add up across partitions)."""

    rows: int
    present: int  # non-missing values
    unparsable: int  # present values that are not of the expected kind
    dtype: str  # as read

    def __add__(self, other: ParsedColumn) -> ParsedColumn:
        return ParsedColumn(
            self.rows + other.rows,
            self.present + other.present,
            self.unparsable + other.unparsable,
            self.dtype,
        )


def parse_features(
    current: pd.DataFrame, schema: Schema, decimal: str = "."
) -> tuple[pd.DataFrame, dict[str, ParsedColumn]]:
    """The batch's feature columns typed as the model expects them (numbers as floats), and
    how each parsed. Columns the batch lacks are left out."""
    typed, parsed = {}, {}
    for column, kind in schema.features.items():
        if column not in current.columns:
            continue
        values = current[column]
        present = values.notna()
        unparsable = 0
        if kind == NUMERIC:
            typed[column] = to_numbers(values, decimal)
            unparsable = int((typed[column].isna() & present).sum())
        elif kind == DATETIME:
            dates = parse_dates(values[present].astype(str), schema.date_formats[column])
            unparsable = int(dates.isna().sum())
            typed[column] = values
        else:  # any value is a category (new ones: unknown_categories)
            typed[column] = values
        parsed[column] = ParsedColumn(
            len(values), int(present.sum()), unparsable, str(values.dtype)
        )
    return pd.DataFrame(typed, index=current.index), parsed


def schema_checks(
    columns: list[str], parsed: dict[str, ParsedColumn], schema: Schema
) -> list[dict]:
    """Missing and extra columns, observed vs expected types, all-missing columns.

    Severity "unusable" (catalog.py): the batch cannot be judged at all.
    """
    checks = []
    missing = [column for column in schema.features if column not in columns]
    known = {*schema.features, schema.target, *schema.dropped}
    extra = [column for column in columns if column not in known]
    checks.append(check_row("missing_columns", None, bool(missing), columns=missing))
    checks.append(check_row("extra_columns", None, bool(extra), columns=extra))
    for column, kind in schema.features.items():
        if column in missing:
            continue
        found = parsed[column]
        if not found.present:
            checks.append(check_row("all_missing", column, True, rows=found.rows))
            continue
        failed_share = found.unparsable / found.present
        checks.append(
            check_row(
                "data_type",
                column,
                failed_share > 1 - PARSE_SHARE,
                expected=kind,
                observed=found.dtype,
                unparsable_share=failed_share,
                threshold=1 - PARSE_SHARE,
            )
        )
    return checks


def check_schema(
    current: pd.DataFrame, schema: Schema, decimal: str = "."
) -> tuple[list[dict], pd.DataFrame]:
    """The schema checks of a batch in memory, and its feature columns typed (parse_features)."""
    typed, parsed = parse_features(current, schema, decimal)
    return schema_checks([str(column) for column in current.columns], parsed, schema), typed


def completeness_check(
    column: str, share: float, reference_share: float, settings: MonitoringSettings
) -> dict:
    """Fails when the present share falls below min_completeness of the reference's."""
    minimum = settings.for_column(column, "min_completeness", settings.min_completeness)
    threshold = minimum * reference_share
    return check_row(
        "completeness",
        column,
        share < threshold,
        statistic=share,
        reference=reference_share,
        threshold=threshold,
    )


def unknown_categories_check(
    column: str, unknown: int, present: int, examples: list[str], settings: MonitoringSettings
) -> dict:
    """Fails when more than max_unknown_share of the present values were never seen."""
    unknown_share = float(unknown / present) if present else 0.0
    limit = settings.for_column(column, "max_unknown_share", settings.max_unknown_share)
    return check_row(
        "unknown_categories",
        column,
        unknown_share > limit,
        statistic=unknown_share,
        threshold=limit,
        values=sorted(examples)[:10],
    )


def unknown_words_check(
    column: str, reference: pd.Series, current: pd.Series, settings: MonitoringSettings
) -> dict:
    """A text column: fails when more than max_unknown_words of the batch's words never
    appeared in the training text (another language, another product line, a broken feed)."""
    known = set(words_of(reference))
    words = words_of(current)
    unknown = [word for word in words if word not in known]
    share = len(unknown) / len(words) if words else 0.0
    limit = settings.for_column(column, "max_unknown_words", settings.max_unknown_words)
    examples = sorted(set(unknown))[:10]
    return check_row(
        "unknown_words", column, share > limit,
        statistic=share, threshold=limit, values=examples,
    )  # fmt: skip


def words_of(values: pd.Series) -> list[str]:
    return values.dropna().astype(str).str.lower().str.findall(WORD).explode().dropna().tolist()


def check_quality(
    reference: pd.DataFrame, current: pd.DataFrame, schema: Schema, settings: MonitoringSettings
) -> list[dict]:
    """Completeness (present share vs the reference's), unknown categorical values and the
    share of unknown words in text."""
    checks = []
    for column, kind in schema.features.items():
        if column not in current.columns or settings.for_column(column, "skip", False):
            continue
        reference_share = float(reference[column].notna().mean())
        share = float(current[column].notna().mean())
        checks.append(completeness_check(column, share, reference_share, settings))
        if kind == CATEGORICAL:
            seen = set(drift.category_counts(reference[column]).index)
            present = current[column].dropna().astype(str)
            unknown = present[~present.isin(seen)]
            examples = sorted(unknown.unique()[:10].tolist())
            checks.append(
                unknown_categories_check(column, len(unknown), len(present), examples, settings)
            )
        elif kind == TEXT:
            checks.append(unknown_words_check(column, reference[column], current[column], settings))
    return checks


def drift_columns(schema: Schema, settings: MonitoringSettings, columns: list[str]) -> dict:
    """The features drift is tested on: numeric and categorical ones the batch has, not
    skipped (dates move forward by nature: their drift says nothing)."""
    return {
        column: kind
        for column, kind in schema.features.items()
        if kind != DATETIME and column in columns and not settings.for_column(column, "skip", False)
    }


def feature_drift(
    reference: pd.DataFrame, current: pd.DataFrame, schema: Schema, settings: MonitoringSettings
) -> list[dict]:
    """Drift of every numeric and categorical feature of a batch in memory (drift_checks)."""
    found = {}
    for column, kind in drift_columns(schema, settings, list(current.columns)).items():
        if kind == NUMERIC:
            ref = reference[column].to_numpy(dtype=float, na_value=np.nan)
            cur = current[column].to_numpy(dtype=float, na_value=np.nan)
            ref, cur = _present(ref), _present(cur)
            if len(ref) and len(cur):
                found[column] = drift.numeric_drift(ref, cur)
        elif kind == TEXT:  # free text: a classifier on its TF-IDF and length (text_drift.py)
            ref, cur = reference[column].dropna(), current[column].dropna()
            if len(ref) and len(cur):
                found[column] = text_drift(ref, cur)
        else:
            found[column] = drift.categorical_drift(reference[column], current[column])
    return drift_checks(found, schema, settings)


def drift_checks(
    found: dict[str, drift.Drift], schema: Schema, settings: MonitoringSettings
) -> list[dict]:
    """Report rows of the features' drift statistics, p-values corrected across columns.

    A feature drifts when its corrected p-value is below alpha AND its effect size reaches the
    threshold: significance alone flags trivial shifts once samples are large.
    """
    adjusted = drift.adjust([result.p_value for result in found.values()], settings.correction)
    checks = []
    for (column, result), p_adjusted in zip(found.items(), adjusted, strict=True):
        kind = schema.features[column]
        default = effect_threshold(result.effect_name, settings)
        threshold = settings.for_column(column, "effect", default)
        checks.append(
            check_row(
                "feature_drift",
                column,
                p_adjusted < settings.alpha and result.effect >= threshold,
                kind=kind,
                test=result.test,
                statistic=result.statistic,
                p_value=result.p_value,
                p_adjusted=p_adjusted,
                alpha=settings.alpha,
                correction=settings.correction,
                effect_name=result.effect_name,
                effect=result.effect,
                threshold=threshold,
                **result.extra,
            )
        )
    return checks


def effect_threshold(effect_name: str, settings: MonitoringSettings) -> float:
    """The settings' threshold for an effect size: text compared by length alone (a batch of a
    few texts) takes the numeric one."""
    return {
        "wasserstein_norm": settings.numeric_effect,
        "jensen_shannon": settings.categorical_effect,
        "auc": settings.text_effect,
    }[effect_name]


def _present(values: np.ndarray) -> np.ndarray:
    missing = np.isnan(values)
    return values[~missing] if missing.any() else values


def _plain(value: Any) -> Any:
    """JSON-safe: numpy scalars to Python, NaN/inf to None."""
    if isinstance(value, (np.generic,)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value
