"""Slow tier: the CI building blocks for real in a baked project, everything but the CML calls.

`pre-commit run --all-files` passes on a fresh bake; `make report` after a params change shows
the changed param and the metric deltas with images that exist; the retraining path runs from
the trigger (new raw data) through the drift check and `dvc repro` to a `retrain/` branch with
the new dvc.lock.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import git

pytestmark = pytest.mark.slow
REAL_HOME = Path.home()


def make(project: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["make", *args], cwd=project, capture_output=True, text=True)
    if check:
        assert done.returncode == 0, f"make {args}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture
def ci_env(monkeypatch):
    """uv next to the test interpreter; pre-commit's hook environments cached across runs."""
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv(
        "PRE_COMMIT_HOME",
        os.environ.get("PRE_COMMIT_HOME", str(REAL_HOME / ".cache" / "pre-commit")),
    )


def commit_all(project: Path, message: str) -> None:
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", message)  # the hooks run: the commit must pass them


def test_pre_commit_passes_on_a_fresh_bake_and_guards_raw_data(bake, ci_env):
    project = bake(ci_provider="gitlab")
    make(project, "setup")
    assert (project / ".git" / "hooks" / "pre-commit").exists()
    assert (project / ".git" / "hooks" / "post-checkout").exists()
    done = subprocess.run(
        [".venv/bin/pre-commit", "run", "--all-files", "--show-diff-on-failure"],
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "Failed" not in done.stdout
    # uv.lock, written by `make setup`, is the only new file; nothing was rewritten.
    assert git(project, "status", "--porcelain").strip() in ("", "?? uv.lock")

    pointer = project / "data" / "raw" / "penguins.csv.dvc"
    original = pointer.read_text()
    pointer.write_text(original.replace("size:", "size: 1", 1))
    git(project, "add", "-A")
    refused = subprocess.run(
        ["git", "commit", "-m", "x"], cwd=project, capture_output=True, text=True
    )
    assert refused.returncode != 0
    assert "data/raw/penguins.csv.dvc: modified" in refused.stdout + refused.stderr
    pointer.write_text(original)
    git(project, "add", "-A")
    commit_all(project, "lock file")


def test_report_then_retraining_path(bake, ci_env, tmp_path):
    project = bake()
    make(project, "setup")
    make(project, "repro")
    commit_all(project, "First model")
    assert make(project, "retrain-check").returncode == 0

    # A pull request that changes a hyper-parameter: the report compares it with main.
    git(project, "switch", "-q", "-c", "stumps")
    params_file = project / "params.yaml"
    params = params_file.read_text()
    assert "\n  params: {}\n" in params  # the family's own defaults
    stumps = "\n  params: {max_depth: 1, n_estimators: 2}\n"  # two rounds of stumps: worse
    params_file.write_text(params.replace("\n  params: {}\n", stumps))
    make(project, "repro")
    commit_all(project, "Stumps")
    make(project, "report")  # BASE=main
    report = (project / "report.md").read_text()
    params_table = report.split("## Parameters changed")[1].split("## Metrics")[0]
    assert re.search(
        r"\|\s*params\.yaml\s*\|\s*model\.params\.max_depth\s*\|\s*(-|None|null)\s*\|\s*1\s*\|",
        params_table,
    ), params_table
    metrics_table = report.split("## Metrics")[1].split("## Plots")[0]
    header = next(line for line in metrics_table.splitlines() if "Metric" in line)
    assert "Change" in header and "main" in header, metrics_table
    rows = [line for line in metrics_table.splitlines() if "reports/metrics.json" in line]
    assert {row.split("|")[2].strip() for row in rows} >= {"accuracy", "f1_macro"}, rows
    deltas = [row.split("|")[-2].strip() for row in rows]
    assert any(re.fullmatch(r"-?\d+(\.\d+)?(e-?\d+)?", d) and float(d) != 0 for d in deltas), rows
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report)
    assert sorted(Path(i).name for i in images) == ["confusion.png", "importance.png", "roc.png"]
    for image in images:
        assert (project / image).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # A pull request from an AutoML search: its winner in params.yaml, trained by make repro,
    # its leaderboard in the report.
    git(project, "switch", "-q", "-c", "automl", "main")
    make(project, "automl", "TRIALS=6")
    searched = yaml.safe_load(params_file.read_text())
    families = subprocess.run(
        [".venv/bin/python", "-c", "from my_ml_project.modeling.estimators import FAMILIES; "
         "print(*FAMILIES)"],
        cwd=project, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert searched["model"]["name"] in families
    make(project, "repro")
    assert git(project, "check-ignore", "reports/automl/study.journal").strip()
    commit_all(project, "AutoML winner")
    make(project, "report")
    report = (project / "report.md").read_text()
    search = report.split("## AutoML search")[1]
    assert "6 trials" in search and f"| {searched['model']['name']} |" in search, search
    assert "](reports/automl/history.png)" in search
    shown = make(project, "automl-show").stdout
    assert "### Best of each family" in shown
    assert git(project, "status", "--porcelain").strip() == ""  # drawn again: the same files

    # New data on main: a new raw file (raw data is immutable), and params point at it.
    git(project, "switch", "-q", "main")
    make(project, "repro")  # back to main's model (from the DVC cache)
    raw = project / "data" / "raw"
    lines = (raw / "penguins.csv").read_text().splitlines(keepends=True)
    (raw / "penguins-2.csv").write_text("".join(lines[:-30]))
    subprocess.run(
        [".venv/bin/dvc", "add", "data/raw/penguins-2.csv"],
        cwd=project,
        check=True,
        capture_output=True,
    )
    params_file.write_text(
        params_file.read_text().replace("raw/penguins.csv", "raw/penguins-2.csv")
    )
    commit_all(project, "New penguins data")  # the raw-data guard allows a new file
    check = make(project, "retrain-check", check=False)
    assert check.returncode != 0 and "data.raw_path is now data/raw/penguins-2.csv" in check.stdout

    # CI mode: results left for `cml pr create`, the decision handed to the next steps.
    outputs = tmp_path / "github_output"
    os.environ["GITHUB_OUTPUT"] = str(outputs)
    try:
        make(project, "retrain", "COMMIT=no")
    finally:
        del os.environ["GITHUB_OUTPUT"]
    assert outputs.read_text() == "retrained=true\n"
    assert " dvc.lock" in git(project, "status", "--porcelain")
    assert make(project, "retrain-check").returncode == 0  # the working tree is retrained

    # Local mode: a retrain/ branch with the new dvc.lock, metrics and plots.
    git(project, "stash", "-q")
    make(project, "retrain")
    branch = git(project, "branch", "--show-current").strip()
    assert branch.startswith("retrain/")
    changed = git(project, "diff", "--name-only", "main", "HEAD").split()
    assert "dvc.lock" in changed and "reports/metrics.json" in changed
    lock = yaml.safe_load(git(project, "show", "HEAD:dvc.lock"))
    deps = {d["path"]: d["md5"] for d in lock["stages"]["prepare"]["deps"]}
    new_pointer = yaml.safe_load((raw / "penguins-2.csv.dvc").read_text())
    assert deps["data/raw/penguins-2.csv"] == new_pointer["outs"][0]["md5"]
    assert make(project, "retrain-check").returncode == 0
    assert git(project, "status", "--porcelain", "--", "dvc.lock", "reports").strip() == ""
    shutil.rmtree(project / ".venv", ignore_errors=True)
