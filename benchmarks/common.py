"""Timing helpers shared by the benchmarks: medians of repeated wall-clock runs."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tarfile
import time
from pathlib import Path

TEMPLATE_DIR = Path(__file__).resolve().parent.parent
RESULTS_DIR = TEMPLATE_DIR / "build" / "benchmarks"
BIN = Path(sys.executable).parent


def env(write_bytecode: bool = False) -> dict[str, str]:
    """The benchmark environment: this interpreter's tools first on PATH, no telemetry; with
    write_bytecode, PYTHONDONTWRITEBYTECODE removed (as on a default Python install)."""
    result = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    result["DVC_NO_ANALYTICS"] = "1"
    if write_bytecode:
        result.pop("PYTHONDONTWRITEBYTECODE", None)
    return result


def timed(cmd: list[str], cwd: Path, check: bool = True, write_bytecode: bool = False) -> float:
    start = time.perf_counter()
    run_env = env(write_bytecode)
    done = subprocess.run(cmd, cwd=cwd, env=run_env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if check and done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed in {cwd}:\n{done.stdout}\n{done.stderr}")
    return elapsed


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "median_s": round(statistics.median(samples), 3),
        "min_s": round(min(samples), 3),
        "max_s": round(max(samples), 3),
        "runs": len(samples),
    }


def report(name: str, results: dict) -> None:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"{name}.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


def template_at(rev: str, into: Path) -> Path:
    """The template as committed at `rev`, unpacked into `into`."""
    archive = into / "template.tar"
    subprocess.run(["git", "-C", str(TEMPLATE_DIR), "archive", "-o", str(archive), rev], check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into / "template", filter="data")
    return into / "template"


def templates_to_compare(scratch: Path, baseline_rev: str | None) -> dict[str, Path]:
    """This checkout as "this", and `baseline_rev` unpacked as "baseline" when given."""
    templates = {"this": TEMPLATE_DIR}
    if baseline_rev:
        (scratch / "baseline").mkdir()
        templates["baseline"] = template_at(baseline_rev, scratch / "baseline")
    return templates
