"""The `compute:` section of params.yaml (validated by config.load_params with the rest)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, ClassVar, Literal

from pydantic import BeforeValidator, Field

from ..config import Params, Section, section
from .partitions import partitions


class ComputeSettings(Section):
    ENV: ClassVar[dict[str, str]] = {
        "engine": "COMPUTE_ENGINE",
        "scheduler_address": "DASK_SCHEDULER_ADDRESS",
    }
    # pandas: one process, the batch streamed (predict) or in memory (monitor);
    # dask: partitions, out of core, on every core or on a Dask cluster.
    engine: Literal["pandas", "dask"]
    # Empty: a cluster inside the process (LocalCluster); else tcp://host:8786 of a running one.
    scheduler_address: Annotated[str, BeforeValidator(lambda value: value or "")]
    partition_mb: Annotated[float, Field(gt=0)]  # CSV megabytes per partition
    # Raw rows (drawn from every partition) an out-of-core prepare infers the schema from.
    schema_rows: Annotated[int, Field(gt=0)]
    # Default: distinct reference values the out-of-core KS / Wasserstein grid keeps: exact up
    # to this many, a quantile grid with a stated error bound above it (monitoring/grid_drift.py).
    drift_grid: Annotated[int, Field(ge=16)] = 65536

    def out_of_core(self, path: Path) -> bool:
        """engine is dask and the batch makes more than one partition. A smaller one is read in
        memory, as the pandas engine reads it: the same results, no cluster to start."""
        return self.engine == "dask" and path.exists() and partitions(path, self.partition_mb) > 1


PARAMS_SECTIONS = {"compute": ComputeSettings}


def compute_settings(params: Params) -> ComputeSettings:
    return section(params, ComputeSettings)
