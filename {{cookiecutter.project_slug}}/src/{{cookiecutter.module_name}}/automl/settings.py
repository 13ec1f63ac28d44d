"""The `automl:` section of params.yaml (validated by config.load_params with the rest)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ..config import Params, Section, Text, section


class AutomlSettings(Section):
    """What params.yaml sets, and the rest with its default. Set any of them under `automl:` in
    params.yaml to change it."""

    # In params.yaml:
    budget: Annotated[int, Field(gt=0)]  # seconds the search runs (make automl BUDGET= wins)
    # what the trials are ranked by, averaged over the folds: one of the task's scores
    # (modeling/metrics.py TASK_METRICS), checked when the search starts
    metric: Text
    folds: Annotated[int, Field(ge=2, le=20)]  # cross-validation folds of the train split
    families: list[str]  # model families to try (modeling/estimators.py FAMILIES); empty: all
    seed: int  # seeds the sampler and the folds: the same seed and trials, the same search
    # "": a file in reports/automl/; a database URL (postgresql://user@host/db) shared by
    # machines that search together
    storage: str
    # Default:
    # trials fit on a seeded sample of at most this many train rows (every class kept), so a
    # trial on a table of millions takes seconds; `make repro` trains the winner on all of them
    sample_rows: Annotated[int, Field(gt=0)] | None = 100_000


PARAMS_SECTIONS = {"automl": AutomlSettings}


def automl_settings(params: Params) -> AutomlSettings:
    return section(params, AutomlSettings)
