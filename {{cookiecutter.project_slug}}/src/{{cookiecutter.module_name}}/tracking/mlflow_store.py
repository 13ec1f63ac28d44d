"""The MLflow tracking store of the project: connecting to it (the URI is params.yaml
mlflow.tracking_uri, MLFLOW_TRACKING_URI, or the embedded sqlite store, as config.py resolves
it), quietly.

`import mlflow` alone takes seconds: only code that talks to the store imports this module,
and only once its inputs have been checked.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path

import mlflow

from ..config import SQLITE, MlflowSection


def connect(settings: MlflowSection) -> str:
    """Point MLflow at the store and return the experiment's id, creating it on first use."""
    mlflow.set_tracking_uri(settings.tracking_uri)
    with quiet():  # the first use of a sqlite file logs every schema migration
        experiment = mlflow.get_experiment_by_name(settings.experiment_name)
    if experiment is not None:
        return experiment.experiment_id
    # Artifacts of a sqlite store go to mlruns/ beside the database, not below whatever
    # directory MLflow happens to run from; a server decides for itself.
    location = None
    if settings.tracking_uri.startswith(SQLITE):
        database = Path(settings.tracking_uri.removeprefix(SQLITE))
        location = (database.parent / "mlruns").resolve().as_uri()
    return mlflow.create_experiment(settings.experiment_name, artifact_location=location)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Hide MLflow's harmless chatter: pickle-format notice, environment hints, database
    migrations (older MLflow reconfigures alembic's loggers, so levels alone cannot do it), and
    deprecation warnings its own dependencies raise inside it. Errors still show."""
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(logging.NOTSET)
