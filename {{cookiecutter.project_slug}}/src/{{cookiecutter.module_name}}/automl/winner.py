"""The search's winner written into params.yaml: model.name, model.params and the preprocessing
keys it chose, every other line and comment as it was (ruamel.yaml's round trip, which DVC
uses too). The change is yours to review (`git diff params.yaml`) and commit; `make repro` then
trains it like any other model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from ..config import PARAMS_FILE, describe, params_model
from .space import Candidate


def changed_keys(raw: dict[str, Any], candidate: Candidate) -> dict[str, tuple[Any, Any]]:
    """params.yaml key -> (value now, the winner's), for the keys the winner changes."""
    changes = {}
    for key, value in candidate.params_changes().items():
        node: Any = raw
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        current = dict(node) if isinstance(node, dict) else node
        if current != value:
            changes[key] = (current, value)
    return changes


def write_winner(root: Path, candidate: Candidate) -> dict[str, tuple[Any, Any]]:
    """Set the winner's keys in root/params.yaml, checked as load_params would before the file
    is replaced; returns what changed (nothing is written when nothing did)."""
    path = root / PARAMS_FILE
    yaml = YAML()  # round trip: comments, order and quoting kept
    yaml.width = 100
    yaml.preserve_quotes = True
    # null stays null (ruamel writes an empty value by default)
    yaml.representer.add_representer(
        type(None), lambda dumper, _: dumper.represent_scalar("tag:yaml.org,2002:null", "null")
    )
    document = yaml.load(path.read_text(encoding="utf-8"))
    changes = changed_keys(document, candidate)
    if not changes:
        return {}
    for key, (_, value) in changes.items():
        *sections, last = key.split(".")
        node = document
        for name in sections:
            node = node.setdefault(name, CommentedMap())
        node[last] = _mapping(node, last, value) if isinstance(value, dict) else value
    model = params_model()
    try:
        model.model_validate(_plain(document))
    except ValidationError as error:
        problem = describe(error, model)
        raise SystemExit(f"automl: the winner does not fit params.yaml: {problem}") from None
    partial = path.with_name(f".{path.name}.partial")
    with partial.open("w", encoding="utf-8") as handle:
        yaml.dump(document, handle)
    partial.replace(path)
    return changes


def _mapping(parent: CommentedMap, key: str, value: dict[str, Any]) -> CommentedMap:
    """`value` as a block mapping under parent[key] that keeps the blank lines which followed
    the old value (ruamel holds them as a comment: of the parent's key after a flow mapping or a
    scalar, of the old mapping's last key after a block one). A comment on the old value's line
    described that value: it goes."""
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
