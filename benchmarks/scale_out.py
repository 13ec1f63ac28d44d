"""The Dask engine (option scale_out) against the pandas engine, same run, same baked project.

1. Under a 1 GiB memory cap (a cgroup v1 group; needs root): `predict` and `monitor` of a
   10M-row Parquet batch (the sample data resampled), and the prepare stage with that file as
   its raw data, with each engine: finished or killed, and the peak memory of the group.
2. Without a cap, on 1M rows: rows per second of each engine for `predict`, `monitor` and
   prepare (target: the Dask engine within 1.5x of the pandas engine).
3. The drift statistics of both engines on those 1M rows (their first numeric feature shifted
   by 0.3 sd, so that verdicts differ between features): the verdict of every feature, and the
   difference of KS and Wasserstein against the error bound the Dask engine reports.

Usage: python benchmarks/scale_out.py [--project DIR] [--rows 10000000] [--speed-rows 1000000]
    [--cap-mb 1024]
--project reuses a project baked with scale_out=yes whose .venv and models/ exist.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import yaml
from common import TEMPLATE_DIR, env, report, timed
from serving_benchmark import bake_and_train

CGROUP = Path("/sys/fs/cgroup/memory/scale-out-benchmark")

# Runs in the project's environment: the raw data resampled to N rows, written in slices of
# one row group each so that writing 10M rows needs little memory itself.
MAKE_DATA = r"""
import json, sys, numpy as np, pandas as pd, pyarrow as pa, pyarrow.parquet as pq
from pathlib import Path
from {module}.config import load_params
from {module}.dataset.raw import read_raw
params = load_params(".")
raw = read_raw(Path("."), params.data)
rows, out, group = int(sys.argv[1]), sys.argv[2], 250_000
drifted = len(sys.argv) > 3  # the first numeric feature shifted by 0.3 of its sd
schema = json.loads(Path("data/processed/schema.json").read_text())
numeric = [name for name, kind in schema["features"].items() if kind == "numeric"][0]
shift = 0.3 * pd.to_numeric(raw[numeric], errors="coerce").std()
rng = np.random.default_rng(0)
writer = None
for start in range(0, rows, group):
    frame = raw.iloc[rng.integers(0, len(raw), min(group, rows - start))].reset_index(drop=True)
    if drifted:
        frame[numeric] = pd.to_numeric(frame[numeric], errors="coerce") + shift
    table = pa.Table.from_pandas(frame, preserve_index=False)
    writer = writer or pq.ParquetWriter(out, table.schema)
    writer.write_table(table.cast(writer.schema))
