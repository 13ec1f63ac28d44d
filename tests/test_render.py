"""Fast tier: every value of every option renders, parses and lints (pairwise matrix)."""

from __future__ import annotations

import configparser
import json
import re
import subprocess
import sys

import pytest
import yaml
from conftest import git, tomllib
from matrix import case_id, choice_options, pairwise

MATRIX = pairwise(choice_options())
# `${{ }}` is GitHub Actions syntax that must survive rendering; anything else is a leftover.
JINJA_LEFTOVER = re.compile(r"(?<!\$)\{\{|\{%|\{#")
SAMPLE = {
    "classification": ("penguins.csv", "species"),
    "regression": ("auto-mpg.csv", "Miles_per_Gallon"),
}


def expected_files(answers: dict[str, str]) -> set[str]:
    """Every file a bake must produce (git internals and the DVC cache aside)."""
    raw_file, _ = SAMPLE[answers["task"]]
    module = "my_ml_project"
    return {
        ".cruft.json",
        ".dvc/.gitignore",
        ".dvc/config",
        ".dvcignore",
        ".env.example",
        ".gitattributes",
        ".gitignore",
        ".pre-commit-config.yaml",
        ".python-version",
        "LICENSE",
        "Makefile",
        "README.md",
        "dvc.yaml",
        "params.yaml",
        "pyproject.toml",
        "scripts/check_raw_data.py",
        "scripts/init_repo.py",
        "data/raw/.gitignore",
        f"data/raw/{raw_file}",
        f"data/raw/{raw_file}.dvc",
        "data/interim/.gitkeep",
        "data/external/.gitkeep",
        "data/processed/.gitkeep",
        "models/.gitkeep",
        "notebooks/.gitkeep",
        "reports/figures/.gitkeep",
        *(f"src/{module}/{name}" for name in PACKAGE_FILES),
        *(f"tests/{name}" for name in TEST_FILES),
        *CI_FILES[answers["ci_provider"]],
        *(
            [f"src/{module}/{name}" for name in MONITORING_FILES] + ["tests/test_monitor.py"]
            if answers["monitoring"] == "yes"
            else []
        ),
        *(
            [f"src/{module}/{name}" for name in ("serve.py", "fastpath.py")]
            + ["tests/test_serve.py", *SERVING_FILES]
            if answers["serving"] == "yes"
            else []
        ),
    }


CI_FILES = {
    "github": [f".github/workflows/{name}.yml" for name in ("ci", "cml", "retrain")],
    "gitlab": [".gitlab-ci.yml"],
    "none": [],
}


PACKAGE_FILES = [
    "__init__.py",
    "config.py",
    "estimators.py",
    "evaluate.py",
    "features.py",
    "lineage.py",
    "metrics.py",
    "plots.py",
    "prepare.py",
    "report.py",
    "retrain.py",
    "schema.py",
    "splitting.py",
    "tracking.py",
    "train.py",
]
# Deployment files of the serving option (the API itself is src/<module>/serve.py).
SERVING_FILES = [
    "Dockerfile",
    ".dockerignore",
    *(f"deploy/k8s/base/{name}.yaml" for name in ("kustomization", "configmap", "deployment")),
    *(f"deploy/k8s/base/{name}.yaml" for name in ("service", "hpa")),
    *(f"deploy/k8s/canary/{name}.yaml" for name in ("kustomization", "configmap-canary")),
    "deploy/k8s/canary/deployment-canary.yaml",
    "compose.yaml",
    "deploy/prometheus/prometheus.yml",
    "deploy/prometheus/alerts.yml",
    "deploy/grafana/provisioning/datasources/prometheus.yml",
    "deploy/grafana/provisioning/dashboards/dashboards.yml",
    "deploy/grafana/dashboards/api.json",
]
MONITORING_FILES = ["drift.py", "drift_demo.py", "monitor.py", "monitor_report.py", "window.py"]
TEST_FILES = [
    "conftest.py",
    "test_config.py",
    "test_evaluate.py",
    "test_features.py",
    "test_prepare.py",
    "test_schema.py",
    "test_train.py",
]


