"""`make sweep-show`: the experiments of the latest sweep side by side: only the parameters it
swept and the test metrics, best first.

    python -m <package>.experiments.compare [--sweep NAME]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from ..config import Params, load_params
from ..modeling.metrics import higher_is_better, primary_metric
from ..paths import METRICS_FILE
from .space import swept_keys

PARAMS_FILE = "params.yaml"


def experiments(root: Path) -> list[dict[str, Any]]:
    """Every DVC experiment of the current commit: name, params, metrics (`dvc exp show`)."""
    folder = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": folder + os.pathsep + os.environ.get("PATH", "")}
    done = subprocess.run(
        [sys.executable, "-m", "dvc", "exp", "show", "--json"],
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
    )
    if done.returncode != 0:
        raise SystemExit(f"dvc exp show failed: {done.stderr.strip()[-300:]}")
    found = []
    for commit in json.loads(done.stdout or "[]"):
        for experiment in commit.get("experiments") or []:
            for revision in experiment.get("revs") or []:
                data = revision.get("data") or {}
                metrics = (data.get("metrics") or {}).get(METRICS_FILE.as_posix(), {})
                if revision.get("error") or not metrics.get("data"):
                    continue  # failed: no metrics
                params = (data.get("params") or {}).get(PARAMS_FILE, {}).get("data", {})
                found.append(
                    {"experiment": revision["name"], "params": params, "metrics": metrics["data"]}
                )
    return found


def compare(root: Path, sweep: str | None = None) -> list[dict[str, Any]]:
    """The experiments of `sweep` (default: the latest), as they succeeded."""
    rows = [row for row in experiments(root) if row["experiment"].startswith("sweep-")]
    if sweep is None and rows:
        sweep = max(row["experiment"].rsplit("-", 1)[0] for row in rows)
    return [row for row in rows if row["experiment"].rsplit("-", 1)[0] == sweep]


def lookup(params: dict[str, Any], key: str) -> Any:
    node: Any = params
    for name in key.split("."):
        node = node.get(name) if isinstance(node, dict) else None
    return node


def print_table(rows: list[dict[str, Any]], keys: list[str], params: Params) -> None:
    if not rows:
        print("no finished experiment to compare: run `make sweep`")
        return
    headline = primary_metric(params.data.task)
    reverse = higher_is_better(headline)
    rows = sorted(rows, key=lambda row: row["metrics"].get(headline, float("nan")), reverse=reverse)
    metrics = [name for name in rows[0]["metrics"] if not name.startswith("baseline_")]
    header = ["experiment", *keys, *metrics]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        cells = [row["experiment"], *(str(lookup(row["params"], key)) for key in keys)]
        cells += [f"{row['metrics'].get(name, float('nan')):.4f}" for name in metrics]
        print("| " + " | ".join(cells) + " |")
    best = rows[0]["experiment"]
    print(
        f"\nbest by {headline}: {best}. To keep it: `.venv/bin/dvc exp apply {best}`, then "
        "`make register`, then `git add -A && git commit`"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sweep", help="the sweep's name (default: the latest)")
    parser.add_argument("--root", type=Path, default=Path(), help="project root (default: .)")
    args = parser.parse_args(argv)
    params = load_params(args.root)
    rows = compare(args.root, args.sweep)
    print_table(rows, swept_keys(params), params)


if __name__ == "__main__":
    main()
