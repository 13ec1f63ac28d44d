"""A search in MLflow: one parent run, a nested run per trial, nothing registered.

Writes go through MlflowClient rather than mlflow.start_run: several processes log trials of
the same search at once, each under the parent run that the first one opened."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID, MLFLOW_RUN_NAME

from ..config import MlflowSection
from .mlflow_store import connect, quiet

# MLflow keeps a parameter's value up to this many characters
PARAM_LENGTH = 6000


def now() -> int:
    return int(time.time() * 1000)


class SearchRuns:
    """The parent run of a search (opened again when it still exists) and its trials' runs."""

    def __init__(self, settings: MlflowSection, parent_id: str | None, name: str, tags: dict):
        with quiet():
            self.experiment_id = connect(settings)
            self.client = MlflowClient(settings.tracking_uri)
            self.parent_id = parent_id if parent_id and self._exists(parent_id) else None
            if self.parent_id is None:
                parent = self.client.create_run(self.experiment_id, run_name=name, tags=tags)
                self.parent_id = parent.info.run_id
            else:
                self.client.update_run(self.parent_id, status="RUNNING")

    def _exists(self, run_id: str) -> bool:
        try:
            return self.client.get_run(run_id).info.lifecycle_stage == "active"
        except Exception:  # deleted, or from another store: a new parent
            return False

    def log_trial(
        self, name: str, params: dict[str, Any], metrics: dict[str, float], tags: dict[str, str]
    ) -> str:
        """A finished run nested under the parent; returns its id."""
        with quiet():
            run = self.client.create_run(
                self.experiment_id,
                run_name=name,
                tags={MLFLOW_PARENT_RUN_ID: self.parent_id, MLFLOW_RUN_NAME: name, **tags},
            )
            self.client.log_batch(
                run.info.run_id,
                params=[Param(key, str(value)[:PARAM_LENGTH]) for key, value in params.items()],
                metrics=[Metric(key, value, now(), 0) for key, value in metrics.items()],
            )
            self.client.set_terminated(run.info.run_id)
        return run.info.run_id

    def finish(self, metrics: dict[str, float], tags: dict[str, str], folder: Path | None) -> None:
        """Close the parent with the search's summary and its report files."""
        with quiet():
            self.client.log_batch(
                self.parent_id,
                metrics=[Metric(key, value, now(), 0) for key, value in metrics.items()],
                tags=[RunTag(key, value) for key, value in tags.items()],
            )
            if folder is not None:
                for path in sorted(folder.glob("*")):
                    if path.suffix in {".md", ".csv", ".png"}:
                        self.client.log_artifact(self.parent_id, str(path))
            self.client.set_terminated(self.parent_id)