def project_files(project) -> set[str]:
    return {
        path.relative_to(project).as_posix()
        for path in project.rglob("*")
        if path.is_file()
        and not path.relative_to(project).as_posix().startswith((".git/", ".dvc/cache/"))
    }


@pytest.mark.parametrize("answers", MATRIX, ids=[case_id(row) for row in MATRIX])
def test_every_option_renders_parses_and_lints(bake, answers):
    project = bake(**answers)

    assert project_files(project) == expected_files(answers)
    # Folders of the other providers' files are not left behind empty.
    assert (project / ".github").exists() == (answers["ci_provider"] == "github")
    assert (project / "deploy").exists() == (answers["serving"] == "yes")

    for path in project.rglob("*"):
        if path.is_file() and ".git" not in path.parts and path.suffix != ".csv":
            text = path.read_text(encoding="utf-8")
            assert not JINJA_LEFTOVER.search(text), f"Jinja left in {path.name}"

    parsed = {}
    for path in project.rglob("*"):
        rel = path.relative_to(project).as_posix()
        if rel.startswith(".git/") or not path.is_file():
            continue
        if path.suffix == ".toml":
            parsed[rel] = tomllib.loads(path.read_text(encoding="utf-8"))
        elif path.suffix in {".yaml", ".yml"} or path.name.endswith(".dvc"):
            parsed[rel] = yaml.safe_load(path.read_text(encoding="utf-8"))
        elif path.suffix == ".json":
            parsed[rel] = json.loads(path.read_text(encoding="utf-8"))
    check_pyproject(parsed["pyproject.toml"], answers)
    check_params_and_pipeline(project, parsed, answers)
    check_dvc_config(project, answers)
    check_cruft_state(parsed[".cruft.json"], answers)

    lint = [sys.executable, "-m", "ruff"]
    for args in (["check", "--no-cache", "."], ["format", "--no-cache", "--check", "."]):
        done = subprocess.run([*lint, *args], cwd=project, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr

    assert git(project, "status", "--porcelain") == ""
    assert git(project, "branch", "--show-current").strip() == "main"


def check_pyproject(pyproject: dict, answers: dict[str, str]) -> None:
    project = pyproject["project"]
    version = answers["python_version"]
    assert project["name"] == "my-ml-project"
    assert project["requires-python"] == f">={version}"
    licence = answers["license"]
    assert project["license"] == ("LicenseRef-Proprietary" if licence == "Proprietary" else licence)
    remote = answers["dvc_remote"]
    dvc = "dvc" if remote in ("local", "none") else f"dvc[{remote}]"
    assert any(dep.startswith(dvc + ">=") for dep in project["dependencies"])
    assert pyproject["tool"]["ruff"]["target-version"] == "py" + version.replace(".", "")
    monitoring = {"scipy", "matplotlib", "prometheus-client"}
    names = {dep.split(">=")[0].split("[")[0] for dep in project["dependencies"]}
    assert (monitoring <= names) == (answers["monitoring"] == "yes")
    # prometheus-client is shared with serving; the others come with monitoring only.
    assert not (monitoring - {"prometheus-client"}) & names or answers["monitoring"] == "yes"
    serving = {"fastapi", "uvicorn", "prometheus-client"}
    assert (serving <= names) == (answers["serving"] == "yes")
    assert ("fastapi" in names) == (answers["serving"] == "yes")
    dev = {dep.split(">=")[0] for dep in project["optional-dependencies"]["dev"]}
    assert ("httpx" in dev) == (answers["serving"] == "yes")


def check_params_and_pipeline(project, parsed: dict, answers: dict[str, str]) -> None:
    raw_file, target = SAMPLE[answers["task"]]
    params = parsed["params.yaml"]
    assert params["data"] == {
        **params["data"],
        "raw_path": f"data/raw/{raw_file}",
        "target": target,
        "task": answers["task"],
    }
    header = (project / "data" / "raw" / raw_file).read_text(encoding="utf-8").splitlines()[0]
    assert target in header.split(",")
    assert ("monitoring" in params) == (answers["monitoring"] == "yes")
    makefile = (project / "Makefile").read_text(encoding="utf-8")
    readme = (project / "README.md").read_text(encoding="utf-8")
    for text in (makefile, readme):
        assert ("make monitor" in text or "\nmonitor:" in text) == (answers["monitoring"] == "yes")
        assert ("make serve" in text or "\nserve:" in text) == (answers["serving"] == "yes")
    assert ("serving" in params) == (answers["serving"] == "yes")
    if answers["serving"] == "yes":
        assert params["serving"]["model_source"] == "local"
        assert ("drift_window" in params["serving"]) == (answers["monitoring"] == "yes")
    stages = parsed["dvc.yaml"]["stages"]
    assert list(stages) == ["prepare", "train", "evaluate"]
    pointer = parsed[f"data/raw/{raw_file}.dvc"]["outs"][0]
    assert pointer["path"] == raw_file and pointer["hash"] == "md5"
    assert (project / ".dvc/cache/files/md5" / pointer["md5"][:2] / pointer["md5"][2:]).exists()
    assert (project / ".python-version").read_text().strip() == answers["python_version"]


def check_dvc_config(project, answers: dict[str, str]) -> None:
    config = configparser.ConfigParser()
    config.read(project / ".dvc" / "config")
    assert config["core"]["analytics"] == "false"
    if answers["dvc_remote"] == "none":
        assert "remote" not in config["core"]
        return
    assert config["core"]["remote"] == "storage"
    url = config["'remote \"storage\"'"]["url"]
    prefix = {"local": "~/", "s3": "s3://", "gs": "gs://", "azure": "azure://", "ssh": "ssh://"}[
        answers["dvc_remote"]
    ]
    assert url.startswith(prefix) and url.endswith("my-ml-project")


def check_cruft_state(state: dict, answers: dict[str, str]) -> None:
    context = state["context"]["cookiecutter"]
    assert {key: context[key] for key in answers} == answers
    assert state["template"] == context["_template"]
    assert not any(key.startswith("__") for key in context)


def test_matrix_covers_every_pair_of_values():
    choices = choice_options()
    rows = pairwise(choices)
    names = list(choices)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            for va in choices[a]:
                for vb in choices[b]:
                    assert any(row[a] == va and row[b] == vb for row in rows), (a, va, b, vb)
    full = 1
    for values in choices.values():
        full *= len(values)
    assert len(rows) < full / 10


HOSTILE = {
    "project_name": 'Zoë\'s "Déjà vu" \\ Project',
    "description": 'Line one\nLine "two" with \\backslash, \'quotes\', ü, 中文 and """ triple',
    "author_name": 'O\'Brien "Bob" \\ Ñandú',
    "author_email": "bob+ml@example.co.uk",
}


def test_hostile_text_answers_read_back_exactly(bake):
    project = bake(**HOSTILE)
    assert project.name == "zoe-s-deja-vu-project"
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["description"] == HOSTILE["description"]
    assert pyproject["project"]["authors"] == [
        {"name": HOSTILE["author_name"], "email": HOSTILE["author_email"]}
    ]
    assert (project / "src" / "zoe_s_deja_vu_project" / "__init__.py").exists()
    state = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    assert {k: state["context"]["cookiecutter"][k] for k in HOSTILE} == HOSTILE
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert readme.startswith(f"# {HOSTILE['project_name']}\n")
    assert HOSTILE["author_name"] in (project / "LICENSE").read_text(encoding="utf-8")
    params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    assert params["mlflow"]["experiment_name"] == "zoe-s-deja-vu-project"
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "."],
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout
    assert git(project, "status", "--porcelain") == ""
