"""The monitoring report as one self-contained HTML page, read from the top: the verdict and
what to do first; the drifted features by effect size; the model's health; data-quality
failures grouped by check; a reference-vs-current chart per feature (inline SVG), drifted
first; then every check, folded."""

from __future__ import annotations

import html
import io
from typing import Any

import numpy as np
import pandas as pd

from ..dataset.schema import NUMERIC, TEXT, Schema, words_per_value
from .catalog import in_section
from .drift import category_counts
from .history import HISTORY_FILE, feature_histories
from .verdict import describe

MAX_CATEGORIES = 15  # bars per categorical plot; the rest is summed as "other"
COLORS = {"reference": "#4c72b0", "current": "#dd8452"}
# Data-quality and model checks, in the catalog's order (the order to fix them in).
QUALITY = {name: check.label for name, check in in_section("quality").items()}
MODEL = {name: check.label for name, check in in_section("model").items()}
HEADLINES = {
    "healthy": "Healthy: no action needed",
    "retrain": "Retrain: the model no longer fits this data",
    "unusable": "Unusable batch: fix the data first",
}
STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:1040px;margin:auto;padding:0 12px;"
    "color:#222}h1{margin:.4em 0 .1em}table{border-collapse:collapse;font-size:14px;margin:.4em 0}"
    "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}th{background:#f4f4f4}"
    "td.num{text-align:right;font-variant-numeric:tabular-nums}"
    ".verdict{padding:10px 16px;border-radius:6px;border-left:8px solid}"
    ".status-healthy{background:#eef8ee;border-color:#2a7}.status-retrain{background:#fff5e6;"
    "border-color:#d80}.status-unusable{background:#fdeeee;border-color:#c22}"
    ".failed td{background:#fdecec}.muted{color:#666}code{background:#f4f4f4;padding:1px 4px}"
    "section.chart{display:inline-block;width:500px;vertical-align:top}"
    "details{margin:1em 0}summary{cursor:pointer;font-weight:bold}"
)


def render(
    report: dict,
    reference: pd.DataFrame | None,
    current: pd.DataFrame | None,
    schema: Schema | None,
    history: list[dict] | None = None,
) -> str:
    checks = report.get("checks", [])
    drift_rows = [row for row in checks if row["check"] == "feature_drift"]
    # drifted first, then by effect size relative to its threshold
    drift_rows.sort(key=lambda row: (not row["failed"], -_ratio(row)))
    parts = [
        _verdict(report),
        _drift_summary(drift_rows),
        _model_health([row for row in checks if row["check"] in MODEL]),
        _quality([row for row in checks if row["check"] in QUALITY]),
        _outliers(next((row for row in checks if row["check"] == "outliers"), None)),
        _over_time(history or [], report.get("settings", {}).get("history_batches", 20)),
    ]
    if reference is not None and current is not None and schema is not None and drift_rows:
        charts = []
        for row in drift_rows:
            column = row["column"]
            kind = schema.features[column]
            if kind == TEXT:  # drawn as its length in words; the test is on its TF-IDF too
                ref, cur = (
                    pd.Series(words_per_value(frame[column])) for frame in (reference, current)
                )
                svg = _plot(ref, cur, True)
            else:
                svg = _plot(reference[column], current[column], kind == NUMERIC)
            verdict = "drifted" if row["failed"] else "no drift"
            charts.append(
                f"<section class='chart'><h3>{_text(column)}: {verdict}</h3>"
                f"<p class='muted'>{_text(_summary(row))}</p>{svg}</section>"
            )
        parts.append("<h2>Features, drifted first</h2>" + "".join(charts))
    parts.append(_all_checks(checks))
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>Monitoring report: {_text(report.get('status', '?'))}</title>"
        f"<style>{STYLE}</style></head><body>{''.join(parts)}</body></html>\n"
    )


def _verdict(report: dict) -> str:
    status = report.get("status", "?")
    batch, reference = report.get("batch", {}), report.get("reference", {})
    return (
        f"<header class='verdict status-{_text(status)}'>"
        f"<h1 id='verdict'>{_text(HEADLINES.get(status, status))}</h1>"
        f"<p id='reason'>{_text(report.get('message', ''))}</p>"
        f"<p id='next-step'><strong>What to do first:</strong> {_next_step(report)}</p></header>"
        f"<p class='muted'>Batch {_text(batch.get('path', '?'))} ({batch.get('rows', '?')} rows) "
        f"against the reference {_text(reference.get('path', '?'))} "
        f"({reference.get('rows', '?')} rows); exit code {report.get('exit_code', '?')}.</p>"
    )


