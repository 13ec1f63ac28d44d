"""`make predict` on a batch bigger than memory (compute.engine: dask).

Every partition is checked and scored as predict/batch.py does a chunk (the same
`predictions_frame`), in parallel, into a part file; the parts are then appended, in order, to
the one output file (CSV or Parquet, as with the pandas engine), renumbering the rows. The part
files sit beside the output: with a remote cluster (compute.scheduler_address) the output must be
on a disk the workers share.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pandas as pd

from ..config import Params
from ..dataset.raw import UnreadableData
from ..engine.batches import open_batch
from ..engine.cluster import dask_client
from ..engine.settings import compute_settings
from ..paths import written
from .batch import (
    SHOWN_ERRORS,
    BatchRefused,
    BatchResult,
    Writer,
    check_columns,
    predictions_frame,
)
from .model_source import PredictionModel
from .records import FieldError, RecordSchema


def score_partition(
    frame: pd.DataFrame, model: PredictionModel, records: RecordSchema, part: Path
) -> tuple[int, int, list[FieldError]]:
    """Score one partition into `part` (rows numbered from 1 within it): rows, refused, the
    first errors."""
    out, errors = predictions_frame(model, frame, records, 1)
    out.to_parquet(part, index=False)
    return len(out), int((out["error"] != "").sum()), errors[:SHOWN_ERRORS]


def predict_partitions(
    model: PredictionModel, params: Params, source: Path, output: Path
) -> BatchResult:
    """Score `source` into `output` (written whole at the end, never half)."""
    import dask

    start = time.monotonic()
    try:
        frame = open_batch(source, params)
    except UnreadableData as error:
        raise BatchRefused(str(error)) from None
    records = RecordSchema(model.schema, params.data.decimal)
    check_columns(records, [str(column) for column in frame.columns], source)
    parts_dir = output.with_name(f".{output.name}.parts")
    shutil.rmtree(parts_dir, ignore_errors=True)
    parts_dir.mkdir(parents=True)
    result = BatchResult()
    try:
        with dask_client(compute_settings(params)):
            shipped = dask.delayed(model, pure=True), dask.delayed(records, pure=True)
            tasks = [
                dask.delayed(score_partition)(part, *shipped, parts_dir / f"{i:06d}.parquet")
                for i, part in enumerate(frame.to_delayed())
            ]
            scored = dask.compute(*tasks)
        writer = Writer(output)
        with written(output) as partial:
            for i, (rows, refused, errors) in enumerate(scored):
                if rows:
                    out = pd.read_parquet(parts_dir / f"{i:06d}.parquet")
                    out["row"] += result.rows
                    writer.write(out, partial)
                for error in errors[: max(0, SHOWN_ERRORS - len(result.errors))]:
                    error.row += result.rows
                    result.errors.append(error)
                result.rows += rows
                result.refused += refused
            writer.close()
            if result.rows == 0:
                raise BatchRefused(f"{source} has no rows")
    finally:
        shutil.rmtree(parts_dir, ignore_errors=True)
    result.scored = result.rows - result.refused
    result.seconds = time.monotonic() - start
    return result
