"""Monitor one batch: read it, run every check against the reference, decide, and write
reports/monitoring/report.json and report.html. Never raises for a bad batch or a project that
is not ready: the verdict says so (exit code 2) in one line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from ..config import Params, load_params
from ..dataset.raw import UnreadableData, out_of_core, read_table
from ..dataset.schema import Schema, to_numbers
from ..paths import SCHEMA_FILE
from . import history
from .checks import check_quality, check_schema, feature_drift
from .history import HISTORY_FILE
from .model_checks import check_model, check_outliers
from .settings import MonitoringSettings, monitoring_settings
from .verdict import STATUS, UNUSABLE, decide

REPORT_DIR = Path("reports/monitoring")


def read_batch(path: Path, sep: str = ",", decimal: str = ".") -> pd.DataFrame:
    """A CSV or Parquet batch with rows; anything else is unusable (UnreadableData)."""
    frame = read_table(path, sep, decimal)
    if frame.empty:
        raise UnreadableData(f"{path} has no rows")
    return frame


class Unusable(Exception):
    """The batch cannot be judged: the message is one line naming the problem."""


def run_checks(
    root: Path,
    current: pd.DataFrame,
    schema: Schema,
    settings: MonitoringSettings,
    reference: pd.DataFrame,
    decimal: str = ".",
    model: bool = True,
) -> list[dict]:
    """Every check of one batch, in report order (raises nothing for a bad batch: the schema
    checks say so and the rest is skipped)."""
    checks, typed = check_schema(current, schema, decimal)
    if any(row["failed"] and row["severity"] == "unusable" for row in checks):
        return checks
    checks += check_quality(reference, typed, schema, settings)
    checks += feature_drift(reference, typed, schema, settings)
    if model:
        checks += check_outliers(root, typed, schema, settings)
        labels = None
        if schema.target in current.columns:
            labels = current[schema.target]
            if schema.task == "regression":
                labels = to_numbers(labels, decimal)
            labels = labels[labels.notna()]
            typed = typed.loc[labels.index] if len(labels) else typed
            labels = labels if len(labels) else None
        checks += check_model(root, reference, typed, labels, schema, settings)
    return checks


def monitor(
    current_path: Path,
    root: Path | str = ".",
    params: Params | None = None,
    out_dir: Path | None = None,
    html: bool = True,
    history_file: Path | None = None,
) -> tuple[int, dict]:
    """Check one batch, append its summary to the history (default: history.jsonl beside the
    reports) and write the reports; returns the exit code and the report."""
    root = Path(root)
    out_dir = root / REPORT_DIR if out_dir is None else out_dir
    history_file = out_dir / HISTORY_FILE if history_file is None else history_file
    report: dict[str, Any] = {"batch": {"path": str(current_path)}, "checks": []}
    reference = current = schema = None
    try:
        params = params or load_params(root)
        settings = monitoring_settings(params)
        report["settings"] = settings.model_dump()
        for needed in (SCHEMA_FILE, Path(settings.reference)):
            if not (root / needed).is_file():
                raise SystemExit(f"{needed} not found: run `dvc repro` (or `dvc pull`) first")
        schema = Schema.load(root / SCHEMA_FILE)
        reference = pd.read_parquet(root / settings.reference)
        report["reference"] = {"path": settings.reference, "rows": len(reference)}
        decimal = params.data.decimal
        if out_of_core(params, current_path):
            from .dask_checks import check_batch  # scale-out option

            try:
                checks, batch, current = check_batch(
                    root, current_path, schema, settings, reference, params
                )
            except UnreadableData as error:
                raise Unusable(str(error)) from None
            report["batch"].update(batch)
        else:
            try:
                current = read_batch(current_path, params.data.sep, decimal)
            except UnreadableData as error:
                raise Unusable(str(error)) from None
            report["batch"].update(rows=len(current), columns=[str(c) for c in current.columns])
            checks = run_checks(root, current, schema, settings, reference, decimal)
        code, message, policy = decide(checks, settings)
        report.update(checks=checks, policy=policy)
    except (Unusable, SystemExit) as error:
        code, message = UNUSABLE, f"batch unusable: {error}"
        if isinstance(error, SystemExit):
            message = f"monitor cannot run: {error}"
    report.update(status=STATUS[code], exit_code=code, message=message)
    report = {
        key: report[key] for key in ("status", "exit_code", "message", *report) if key in report
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    history.append(history_file, history.summary(report))
    (out_dir / "report.json").write_text(
        json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8"
    )
    if html:
        from .report_html import render

        (out_dir / "report.html").write_text(
            render(report, reference, current, schema, history.read(history_file)),
            encoding="utf-8",
        )
    return code, report
