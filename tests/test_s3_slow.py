"""Slow tier: S3 for real. A project baked with the S3 DVC remote, an MLflow server whose
artifacts are on S3, and the scale-out option, against an S3-compatible server on loopback
(moto's server mode): `make push`, a fresh clone and `make pull` restore data and model byte
for byte; the run's artifacts and the registered model load back from S3; `make kserve-model`
points KServe at them; the credentials, read from `.env`, reach neither git nor any log. The
project's own tests run there too (the Dask engine's among them)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from conftest import git
from helpers import background, free_port, run, run_page, wait_for

pytestmark = pytest.mark.slow

SECRET = "s3-secret-never-logged-7f3a9c"
KEY_ID = "AKIAEXAMPLESLOWTEST"
OUTPUTS = ("data/raw", "data/processed", "models")

# Runs in the project: the champion loads back from the registry (its files on S3) and predicts
# as the model in models/ does; the run's artifacts are listed from S3.
LOAD_BACK = r"""
import json, sys
import mlflow, pandas as pd
from mlflow import MlflowClient
sys.path.insert(0, "src")
from {module}.config import load_params
from {module}.modeling.model import load_pipeline
from pathlib import Path
params = load_params()
mlflow.set_tracking_uri(params.mlflow.tracking_uri)
name = params.mlflow.registered_model_name
client = MlflowClient()
version = client.get_model_version_by_alias(name, "champion")
registered = mlflow.sklearn.load_model(f"models:/{{name}}@champion")
local = load_pipeline(Path("models/model"))
test = pd.read_parquet("data/processed/test.parquet")
features = test.drop(columns=[params.data.target])
run = json.load(open("models/mlflow_run.json"))
print(json.dumps({{
    "same_predictions": bool((registered.predict(features) == local.predict(features)).all()),
    "download_uri": client.get_model_version_download_uri(name, version.version),
    "run_artifacts": [f.path for f in client.list_artifacts(run["run_id"])],
    "params": client.get_run(run["run_id"]).data.params,
    "tags": client.get_run(run["run_id"]).data.tags,
}}))
"""


def digests(root: Path) -> dict[str, str]:
    """sha256 of every file under the pipeline's DVC outputs."""
    found = {}
    for folder in OUTPUTS:
        for path in sorted((root / folder).rglob("*")):
            if path.is_file() and path.name != ".gitignore":
                found[path.relative_to(root).as_posix()] = hashlib.sha256(
                    path.read_bytes()
                ).hexdigest()
    return found


CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": KEY_ID,
    "AWS_SECRET_ACCESS_KEY": SECRET,
    "AWS_DEFAULT_REGION": "us-east-1",
}


def clean_environment() -> dict[str, str]:
    """This environment without AWS or MLflow settings: the project reads its own from .env."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MLFLOW_"))}


@contextlib.contextmanager
def loopback_s3(folder: Path, log: Path, *buckets: str) -> Iterator[tuple[str, object]]:
    """moto's S3 server on a free loopback port with `buckets`: (endpoint, boto3 client)."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    moto = [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)]
    with background(moto, folder, log, clean_environment()) as s3:
        wait_for(f"{endpoint}/", s3, log)
        import boto3  # moto's dependency, in the template's environment

        client = boto3.client("s3", endpoint_url=endpoint, **_boto(CREDENTIALS))
        for bucket in buckets:
            client.create_bucket(Bucket=bucket)
        yield endpoint, client


def bake_s3_project(folder: Path, *answers: str) -> Path:
    """The template baked into `folder` with the S3 DVC remote (and `answers`)."""
    run(
        [
            str(Path(sys.executable).parent / "cookiecutter"),
            "--no-input",
            str(Path(__file__).resolve().parent.parent),
            "-o",
            str(folder),
            "dvc_remote=s3",
            "dvc_remote_url=s3://dvc-store/my-ml-project",
            *answers,
        ],
        cwd=folder,
    )
    return folder / "my-ml-project"


