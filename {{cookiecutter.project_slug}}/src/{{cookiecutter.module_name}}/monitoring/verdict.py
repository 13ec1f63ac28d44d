"""The retraining policy: from the checks of a batch to a verdict and its exit code."""

from __future__ import annotations

from typing import Any

from .catalog import severity
from .settings import MonitoringSettings

HEALTHY, RETRAIN, UNUSABLE = 0, 1, 2
STATUS = {HEALTHY: "healthy", RETRAIN: "retrain", UNUSABLE: "unusable"}


def decide(checks: list[dict], settings: MonitoringSettings) -> tuple[int, str, dict]:
    """The retraining policy: retrain when a critical check fails or at least
    retrain_drift_share of the tested features drift. Each row's severity is graded by the
    catalog and monitoring.critical (a critical-capable check not listed is a warning)."""
    for row in checks:
        row["severity"] = severity(row["check"], settings.critical)
    unusable = [row for row in checks if row["failed"] and row["severity"] == "unusable"]
    if unusable:
        return UNUSABLE, "batch unusable: " + "; ".join(describe(row) for row in unusable), {}
    drift_rows = [row for row in checks if row["check"] == "feature_drift"]
    drifted = [row["column"] for row in drift_rows if row["failed"]]
    share = len(drifted) / len(drift_rows) if drift_rows else 0.0
    critical = [row for row in checks if row["failed"] and row["severity"] == "critical"]
    policy = {
        "drifted_features": drifted,
        "tested_features": len(drift_rows),
        "drift_share": share,
        "retrain_drift_share": settings.retrain_drift_share,
        "critical_failed": [describe(row) for row in critical],
    }
    reasons = [describe(row) for row in critical]
    if drift_rows and share >= settings.retrain_drift_share and drifted:
        reasons.append(
            f"{len(drifted)} of {len(drift_rows)} features drift ({share:.0%} >= "
            f"{settings.retrain_drift_share:.0%}): {', '.join(drifted)}"
        )
    if reasons:
        return RETRAIN, "retraining warranted: " + "; ".join(reasons), policy
    note = f" ({len(drifted)} drifting, below the policy: {', '.join(drifted)})" if drifted else ""
    return HEALTHY, f"healthy: {len(checks)} checks{note}", policy


def describe(row: dict) -> str:
    where = f" {row['column']!r}" if row["column"] else ""
    if row["check"] in ("missing_columns", "extra_columns"):
        return f"{row['check']} {', '.join(map(repr, row['columns']))}"
    if "effect" in row and "threshold" in row:  # a test's effect size against its threshold
        effect = f"{row['effect_name']} {_number(row['effect'])}"
        return f"{row['check']}{where} ({effect} vs {_number(row['threshold'])})"
    if "statistic" in row and "threshold" in row:
        return f"{row['check']}{where} ({_number(row['statistic'])} vs {_number(row['threshold'])})"
    if row["check"] == "data_type":
        return (
            f"{where.strip()} is not {row['expected']} ({row['unparsable_share']:.0%} unparsable)"
        )
    return f"{row['check']}{where}"


def _number(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, (int, float)) else str(value)
