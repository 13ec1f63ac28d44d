"""Where the pipeline's files live, relative to the project root (keep in step with dvc.yaml),
how they are written, and the command-line root option every entry point shares."""

from __future__ import annotations

import argparse
import errno
import gc
import json
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

# prepare's outputs
TRAIN_DATA = Path("data/processed/train.parquet")
TEST_DATA = Path("data/processed/test.parquet")
SCHEMA_FILE = Path("data/processed/schema.json")
# train's outputs
MODEL_DIR = Path("models/model")
RUN_FILE = Path("models/mlflow_run.json")
# files train adds to the model directory beside MLflow's: the raw data's schema (what a record
# sent for prediction may hold), the ONNX export and what its check against scikit-learn found
MODEL_SCHEMA, MODEL_ONNX, MODEL_ONNX_CHECK = "schema.json", "model.onnx", "onnx.json"
MODEL_BACKGROUND = "explain_background.parquet"  # train rows SHAP explains against
MODEL_OUTLIERS = (
    "outliers.joblib"  # the outlier detector of the training data (modeling/outliers.py)
)
MODEL_EXTRAS = (MODEL_SCHEMA, MODEL_ONNX, MODEL_ONNX_CHECK, MODEL_BACKGROUND, MODEL_OUTLIERS)
# the run train could not log (the tracking store failed after the fit): `tracking log-kept`
UNLOGGED_RUN_FILE = Path("models/unlogged_run.json")
# evaluate's outputs
METRICS_FILE = Path("reports/metrics.json")
MODEL_CARD = Path("reports/model_card.md")
PLOTS_DIR = Path("reports/plots")
# `make automl`'s leaderboard and plots (committed with the params.yaml change they explain)
AUTOML_DIR = Path("reports/automl")


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


def stage_main(run: Callable[[Path], object], description: str | None) -> None:
    """A stage's command line (`python -m <package>.pipeline.<stage> [--root DIR]`): an output
    that cannot be written (disk full, read-only) stops it with one line, not a traceback."""
    root = parse_root(description)
    try:
        run(root)
    except OSError as error:
        problem = unwritable(error)
        if problem is None:
            raise
        raise SystemExit(problem) from None
    # The process ends here. Python's exit runs the garbage collector over every object still
    # alive (with MLflow and scikit-learn loaded, about a second); it skips frozen ones.
    gc.freeze()


@contextmanager
def written(path: Path) -> Iterator[Path]:
    """A temporary sibling of `path` (a file or a folder) to write to, moved into place when the
    block ends without error: a stage that is killed or runs out of disk midway leaves no
    half-written output under the real name (and DVC, which records outputs only after a stage
    succeeds, runs the stage again next time)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")  # *.partial is git-ignored
    _remove(partial)  # left by a run killed before it could clean up
    try:
        yield partial
        if partial.is_dir():
            _remove(path)  # a folder cannot be replaced in one step
        os.replace(partial, path)
    except OSError as error:
        code = _errno(error)
        if code in UNWRITABLE and error.filename in (None, str(partial)):
            raise OSError(code, os.strerror(code), str(path)) from None  # the output's name
        raise
    finally:
        _remove(partial)


def write_json(path: Path, value: object) -> None:
    with written(path) as partial:
        partial.write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


# Failures to write that the user fixes outside the code (space, permissions, a read-only mount).
UNWRITABLE = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}


REPRO_AGAIN = "run `make repro` again: nothing half-written was kept, so DVC re-runs this stage"


def unwritable(error: OSError, then: str = REPRO_AGAIN) -> str | None:
    """One line for an output that could not be written, or None for any other OSError."""
    code = _errno(error)
    if code not in UNWRITABLE:
        return None
    return (
        f"cannot write {error.filename or 'an output'}: {os.strerror(code)}; free space (or fix "
        f"the permissions) and {then}"
    )


def _errno(error: OSError) -> int | None:
    # Some writers (pyarrow) put the reason in the message only.
    if error.errno is None and "No space left on device" in str(error):
        return errno.ENOSPC
    return error.errno
