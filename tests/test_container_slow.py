"""Slow tier: the generated project's images, built for real with buildah and run: the API's, and
the one the Kubeflow pipeline's steps run in (the scale-out option).

No container engine is needed. debootstrap writes a Debian bookworm root filesystem (its
python3 is 3.11, so the project is baked for 3.11: the model's pinned requirements come from
the project's environment and must install on the image's Python) into a `buildah from
scratch` container, committed as the base image; `buildah bud` builds the project's Dockerfile
on it with `BASE_IMAGE`; `buildah run` shares the host's network, so the API started from the
image's CMD answers on loopback. Storage (vfs) and everything else live in temporary folders and
are removed afterwards, also on failure.
"""

from __future__ import annotations

import configparser
import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import free_port, run

pytestmark = pytest.mark.slow

BASE_IMAGE = "localhost/mlops-test-base:bookworm"
APP_IMAGE = "localhost/my-ml-project:test"
PIPELINE_IMAGE = "localhost/my-ml-project-pipeline:latest"  # kubeflow.image of the bake
MODULE = "my_ml_project"
APP_UID = "10001"
# pip settings a host may need to reach its package index; host paths and file: URLs are
# dropped, since they do not exist inside the build.
PIP_SETTINGS = {
    "PIP_INDEX_URL": "index-url",
    "PIP_EXTRA_INDEX_URL": "extra-index-url",
    "PIP_TRUSTED_HOST": "trusted-host",
    "PIP_DEFAULT_TIMEOUT": "timeout",
    "PIP_CERT": "cert",
}
# What the model itself predicts on its input example, from the project's own environment.
EXPECTED = r"""
import json
import pandas as pd
from mlflow.sklearn import load_model

model = load_model("models/model")
example = json.load(open("models/model/input_example.json"))
frame = pd.DataFrame(example["data"], columns=example["columns"])
print(json.dumps({
    "predictions": [str(label) for label in model.predict(frame)],
    "classes": [str(label) for label in model.classes_],
    "probabilities": model.predict_proba(frame).tolist(),
}))
"""


def require_tools() -> None:
    """A missing tool fails the tier (it is part of it), naming the packages to install."""
    missing = [name for name in ("buildah", "debootstrap") if shutil.which(name) is None]
    if missing:
        pytest.fail(
            f"{' and '.join(missing)} not found: apt-get install buildah debootstrap",
            pytrace=False,
        )
    if os.geteuid() != 0:
        pytest.fail("debootstrap and buildah's chroot isolation need root", pytrace=False)


class Buildah:
    """buildah on its own vfs storage under `folder`: nothing global is read or written."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.base = [
            "buildah",
            "--root",
            str(folder / "storage"),
            "--runroot",
            str(folder / "run"),
            "--storage-driver",
            "vfs",
        ]

    def command(self, *args: str) -> list[str]:
        return [*self.base, *args]

    def __call__(self, *args: str) -> str:
        return run(self.command(*args), cwd=self.folder).stdout.strip()

    def remove_everything(self) -> None:
        for args in (["rm", "--all"], ["rmi", "--all", "--force"]):
            subprocess.run(self.command(*args), capture_output=True, check=False)
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def buildah(tmp_path_factory):
    """Storage of the test's own; its containers, images and files removed after, even on
    failure, so a run neither leaves gigabytes behind nor depends on what an earlier one left."""
    require_tools()
    tool = Buildah(tmp_path_factory.mktemp("buildah"))
    yield tool
    tool.remove_everything()


@contextmanager
def debootstrap(root: Path, log: Path):
    """A minimal bookworm with python3, venv and CA certificates, written in the background
    (a minute or more) while the project installs; stopped if the test fails first."""
    with log.open("w") as output:
        process = subprocess.Popen(
            [
                "debootstrap",
                "--variant=minbase",
                "--include=python3,python3-venv,ca-certificates",
                "bookworm",
                str(root),
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait()
        # /proc and /sys it mounted inside, if it was stopped before unmounting them itself
        mounted = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
        for point in reversed([p for p in mounted if p.startswith(f"{root}/")]):
            subprocess.run(["umount", "--lazy", point], capture_output=True, check=False)


def make_base_image(buildah: Buildah, container: str, process: subprocess.Popen, log: Path):
    """Commit the debootstrapped container as the base image, as python:*-slim would be."""
    assert process.wait(timeout=900) == 0, log.read_text()[-3000:]
    root = Path(buildah("mount", container))
    for cache in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for item in (root / cache).glob("*"):
            if item.is_file():
                item.unlink()
    assert (root / "usr/sbin/useradd").exists()  # the runtime stage's groupadd/useradd
    buildah("config", "--env", "PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", container)
    buildah("config", "--env", "LANG=C.UTF-8", container)
    buildah("umount", container)
    buildah("commit", "--quiet", "--format", "docker", "--rm", container, BASE_IMAGE)


OLDER_TQDM = "4.66.0"  # the lowest the project allows
# The distributions an environment holds, as {normalised name: version}.
INSTALLED = r"""
import importlib.metadata, json, re
print(json.dumps({
    re.sub(r"[-_.]+", "_", d.metadata["Name"]).lower(): d.version
    for d in importlib.metadata.distributions()
}))
"""


def normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def image_distributions(root: Path) -> dict[str, str]:
    """{normalised name: version} of what the image's /opt/venv holds (its dist-info folders)."""
    site = next((root / "opt" / "venv" / "lib").glob("python3*/site-packages"))
    folders = (p.name.removesuffix(".dist-info").rsplit("-", 1) for p in site.glob("*.dist-info"))
    return {normalised(name): version for name, version in folders}


