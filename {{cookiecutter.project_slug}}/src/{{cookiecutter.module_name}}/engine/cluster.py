"""The Dask cluster the engine computes on: a running one (compute.scheduler_address, or
DASK_SCHEDULER_ADDRESS) or one inside this process on every core."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from .settings import ComputeSettings

CONNECT_SECONDS = 10


@contextmanager
def dask_client(settings: ComputeSettings) -> Iterator[object]:
    """A distributed.Client for the duration of the block; an unreachable scheduler stops the
    command with one line within CONNECT_SECONDS."""
    from distributed import Client, LocalCluster

    if settings.scheduler_address:
        try:
            client = Client(settings.scheduler_address, timeout=CONNECT_SECONDS)
        except (OSError, TimeoutError) as error:
            raise SystemExit(
                f"cannot reach the Dask scheduler at {settings.scheduler_address} "
                f"({type(error).__name__}): start it, or empty compute.scheduler_address "
                "(and DASK_SCHEDULER_ADDRESS) to compute on this machine"
            ) from None
        with client:
            yield client
        return
    # Threads in this process: partitions share the model and the reference instead of one
    # copy per worker process, which keeps a memory cap of 1 GiB workable.
    with (
        LocalCluster(
            processes=False,
            n_workers=1,
            threads_per_worker=os.cpu_count() or 1,
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client
