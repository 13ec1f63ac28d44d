"""A batch as a Dask DataFrame: Parquet (a file or a folder of them) by row group, CSV by
`compute.partition_mb`. A CSV is read as text, each column parsed by the schema afterwards, so a
column that turns from numbers to text half-way through cannot stop the run."""

from __future__ import annotations

from pathlib import Path

from ..config import Params
from ..dataset.raw import PARQUET_SUFFIXES, UnreadableData

MB = 1 << 20


def is_parquet(path: Path) -> bool:
    if path.is_dir():
        return any(file.suffix.lower() in PARQUET_SUFFIXES for file in path.iterdir())
    return path.suffix.lower() in PARQUET_SUFFIXES


def batch_bytes(path: Path) -> int:
    if path.is_dir():
        return sum(file.stat().st_size for file in path.rglob("*") if file.is_file())
    return path.stat().st_size


def open_batch(path: Path, params: Params):
    """The batch as a dask.dataframe.DataFrame; UnreadableData (one line) when it is not one."""
    import dask.dataframe as dd

    if not path.exists():
        raise UnreadableData(f"{path} not found")
    try:
        if is_parquet(path):
            frame = dd.read_parquet(path, split_row_groups=True)
        else:
            frame = dd.read_csv(
                path,
                sep=params.data.sep,
                dtype=str,
                encoding="utf-8-sig",
                blocksize=int(params.compute.partition_mb * MB),
                keep_default_na=True,
            )
    except UnicodeDecodeError:
        raise UnreadableData(f"{path} is not UTF-8 text: re-save it as UTF-8 CSV") from None
    except Exception as error:  # Parquet, CSV and OS errors alike: the batch is unreadable
        problem = " ".join(str(error).split())[:200]
        raise UnreadableData(f"cannot read {path}: {type(error).__name__}: {problem}") from None
    if len(frame.columns) == 0:
        raise UnreadableData(f"{path} has no columns")
    return frame


def partitions(path: Path, partition_mb: float) -> int:
    """How many partitions the batch makes: Parquet row groups (from the files' footers), or
    CSV bytes over compute.partition_mb (rounded up)."""
    if is_parquet(path):
        import pyarrow.parquet as pq

        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        groups = 0
        for file in files:
            if file.suffix.lower() in PARQUET_SUFFIXES:
                try:
                    groups += pq.ParquetFile(file).metadata.num_row_groups
                except Exception:  # unreadable: open_batch names the problem
                    groups += 1
        return groups
    return -(-batch_bytes(path) // int(partition_mb * MB))