def pip_mounts(folder: Path) -> list[str]:
    """`-v` options giving pip in the build's RUN steps this host's way to the package index:
    /etc/pip.conf and PIP_* settings, with the CA bundle they name, read-only. Build args or
    --env would change the Dockerfile's meaning or end up in the image; mounts do neither."""
    config = configparser.RawConfigParser()
    config.read("/etc/pip.conf")
    settings = dict(config["global"]) if config.has_section("global") else {}
    settings.update(
        {key: os.environ[name] for name, key in PIP_SETTINGS.items() if os.environ.get(name)}
    )
    keep: dict[str, str] = {}
    for key, value in settings.items():
        if key in ("index-url", "extra-index-url"):
            urls = [url for url in value.split() if url.startswith(("http://", "https://"))]
            if urls:
                keep[key] = " ".join(urls)
        elif key in ("trusted-host", "timeout") or (key == "cert" and Path(value).is_file()):
            keep[key] = value
    if not keep:
        return []
    written = configparser.RawConfigParser()
    written["global"] = keep
    with (folder / "pip.conf").open("w") as handle:
        written.write(handle)
    mounts = ["-v", f"{folder / 'pip.conf'}:/etc/pip.conf:ro"]
    if "cert" in keep:
        mounts += ["-v", f"{keep['cert']}:{keep['cert']}:ro"]
    return mounts


def image_config(buildah: Buildah, image: str) -> dict[str, Any]:
    """The Docker-format config: the OCI one has no HEALTHCHECK."""
    return json.loads(buildah("inspect", "--type", "image", image))["Docker"]["config"]


def check_image_contents(root: Path, requirements: list[str]) -> None:
    """.dockerignore and the multi-stage build keep all but the API and the model out."""
    app = root / "app"
    assert sorted(p.name for p in app.iterdir()) == ["models", "params.yaml"]
    assert (app / "models" / "model" / "MLmodel").is_file()
    assert not list(app.rglob("__pycache__")) and not list(app.rglob("*.pyc"))
    assert not (root / "build").exists()  # the build stage stays behind
    installed = image_distributions(root)
    for absent in ("dvc", "pytest", "ruff", "pre_commit", "mlflow", "matplotlib"):
        assert absent not in installed, absent  # mlflow-skinny is enough to load the model
    assert not (root / "opt" / "venv" / "bin" / "dvc").exists()
    assert {"mlflow_skinny", "fastapi", "uvicorn", "prometheus_client", MODULE} <= set(installed)
    for line in requirements:  # the versions that trained the model
        name, version = line.split("==")
        name = normalised(name)
        assert installed["mlflow_skinny" if name == "mlflow" else name] == version, line


def http(base: str, path: str, body: Any = None) -> tuple[int, bytes]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        base + path, data=data, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def call(base: str, path: str, body: Any = None) -> tuple[int, Any]:
    status, content = http(base, path, body)
    return status, json.loads(content)