writer.close()
"""


def module_of(project: Path) -> str:
    cruft = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    return cruft["context"]["cookiecutter"]["module_name"]


def run(project: Path, cmd: list[str], engine: str, cap_mb: int | None) -> dict:
    """One command with COMPUTE_ENGINE=engine, in the capped group when cap_mb is given."""
    run_env = {**env(), "COMPUTE_ENGINE": engine, "MPLBACKEND": "Agg"}
    preexec = None
    if cap_mb:
        CGROUP.mkdir(exist_ok=True)
        (CGROUP / "memory.force_empty").write_text("0")
        limit = str(cap_mb << 20)
        (CGROUP / "memory.limit_in_bytes").write_text(limit)
        memsw = CGROUP / "memory.memsw.limit_in_bytes"
        if memsw.exists():  # no swapping out of the cap either
            memsw.write_text(limit)
        (CGROUP / "memory.max_usage_in_bytes").write_text("0")

        def preexec() -> None:
            (CGROUP / "cgroup.procs").write_text(str(os.getpid()))

    start = time.perf_counter()
    done = subprocess.run(
        cmd, cwd=project, env=run_env, capture_output=True, text=True, preexec_fn=preexec
    )
    seconds = time.perf_counter() - start
    result = {"exit": done.returncode, "seconds": round(seconds, 1)}
    if cap_mb:
        peak = int((CGROUP / "memory.max_usage_in_bytes").read_text())
        result["peak_mib"] = round(peak / (1 << 20))
        result["killed"] = done.returncode in (-9, 137) or "Killed" in done.stderr
    lines = (done.stdout + done.stderr).strip().splitlines()
    result["last_line"] = lines[-1][:300] if lines else ""
    return result


def commands(
    project: Path, module: str, batch: Path, out: Path, engine: str
) -> dict[str, list[str]]:
    python = ".venv/bin/python"
    # prepare runs in a root of its own whose raw data is the batch (the project's stays).
    prepared = out / f"prepare-{engine}"
    prepared.mkdir()
    params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    params["data"]["raw_path"] = str(batch)
    (prepared / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    return {
        "predict": [python, "-m", f"{module}.predict", str(batch), str(out / f"{engine}.parquet")],
        "monitor": [python, "-m", f"{module}.monitoring", str(batch), "--out", str(out / engine)],
        "prepare": [python, "-m", f"{module}.pipeline.prepare", "--root", str(prepared)],
    }


def drift_agreement(out: Path) -> dict:
    """Per feature: same verdict, and |difference| against the reported bound."""
    memory = json.loads((out / "pandas" / "report.json").read_text())
    partitions = json.loads((out / "dask" / "report.json").read_text())
    rows = {}
    for exact, found in zip(memory["checks"], partitions["checks"], strict=True):
        if exact["check"] != "feature_drift":
            continue
        row = {
            "drifted": [exact["failed"], found["failed"]],
            "verdict_equal": exact["failed"] == found["failed"],
            "test": exact["test"],
        }
        row["statistic_diff"] = abs(exact["statistic"] - found["statistic"])
        row["p_value"] = [exact["p_value"], found["p_value"]]
        if exact["test"] == "ks":
            row["ks_bound"] = found["ks_error_bound"]
            row["wasserstein_diff"] = abs(exact["wasserstein"] - found["wasserstein"])
            row["wasserstein_bound"] = found["wasserstein_error_bound"]
            row["within_bounds"] = (
                row["statistic_diff"] <= row["ks_bound"] + 1e-12
                and row["wasserstein_diff"] <= row["wasserstein_bound"] + 1e-9
            )
        rows[exact["column"]] = row
    return {
        "status": [memory["status"], partitions["status"]],
        "features": rows,
        "all_verdicts_equal": all(row["verdict_equal"] for row in rows.values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project", type=Path)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--speed-rows", type=int, default=1_000_000)
    parser.add_argument("--cap-mb", type=int, default=1024)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        project = (
            args.project.resolve()
            if args.project
            else bake_and_train(scratch, TEMPLATE_DIR, "scale_out=yes")
        )
        module = module_of(project)
        results: dict = {"rows": args.rows, "speed_rows": args.speed_rows, "cap_mib": args.cap_mb}
        for name, rows in (("speed", args.speed_rows), ("capped", args.rows)):
            batch = scratch / f"{name}.parquet"
            drift = ["drifted"] if name == "speed" else []
            make_data = [".venv/bin/python", "-c", MAKE_DATA.format(module=module)]
            timed([*make_data, str(rows), str(batch), *drift], cwd=project)
            out = scratch / f"out-{name}"
            out.mkdir()
            cap = args.cap_mb if name == "capped" else None
            section = results.setdefault(name, {})
            for engine in ("pandas", "dask"):
                for step, cmd in commands(project, module, batch, out, engine).items():
                    found = run(project, cmd, engine, cap)
                    if not cap:
                        found["rows_per_s"] = round(rows / found["seconds"])
                    section[f"{step}_{engine}"] = found
                    print(name, step, engine, found, flush=True)
            if name == "speed":
                for step in ("predict", "monitor", "prepare"):
                    pandas_s = section[f"{step}_pandas"]["seconds"]
                    section[f"{step}_dask_over_pandas_time"] = round(
                        section[f"{step}_dask"]["seconds"] / pandas_s, 2
                    )
                section["drift"] = drift_agreement(out)
        if CGROUP.exists():
            CGROUP.rmdir()
        report("scale_out", results)


if __name__ == "__main__":
    main()
