"""Fast tier: the serving option's deployment files, checked statically with the real tools
(hadolint for the Dockerfile); each checker is also shown to fail on a broken file."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter
from matrix import TEMPLATE_DIR

BIN = Path(sys.executable).parent
# Both tasks and both monitoring values: what changes the deployment files.
VARIANTS = [
    {"task": "classification", "monitoring": "yes"},
    {"task": "regression", "monitoring": "no"},
]


@pytest.fixture(scope="module")
def projects(tmp_path_factory) -> list[tuple[dict[str, str], Path]]:
    home = tmp_path_factory.mktemp("serving-home")
    (home / ".gitconfig").write_text("[user]\n\tname = T\n\temail = t@example.com\n")
    out = tmp_path_factory.mktemp("serving-bakes")
    baked = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(home))
        for i, answers in enumerate(VARIANTS):
            path = cookiecutter(
                str(TEMPLATE_DIR),
                no_input=True,
                extra_context={**answers, "serving": "yes", "project_name": f"serve {i}"},
                output_dir=str(out),
            )
            baked.append((answers, Path(path)))
    return baked


def tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    assert found, f"{name} not installed: pip install -r requirements-dev.txt"
    return found


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)


def test_dockerfile_passes_hadolint(projects):
    for _, project in projects:
        done = run([tool("hadolint"), "--failure-threshold", "info", str(project / "Dockerfile")])
        assert done.returncode == 0, done.stdout + done.stderr


def test_hadolint_does_find_problems(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install fastapi\nRUN cd /app\n")
    done = run([tool("hadolint"), "--failure-threshold", "info", str(bad)])
    assert done.returncode != 0 and "DL3013" in done.stdout, done.stdout


def test_dockerfile_is_multi_stage_non_root_with_healthcheck(projects):
    for answers, project in projects:
        text = (project / "Dockerfile").read_text(encoding="utf-8")
        lines = [line.strip() for line in text.splitlines()]
        assert lines.index("ARG BASE_IMAGE=python:3.12-slim-bookworm") < lines.index(
            "FROM ${BASE_IMAGE} AS build"
        )
        stages = [line for line in lines if line.startswith("FROM ")]
        assert stages == ["FROM ${BASE_IMAGE} AS build", "FROM ${BASE_IMAGE} AS runtime"]
        runtime = text.split("AS runtime", 1)[1]
        assert "COPY --from=build /opt/venv /opt/venv" in runtime
        assert "USER 10001:10001" in runtime and "HEALTHCHECK" in runtime
        assert "/health" in runtime
        # Runtime dependencies only: no pipeline or dev tools in the image.
        for name in ("dvc", "pytest", "ruff", "pre-commit", "matplotlib"):
            assert f'"{name}' not in text
        assert ('"scipy>=' in text) == (answers["monitoring"] == "yes")
        assert f"python -m {project.name.replace('-', '_')}.serve" in runtime


def test_dockerignore_keeps_data_runs_and_caches_out(projects):
    for _, project in projects:
        text = (project / ".dockerignore").read_text(encoding="utf-8")
        rules = [line for line in text.splitlines() if line and not line.startswith("#")]
        assert rules[0] == "**"  # everything out, then the few inputs back in
        assert {line[1:] for line in rules if line.startswith("!")} == {
            "src/",
            "pyproject.toml",
            "README.md",
            "params.yaml",
            "models/",
        }
