"""Slow tier: the generated GitLab pipeline executed by a real runner engine.

`gitlab-ci-local` (npm) runs the jobs of a baked project's `.gitlab-ci.yml` with its shell
executor, as GitLab would trigger them: a push (lint + tests), a merge request (the raw-data
guard and the CML report) and a schedule (continuous training). `cml` cannot be installed here,
so a stand-in on PATH records each call: every job runs for real up to its final CML command,
and the files that command would publish must exist. GitHub workflows have no runner engine
here; their `run:` steps must be Make targets these GitLab jobs just ran.
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
from conftest import git, npm_package

pytestmark = pytest.mark.slow

# 4.71 and later need Node 22 (Set.prototype.union); Debian 12's Node is 20.
GITLAB_CI_LOCAL_VERSION = "4.70.1"
CML_STAND_IN = '#!/bin/sh\nprintf "%s\\n" "$*" >> "$CML_CALLS"\n'


@pytest.fixture(scope="session")
def gitlab_ci_local() -> Path:
    module = npm_package("gitlab-ci-local", GITLAB_CI_LOCAL_VERSION)
    assert shutil.which("rsync"), "gitlab-ci-local copies the checkout with rsync"
    return module.parent / ".bin" / "gitlab-ci-local"


def pipeline(runner: Path, project: Path, calls: Path, jobs: list[str], **variables: str) -> str:
    """Run `jobs` as a pipeline triggered with `variables` would; return the log."""
    stand_ins = project.parent / "bin"
    stand_ins.mkdir(exist_ok=True)
    (stand_ins / "cml").write_text(CML_STAND_IN)
    (stand_ins / "cml").chmod(0o755)
    path = os.pathsep.join([str(stand_ins), str(Path(sys.executable).parent), os.environ["PATH"]])
    env = {**os.environ, "PATH": path, "CML_CALLS": str(calls)}
    command = [str(runner), "--force-shell-executor", "--color=false"]
    for name, value in variables.items():
        command += ["--variable", f"{name}={value}"]
    manual = [job for job in jobs if job == "cml-report"]  # manual on merge requests
    command += [f"--manual={job}" for job in manual]
    done = subprocess.run(
        [*command, *jobs], cwd=project, capture_output=True, text=True, env=env, timeout=1200
    )
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-5000:]
    for job in jobs:
        assert re.search(rf"PASS\s+{job}\b", log), f"{job} did not pass:\n{log[-3000:]}"
    return log


def test_the_gitlab_pipeline_runs_its_jobs(bake, gitlab_ci_local, tmp_path):
    project = bake(ci_provider="gitlab")
    origin = tmp_path / "origin.git"  # the merge-request jobs fetch the target branch
    git(tmp_path, "clone", "-q", "--bare", str(project), str(origin))
    git(project, "remote", "add", "origin", str(origin))
    git(project, "fetch", "-q", "origin")
    git(project, "remote", "set-head", "origin", "main")
    calls = tmp_path / "cml_calls.txt"

    # A push: lint and the project's own tests. The default bake's slow tests already run in
    # test_generated_project_slow; here the job's wiring matters, so only its fast tests run.
    log = pipeline(gitlab_ci_local, project, calls, ["lint-test"], PYTEST_ADDOPTS="-m 'not slow'")
    assert "$ make test-all" in log and " passed" in log

    # A schedule: continuous training. The DVC remote holds the raw data (`make push` from the
    # job's environment), so `make pull-data` restores it, then the pipeline runs and the CML
    # pull request would carry the pipeline's results.
    subprocess.run(["make", "push"], cwd=project, check=True, capture_output=True)
    pipeline(gitlab_ci_local, project, calls, ["retrain"], CI_PIPELINE_SOURCE="schedule")
    assert (
        "Running stage 'train'"
        in (project / ".gitlab-ci-local" / "output" / "retrain.log").read_text()
    )

    # A merge request: the raw-data guard and the CML report (manual until the remote is shared).
    mr = {
        "CI_PIPELINE_SOURCE": "merge_request_event",
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main",
    }
    pipeline(gitlab_ci_local, project, calls, ["raw-data-guard", "cml-report"], **mr)

    made = calls.read_text().splitlines()
    assert [call.split(" --")[0] for call in made] == [
        "pr create",
        "comment create",
        "comment create",
    ]
    published = made[0].split("merging. ")[1].split()
    assert published == [
        "dvc.lock",
        "reports/metrics.json",
        "reports/plots",
        "reports/model_card.md",
        "data/raw",  # an import updated from storage (`dvc update`) is proposed with the results
    ]
    for relative in [*published, "report.md"]:
        assert (project / relative).exists(), relative
    report = (project / "report.md").read_text()
    assert "accuracy" in report

    # What GitHub's workflows run is what these jobs just ran.
    gitlab = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
    jobs = [job for job in gitlab.values() if isinstance(job, dict)]
    lines = [
        line for job in jobs for key in ("before_script", "script") for line in job.get(key) or []
    ]
    ran = targets(lines)
    github = bake(ci_provider="github")
    steps = []
    for workflow in (github / ".github" / "workflows").glob("*.yml"):
        for job in yaml.safe_load(workflow.read_text())["jobs"].values():
            steps += [step["run"] for step in job["steps"] if "run" in step]
    for step in steps:
        assert step.startswith(("make ", "cml ", "npm install --global @dvcorg/cml")), step
    assert targets(steps) <= ran, targets(steps) - ran


def targets(lines) -> set[str]:
    return {line.split()[1] for line in lines if line.startswith("make ")}
