"""Where the pipeline's files live, relative to the project root (keep in step with dvc.yaml),
and the command-line root option every entry point shares."""

from __future__ import annotations

import argparse
from pathlib import Path

# prepare's outputs
TRAIN_DATA = Path("data/processed/train.parquet")
TEST_DATA = Path("data/processed/test.parquet")
SCHEMA_FILE = Path("data/processed/schema.json")
# train's outputs
MODEL_DIR = Path("models/model")
RUN_FILE = Path("models/mlflow_run.json")
# the run train could not log (the tracking store failed after the fit): `tracking log-kept`
UNLOGGED_RUN_FILE = Path("models/unlogged_run.json")
# evaluate's outputs
METRICS_FILE = Path("reports/metrics.json")
PLOTS_DIR = Path("reports/plots")


def require_outputs(root: Path, *paths: Path) -> None:
    """Stop with one line when an earlier stage has not produced its outputs yet."""
    for path in paths:
        if not (root / path).exists():
            raise SystemExit(f"{path} not found: run the pipeline with `dvc repro`")


def parse_root(description: str | None) -> Path:
    """Parse a command line whose only option is the project root."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--root", type=Path, default=Path(), help="project root (default: .)")
    return parser.parse_args().root
