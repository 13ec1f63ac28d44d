"""Drift detection: correctness and speed of the generated project's monitor vs Evidently.

20 standard-normal features, 5 of them shifted by 0.1..0.5 sd (x0..x4), n rows per side; the
categorical variant cuts every value into five equally common categories. For each n, seeds
run in one fresh process per tool (its peak RSS, data included, is the memory figure; the time
is the drift computation alone, median over seeds). Ours is the generated project's own code:
`monitor.feature_drift` with the defaults of its params.yaml, imported from a baked project.

Evidently runs in its own environment (it needs pandas < 3):
    uv venv /tmp/evenv && VIRTUAL_ENV=/tmp/evenv uv pip install "evidently==0.7.*" "pandas<3"

Usage: python benchmarks/drift_benchmark.py --python PROJECT_VENV_PYTHON
           [--project BAKED_PROJECT] [--evidently-python PY] [--quick]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import BIN, RESULTS_DIR, TEMPLATE_DIR

CHILD = Path(__file__).with_name("drift_child.py")
SHIFTED = {"x0": 0.1, "x1": 0.2, "x2": 0.3, "x3": 0.4, "x4": 0.5}
# seeds per (kind, rows): ours everywhere 10 (categorical 1M: 3); Evidently fewer (it is slow)
OURS_SEEDS = {
    "numeric": {1_000: 10, 10_000: 10, 100_000: 10, 1_000_000: 10},
    "categorical": {1_000: 10, 10_000: 10, 100_000: 10, 1_000_000: 3},
}
EVIDENTLY_SEEDS = {
    "numeric": {1_000: 10, 10_000: 10, 100_000: 3, 1_000_000: 1},
    "categorical": {1_000: 10, 10_000: 3, 100_000: 1},
}


def bake(root: Path) -> Path:
    cookiecutter = Path(BIN) / "cookiecutter"
    subprocess.run(
        [str(cookiecutter), "--no-input", "-o", str(root), str(TEMPLATE_DIR)],
        check=True,
        capture_output=True,
    )
    return root / "my-ml-project"


def case(python: str, tool: str, kind: str, rows: int, seeds: int, project: Path) -> dict:
    start = time.perf_counter()
    done = subprocess.run(
        [python, str(CHILD), tool, kind, str(rows), str(seeds), str(project)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"{tool} {kind} n={rows} failed:\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    flagged = result["flagged"]
    detection = {
        f"{shift} sd": sum(run[column] for run in flagged) / len(flagged)
        for column, shift in SHIFTED.items()
    }
    null_flags = [run[c] for run in flagged for c in run if c not in SHIFTED]
    return {
        "tool": tool,
        "kind": kind,
        "rows": rows,
        "seeds": seeds,
        "detection": detection,
        "false_positive_rate": sum(null_flags) / len(null_flags),
        "seconds_median": round(statistics.median(result["seconds"]), 3),
        "peak_mb": round(result["peak_mb"]),
        "process_s": round(time.perf_counter() - start, 1),
    }


def table(results: list[dict]) -> str:
    head = (
        "| kind | n | tool | seeds | 0.1 | 0.2 | 0.3 | 0.4 | 0.5 | FP rate | time s | peak MB |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    lines = [head]
    for r in results:
        d = " | ".join(f"{value:.0%}" for value in r["detection"].values())
        lines.append(
            f"| {r['kind']} | {r['rows']:,} | {r['tool']} | {r['seeds']} | {d} | "
            f"{r['false_positive_rate']:.2%} | {r['seconds_median']} | {r['peak_mb']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--python", default=sys.executable, help="has the project's deps")
    parser.add_argument("--project", type=Path, help="a baked project (default: bake one)")
    parser.add_argument("--evidently-python", help="interpreter with evidently 0.7 installed")
    parser.add_argument("--quick", action="store_true", help="3 seeds, n up to 100k")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        project = args.project or bake(Path(scratch))
        results = []
        for kind in ("numeric", "categorical"):
            for rows, seeds in OURS_SEEDS[kind].items():
                if args.quick and rows > 100_000:
                    continue
                todo = [("ours", args.python, min(seeds, 3) if args.quick else seeds)]
                ev_seeds = EVIDENTLY_SEEDS[kind].get(rows)
                if args.evidently_python and ev_seeds:
                    todo.append(("evidently", args.evidently_python, ev_seeds))
                for tool, python, count in todo:
                    results.append(case(python, tool, kind, rows, count, project))
                    print(json.dumps(results[-1]), flush=True)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "drift_benchmark.json").write_text(json.dumps(results, indent=2) + "\n")
    text = table(results)
    (RESULTS_DIR / "drift_benchmark.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
