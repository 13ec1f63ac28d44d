"""The one typed configuration: params.yaml, validated section by section with pydantic.

`load_params()` is the only reader of params.yaml (through `read_params_file`, which a sweep
also uses to vary its values): the stages, the monitor, the API and the CI
helpers receive the `Params` it returns. Every section refuses unknown keys; environment
variables that override a key are applied here too (see `Section.ENV`), read and converted to
the key's type by pydantic-settings. Any mistake stops the program with one line naming the key
and the fix, never a traceback.

An optional capability (monitoring/, serving/) brings its own section: a sub-package whose
`settings.py` defines `PARAMS_SECTIONS = {"name": SectionModel}`, and a typed accessor for it
(`monitoring_settings(params) -> MonitoringSettings`, built on `section`). Removing the
sub-package removes the section, and a leftover section in params.yaml is then reported as
unknown.
"""

from __future__ import annotations

import difflib
import importlib
import os
import pkgutil
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, get_args, get_origin

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    create_model,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

PARAMS_FILE = "params.yaml"
TASKS = ("classification", "regression")
Task = Literal["classification", "regression"]
# The embedded MLflow store: a sqlite file in the project root (artifacts in mlruns/ beside it).
EMBEDDED_STORE = "mlflow.db"
SQLITE = "sqlite:///"


def _number_as_text(value: Any) -> Any:
    # YAML reads a column named 2020 as a number; a name is text.
    return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def _null_as_empty(value: Any) -> Any:
    return {} if value is None else value


def _count_or_share(value: int | float) -> int | float:
    # Same meaning as scikit-learn's OneHotEncoder(min_frequency): a count or a share of rows.
    if (isinstance(value, int) and value >= 1) or (isinstance(value, float) and 0 < value < 1):
        return value
    raise ValueError("must be a count >= 1 or a share between 0 and 1")


Text = Annotated[str, StringConstraints(min_length=1), BeforeValidator(_number_as_text)]
ColumnList = list[Annotated[str, BeforeValidator(_number_as_text)]]
Fraction = Annotated[float, Field(gt=0, lt=1)]
Share = Annotated[float, Field(ge=0, le=1)]


