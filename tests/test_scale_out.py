"""Fast tier: the scale-out option's KServe manifests, rendered by `kubectl kustomize` and held
to KServe's own InferenceService schema (its CRD), strictly: an unknown field fails, as it does
with `kubectl apply --validate=strict`; the pipeline's image (hadolint); the continuous-training
choice of Kubeflow Pipelines, from the workflows to the retrain command."""

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
from conftest import as_new_user, bake_project
from matrix import TEMPLATE_DIR

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
def project(tmp_path_factory) -> Path:
    """A bake with scale_out=yes and no serving option: KServe and the pipeline's image need
    none of the FastAPI files."""
    with pytest.MonkeyPatch.context() as patch:
        as_new_user(patch, tmp_path_factory.mktemp("scale-out-home"))
        output = tmp_path_factory.mktemp("scale-out-bake")
        return bake_project(output, scale_out="yes", serving="no", ci_provider="github")


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
