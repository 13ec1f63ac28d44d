"""Fast tier: the scale-out option's pipeline image (hadolint) and the continuous-training
choice of Kubeflow Pipelines, from the workflows to the retrain command. Its KServe overlays need
kubectl: test_system_tools_slow.py."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import as_new_user, bake_project


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A bake with scale_out=yes and no serving option: KServe and the pipeline's image need
    none of the FastAPI files."""
    with pytest.MonkeyPatch.context() as patch:
        as_new_user(patch, tmp_path_factory.mktemp("scale-out-home"))
        output = tmp_path_factory.mktemp("scale-out-bake")
        return bake_project(output, scale_out="yes", serving="no", ci_provider="github")


def test_the_pipeline_image_passes_hadolint(project):
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    dockerfile = project / "deploy" / "kubeflow" / "Dockerfile"
    done = subprocess.run(
        [hadolint, "--failure-threshold", "info", str(dockerfile)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_retraining_on_kfp_reaches_the_retrain_command(project, tmp_path):
    """The workflow's choice becomes RETRAIN_ON, which `make retrain` (not retrain-check) turns
    into `--on kfp`; the GitLab job passes the CI/CD variable alike."""
    workflow = yaml.safe_load((project / ".github/workflows/retrain.yml").read_text())
    choice = workflow[True]["workflow_dispatch"]["inputs"]["retrain_on"]  # YAML 1.1: on = True
    assert choice["type"] == "choice" and choice["options"] == ["dvc", "kfp"]
    (step,) = [s for s in workflow["jobs"]["retrain"]["steps"] if s.get("id") == "retrain"]
    assert "inputs.retrain_on" in step["env"]["RETRAIN_ON"]
    assert step["run"].startswith("make retrain ") and 'RETRAIN_ON="$RETRAIN_ON"' in step["run"]
    commands = {}
    for target in ("retrain", "retrain-check"):
        done = subprocess.run(
            ["make", "-n", target, "RETRAIN_ON=kfp"],
            cwd=project,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        commands[target] = done.stdout
    assert '--on "kfp"' in commands["retrain"]
    assert "--on" not in commands["retrain-check"]

    gitlab = bake_project(tmp_path / "bake", scale_out="yes", ci_provider="gitlab")
    jobs = yaml.safe_load((gitlab / ".gitlab-ci.yml").read_text())
    (command,) = [line for line in jobs["retrain"]["script"] if line.startswith("make retrain")]
    assert 'RETRAIN_ON="${RETRAIN_ON:-dvc}"' in command