class Section(BaseModel):
    """A section of params.yaml: unknown keys refused, types checked strictly ("yes" is no
    boolean, "0.2" no number)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    # key -> environment variable that overrides it when set (applied by load_params).
    ENV: ClassVar[dict[str, str]] = {}


class DataSection(Section):
    raw_path: Text
    target: Text
    task: Task
    sep: Text
    decimal: Text
    # Empty lists mean "infer from the data".
    numeric_features: ColumnList = []
    categorical_features: ColumnList = []
    datetime_features: ColumnList = []
    text_features: ColumnList = []
    drop_columns: ColumnList = []
    id_columns: ColumnList = []  # echoed with each prediction (and not features)


class SplitSection(Section):
    test_size: Fraction
    validation_size: Fraction
    seed: int
    stratify: bool
    # Fit on a seeded sample of this many train rows (every class kept); None: on all of them.
    train_rows: Annotated[int, Field(gt=0)] | None


class TextSection(Section):
    """How free-text columns become features: TF-IDF of word n-grams (and character ones)."""

    max_features: Annotated[int, Field(gt=0)]  # vocabulary kept per column: the most frequent
    word_ngrams: Annotated[int, Field(ge=1, le=3)]  # 1 = words, 2 = words and word pairs...
    char_ngrams: Annotated[int, Field(ge=0, le=6)]  # 0 = none, else 2..n characters in words
    min_documents: Annotated[int, Field(ge=1)]  # an n-gram in fewer rows is left out


class FeaturesSection(Section):
    min_category_frequency: Annotated[int | float, AfterValidator(_count_or_share)]
    text: TextSection


class ModelSection(Section):
    name: Text  # checked against modeling/estimators.py FAMILIES when the estimator is built
    params: Annotated[dict[str, Any], BeforeValidator(_null_as_empty)]


class OnnxSection(Section):
    export: bool  # train exports the model to ONNX; scoring uses it once it verified
    tolerance: Annotated[float, Field(gt=0)]  # largest output difference from scikit-learn
    max_nodes: Annotated[int, Field(gt=0)]  # a bigger tree model is not exported (too costly)


class PredictSection(Section):
    ENV: ClassVar[dict[str, str]] = {"model_source": "MODEL_SOURCE"}
    # local: models/model from `make repro`; registry: the version mlflow.model_alias points to
    model_source: Literal["local", "registry"]
    # Default: make predict's rows per chunk (memory stays flat; larger chunks gain no speed).
    chunk_rows: Annotated[int, Field(gt=0)] = 25_000


class ExplainSection(Section):
    background_rows: Annotated[int, Field(gt=0)]  # train rows kept with the model for SHAP
    sample_rows: Annotated[int, Field(gt=0)]  # test rows evaluate explains for the importance
    top_features: Annotated[int, Field(gt=0)]  # contributions per record /explain returns


class SweepRange(Section):
    """A range for random search: uniform between low and high (log: on a log scale)."""

    low: float
    high: float
    log: bool = False
    integer: bool = False  # draw whole numbers (n_estimators, max_depth...)


class SweepSection(Section):
    method: Literal["grid", "random"]  # grid: every combination; random: `runs` draws
    runs: Annotated[int, Field(gt=0)]  # random: points drawn; grid: the most it may run
    seed: int
    # params.yaml key (model.params.n_estimators...) -> the values to try, or a range (random);
    # empty: the space of model.name's family (experiments/space.py)
    space: Annotated[dict[str, list[Any] | SweepRange], BeforeValidator(_null_as_empty)]


class MlflowSection(Section):
    ENV: ClassVar[dict[str, str]] = {
        "tracking_uri": "MLFLOW_TRACKING_URI",
        "model_alias": "MODEL_ALIAS",
        "register_as": "REGISTER_AS",
    }
    # Empty: the embedded store; load_params fills in its sqlite URI.
    tracking_uri: Annotated[str, BeforeValidator(lambda value: value or "")]
    experiment_name: Text
    registered_model_name: Text
    model_alias: Text  # the champion: the version the API and `make predict` use
    # Defaults:
    # the version the API may score beside the champion (serving.challenger, `make promote`)
    challenger_alias: Text = "challenger"
    # which alias a trained version takes when it beats the baseline: champion (model_alias,
    # when it is also at least as good as the champion) or challenger (challenger_alias, so a
    # retrain is tried on live traffic before it serves: docs/serving.md)
    register_as: Literal["champion", "challenger"] = "champion"

    @property
    def registered_alias(self) -> str:
        """The alias a newly trained version takes (register_as)."""
        return self.challenger_alias if self.register_as == "challenger" else self.model_alias


class Params(Section):
    """Every section of params.yaml (capabilities add theirs, see `params_model`)."""

    data: DataSection
    split: SplitSection
    features: FeaturesSection
    model: ModelSection
    onnx: OnnxSection
    explain: ExplainSection
    sweep: SweepSection
    mlflow: MlflowSection
    predict: PredictSection

    @property
    def stratify(self) -> bool:
        """Splits keep class proportions: asked for, and meaningful for the task."""
        return self.split.stratify and self.data.task == "classification"


def section(params: Params, model: type[Section]) -> Any:
    """The section of `params` that `model` validates. A capability's section is added to
    Params when the program starts (`params_model`): editors and type checkers know it through
    the capability's accessor, typed by its return annotation (`monitoring_settings`...)."""
    for name in type(params).model_fields:
        value = getattr(params, name)
        if isinstance(value, model):
            return value
    raise LookupError(f"params.yaml has no {model.__name__} section in this project")


class _Environment(BaseSettings):
    """Reads a section's environment variables (an empty one is unset)."""

    model_config = SettingsConfigDict(case_sensitive=True, env_ignore_empty=True, extra="ignore")


