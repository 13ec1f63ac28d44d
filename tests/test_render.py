"""Fast tier: every value of every option renders, parses and lints (pairwise matrix)."""

from __future__ import annotations

import configparser
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import TEMPLATE_DIR, git, tomllib
from matrix import case_id, choice_options, load_options, pairwise

MATRIX = pairwise(choice_options())
# `${{ }}` is GitHub Actions syntax that must survive rendering; anything else is a leftover.
JINJA_LEFTOVER = re.compile(r"(?<!\$)\{\{|\{%|\{#")
SAMPLE = {
    "classification": ("penguins.csv", "species"),
    "regression": ("auto-mpg.csv", "Miles_per_Gallon"),
}


# Written by the bake itself, not rendered from a template file.
BAKED = {".cruft.json", ".dvc/.gitignore", "data/raw/.gitignore"}
TEMPLATE_PROJECT = TEMPLATE_DIR / "{{cookiecutter.project_slug}}"
PACKAGE_FOLDER = "{{cookiecutter.module_name}}"


def expected_files(answers: dict[str, str]) -> set[str]:
    """Every file a bake must produce (git internals and the DVC cache aside): the template's
    files that belong to these answers (`belongs`, written here apart from the hook's table,
    so a mistake in either shows)."""
    raw_file, _ = SAMPLE[answers["task"]]
    module = "my_ml_project"
    rendered = {
        path.relative_to(TEMPLATE_PROJECT).as_posix().replace(PACKAGE_FOLDER, module)
        for path in TEMPLATE_PROJECT.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    kept = {path for path in rendered if belongs(path, answers)}
    return kept | BAKED | {f"data/raw/{raw_file}.dvc"}


def belongs(path: str, answers: dict[str, str]) -> bool:
    """Whether a file of the template is part of a bake with these answers, option by option."""
    package, yes = "src/my_ml_project/", {name: answers[name] == "yes" for name in answers}
    under = path.startswith
    if under("data/raw/") and path.endswith(".csv"):
        return path == f"data/raw/{SAMPLE[answers['task']][0]}"
    if under(".github/"):
        return answers["ci_provider"] == "github"
    if path == ".gitlab-ci.yml":
        return answers["ci_provider"] == "gitlab"
    if path == "docs/ci.md":
        return answers["ci_provider"] != "none"
    # the Dask variants of make predict and make monitor, beside what they vary
    if path == f"{package}predict/dask_batch.py":
        return yes["scale_out"]
    dask_monitor = ("dask_checks.py", "grid_drift.py")
    if path in [f"{package}monitoring/{name}" for name in dask_monitor] + [
        "tests/monitoring/test_monitor_dask.py"
    ]:
        return yes["scale_out"] and yes["monitoring"]
    monitoring = (f"{package}monitoring/", "tests/monitoring/", "make/monitoring.mk")
    if under(monitoring) or path == "docs/monitoring.md":
        return yes["monitoring"]
    serving = (f"{package}serving/", "tests/serving/", "make/serving.mk", "deploy/k8s/")
    serving += ("deploy/grafana/", "deploy/prometheus/", "deploy/mlflow/", "deploy/filebeat/")
    if under(serving) or path in ("Dockerfile", ".dockerignore", "compose.yaml", "docs/serving.md"):
        return yes["serving"]
    scale_out = (f"{package}engine/", f"{package}kubeflow/", "tests/engine/", "tests/kubeflow/")
    scale_out += ("make/scale-out.mk", "deploy/kserve/", "deploy/kubeflow/")
    if under(scale_out) or path == "docs/scale-out.md":
        return yes["scale_out"]
    return True


# option -> the sub-package it adds (a Make fragment too for those with targets of their own)
CAPABILITIES = {
    "monitoring": ("monitoring",),
    "serving": ("serving",),
    "scale_out": ("engine", "kubeflow"),
}
MAKE_FRAGMENTS = {"monitoring": "monitoring", "serving": "serving", "scale_out": "scale-out"}


def test_each_capability_is_one_sub_package_with_its_tests():
    """Each capability's package, its tests and its Make fragment come and go together, and the
    rest of the package imports it only inside a function (after has_capability). A
    module that only exists with the capability (listed with it) may import it at the top:
    the Dask engine's monitor builds on the monitoring package."""
    table = load_options()["_files_of_answers"]
    package = TEMPLATE_PROJECT / "src" / PACKAGE_FOLDER
    for option, capabilities in CAPABILITIES.items():
        paths = set(table[option]["yes"])
        assert f"make/{MAKE_FRAGMENTS[option]}.mk" in paths
        for capability in capabilities:
            assert {f"src/{{module}}/{capability}", f"tests/{capability}"} <= paths
            check_imported_inside_functions(package, capability, paths)


def check_imported_inside_functions(package: Path, capability: str, paths: set[str]) -> None:
    for module in package.rglob("*.py"):
        relative = f"src/{{module}}/{module.relative_to(package).as_posix()}"
        if capability in module.relative_to(package).parts or relative in paths:
            continue
        for line in module.read_text(encoding="utf-8").splitlines():
            if f"..{capability}" in line and "import" in line:
                assert line.startswith("    "), f"{module.name}: {line.strip()}"


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
    assert (project / "deploy/k8s").exists() == (answers["serving"] == "yes")
    assert (project / "deploy/kserve").exists() == (answers["scale_out"] == "yes")
    no_deploy = answers["serving"] == answers["scale_out"] == "no"
    assert (project / "deploy").exists() != no_deploy

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
    check_devcontainer(project, parsed[".devcontainer/devcontainer.json"], answers)
    check_docs_links(project)

    assert_lints_clean(project)
    assert_layers_hold(project)
    assert git(project, "status", "--porcelain") == ""
    assert git(project, "branch", "--show-current").strip() == "main"


def assert_lints_clean(project) -> None:
    """The bake passes its own `make lint`: ruff check and ruff format --check."""
    lint = [sys.executable, "-m", "ruff"]
    for args in (["check", "--no-cache", "."], ["format", "--no-cache", "--check", "."]):
        done = subprocess.run([*lint, *args], cwd=project, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr


def assert_layers_hold(project) -> None:
    """The bake's own tests/test_architecture.py passes: no import circle, no upward import.
    It needs only the package's source (no install, no conftest)."""
    command = [sys.executable, "-m", "pytest", "-q", "--noconftest", "-p", "no:cacheprovider"]
    done = subprocess.run(
        [*command, "tests/test_architecture.py"],
        cwd=project,
        capture_output=True,
        text=True,
        # the template's own pytest plugins (hypothesis, schemathesis...) take seconds to load
        env={
            **os.environ,
            "PYTHONPATH": str(project / "src"),
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        },
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout.splitlines()[-1]


MARKDOWN_LINK = re.compile(r"\]\(([^)#\s]+\.md)(#[^)]*)?\)")


def check_docs_links(project) -> None:
    """The README is short and links to the project's docs/ pages: every page is linked from
    it, and every link between them (README or page) lands on a file of this bake."""
    pages = {path.relative_to(project).as_posix() for path in (project / "docs").glob("*.md")}
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert {target for target, _ in MARKDOWN_LINK.findall(readme)} >= pages
    for source in ["README.md", *sorted(pages)]:
        text = (project / source).read_text(encoding="utf-8")
        assert text.count("\n# ") + text.startswith("# ") == 1, f"{source}: one title"
        for target, _ in MARKDOWN_LINK.findall(text):
            if "://" not in target:
                assert ((project / source).parent / target).is_file(), f"{source} -> {target}"


def check_devcontainer(project, devcontainer: dict, answers: dict[str, str]) -> None:
    """Valid for the Dev Containers spec (its schema, vendored in tests/schemas), on the
    project's Python, set up by `make setup`, with the API and the MLflow UI forwarded."""
    schema = TEMPLATE_DIR / "tests" / "schemas" / "devContainer.base.schema.json"
    config = project / ".devcontainer" / "devcontainer.json"
    check = [str(Path(sys.executable).parent / "check-jsonschema"), "--schemafile", str(schema)]
    done = subprocess.run([*check, str(config)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert devcontainer["image"].endswith(f":1-{answers['python_version']}-bookworm")
    assert devcontainer["postCreateCommand"].endswith("make setup")
    assert ("uv" in devcontainer["postCreateCommand"]) == (answers["env_manager"] == "uv")
    ports = [8000, 5000] if answers["serving"] == "yes" else [5000]
    assert devcontainer["forwardPorts"] == ports
    assert sorted(devcontainer["portsAttributes"]) == sorted(map(str, ports))


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
    monitoring = {"scipy", "prometheus-client", "river"}
    names = {dep.split(">=")[0].split("[")[0] for dep in project["dependencies"]}
    # Every project predicts in batches (ONNX), explains (SHAP) and draws its report.
    assert {"onnxruntime", "skl2onnx", "shap", "tqdm", "matplotlib", "pyarrow"} <= names
    assert (monitoring <= names) == (answers["monitoring"] == "yes")
    # prometheus-client is shared with serving; the others come with monitoring only.
    assert not (monitoring - {"prometheus-client"}) & names or answers["monitoring"] == "yes"
    serving = {"fastapi", "uvicorn", "prometheus-client", "ecs-logging"}
    assert (serving <= names) == (answers["serving"] == "yes")
    assert ("fastapi" in names) == (answers["serving"] == "yes")
    # The image installs the API's dependency group: each also a dependency, the same bounds.
    api = pyproject.get("dependency-groups", {}).get("api", [])
    assert bool(api) == (answers["serving"] == "yes")
    assert set(api) <= set(project["dependencies"])
    assert ("scipy>=1.11" in api) == (answers["monitoring"] == answers["serving"] == "yes")
    # what the API imports: its log formatter, and ADWIN with monitoring
    assert ("ecs-logging>=2.1" in api) == (answers["serving"] == "yes")
    river = {dep for dep in api if dep.startswith("river")}
    assert bool(river) == (answers["monitoring"] == answers["serving"] == "yes")
    # A tracking server keeps artifacts where the DVC remote is: MLflow's client for it.
    store_client = {"s3": "boto3", "gs": "google-cloud-storage", "azure": "azure-storage-blob"}
    for kind, package in store_client.items():
        wanted = answers["mlflow_tracking"] == "server" and remote == kind
        assert (package in names) == wanted, (package, answers)
    assert ({"dask", "distributed", "kfp"} <= names) == (answers["scale_out"] == "yes")
    assert bool({"dask", "distributed", "kfp"} & names) == (answers["scale_out"] == "yes")
    dev = {dep.split(">=")[0] for dep in project["optional-dependencies"]["dev"]}
    assert ("httpx2" in dev) == (answers["serving"] == "yes")


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
    # The Makefile and the capabilities' fragments it includes (make/*.mk).
    makefiles = [project / "Makefile", *sorted((project / "make").glob("*.mk"))]
    makefile = "\n".join(path.read_text(encoding="utf-8") for path in makefiles)
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert ("CURRENT" in makefile) == (answers["monitoring"] == "yes")
    for text in (makefile, readme):
        assert ("make monitor" in text or "\nmonitor:" in text) == (answers["monitoring"] == "yes")
        assert ("make serve" in text or "\nserve:" in text) == (answers["serving"] == "yes")
    assert ("serving" in params) == (answers["serving"] == "yes")
    assert ("compute" in params) == (answers["scale_out"] == "yes")
    assert ("kubeflow" in params) == (answers["scale_out"] == "yes")
    if answers["scale_out"] == "yes":
        assert params["compute"]["engine"] == "pandas"  # the default run stays in one process
    # monitoring's Dask variant comes with both options
    both = answers["monitoring"] == answers["scale_out"] == "yes"
    assert (project / "src/my_ml_project/monitoring/dask_checks.py").exists() == both
    assert params["predict"]["model_source"] == "local"  # make predict and the API alike
    assert params["onnx"]["export"] is True
    assert params["mlflow"]["model_alias"] == "champion"
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
    "description": 'One line, "two" with \\backslash, \'quotes\', ü, 中文, 🚀 and """ triple',
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
    devcontainer = project / ".devcontainer" / "devcontainer.json"
    assert json.loads(devcontainer.read_text(encoding="utf-8"))["name"] == HOSTILE["project_name"]
    params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    assert params["mlflow"]["experiment_name"] == "zoe-s-deja-vu-project"
    assert_lints_clean(project)
    assert_layers_hold(project)
    assert git(project, "status", "--porcelain") == ""


@pytest.mark.parametrize("project_name", ["Abalone age", "Zebra"])
def test_import_order_does_not_depend_on_the_package_name(bake, project_name):
    """The tests import their helpers (conftest, synthetic) after the project's package: a
    package named before or after them alphabetically lints clean all the same."""
    assert_lints_clean(bake(project_name=project_name, scale_out="yes"))