@pytest.mark.usefixtures("tools_on_path")
def test_s3_round_trip_of_data_models_and_mlflow_artifacts(tmp_path):
    mlflow_port = free_port()
    logs = tmp_path / "logs"
    logs.mkdir()
    clean_env = clean_environment()
    with loopback_s3(tmp_path, logs / "s3.log", "dvc-store", "mlflow-artifacts") as (
        endpoint,
        client,
    ):
        project = bake_s3_project(
            tmp_path,
            "mlflow_tracking=server",
            f"mlflow_server_url=http://127.0.0.1:{mlflow_port}",
            "scale_out=yes",
            "serving=no",
        )
        # Credentials and endpoints in .env (git-ignored), as the docs say; make exports them.
        dotenv = {**CREDENTIALS, "AWS_ENDPOINT_URL": endpoint, "MLFLOW_S3_ENDPOINT_URL": endpoint}
        (project / ".env").write_text("".join(f"{k}={v}\n" for k, v in dotenv.items()))
        run(["make", "setup"], cwd=project, **clean_env)
        run(
            [".venv/bin/dvc", "remote", "modify", "--local", "storage", "endpointurl", endpoint],
            cwd=project,
        )

        server_env = {**clean_env, **dotenv}
        server = [
            str(project / ".venv/bin/mlflow"), "server",
            "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}",
            "--default-artifact-root", "s3://mlflow-artifacts/",
            "--no-serve-artifacts",
            "--host", "127.0.0.1", "--port", str(mlflow_port),
        ]  # fmt: skip
        with background(server, tmp_path, logs / "mlflow.log", server_env) as mlflow_server:
            wait_for(f"http://127.0.0.1:{mlflow_port}/health", mlflow_server, logs / "mlflow.log")
            outputs = {
                "repro": run(["make", "repro"], cwd=project, **clean_env),
                "push": run(["make", "push"], cwd=project, **clean_env),
            }
            git(project, "add", "-A")
            git(
                project, "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-qm", "x"
            )
            # Every file of the local DVC cache is in the bucket (not its run cache: runs/).
            cache = project / ".dvc" / "cache" / "files"
            local = {p.relative_to(cache).as_posix() for p in cache.rglob("*") if p.is_file()}
            listed = client.list_objects_v2(Bucket="dvc-store", Prefix="my-ml-project/")
            remote = {obj["Key"].removeprefix("my-ml-project/files/") for obj in listed["Contents"]}
            assert local and local <= remote, sorted(local - remote)

            clone = tmp_path / "clone"
            git(tmp_path, "clone", "-q", str(project), str(clone))
            assert not (clone / "models" / "model").exists()
            (clone / ".env").write_text((project / ".env").read_text())
            os.symlink(project / ".venv", clone / ".venv")
            run([".venv/bin/dvc", "remote", "modify", "--local", "storage", "endpointurl",
                 endpoint], cwd=clone)  # fmt: skip
            outputs["pull"] = run(["make", "pull"], cwd=clone, **clean_env)
            assert digests(clone) == digests(project)

            module = "my_ml_project"
            loaded = run(
                [".venv/bin/python", "-c", LOAD_BACK.format(module=module)],
                cwd=project,
                **server_env,
            )
            found = json.loads(loaded.stdout.strip().splitlines()[-1])
            assert found["same_predictions"]
            assert found["download_uri"].startswith("s3://mlflow-artifacts/")
            assert found["run_artifacts"], "the run's artifacts are on S3"
            keys = [
                obj["Key"] for obj in client.list_objects_v2(Bucket="mlflow-artifacts")["Contents"]
            ]
            assert any(key.endswith("MLmodel") for key in keys)

            outputs["kserve"] = run(["make", "kserve-model"], cwd=project, **clean_env)
            model_env = (project / "deploy/kserve/base/model.env").read_text()
            assert model_env == f"STORAGE_URI={found['download_uri']}\n"

            outputs["test"] = run(["make", "test-all"], cwd=project, **clean_env)
            # The scale-out tutorial, as written, on this project (its runs go to the server).
            outputs["tutorial"] = run_page(project, "scale-out.md")
            check_scale_out_tutorial(project, outputs["tutorial"])

    for name, done in outputs.items():
        text = done if isinstance(done, str) else done.stdout + done.stderr
        assert SECRET not in text, f"the secret is in make {name}'s output"
    for log in logs.iterdir():
        assert SECRET not in log.read_text(errors="replace"), f"the secret is in {log.name}"
    assert SECRET not in json.dumps(found["params"]) + json.dumps(found["tags"])
    history = git(project, "log", "--all", "-p")
    assert SECRET not in history and KEY_ID not in history
    assert git(project, "check-ignore", ".env").strip() == ".env"


