"""What one trial of the search tries: a family, its parameters (the family's `tuning` ranges
in modeling/estimators.py) and the preprocessing choices that matter for the data at hand.

Parameter names in the study are `<family>.<parameter>` (the families' spaces differ) and
`features.<key>` for preprocessing. Scaling needs no choice: the model scales numbers exactly
for the families that need it (modeling/model.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..config import FeaturesSection, Params
from ..dataset.schema import CATEGORICAL, TEXT, Schema
from ..modeling.estimators import FAMILIES, Range

if TYPE_CHECKING:
    import optuna

FAMILY = "family"
# Preprocessing choices, by their params.yaml key under features:, and when each applies.
PREPROCESSING: dict[str, tuple[Range | list[Any], str]] = {
    # categories seen fewer times share one column (1: none grouped)
    "min_category_frequency": (Range(1, 50, log=True, integer=True), CATEGORICAL),
    "text.max_features": (Range(1000, 50_000, log=True, integer=True), TEXT),  # vocabulary
    "text.word_ngrams": ([1, 2], TEXT),  # words alone, or word pairs too
}


@dataclass(frozen=True)
class Candidate:
    """A trial's model: what params.yaml would say to train it."""

    family: str
    model_params: dict[str, Any]
    # features: keys it changes ("min_category_frequency", "text.max_features"...)
    preprocessing: dict[str, Any] = field(default_factory=dict)

    def features(self, current: FeaturesSection) -> FeaturesSection:
        """params.yaml's features: section with this candidate's choices."""
        top = {k: v for k, v in self.preprocessing.items() if not k.startswith("text.")}
        text = {
            k.removeprefix("text."): v
            for k, v in self.preprocessing.items()
            if k.startswith("text.")
        }
        return current.model_copy(update={**top, "text": current.text.model_copy(update=text)})

    def params_changes(self) -> dict[str, Any]:
        """params.yaml key -> value (model.name, model.params, features.*)."""
        changes: dict[str, Any] = {"model.name": self.family, "model.params": self.model_params}
        changes.update({f"features.{key}": value for key, value in self.preprocessing.items()})
        return changes


def check_families(names: list[str]) -> list[str]:
    """automl.families as the search uses them (empty: every family); one line for a name that
    is no family."""
    for name in names:
        if name not in FAMILIES:
            raise SystemExit(
                f"params.yaml: automl.families: {name!r} is not a model family; use some of "
                f"{', '.join(FAMILIES)} (modeling/estimators.py FAMILIES), or [] for all"
            )
    return list(dict.fromkeys(names)) or list(FAMILIES)


def preprocessing_space(schema: Schema) -> dict[str, Range | list[Any]]:
    """The preprocessing choices that matter for columns of this schema."""
    return {key: values for key, (values, kind) in PREPROCESSING.items() if schema.columns(kind)}


def suggest(trial: optuna.Trial, families: list[str], task: str, schema: Schema) -> Candidate:
    """The candidate `trial` samples."""
    family = trial.suggest_categorical(FAMILY, families)
    tuned = {
        key: _suggest(trial, f"{family}.{key}", values)
        for key, values in FAMILIES[family].tuning_space(task).items()
    }
    preprocessing = {
        key: _suggest(trial, f"features.{key}", values)
        for key, values in preprocessing_space(schema).items()
    }
    return Candidate(str(family), tuned, preprocessing)


def _suggest(trial: optuna.Trial, name: str, values: Range | list[Any]) -> Any:
    if not isinstance(values, Range):
        return trial.suggest_categorical(name, values)
    if values.integer:
        return trial.suggest_int(name, int(values.low), int(values.high), log=values.log)
    return significant(trial.suggest_float(name, values.low, values.high, log=values.log))


def significant(value: Any) -> Any:
    """A float to 4 significant digits: what params.yaml and the leaderboard show is what the
    trial trained with."""
    return float(f"{value:.4g}") if isinstance(value, float) else value


def starting_points(families: list[str], params: Params, schema: Schema) -> list[dict[str, Any]]:
    """The first trials of a new study, as {study parameter: value}: params.yaml's model as it
    stands, then every other family with its defaults (what `make repro` trains with an empty
    model.params), all with params.yaml's preprocessing. The search starts from known-good
    points and its winner is never worse, on the folds, than the model you have."""
    task = params.data.task
    current = params.model.name
    order = [current, *(name for name in families if name != current)]
    preprocessing = {}
    for key, values in preprocessing_space(schema).items():
        node: Any = params.features
        for part in key.split("."):
            node = getattr(node, part)
        preprocessing[f"features.{key}"] = _inside(values, node)
    points = []
    for name in order:
        if name not in families:
            continue
        family = FAMILIES[name]
        settings = {**family.params(task), **(params.model.params if name == current else {})}
        space = family.tuning_space(task)
        missing = {key for key in space if key not in settings}
        if missing:  # the estimator's own defaults
            own = family.estimator_class(task)().get_params()
            settings.update({key: own[key] for key in missing if key in own})
        point: dict[str, Any] = {FAMILY: name, **preprocessing}
        for key, values in space.items():
            value = _inside(values, settings.get(key))
            if value is not None:
                point[f"{name}.{key}"] = value
        points.append(point)
    return points


def _inside(values: Range | list[Any], value: Any) -> Any:
    """`value` as a point of `values` (clipped into a range), or None: let the sampler pick."""
    if isinstance(values, Range):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        return values.clip(value)
    return value if value in values else None


def candidate_of(params: dict[str, Any]) -> Candidate:
    """The candidate of a trial's study parameters (what suggest sampled)."""
    family = str(params[FAMILY])
    return Candidate(
        family,
        {
            name.removeprefix(f"{family}."): significant(value)
            for name, value in params.items()
            if name.startswith(f"{family}.")
        },
        {
            name.removeprefix("features."): significant(value)
            for name, value in params.items()
            if name.startswith("features.")
        },
    )