def environment_overrides(name: str, model: type[Section]) -> dict[str, Any]:
    """The keys of section `name` that environment variables set (`model.ENV`), each value
    converted to the key's type ("8" to 8 for a number, "true" to True for a boolean)."""
    if not model.ENV:
        return {}
    fields: dict[str, Any] = {
        key: (model.model_fields[key].annotation | None, Field(None, validation_alias=variable))
        for key, variable in model.ENV.items()
    }
    reader = create_model(f"{model.__name__}Environment", __base__=_Environment, **fields)
    try:
        values = reader().model_dump()
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        variable = str(first["loc"][0])
        key = next(key for key, value in model.ENV.items() if value == variable)
        message = first["msg"].removeprefix("Value error, ")
        raise SystemExit(
            f"params.yaml: {name}.{key}: {message[:1].lower()}{message[1:]}, got "
            f"{first.get('input')!r} (set by the environment variable {variable})"
        ) from None
    return {key: value for key, value in values.items() if value is not None}


@cache
def params_model() -> type[Params]:
    """Params plus the sections of the capabilities present (see the module docstring)."""
    sections: dict[str, Any] = {}
    package = importlib.import_module(__package__)
    for module in pkgutil.iter_modules(package.__path__):
        if module.ispkg and find_spec(f"{__package__}.{module.name}.settings"):
            settings = importlib.import_module(f"{__package__}.{module.name}.settings")
            for name, model in getattr(settings, "PARAMS_SECTIONS", {}).items():
                sections[name] = (model, ...)
    return create_model("ProjectParams", __base__=Params, **sections)


def read_params_file(root: Path | str = ".") -> dict[str, Any]:
    """`<root>/params.yaml` as written, unvalidated (a sweep changes values of it); one-line
    errors for a file that is missing or no YAML mapping."""
    path = Path(root) / PARAMS_FILE
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SystemExit(f"{path} not found: run from the project root or pass --root") from None
    except yaml.YAMLError as error:
        problem = " ".join(str(error).split())
        raise SystemExit(f"{path} is not valid YAML: {problem}") from None
    if not isinstance(raw, dict):
        sections = ", ".join(params_model().model_fields)
        raise SystemExit(f"{path} must be a mapping with sections {sections}")
    return raw