@contextmanager
def serving(buildah: Buildah, container: str, port: int, command: list[str], log: Path):
    """The image's CMD in the container on `port`; the whole process group stopped after."""
    with log.open("w") as output:
        server = subprocess.Popen(
            buildah.command(
                "run", "--isolation", "chroot", "--env", f"PORT={port}", container, "--", *command
            ),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while True:
            try:
                if http(base, "/health")[0] == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None, f"the server exited:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"no answer in 180 s:\n{log.read_text()[-3000:]}"
            time.sleep(1)
        yield base
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def server_uids(port: int) -> list[str]:
    """Real, effective, saved and filesystem uid of the API process, from /proc."""
    wanted = "\0".join(["-m", f"{MODULE}.serving", "--host", "0.0.0.0", "--port", str(port), ""])
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and wanted in (proc / "cmdline").read_text():
                status = (proc / "status").read_text()
                return re.search(r"^Uid:\s+(.*)$", status, re.MULTILINE).group(1).split()
        except OSError:  # the process ended meanwhile
            continue
    raise AssertionError(f"no {MODULE}.serving process on port {port}")


def request_counts(metrics: str) -> dict[tuple[str, str, str], float]:
    """api_requests_total by (endpoint, method, status), parsed from the Prometheus text."""
    counts = {}
    for labels, value in re.findall(r"^api_requests_total\{(.*)\} (\S+)$", metrics, re.MULTILINE):
        found = dict(re.findall(r'(\w+)="([^"]*)"', labels))
        counts[(found["endpoint"], found["method"], found["status"])] = float(value)
    return counts


def check_api(base: str, project: Path, expected: dict[str, Any]) -> None:
    """Probes, one-row and batch predictions equal to the model's own, field-level 422s and
    the request counters, over loopback."""
    assert call(base, "/health") == (200, {"status": "ok"})
    trained = json.loads((project / "models" / "mlflow_run.json").read_text())
    status, ready = call(base, "/ready")
    assert status == 200 and ready["status"] == "ready", ready
    assert ready["model"] == {
        "name": trained["registered_model"],
        "version": str(trained["registered_version"]),
        "source": "local",
    }

    example = json.loads((project / "models" / "model" / "input_example.json").read_text())
    records = [dict(zip(example["columns"], row, strict=True)) for row in example["data"]]
    assert len(records) > 1
    # The API scores with the ONNX export, verified against scikit-learn within the project's
    # onnx.tolerance, and answers probabilities rounded to 6 decimals.
    params = yaml.safe_load((project / "params.yaml").read_text())
    tolerance = params["onnx"]["tolerance"] + 1e-6
    for batch in (records[:1], records):
        status, answer = call(base, "/predict", {"records": batch})
        assert status == 200, answer
        assert answer["model"] == {**ready["model"], "role": "champion"}  # no challenger
        assert answer["predictions"] == expected["predictions"][: len(batch)]
        for given, wanted in zip(answer["probabilities"], expected["probabilities"], strict=False):
            assert list(given) == expected["classes"]
            assert list(given.values()) == pytest.approx(wanted, abs=tolerance)

    missing = {k: v for k, v in records[0].items() if k != "island"}
    wrong_type = {**records[1], "bill_length_mm": "long"}
    extra = {**records[2], "colour": "blue"}
    status, answer = call(base, "/predict", {"records": [missing, wrong_type, extra]})
    assert status == 422, answer
    assert [(error["loc"], error["type"]) for error in answer["detail"]] == [
        (["body", "records", 0, "island"], "missing"),
        (["body", "records", 1, "bill_length_mm"], "numeric_value"),  # strict: no parsing text
        (["body", "records", 2, "colour"], "extra_forbidden"),
    ]

    status, metrics = http(base, "/metrics")
    counts = request_counts(metrics.decode())
    assert status == 200
    assert counts[("/predict", "POST", "200")] == 2
    assert counts[("/predict", "POST", "422")] == 1
    assert counts[("/ready", "GET", "200")] == 1
    assert counts[("/health", "GET", "200")] >= 2  # the start-up wait and the probe above


def run_healthcheck(buildah: Buildah, container: str, port: int, config: dict) -> int:
    """The image's HEALTHCHECK command, run in the container as the engine would."""
    test = config["Healthcheck"]["Test"]
    assert test[0] == "CMD", test
    command = buildah.command(
        "run", "--isolation", "chroot", "--env", f"PORT={port}", container, "--", *test[1:]
    )
    return subprocess.run(command, capture_output=True, check=False).returncode


def test_image_builds_and_serves_the_model_as_non_root(bake, tools_on_path, buildah, tmp_path):
    base_container = buildah("from", "scratch")
    rootfs = Path(buildah("mount", base_container))
    debootstrap_log = tmp_path / "debootstrap.log"
    with debootstrap(rootfs, debootstrap_log) as bootstrapping:
        project = bake(python_version="3.11", scale_out="yes")
        run(["make", "setup"], cwd=project)
        run(["make", "repro"], cwd=project)
        make_base_image(buildah, base_container, bootstrapping, debootstrap_log)

    buildah(
        "bud",
        "--isolation",
        "chroot",
        "--format",
        "docker",
        "--pull=never",
        "--build-arg",
        f"BASE_IMAGE={BASE_IMAGE}",
        *pip_mounts(tmp_path),
        "--tag",
        APP_IMAGE,
        str(project),
    )
    config = image_config(buildah, APP_IMAGE)
    assert config["User"] == f"{APP_UID}:{APP_UID}"
    assert config["WorkingDir"] == "/app"
    assert "8000/tcp" in config["ExposedPorts"]
    container = buildah("from", "--pull=never", APP_IMAGE)
    assert buildah("run", "--isolation", "chroot", container, "--", "id", "-u") == APP_UID

    requirements = (project / "models" / "model" / "requirements.txt").read_text().split()
    check_image_contents(Path(buildah("mount", container)), requirements)
    buildah("umount", container)

    expected = json.loads(run([".venv/bin/python", "-c", EXPECTED], cwd=project).stdout)
    port = free_port()
    with serving(buildah, container, port, config["Cmd"], tmp_path / "server.log") as base:
        check_api(base, project, expected)
        assert server_uids(port) == [APP_UID] * 4
        assert run_healthcheck(buildah, container, port, config) == 0
    assert run_healthcheck(buildah, container, port, config) != 0  # it does see a dead server

    check_pipeline_image(buildah, project, tmp_path)


def check_pipeline_image(buildah: Buildah, project: Path, folder: Path) -> None:
    """`make kfp-image` builds the Kubeflow steps' image from the committed tree; in it, as the
    unprivileged user, the pipeline runs (kfp.local), its prepare step pulling the raw data from
    the DVC remote, to the metrics `make repro` reached."""
    run(["make", "push"], cwd=project)  # the raw data the step pulls
    # The lock holds an older tqdm than `tqdm>=4.66` would install today: so must the image.
    run(["uv", "lock", "--upgrade-package", f"tqdm=={OLDER_TQDM}"], cwd=project)
    run(["uv", "sync", "--extra", "dev"], cwd=project)
    commit = run(["git", "rev-parse", "HEAD"], cwd=project).stdout.strip()
    build_args = [
        "--isolation chroot --format docker --pull=never",
        f"--build-arg BASE_IMAGE={BASE_IMAGE}",
        *pip_mounts(folder),
    ]
    make = ["make", "kfp-image", f"CONTAINER={' '.join(buildah.base)}"]
    run([*make, f"KFP_BUILD_ARGS={' '.join(build_args)}"], cwd=project)
    env = dict(item.split("=", 1) for item in image_config(buildah, PIPELINE_IMAGE)["Env"])
    assert env["GIT_COMMIT"] == commit  # the lineage of what it trains
    container = buildah("from", "--pull=never", PIPELINE_IMAGE)
    root = Path(buildah("mount", container))
    # Pinned: every package the image holds is at the version of uv.lock, which .venv holds.
    image = image_distributions(root)
    local = json.loads(run([".venv/bin/python", "-c", INSTALLED], cwd=project).stdout)
    assert {"mlflow", "dvc", "scikit_learn", "pandas", "kfp", MODULE} <= set(image)
    assert image["tqdm"] == local["tqdm"] == OLDER_TQDM
    seeded = {"pip", "setuptools", "wheel", MODULE}  # by venv in the image; the project's build
    unpinned = {
        name: (version, local.get(name))
        for name, version in image.items()
        if name not in seeded and version != local.get(name)
    }
    assert unpinned == {}  # name: (the image's version, .venv's)
    app = root / "app"
    assert sorted(p.name for p in app.iterdir()) == [".dvc", "data", "params.yaml"]
    raw = [p.name for p in (app / "data" / "raw").iterdir() if p.suffix != ".dvc"]
    assert raw == [".gitignore"]  # pointers only: no data in the image
    buildah("umount", container)

    # The project's DVC remote, where the image's HOME (/app) puts it: ~/dvc-remotes/<slug>.
    remote = configparser.RawConfigParser()
    remote.read(project / ".dvc" / "config")
    url = remote["'remote \"storage\"'"]["url"]
    assert url.startswith("~/"), url
    mount = f"{Path(url).expanduser()}:/app/{url[2:]}:ro"
    done = subprocess.run(
        buildah.command(
            "run",
            "--isolation",
            "chroot",
            "-v",
            mount,
            container,
            "--",
            "python",
            "-m",
            f"{MODULE}.kubeflow",
            "run",
        ),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "pipeline ran here (kfp.local)" in done.stdout
    root = Path(buildah("mount", container))
    metrics = json.loads((root / "app/build/kfp/metrics.json").read_text())
    assert metrics == json.loads((project / "reports" / "metrics.json").read_text())
    owners = {p.stat().st_uid for p in (root / "app" / "build").rglob("*")}
    assert owners == {int(APP_UID)}
    buildah("umount", container)
