"""The search's winner written into params.yaml: model.name, model.params and the preprocessing
keys it chose, every other line and comment as it was (ruamel.yaml's round trip, which DVC
uses too). The change is yours to review (`git diff params.yaml`) and commit; `make repro` then
trains it like any other model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..config import read_params_file, update_params_file
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
    """Set the winner's keys in root/params.yaml (config.update_params_file: checked, every
    other line kept); returns what changed (nothing is written when nothing did)."""
    changes = changed_keys(read_params_file(root), candidate)
    if changes:
        values = {key: value for key, (_, value) in changes.items()}
        update_params_file(root, values, "automl: the winner")
    return changes