def update_params_file(root: Path | str, values: dict[str, Any], purpose: str) -> None:
    """Set `values` ("section.key" -> value) in `<root>/params.yaml`, every other line and
    comment as it was (ruamel.yaml's round trip, which DVC uses too), checked as load_params
    checks before the file is replaced. `purpose` names the change in the one-line refusal."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap

    path = Path(root) / PARAMS_FILE
    document_yaml = YAML()  # round trip: comments, order and quoting kept
    document_yaml.width = 100
    document_yaml.preserve_quotes = True
    # null stays null (ruamel writes an empty value by default)
    document_yaml.representer.add_representer(
        type(None), lambda dumper, _: dumper.represent_scalar("tag:yaml.org,2002:null", "null")
    )
    document = document_yaml.load(path.read_text(encoding="utf-8"))
    for key, value in values.items():
        *sections, last = key.split(".")
        node = document
        for name in sections:
            node = node.setdefault(name, CommentedMap())
        node[last] = _block_mapping(node, last, value) if isinstance(value, dict) else value
    model = params_model()
    try:
        model.model_validate(_plain(document))
    except ValidationError as error:
        raise SystemExit(f"{purpose} does not fit params.yaml: {describe(error, model)}") from None
    partial = path.with_name(f".{path.name}.partial")
    with partial.open("w", encoding="utf-8") as handle:
        document_yaml.dump(document, handle)
    partial.replace(path)


def _block_mapping(parent: Any, key: str, value: dict[str, Any]) -> Any:
    """`value` as a block mapping under parent[key] that keeps the blank lines which followed
    the old value (ruamel holds them as a comment: of the parent's key after a flow mapping or a
    scalar, of the old mapping's last key after a block one). A comment on the old value's line
    described that value: it goes."""
    from ruamel.yaml.comments import CommentedMap

    new = CommentedMap(value)
    if not new:
        new.fa.set_flow_style()  # {}: the parent's comment stays where it is
        return new
    old = parent.get(key)
    entry = parent.ca.items.get(key)
    token = None
    if entry and len(entry) > 2 and entry[2] is not None:
        token, entry[2] = entry[2], None
    elif isinstance(old, CommentedMap) and old:
        tail = old.ca.items.get(list(old)[-1])
        token = tail[2] if tail and len(tail) > 2 else None
    if token is not None:
        token.value = "\n" + token.value.partition("\n")[2]
        new.ca.items[list(new)[-1]] = [None, None, token, None]
    return new


def _plain(node: Any) -> Any:
    """ruamel's commented containers as the dicts and lists pydantic's strict mode takes."""
    if isinstance(node, dict):
        return {str(key): _plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_plain(value) for value in node]
    if type(node).__module__.startswith("ruamel"):  # scalars ruamel keeps with their format
        for kind in (bool, int, float, str):
            if isinstance(node, kind):
                return kind(node)
    return node


def load_params(root: Path | str = ".") -> Params:
    """`<root>/params.yaml`, validated, with environment overrides and the embedded store."""
    raw = read_params_file(root)
    model = params_model()
    overridden = {}  # "section.key" -> the environment variable that set it
    for name, field in model.model_fields.items():
        written = raw.get(name)
        if isinstance(written, dict):
            for key, value in environment_overrides(name, field.annotation).items():
                written[key] = value
                overridden[f"{name}.{key}"] = field.annotation.ENV[key]
    try:
        params = model.model_validate(raw)
    except ValidationError as error:
        problem = describe(error, model)
        key = problem.split(":")[0]
        source = (
            f" (set by the environment variable {overridden[key]})" if key in overridden else ""
        )
        raise SystemExit(f"params.yaml: {problem}{source}") from None
    if not params.mlflow.tracking_uri:
        # A queued DVC experiment runs in a copy under .dvc/tmp/exps/: DVC_ROOT names the
        # project it belongs to, whose store keeps the runs.
        home = Path(os.environ.get("DVC_ROOT") or root).resolve()
        params.mlflow.tracking_uri = SQLITE + (home / EMBEDDED_STORE).as_posix()
    return params


def describe(error: ValidationError, model: type[BaseModel]) -> str:
    """The first validation error as one line: the key, what is wrong, what is allowed."""
    # A misspelt key is both unknown and missing: name the unknown one, the actual typo.
    errors = error.errors(include_url=False)
    first = min(errors, key=lambda found: found["type"] != "extra_forbidden")
    loc = [str(part) for part in first["loc"]]
    key = ".".join(loc)
    allowed = _keys_at(model, first["loc"][:-1])
    listing = f"; expected one of {', '.join(allowed)}" if allowed else ""
    if first["type"] == "extra_forbidden":
        what = "section" if len(loc) == 1 else "key"
        close = difflib.get_close_matches(loc[-1], allowed, n=1)
        guess = f" (did you mean {close[0]}?)" if close else ""
        return f"unknown {what} {key}{guess}{listing}"
    if first["type"] == "missing":
        return f"missing {'section' if len(loc) == 1 else 'key'} {key}{listing}"
    message = first["msg"].removeprefix("Value error, ")
    got = first.get("input")
    shown = f", got {got!r}" if not isinstance(got, (dict, list)) else ""
    return f"{key}: {message[:1].lower()}{message[1:]}{shown}"


def _keys_at(model: type[BaseModel], loc: tuple) -> list[str]:
    """The keys allowed where `loc` points: a section, or a per-column mapping's entry."""
    current: Any = model
    for part in loc:
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return []
            current = field.annotation
        elif get_origin(current) is dict:  # dict[str, Model]: `part` is a column name
            current = get_args(current)[1]
        else:
            return []
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def main() -> None:
    """`python -m <package>.config`: check params.yaml alone (`make repro` checks it before
    DVC runs, with the tracking server: see pipeline/preflight.py)."""
    params = load_params()
    print(f"params.yaml is valid: {', '.join(type(params).model_fields)}")


if __name__ == "__main__":
    main()
