"""Fast tier: the scale-out option's KServe manifests, rendered by `kubectl kustomize` and held
to KServe's own InferenceService schema (its CRD), strictly: an unknown field fails, as it does
with `kubectl apply --validate=strict`."""

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
from cookiecutter.main import cookiecutter
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
def kserve(tmp_path_factory) -> dict[str, list[dict]]:
    """The rendered overlays (base, canary) of a bake with scale_out=yes and no serving option:
    KServe needs none of the FastAPI files."""
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl not installed: make system-deps"
    home = tmp_path_factory.mktemp("kserve-home")
    (home / ".gitconfig").write_text("[user]\n\tname = T\n\temail = t@example.com\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(home))
        project = Path(
            cookiecutter(
                str(TEMPLATE_DIR),
                no_input=True,
                extra_context={"scale_out": "yes", "serving": "no"},
                output_dir=str(tmp_path_factory.mktemp("kserve-bake")),
            )
        )
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
