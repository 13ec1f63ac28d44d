"""Fast tier: the serving option's deployment files, checked statically with the real tools
(hadolint for the Dockerfile); each checker is also shown to fail on a broken file."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
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


def kustomize_resources(folder: Path) -> list[Path]:
    """The resource files a kustomization pulls in, following `../base`-style folders."""
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text(encoding="utf-8"))
    files = []
    for entry in kustomization["resources"]:
        target = (folder / entry).resolve()
        files += kustomize_resources(target) if target.is_dir() else [target]
    return files


def manifests(project: Path, overlay: str) -> dict[str, dict]:
    """kind/name -> manifest of an overlay (base or canary)."""
    found = {}
    for path in kustomize_resources(project / "deploy" / "k8s" / overlay):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        found[f"{document['kind']}/{document['metadata']['name']}"] = document
    return found


def test_k8s_manifests_pass_kubernetes_validate(projects):
    for _, project in projects:
        k8s = project / "deploy" / "k8s"
        files = sorted(set(kustomize_resources(k8s / "base") + kustomize_resources(k8s / "canary")))
        # Every manifest in the folders is used by a kustomization.
        on_disk = {p.resolve() for p in k8s.rglob("*.yaml") if p.name != "kustomization.yaml"}
        assert set(files) == on_disk
        done = run([tool("kubernetes-validate"), "--strict", *map(str, files)])
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.count("passed") == len(files)


def test_kubernetes_validate_does_find_problems(tmp_path):
    bad = tmp_path / "deployment.yaml"
    bad.write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n"
        "spec: {replicas: two, selector: {}, template: {spec: {containers: []}}}\n"
    )
    done = run([tool("kubernetes-validate"), "--strict", str(bad)])
    assert done.returncode != 0, done.stdout


def test_k8s_deployment_probes_resources_non_root_hpa_and_canary(projects):
    for _, project in projects:
        name = project.name
        base = manifests(project, "base")
        assert set(base) == {
            f"ConfigMap/{name}-serving",
            f"Deployment/{name}",
            f"Service/{name}",
            f"HorizontalPodAutoscaler/{name}",
        }
        config = base[f"ConfigMap/{name}-serving"]["data"]
        assert config["MODEL_SOURCE"] == "registry" and config["MODEL_ALIAS"] == "champion"
        assert config["MLFLOW_TRACKING_URI"].startswith("http")
        pod = base[f"Deployment/{name}"]["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == 10001  # the image's USER
        (container,) = pod["containers"]
        assert container["livenessProbe"]["httpGet"]["path"] == "/health"
        assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
        assert {"cpu", "memory"} <= set(container["resources"]["requests"])
        assert {"cpu", "memory"} <= set(container["resources"]["limits"])
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["envFrom"][0]["configMapRef"]["name"] == f"{name}-serving"
        hpa = base[f"HorizontalPodAutoscaler/{name}"]["spec"]
        assert hpa["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": name,
        }
        assert hpa["minReplicas"] >= 2

        canary = manifests(project, "canary")
        assert set(base) < set(canary)
        stable = base[f"Deployment/{name}"]["spec"]["template"]["metadata"]["labels"]
        challenger = canary[f"Deployment/{name}-canary"]["spec"]
        labels = challenger["template"]["metadata"]["labels"]
        assert labels["track"] == "canary" != stable["track"]
        # The Service sends traffic to both tracks.
        selector = base[f"Service/{name}"]["spec"]["selector"]
        assert selector.items() <= stable.items() and selector.items() <= labels.items()
        env = challenger["template"]["spec"]["containers"][0]["envFrom"][0]["configMapRef"]
        assert canary[f"ConfigMap/{env['name']}"]["data"]["MODEL_ALIAS"] == "challenger"
