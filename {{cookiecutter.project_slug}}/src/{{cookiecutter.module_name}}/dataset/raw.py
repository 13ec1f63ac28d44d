"""Reading tabular files: the raw CSV of the pipeline and the batches the monitor and batch
scoring are given. One reader, one set of one-line errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..config import DataSection, Params

PARQUET_SUFFIXES = (".parquet", ".pq")


class UnreadableData(Exception):
    """A file that cannot be read as a table; the message is one line naming the problem."""


def read_table(path: Path, sep: str = ",", decimal: str = ".") -> pd.DataFrame:
    """A CSV (by the project's separator and decimal mark) or a Parquet file, by suffix."""
    if not path.is_file():
        raise UnreadableData(f"{path} not found")
    try:
        if path.suffix.lower() in PARQUET_SUFFIXES:
            return pd.read_parquet(path)
        # utf-8-sig also reads the byte-order mark that spreadsheet exports put first.
        return pd.read_csv(path, sep=sep, decimal=decimal, encoding="utf-8-sig", low_memory=False)
    except UnicodeDecodeError:
        raise UnreadableData(f"{path} is not UTF-8 text: re-save it as UTF-8 CSV") from None
    except pd.errors.EmptyDataError:
        raise UnreadableData(f"{path} is empty") from None
    except pd.errors.ParserError as error:
        problem = " ".join(str(error).split())[:200]
        raise UnreadableData(f"cannot read {path} as CSV ({problem}): check data.sep") from None
    except Exception as error:  # Parquet and OS errors alike: the file is unreadable
        problem = " ".join(str(error).split())[:200]
        raise UnreadableData(f"cannot read {path}: {type(error).__name__}: {problem}") from None


def read_raw(root: Path, data: DataSection) -> pd.DataFrame:
    """The raw data named by data.raw_path; a missing or unreadable file stops with one line."""
    path = root / data.raw_path
    if not path.is_file():
        raise SystemExit(
            f"raw data {path} not found: run `dvc pull` to fetch it, or fix data.raw_path"
        )
    try:
        return read_table(path, data.sep, data.decimal)
    except UnreadableData as error:
        raise SystemExit(str(error)) from None


def out_of_core(params: Params, path: Path) -> bool:
    """The batch at `path` is read partition by partition, out of core: the one place this is
    decided for prepare, train, predict and monitor. Only a project made with the scale-out
    option has a `compute:` section; its settings decide (engine/settings.py)."""
    compute = getattr(params, "compute", None)
    return compute is not None and compute.out_of_core(path)
