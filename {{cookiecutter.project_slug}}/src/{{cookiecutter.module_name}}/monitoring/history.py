"""Drift over time: every `make monitor` appends its batch's summary (time, rows, verdict, each
check's and each feature's statistics) as one JSON line to reports/monitoring/history.jsonl,
committed with the reports. The report reads it back to show each feature's drift across the
last batches, and names its pattern:

- stable: the feature never drifted;
- recurring: its drift came and went (a drifted batch followed by a quiet one);
- persistent: it drifted in every batch shown (it started before them);
- abrupt: it drifts up to now, and one step between two batches made most of the rise;
- incremental: it drifts up to now after a steady climb (Kendall's tau of its statistic over the
  batches >= TREND_TAU, no single step making half the rise);
- irregular: it drifts up to now, by neither rule;
- too few batches: under MIN_BATCHES.

The statistic plotted and judged is the feature's effect size over its threshold (1 and above:
the effect is large enough to drift). river's ADWIN also runs over each feature's whole history
and names the batches where the mean changed; it needs a few dozen batches to find one.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats

HISTORY_FILE = "history.jsonl"
MIN_BATCHES = 3
TREND_TAU = 0.6
ABRUPT_SHARE = 0.5  # one step making at least this share of the rise: abrupt
CAP = 10.0  # ratios above it count as it: one huge effect must not flatten the rest


def summary(report: dict) -> dict:
    """The history line of one monitored batch."""
    checks = report.get("checks", [])
    features = {
        row["column"]: {
            "ratio": _ratio(row.get("effect"), row.get("threshold")),
            "effect": row.get("effect"),
            "p_adjusted": row.get("p_adjusted"),
            "drifted": row["failed"],
        }
        for row in checks
        if row["check"] == "feature_drift"
    }
    outputs = {
        row["check"]: {"statistic": row.get("statistic"), "failed": row["failed"]}
        for row in checks
        if row["column"] is None and "statistic" in row
    }
    return {
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),  # UTC
        "batch": report.get("batch", {}).get("path"),
        "rows": report.get("batch", {}).get("rows"),
        "status": report.get("status"),
        "failed_checks": sorted({row["check"] for row in checks if row["failed"]}),
        "checks": outputs,
        "features": features,
    }


def append(path: Path, entry: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as history:
        history.write(json.dumps(entry, default=str) + "\n")


def read(path: Path) -> list[dict]:
    """The history's batches, oldest first; a line that is not JSON (a merge gone wrong) is
    skipped, not fatal."""
    if not path.is_file():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    return entries


@dataclass
class FeatureHistory:
    column: str
    ratios: list[float]  # effect over threshold, per batch (NaN: not tested in that batch)
    drifted: list[bool]
    pattern: str
    changes: list[int]  # batches (0 = oldest in the whole history) where ADWIN saw a change


def feature_histories(entries: list[dict], last: int) -> list[FeatureHistory]:
    """Every feature of the last `last` batches, its series, pattern and ADWIN's changes."""
    columns = sorted({column for entry in entries for column in entry.get("features", {})})
    found = []
    for column in columns:
        series = [entry.get("features", {}).get(column) for entry in entries]
        ratios = [_ratio_of(item) for item in series]
        drifted = [bool(item and item.get("drifted")) for item in series]
        tested = [index for index, value in enumerate(ratios) if not np.isnan(value)]
        changes = [tested[i] for i in change_points([ratios[index] for index in tested])]
        found.append(
            FeatureHistory(
                column,
                ratios[-last:],
                drifted[-last:],
                pattern(ratios[-last:], drifted[-last:]),
                changes,
            )
        )
    return found


def pattern(ratios: list[float], drifted: list[bool]) -> str:
    """The name of a feature's drift across batches, by the rules in this module's docstring."""
    if len(ratios) < MIN_BATCHES:
        return "too few batches"
    if not any(drifted):
        return "stable"
    if any(before and not after for before, after in itertools.pairwise(drifted)):
        return "recurring"
    if all(drifted):
        return "persistent"
    values = np.asarray(ratios, dtype=float)
    values = values[~np.isnan(values)]
    if len(values) < MIN_BATCHES:  # drifted, but tested in too few of the batches shown
        return "too few batches"
    rise = float(values.max() - values.min())
    steps = np.diff(values)
    if rise > 0 and len(steps) and steps.max() >= ABRUPT_SHARE * rise:
        return "abrupt"
    tau = stats.kendalltau(np.arange(len(values)), values).statistic
    return "incremental" if tau >= TREND_TAU else "irregular"


def change_points(values: list[float]) -> list[int]:
    """Where river's ADWIN finds the mean of a series changed (indexes into `values`). Checked
    after every value (clock=1): a history has tens of batches, not millions of rows."""
    from river.drift import ADWIN  # a second to import: only for the report

    detector = ADWIN(clock=1, grace_period=MIN_BATCHES, min_window_length=2)
    found = []
    for index, value in enumerate(values):
        detector.update(value)
        if detector.drift_detected:
            found.append(index)
    return found


def _ratio(effect: object, threshold: object) -> float | None:
    if not isinstance(effect, (int, float)) or not isinstance(threshold, (int, float)):
        return None
    return float(effect) / float(threshold) if threshold else float(effect)


def _ratio_of(item: dict | None) -> float:
    """A batch's ratio; NaN when the feature was not tested, CAP for an effect too large for
    JSON (stored as null)."""
    if item is None:
        return np.nan
    value = item.get("ratio")
    if isinstance(value, (int, float)):
        return min(float(value), CAP)
    return CAP if item.get("drifted") else np.nan