def _next_step(report: dict) -> str:
    """One instruction, HTML: the first thing a person should do about this verdict."""
    status, checks = report.get("status"), report.get("checks", [])
    batch = _text(report.get("batch", {}).get("path", "BATCH"))
    failed_quality = [row for row in checks if row["failed"] and row["check"] in QUALITY]
    if status == "unusable":
        first = next(
            (row for row in checks if row["failed"] and row["severity"] == "unusable"), None
        )
        what = _text(describe(first)) if first else "the batch could not be read"
        return (
            f"fix the batch or the job that produced it ({what}), then run "
            f"<code>make monitor CURRENT={batch}</code> again. Nothing else was judged."
        )
    if status == "retrain" and any(row["severity"] == "critical" for row in failed_quality):
        names = ", ".join(_text(describe(row)) for row in failed_quality)
        return (
            f"check the data source: {names}. Retraining on broken data would learn the "
            f"breakage; once the source is fixed, retrain."
        )
    if status == "retrain":
        return (
            "retrain on recent labelled data: add it under <code>data/raw</code> "
            "(<code>dvc add</code>, then point <code>data.raw_path</code> at it) and run "
            f"<code>make retrain CURRENT={batch}</code>, which re-runs the pipeline on a "
            "<code>retrain/&hellip;</code> branch for review."
        )
    drifting = (report.get("policy") or {}).get("drifted_features") or []
    if drifting:
        return (
            f"nothing now; keep an eye on {_text(', '.join(map(str, drifting)))}: drifting, "
            "but below the retraining policy."
        )
    return "nothing: every check passed."


def _drift_summary(drift_rows: list[dict]) -> str:
    drifted = [row for row in drift_rows if row["failed"]]
    title = f"<h2>Drifted features: {len(drifted)} of {len(drift_rows)}</h2>"
    if not drift_rows:
        return title + "<p>No feature drift was tested (see the checks below).</p>"
    if not drifted:
        return title + "<p>No feature drifted.</p>"
    head = (
        "<tr><th>feature</th><th>kind</th><th>effect</th><th class='num'>size</th>"
        "<th class='num'>threshold</th><th>test</th><th class='num'>statistic</th>"
        "<th class='num'>p-value</th><th class='num'>corrected p</th><th class='num'>alpha</th>"
        "</tr>"
    )
    rows = "".join(
        f"<tr><td>{_text(row['column'])}</td><td>{row['kind']}</td>"
        f"<td>{_text(row['effect_name'])}</td>{_num(row['effect'])}{_num(row['threshold'])}"
        f"<td>{_text(row['test'])}</td>{_num(row['statistic'])}{_num(row['p_value'])}"
        f"{_num(row['p_adjusted'])}{_num(row['alpha'])}</tr>"
        for row in drifted
    )
    order = "<p>Largest effect (relative to its threshold) first.</p>"
    return f"{title}{order}<table id='drift-summary'>{head}{rows}</table>"


def _model_health(rows: list[dict]) -> str:
    if not rows:
        return ""
    head = (
        "<tr><th>check</th><th>verdict</th><th class='num'>value</th>"
        "<th class='num'>threshold</th><th>details</th></tr>"
    )
    body = "".join(
        f"<tr class='{'failed' if row['failed'] else ''}'><td>{MODEL[row['check']]}</td>"
        f"<td>{'failed' if row['failed'] else 'passed'}</td>{_num(row.get('statistic'))}"
        f"{_num(row.get('threshold'))}<td>{_text(_model_details(row))}</td></tr>"
        for row in rows
    )
    return f"<h2>Model health</h2><table id='model-health'>{head}{body}</table>"


def _model_details(row: dict) -> str:
    if row["check"] == "performance":
        return (
            f"{row['metric']} on the batch's labelled rows; {row['reference']:.4g} on "
            f"{row['reference_data']}"
        )
    return f"{row['test']} p {row['p_value']:.3g}; {row['effect_name']} {row['effect']:.4g}"


def _quality(rows: list[dict]) -> str:
    failed = [row for row in rows if row["failed"]]
    title = f"<h2>Data quality: {len(failed)} of {len(rows)} checks failed</h2>"
    if not failed:
        return title + "<p>Every data-quality check passed.</p>"
    groups = []
    for check, label in QUALITY.items():
        group = [row for row in failed if row["check"] == check]
        if group:
            items = "".join(f"<li>{_text(describe(row))}</li>" for row in group)
            severity = group[0]["severity"]
            groups.append(f"<h3>{label} ({severity})</h3><ul>{items}</ul>")
    return title + f"<div id='quality-failures'>{''.join(groups)}</div>"


