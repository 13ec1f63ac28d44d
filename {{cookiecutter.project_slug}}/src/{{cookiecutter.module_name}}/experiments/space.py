"""The points of a sweep: params.yaml `sweep:` turned into one set of values per experiment,
each checked as params.yaml itself is before anything runs."""

from __future__ import annotations

import copy
import itertools
import math
from typing import Any

import numpy as np
from pydantic import ValidationError

from ..config import Params, SweepRange, SweepSection, describe, params_model
from ..modeling.estimators import FAMILIES, build_estimator

# The sections the pipeline's stages read: sweeping anything else would train the same model.
PIPELINE_SECTIONS = ("data", "split", "features", "model", "onnx", "explain")


def sweep_points(settings: SweepSection, raw: dict[str, Any]) -> list[dict[str, Any]]:
    """One {key: value} per experiment; SystemExit with one line for a space that cannot run.
    `raw`: params.yaml as read (the values the points change). An empty space is the one of
    model.name's family (modeling/estimators.py)."""
    if not settings.space:
        space = family_space(raw["model"]["name"], raw["data"]["task"])
        settings = settings.model_copy(update={"space": space})
    for key in settings.space:
        if key.split(".")[0] not in PIPELINE_SECTIONS:
            raise SystemExit(
                f"params.yaml: sweep.space key {key!r} is not read by the pipeline: sweep keys "
                f"of {', '.join(PIPELINE_SECTIONS)}"
            )
    points = _grid(settings) if settings.method == "grid" else _random(settings)
    for point in points:
        check_point(raw, point)
    return points


def swept_keys(params: Params) -> list[str]:
    """The params.yaml keys a sweep varies: sweep.space's, or the family's when it is empty."""
    return list(params.sweep.space or family_space(params.model.name, params.data.task))


def family_space(name: str, task: str) -> dict[str, list[Any]]:
    """The sweep space of family `name` (its FAMILIES entry) for `task`."""
    if name not in FAMILIES:
        raise SystemExit(
            f"params.yaml: model.name {name!r} is unknown; use one of {', '.join(FAMILIES)}"
        )
    space = FAMILIES[name].search_space(task)
    if not space:
        raise SystemExit(f"params.yaml: sweep.space is empty and {name!r} has none: list keys")
    return space


def _grid(settings: SweepSection) -> list[dict[str, Any]]:
    for key, values in settings.space.items():
        if isinstance(values, SweepRange):
            raise SystemExit(
                f"params.yaml: sweep.space.{key} is a range: grid search needs a list of values"
                " (or sweep.method: random)"
            )
        if not values:
            raise SystemExit(f"params.yaml: sweep.space.{key} lists no value")
    combinations = math.prod(len(values) for values in settings.space.values())
    if combinations > settings.runs:
        raise SystemExit(
            f"params.yaml: the grid of sweep.space has {combinations} points, more than "
            f"sweep.runs ({settings.runs}): raise sweep.runs or use sweep.method: random"
        )
    keys = list(settings.space)
    return [
        dict(zip(keys, values, strict=True))
        for values in itertools.product(*settings.space.values())
    ]


def _random(settings: SweepSection) -> list[dict[str, Any]]:
    rng = np.random.default_rng(settings.seed)
    points = []
    for _ in range(settings.runs):
        point = {}
        for key, values in settings.space.items():
            if isinstance(values, SweepRange):
                point[key] = _draw(rng, values, key)
            elif not values:
                raise SystemExit(f"params.yaml: sweep.space.{key} lists no value")
            else:
                point[key] = values[int(rng.integers(len(values)))]
        points.append(point)
    return points


def _draw(rng: np.random.Generator, bounds: SweepRange, key: str) -> float | int:
    if not bounds.low < bounds.high or (bounds.log and bounds.low <= 0):
        need = "0 < low < high" if bounds.log else "low < high"
        raise SystemExit(f"params.yaml: sweep.space.{key} needs {need}")
    if bounds.log:
        value = float(np.exp(rng.uniform(np.log(bounds.low), np.log(bounds.high))))
    else:
        value = float(rng.uniform(bounds.low, bounds.high))
    return round(value) if bounds.integer else round(value, 6)


def apply_point(raw: dict[str, Any], point: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(raw)
    for key, value in point.items():
        *sections, last = key.split(".")
        node = changed
        for name in sections:
            node = node.setdefault(name, {})
            if not isinstance(node, dict):
                raise SystemExit(f"params.yaml: sweep.space key {key!r}: {name} holds no keys")
        node[last] = value
    return changed


def check_point(raw: dict[str, Any], point: dict[str, Any]) -> Params:
    """The params of one experiment, validated as `make repro` would (model.params against the
    estimator's own parameters)."""
    model = params_model()
    changed = apply_point(raw, point)
    try:
        params = model.model_validate(changed)
    except ValidationError as error:
        raise SystemExit(f"params.yaml: sweep point {point}: {describe(error, model)}") from None
    build_estimator(params.model.name, params.model.params, params.data.task, params.split.seed)
    return params
