"""A batch as a Dask DataFrame: Parquet (a file or a folder of them) by row group, CSV by
`compute.partition_mb`. A CSV is read as text, each column parsed by the schema afterwards, so a
column that turns from numbers to text half-way through cannot stop the run."""

from __future__ import annotations

from pathlib import Path

from ..config import Params
from ..dataset.raw import UnreadableData
from .partitions import MB, is_parquet
from .settings import compute_settings


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
                blocksize=int(compute_settings(params).partition_mb * MB),
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
