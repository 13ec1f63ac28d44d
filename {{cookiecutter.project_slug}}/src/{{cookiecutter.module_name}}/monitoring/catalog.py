"""The monitor's checks, one entry each: what it measures, the `monitoring:` keys its threshold
comes from, how bad its failure is, and where the report shows it. Settings, the verdict and the
HTML report read this table; adding a check is a function returning `check_row(name, ...)` rows
(checks.py), called from run_checks (run.py), and its entry here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# unusable: the batch cannot be judged at all (exit 2); critical: a failure warrants retraining
# when the check is listed in monitoring.critical; drift: counted by the retraining policy's
# retrain_drift_share; warning: reported only.
Severity = Literal["unusable", "critical", "drift", "warning"]
# The report section that shows a check's failures.
Section = Literal["quality", "drift", "model"]


@dataclass(frozen=True)
class Check:
    label: str  # its heading in the HTML report
    measures: str
    thresholds: tuple[str, ...]  # MonitoringSettings keys
    severity: Severity
    section: Section
    critical_by_default: bool = False  # in monitoring.critical unless params.yaml says otherwise


# In the order the report lists them, and a person should fix them.
CHECKS: dict[str, Check] = {
    "missing_columns": Check(
        "Missing columns", "feature columns the batch lacks", (), "unusable", "quality"
    ),
    "data_type": Check(
        "Wrong data types",
        "share of a column's values that do not parse as its kind",
        (),
        "unusable",
        "quality",
    ),
    "all_missing": Check(
        "Columns with no value", "a feature without a single value", (), "unusable", "quality"
    ),
    "completeness": Check(
        "Too many missing values",
        "a feature's non-missing share against the reference's",
        ("min_completeness",),
        "critical",
        "quality",
        critical_by_default=True,
    ),
    "unknown_categories": Check(
        "Categories never seen in training",
        "share of a categorical feature's values unseen in training",
        ("max_unknown_share",),
        "critical",
        "quality",
        critical_by_default=True,
    ),
    "unknown_words": Check(
        "Words never seen in training (text)",
        "share of a text feature's words unseen in the training text",
        ("max_unknown_words",),
        "critical",
        "quality",
    ),
    "outliers": Check(
        "Outlying rows",
        "share of rows the model's outlier detector flags, against the test split's share",
        ("outlier_ratio", "alpha"),
        "critical",
        "quality",
    ),
    "extra_columns": Check(
        "Columns the model does not use", "columns that are not features", (), "warning", "quality"
    ),
    "feature_drift": Check(
        "Feature drift",
        "a two-sample test and effect size per feature against the reference",
        ("alpha", "correction", "numeric_effect", "categorical_effect", "text_effect"),
        "drift",
        "drift",
    ),
    "performance": Check(
        "Performance on labelled rows",
        "the primary metric on the batch's labelled rows against the test split's",
        ("performance_drop",),
        "critical",
        "model",
        critical_by_default=True,
    ),
    "prediction_drift": Check(
        "Prediction drift",
        "a two-sample test and effect size of the predictions against the test split's",
        ("alpha", "numeric_effect", "categorical_effect"),
        "critical",
        "model",
        critical_by_default=True,
    ),
    "prediction_divergence": Check(
        "Prediction divergence (KL)",
        "Kullback-Leibler divergence of the predicted classes (binned values) from the test "
        "split's",
        ("max_prediction_kl", "alpha"),
        "critical",
        "model",
        critical_by_default=True,
    ),
    "label_drift": Check(
        "Label drift",
        "a two-sample test and effect size of the batch's labels against the training labels",
        ("alpha", "numeric_effect", "categorical_effect"),
        "critical",
        "model",
        critical_by_default=True,
    ),
}

# What monitoring.critical may list, and its default.
CRITICAL_CAPABLE = tuple(name for name, check in CHECKS.items() if check.severity == "critical")
CRITICAL_DEFAULT = [name for name, check in CHECKS.items() if check.critical_by_default]


def entry(name: str) -> Check:
    """A check's entry; a check missing from the table is refused in one line."""
    if name not in CHECKS:
        raise KeyError(f"check {name!r} has no entry in monitoring/catalog.py CHECKS: add one")
    return CHECKS[name]


def severity(name: str, critical: list[str]) -> str:
    """A check's severity under the configured critical list: a critical-capable check that is
    not listed is a warning."""
    found = entry(name).severity
    if found == "critical" and name not in critical:
        return "warning"
    return found


def in_section(section: Section) -> dict[str, Check]:
    return {name: check for name, check in CHECKS.items() if check.section == section}
