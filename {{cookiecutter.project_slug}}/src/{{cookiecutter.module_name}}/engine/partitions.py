"""How many partitions a batch makes: what decides between reading it in memory and out of
core (engine/settings.py `ComputeSettings.out_of_core`)."""

from __future__ import annotations

from pathlib import Path

from ..dataset.raw import PARQUET_SUFFIXES

MB = 1 << 20


def is_parquet(path: Path) -> bool:
    if path.is_dir():
        return any(file.suffix.lower() in PARQUET_SUFFIXES for file in path.iterdir())
    return path.suffix.lower() in PARQUET_SUFFIXES


def batch_bytes(path: Path) -> int:
    if path.is_dir():
        return sum(file.stat().st_size for file in path.rglob("*") if file.is_file())
    return path.stat().st_size


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
