"""The monitoring report as one self-contained HTML page: verdict, every check, and a
reference-vs-current plot per feature (inline SVG), drifted features first."""

from __future__ import annotations

import html
import io

import numpy as np
import pandas as pd

from ..dataset.schema import NUMERIC, Schema
from .drift import category_counts

MAX_CATEGORIES = 15  # bars per categorical plot; the rest is summed as "other"
COLORS = {"reference": "#4c72b0", "current": "#dd8452"}


def render(
    report: dict,
    reference: pd.DataFrame | None,
    current: pd.DataFrame | None,
    schema: Schema | None,
) -> str:
    checks = report.get("checks", [])
    drift_rows = [row for row in checks if row["check"] == "feature_drift"]
    # drifted first, then by effect size relative to its threshold
    drift_rows.sort(key=lambda row: (not row["failed"], -_ratio(row)))
    sections = []
    if reference is not None and current is not None and schema is not None:
        for row in drift_rows:
            column = row["column"]
            svg = _plot(reference[column], current[column], schema.features[column] == NUMERIC)
            verdict = "DRIFT" if row["failed"] else "ok"
            sections.append(
                f"<section><h3>{html.escape(str(column))} &mdash; {verdict}</h3>"
                f"<p>{html.escape(_summary(row))}</p>{svg}</section>"
            )
    status = html.escape(report.get("status", "?"))
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Monitoring report</title>"
        "<style>body{font-family:sans-serif;max-width:1000px;margin:auto}"
        "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px}"
        ".failed{background:#fdd}.status-healthy{color:#070}.status-retrain{color:#b60}"
        ".status-unusable{color:#b00}section{display:inline-block;width:480px;vertical-align:top}"
        "</style></head><body>"
        f"<h1>Monitoring report: <span class='status-{status}'>{status}</span></h1>"
        f"<p>{html.escape(report.get('message', ''))}</p>"
        f"<p>Batch: {html.escape(str(report.get('batch', {}).get('path', '')))} "
        f"({report.get('batch', {}).get('rows', '?')} rows); reference: "
        f"{html.escape(str(report.get('reference', {}).get('path', '?')))} "
        f"({report.get('reference', {}).get('rows', '?')} rows)</p>"
        "<h2>Checks</h2>"
        + _table(checks)
        + "<h2>Features, drifted first</h2>"
        + "".join(sections)
        + "</body></html>\n"
    )


def _ratio(row: dict) -> float:
    effect, threshold = row.get("effect") or 0.0, row.get("threshold") or 0.0
    return effect / threshold if threshold else effect


def _summary(row: dict) -> str:
    return (
        f"{row['test']} statistic {row['statistic']:.4g}, p {row['p_value']:.3g} "
        f"(corrected {row['p_adjusted']:.3g}, alpha {row['alpha']}); {row['effect_name']} "
        f"{row['effect']:.4g} (threshold {row['threshold']})"
    )


def _table(checks: list[dict]) -> str:
    head = "<tr><th>check</th><th>column</th><th>verdict</th><th>details</th></tr>"
    rows = []
    for row in checks:
        details = ", ".join(
            f"{key}={value:.4g}" if isinstance(value, float) else f"{key}={value}"
            for key, value in row.items()
            if key not in ("check", "column", "failed")
        )
        verdict = "FAILED" if row["failed"] else "passed"
        rows.append(
            f"<tr class='{'failed' if row['failed'] else ''}'><td>{row['check']}</td>"
            f"<td>{html.escape(str(row['column'] or ''))}</td><td>{verdict}</td>"
            f"<td>{html.escape(details)}</td></tr>"
        )
    return f"<table>{head}{''.join(rows)}</table>"


def _plot(reference: pd.Series, current: pd.Series, numeric: bool) -> str:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(figsize=(4.6, 2.6))
    if numeric:
        ref = reference.to_numpy(dtype=float, na_value=np.nan)
        cur = current.to_numpy(dtype=float, na_value=np.nan)
        ref, cur = ref[~np.isnan(ref)], cur[~np.isnan(cur)]
        both = np.concatenate([ref, cur])
        low, high = np.percentile(both, [0.5, 99.5]) if len(both) else (0.0, 1.0)
        edges = np.linspace(low, high if high > low else low + 1, 31)
        for name, values in (("reference", ref), ("current", cur)):
            axes.hist(
                values,
                bins=edges,
                density=True,
                histtype="step",
                linewidth=1.6,
                color=COLORS[name],
                label=f"{name} ({len(values)})",
            )
    else:
        shares = pd.concat(
            [_shares(reference), _shares(current)], axis=1, keys=["reference", "current"]
        ).fillna(0)
        shares = shares.sort_values("reference", ascending=False)
        if len(shares) > MAX_CATEGORIES:
            rest = shares.iloc[MAX_CATEGORIES:].sum().rename("other")
            shares = pd.concat([shares.iloc[:MAX_CATEGORIES], rest.to_frame().T])
        positions = np.arange(len(shares))
        for offset, name in ((-0.2, "reference"), (0.2, "current")):
            axes.bar(positions + offset, shares[name], width=0.4, color=COLORS[name], label=name)
        axes.set_xticks(
            positions, [str(label)[:12] for label in shares.index], rotation=30, fontsize=7
        )
        axes.set_ylabel("share")
    axes.legend(fontsize=7)
    figure.tight_layout()
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg")
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _shares(values: pd.Series) -> pd.Series:
    counts = category_counts(values)
    return counts / counts.sum() if counts.sum() else counts
