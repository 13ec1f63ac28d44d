"""The option matrix, built from cookiecutter.json so a new option or value is tested at once."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

TEMPLATE_DIR = Path(__file__).resolve().parent.parent


def load_options() -> dict:
    return json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text(encoding="utf-8"))


def choice_options(options: dict | None = None) -> dict[str, list[str]]:
    """The questions whose answer is picked from a list, with every allowed value."""
    options = load_options() if options is None else options
    return {
        name: values
        for name, values in options.items()
        if isinstance(values, list) and not name.startswith("_")
    }


def _pairs(row: dict[str, str], names: list[str]) -> set[tuple[str, str, str, str]]:
    return {(a, row[a], b, row[b]) for a, b in itertools.combinations(names, 2)}


def _gain(row: dict, name: str, value: str, names: list[str], uncovered: set) -> int:
    """How many uncovered pairs the row would cover with name=value."""
    trial = {**row, name: value}
    return len(_pairs(trial, [n for n in names if n in trial]) & uncovered)


def pairwise(choices: dict[str, list[str]]) -> list[dict[str, str]]:
    """A small set of answer combinations covering every pair of values of every two options.

    Greedy and deterministic: each new row starts from the first pair still uncovered and
    picks, option by option, the value that covers most uncovered pairs.
    """
    names = list(choices)
    uncovered = {
        (a, va, b, vb)
        for a, b in itertools.combinations(names, 2)
        for va in choices[a]
        for vb in choices[b]
    }
    rows: list[dict[str, str]] = []
    while uncovered:
        a, va, b, vb = min(uncovered, key=lambda p: (names.index(p[0]), names.index(p[2]), p))
        row = {a: va, b: vb}
        for name in names:
            if name not in row:
                row[name] = max(
                    choices[name], key=lambda v, n=name: _gain(row, n, v, names, uncovered)
                )
        uncovered -= _pairs(row, names)
        rows.append({name: row[name] for name in names})
    return rows


def case_id(row: dict[str, str]) -> str:
    return "-".join(row.values())


REMOTE_URLS = {
    "local": "~/dvc-remotes/p",
    "s3": "s3://bucket/p",
    "gs": "gs://bucket/p",
    "azure": "azure://container/p",
    "ssh": "ssh://user@example.com/srv/p",
    "none": "",
}


def variants() -> list[dict[str, str]]:
    """Every provider with every remote kind; the other options that change the workflows
    (environment manager, tracking, Python version) rotate through their values."""
    choices = choice_options()
    # GitHub workflows change with the remote kind; GitLab's only between reachable remotes
    # (s3, gs, azure, ssh) and the others (local, none).
    remotes = {
        "github": choices["dvc_remote"],
        "gitlab": ["local", "s3", "none"],
        "none": ["local"],
    }
    rows = []
    for provider in choices["ci_provider"]:
        for i, remote in enumerate(remotes[provider]):
            rows.append(
                {
                    "ci_provider": provider,
                    "dvc_remote": remote,
                    "dvc_remote_url": REMOTE_URLS[remote],
                    "env_manager": choices["env_manager"][i % 2],
                    "mlflow_tracking": choices["mlflow_tracking"][(i // 2) % 2],
                    "mlflow_server_url": "http://mlflow.example.com:5000" if (i // 2) % 2 else "",
                    "python_version": choices["python_version"][i % 4],
                }
            )
    return rows
