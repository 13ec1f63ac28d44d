"""Batch prediction: score a CSV or Parquet file of any size in bounded memory.

The file is read `predict.chunk_rows` rows at a time (CSV chunks, Parquet row groups), each chunk
checked as the API checks records (predict/records.py), scored, and appended to the output, so
memory does not grow with the file. The output has one row per input row: `row` (its number in
the input, from 1), the ID columns, `prediction`, one `probability_<class>` per class
(classification), `model_name`, `model_version`, and `error`: empty, or why the row was not
scored (`field: reason`); the other rows are scored all the same.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import Params
from ..dataset.raw import PARQUET_SUFFIXES
from ..paths import written
from .model_source import PredictionModel
from .records import FieldError, RecordSchema
from .scorer import score

# Errors printed on the terminal; all of them are in the output's `error` column.
SHOWN_ERRORS = 10


class BatchRefused(Exception):
    """The file cannot be scored at all (unreadable, columns the model does not know)."""


@dataclass
class BatchResult:
    rows: int = 0
    scored: int = 0
    errors: list[FieldError] = field(default_factory=list)  # the first SHOWN_ERRORS
    refused: int = 0
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        """0: every row scored; 1: some rows refused (the rest scored); see __main__ for 2."""
        return 1 if self.refused else 0


def read_chunks(path: Path, params: Params) -> Iterator[pd.DataFrame]:
    """The file, `chunk_rows` rows at a time."""
    if not path.is_file():
        raise BatchRefused(f"{path} not found")
    chunk_rows = params.predict.chunk_rows
    try:
        if path.suffix.lower() in PARQUET_SUFFIXES:
            import pyarrow.parquet as pq

            for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows):
                yield batch.to_pandas()
        else:
            yield from pd.read_csv(
                path,
                sep=params.data.sep,
                decimal=params.data.decimal,
                encoding="utf-8-sig",
                chunksize=chunk_rows,
                low_memory=False,
            )
    except UnicodeDecodeError:
        raise BatchRefused(f"{path} is not UTF-8 text: re-save it as UTF-8 CSV") from None
    except pd.errors.EmptyDataError:
        raise BatchRefused(f"{path} is empty") from None
    except (pd.errors.ParserError, OSError, ValueError) as error:
        problem = " ".join(str(error).split())[:200]
        raise BatchRefused(f"cannot read {path} ({problem}): check data.sep") from None


def count_rows(path: Path) -> int | None:
    """Rows in a Parquet file (from its footer); None for a CSV (not counted in advance)."""
    if path.suffix.lower() not in PARQUET_SUFFIXES:
        return None
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path).metadata.num_rows
    except Exception:  # an unreadable file is reported when read
        return None


def predictions_frame(
    model: PredictionModel, chunk: pd.DataFrame, records: RecordSchema, first_row: int
) -> tuple[pd.DataFrame, list[FieldError]]:
    """One output row per row of `chunk`."""
    checked = records.check_frame(chunk, first_row)
    out = pd.DataFrame({"row": np.arange(first_row, first_row + len(chunk))})
    for name in records.ids:
        if name in chunk.columns:
            out[name] = chunk[name].to_numpy()
    scores = score(model, checked)
    if model.classes:
        prediction = np.full(len(chunk), None, dtype=object)
        prediction[checked.rows] = scores.predictions
        out["prediction"] = prediction
        for position, label in enumerate(model.classes):
            column = np.full(len(chunk), np.nan)
            column[checked.rows] = scores.probabilities[:, position]
            out[f"probability_{label}"] = column
    else:
        prediction = np.full(len(chunk), np.nan)
        prediction[checked.rows] = scores.predictions
        out["prediction"] = prediction
    out["model_name"], out["model_version"] = model.name, model.version
    errors = np.full(len(chunk), "", dtype=object)
    for error in checked.errors:
        position = error.row - first_row
        joined = f"{error.field}: {error.message}"
        errors[position] = f"{errors[position]}; {joined}" if errors[position] else joined
    out["error"] = errors
    return out, checked.errors


class Writer:
    """Appends output chunks to a CSV or a Parquet file (by the output's suffix)."""

    def __init__(self, path: Path) -> None:
        self.path, self.parquet, self.writer = path, path.suffix.lower() in PARQUET_SUFFIXES, None
        self.first = True

    def write(self, frame: pd.DataFrame, target: Path) -> None:
        if self.parquet:
            import pyarrow as pa
            import pyarrow.parquet as pq

            if self.writer is None:
                table = pa.Table.from_pandas(frame, preserve_index=False)
                self.writer = pq.ParquetWriter(target, table.schema)
            else:  # later chunks take the first chunk's column types
                schema = self.writer.schema
                try:
                    table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
                except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
                    problem = f"an ID column changes type between chunks: {error}"
                    raise BatchRefused(problem) from None
            self.writer.write_table(table)
        else:
            mode = "w" if self.first else "a"
            # RFC 4180 line ends: the writer then quotes every value holding a \r or a \n (with
            # "\n" ends a bare \r went out unquoted, and readers took it for a new row).
            frame.to_csv(
                target,
                mode=mode,
                header=self.first,
                index=False,
                float_format="%.6g",
                lineterminator="\r\n",
            )
        self.first = False

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def predict_file(
    model: PredictionModel, params: Params, source: Path, output: Path, progress: bool = True
) -> BatchResult:
    """Score `source` into `output` (written whole at the end, never half)."""
    from tqdm import tqdm

    start = time.monotonic()
    records = RecordSchema(model.schema, params.data.decimal)
    result = BatchResult()
    total = count_rows(source)
    bar = tqdm(
        total=total,
        unit=" rows",
        unit_scale=True,
        delay=2,  # only long runs get a bar
        disable=not progress or None,
        file=sys.stderr,
    )
    writer = Writer(output)
    try:
        with written(output) as partial, bar:
            for chunk in read_chunks(source, params):
                if result.rows == 0:
                    check_columns(records, list(chunk.columns), source)
                out, errors = predictions_frame(model, chunk, records, result.rows + 1)
                writer.write(out, partial)
                refused = int((out["error"] != "").sum())
                result.rows += len(chunk)
                result.refused += refused
                result.scored += len(chunk) - refused
                result.errors += errors[: max(0, SHOWN_ERRORS - len(result.errors))]
                bar.update(len(chunk))
            writer.close()
            if result.rows == 0:
                raise BatchRefused(f"{source} has no rows")
    finally:
        writer.close()
    result.seconds = time.monotonic() - start
    return result


def check_columns(records: RecordSchema, columns: list[str], source: Path) -> None:
    unknown = records.unknown_columns(columns)
    if unknown:
        raise BatchRefused(
            f"{source} has columns the raw data never had: {', '.join(map(repr, unknown[:10]))}"
            " (remove them, or retrain on data that has them)"
        )
    missing = records.missing_features(columns)
    if missing:
        raise BatchRefused(
            f"{source} lacks the feature columns {', '.join(map(repr, missing[:10]))}: "
            "every feature the model was trained on must be a column (empty values are fine)"
        )