def _boto(credentials: dict[str, str]) -> dict[str, str]:
    return {
        "aws_access_key_id": credentials["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": credentials["AWS_SECRET_ACCESS_KEY"],
        "region_name": credentials["AWS_DEFAULT_REGION"],
    }


def check_scale_out_tutorial(project: Path, output: str) -> None:
    """Its raw data was prepared by partitions and trained on a sample, its batch scored and
    monitored by partitions; kfp-run reached make repro's metrics."""
    assert "prepared 240000 train and 60000 test rows in data/processed/ (" in output
    assert "train split: a sample of 50000 rows (split.train_rows)" in output
    split = "import pyarrow.parquet as pq; print(pq.ParquetFile('{}').num_row_groups)"
    groups = run([".venv/bin/python", "-c", split.format("data/processed/train.parquet")], project)
    assert int(groups.stdout) > 1  # written a partition at a time
    count = "import pyarrow.parquet as pq; print(pq.ParquetFile('{}').metadata.num_rows)"
    rows = run([".venv/bin/python", "-c", count.format("data/predictions/big.parquet")], project)
    assert rows.stdout.strip() == "300000"
    report = json.loads((project / "reports/monitoring/report.json").read_text())
    assert report["batch"]["engine"] == "dask" and report["batch"]["rows"] == 300_000
    assert report["status"] == "healthy"  # a resample of the training data
    kfp_metrics = json.loads((project / "build/kfp/metrics.json").read_text())
    assert kfp_metrics == json.loads((project / "reports/metrics.json").read_text())


@pytest.mark.usefixtures("tools_on_path")
def test_new_data_in_the_bucket_retrains_without_a_commit_by_a_person(tmp_path):
    """A raw file imported from a bucket (`make import-data`): `make retrain-check` says nothing
    to do until a new version lands in the bucket, then names the changed source; `make retrain`
    brings it in (dvc update) and proposes the pointer with the new model; the raw-data guard
    lets the import follow its source; an unreachable source is a one-line exit 2."""
    clean_env = clean_environment()
    with loopback_s3(tmp_path, tmp_path / "s3.log", "dvc-store", "landing") as (endpoint, client):
        project = bake_s3_project(tmp_path, "serving=no")
        dotenv = {**CREDENTIALS, "AWS_ENDPOINT_URL": endpoint}
        (project / ".env").write_text("".join(f"{k}={v}\n" for k, v in dotenv.items()))
        run(["make", "setup"], cwd=project, **clean_env)
        sample = (project / "data/raw/penguins.csv").read_text(encoding="utf-8").splitlines()
        client.put_object(Bucket="landing", Key="penguins.csv", Body="\n".join(sample) + "\n")

        imported = run(
            ["make", "import-data", "URL=s3://landing/penguins.csv", "NAME=landed.csv"],
            cwd=project,
            **clean_env,
        )
        assert "point data.raw_path in params.yaml at data/raw/landed.csv" in imported.stdout
        pointer = yaml.safe_load((project / "data/raw/landed.csv.dvc").read_text())
        assert pointer["deps"][0]["path"] == "s3://landing/penguins.csv"
        first_etag = pointer["deps"][0]["etag"]
        params = (project / "params.yaml").read_text(encoding="utf-8")
        (project / "params.yaml").write_text(
            params.replace("raw_path: data/raw/penguins.csv", "raw_path: data/raw/landed.csv")
        )
        run(["make", "repro"], cwd=project, **clean_env)
        commit_all(project, "Train on the data imported from the bucket")
        assert check_retrain(project, clean_env).returncode == 0

        # New data lands in the bucket; nobody commits anything.
        newer = "\n".join(sample[:-60]) + "\n"
        client.put_object(Bucket="landing", Key="penguins.csv", Body=newer)
        found = check_retrain(project, clean_env)
        assert found.returncode != 0
        assert "its source s3://landing/penguins.csv changed" in found.stdout

        retrained = run(["make", "retrain"], cwd=project, **clean_env)
        assert "retrain: new model on branch retrain/" in retrained.stdout
        changed = git(project, "diff", "--name-only", "main", "HEAD").split()
        assert "data/raw/landed.csv.dvc" in changed and "dvc.lock" in changed
        pointer = yaml.safe_load((project / "data/raw/landed.csv.dvc").read_text())
        assert pointer["deps"][0]["etag"] != first_etag
        assert (project / "data/raw/landed.csv").read_text(encoding="utf-8") == newer
        assert git(project, "status", "--porcelain", "--", "data").strip() == ""
        lock = yaml.safe_load((project / "dvc.lock").read_text())
        deps = {dep["path"]: dep["md5"] for dep in lock["stages"]["prepare"]["deps"]}
        assert deps["data/raw/landed.csv"] == pointer["outs"][0]["md5"]  # trained on it
        run(["make", "check-raw-data", "BASE=main"], cwd=project, **clean_env)
        assert check_retrain(project, clean_env).returncode == 0

    # The bucket is gone: the check cannot judge, and says why in one line.
    gone = check_retrain(project, clean_env)
    assert gone.returncode != 0
    assert "cannot ask s3://landing/penguins.csv whether it changed" in gone.stdout


def check_retrain(project: Path, environment: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "retrain-check"], cwd=project, capture_output=True, text=True, env=environment
    )


def commit_all(project: Path, message: str) -> None:
    git(project, "add", "-A")
    git(project, "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-qm", message)