def _outliers(row: dict | None) -> str:
    """The batch's most outlying rows, with why (modeling/outliers.py)."""
    if row is None:
        return ""
    title = (
        f"<h2>Outliers: {row['outlying_rows']} rows ({_format(row['statistic'])} of the batch; "
        f"test split {_format(row['reference'])})</h2>"
    )
    if not row["examples"]:
        return title + "<p>No row is unlike the training data.</p>"
    head = "<tr><th class='num'>row</th><th class='num'>score</th><th>why</th></tr>"
    body = "".join(
        f"<tr><td class='num'>{item['row']}</td>{_num(item['score'])}"
        f"<td>{_text(item['reason'])}</td></tr>"
        for item in row["examples"]
    )
    note = (
        "<p class='muted'>The most outlying rows (row numbers from 0, in batch order); a score "
        "of 1 or more is an outlier.</p>"
    )
    return f"{title}{note}<table id='outliers'>{head}{body}</table>"


def _over_time(entries: list[dict], last: int) -> str:
    """Each feature's drift over the last batches of the history, and its pattern."""
    features = feature_histories(entries, last)
    shown = min(len(entries), last)
    title = f"<h2>Drift over time: the last {shown} batches</h2>"
    if not features:
        return title + "<p>No feature drift in the history yet.</p>"
    head = (
        "<tr><th>feature</th><th>pattern</th><th class='num'>latest effect / threshold</th>"
        "<th class='num'>batches drifted</th><th>ADWIN changes (batch)</th></tr>"
    )
    features.sort(key=lambda item: (item.pattern == "stable", -np.nan_to_num(item.ratios[-1])))
    body = "".join(
        f"<tr><td>{_text(item.column)}</td><td>{item.pattern}</td>{_num(item.ratios[-1])}"
        f"<td class='num'>{sum(item.drifted)}</td>"
        f"<td>{', '.join(map(str, item.changes)) or 'none'}</td></tr>"
        for item in features
    )
    note = (
        "<p class='muted'>Patterns and their rules: docs/monitoring.md. The history is "
        f"reports/monitoring/{HISTORY_FILE}, one line per batch.</p>"
    )
    chart = _history_plot(features[:8]) if shown >= 2 else ""
    return f"{title}{note}<table id='history'>{head}{body}</table>{chart}"


def _history_plot(features: list) -> str:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(figsize=(9, 2.8))
    for item in features:
        axes.plot(range(len(item.ratios)), item.ratios, marker="o", label=str(item.column)[:20])
    axes.axhline(1.0, color="#c22", linestyle="--", linewidth=1)
    axes.set_xlabel("batch (oldest first)")
    axes.set_ylabel("effect / threshold")
    axes.legend(fontsize=7, ncol=4)
    return _svg(figure)


def _all_checks(checks: list[dict]) -> str:
    head = "<tr><th>check</th><th>column</th><th>verdict</th><th>severity</th><th>details</th></tr>"
    rows = []
    for row in checks:
        details = "; ".join(
            f"{key.replace('_', ' ')} {_format(value)}"
            for key, value in row.items()
            if key not in ("check", "column", "failed", "severity")
        )
        rows.append(
            f"<tr class='{'failed' if row['failed'] else ''}'><td>{_text(row['check'])}</td>"
            f"<td>{_text(row['column'] or '')}</td><td>{'failed' if row['failed'] else 'passed'}"
            f"</td><td>{_text(row['severity'])}</td><td>{_text(details)}</td></tr>"
        )
    return (
        f"<details id='all-checks'><summary>All {len(checks)} checks</summary>"
        f"<table>{head}{''.join(rows)}</table></details>"
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


def _format(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "none"
    return str(value)


def _num(value: object) -> str:
    return f"<td class='num'>{_format(value) if value is not None else ''}</td>"


def _text(value: object) -> str:
    return html.escape(str(value))


def _plot(reference: pd.Series, current: pd.Series, numeric: bool) -> str:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.ticker import MaxNLocator

    figure, axes = plt.subplots(figsize=(4.6, 2.6))
    if numeric:
        ref = reference.to_numpy(dtype=float, na_value=np.nan)
        cur = current.to_numpy(dtype=float, na_value=np.nan)
        ref, cur = ref[~np.isnan(ref)], cur[~np.isnan(cur)]
        both = np.concatenate([ref, cur])
        low, high = np.percentile(both, [0.5, 99.5]) if len(both) else (0.0, 1.0)
        edges = np.linspace(low, high if high > low else low + 1, 31)
        # Few ticks, whole numbers for a whole-number feature (years, counts): labels such as
        # 2007.25 otherwise run into each other on a chart this narrow.
        whole = bool(len(both)) and bool(np.all(np.mod(both, 1) == 0))
        axes.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=whole))
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
    return _svg(figure)


def _svg(figure: Any) -> str:
    """A matplotlib figure as inline SVG, closed."""
    from matplotlib import pyplot as plt

    figure.tight_layout()
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg")
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _shares(values: pd.Series) -> pd.Series:
    counts = category_counts(values)
    return counts / counts.sum() if counts.sum() else counts
