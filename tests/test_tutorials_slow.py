"""Slow tier: the tutorials of the docs site run as written.

Each page's `bash` blocks run in order, as one script, in a project baked with the default
answers after `make setup` and `make repro` (the pages start from there). A `yaml` block is an
edit of `params.yaml`, applied as a person would: each section shown replaces those keys. The
outcome each page promises is then checked on the project.
"""

from __future__ import annotations

import csv
import datetime
import json
import os
import random
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import yaml
from conftest import git
from helpers import background, free_port, run_page, wait_for

pytestmark = pytest.mark.slow

TEAM_SECRET = "team-setup-secret-never-logged-51d2"  # pragma: allowlist secret


def json_objects(output: str) -> list[dict]:
    """The JSON answers curl printed (without newlines, so maybe several on one line)."""
    decoder, found, index = json.JSONDecoder(), [], output.find("{")
    while index >= 0:
        try:
            value, end = decoder.raw_decode(output, index)
        except json.JSONDecodeError:
            end = index + 1
        else:
            found.append(value)
        index = output.find("{", end)
    return found


def write_customers(path: Path, rows: int = 800, seed: int = 3) -> None:
    """A churn export as teams have them: an ID, names, a date, gaps, a rare plan."""
    rng = random.Random(seed)
    records = []
    for index in range(rows):
        tenure, spend = rng.randint(1, 72), round(rng.gammavariate(2, 30), 2)
        plan = rng.choices(["basic", "plus", "pro", "legacy"], [0.5, 0.3, 0.18, 0.02])[0]
        score = -0.05 * tenure + 0.02 * spend + (plan == "basic") + rng.gauss(0, 1)
        signup = datetime.date(2020, 1, 1) + datetime.timedelta(days=rng.randint(0, 1500))
        records.append(
            {
                "customer_id": f"C{index:05d}",
                "name": f"Customer {index}",
                "plan": plan,
                "monthly_spend": "" if rng.random() < 0.05 else spend,
                "tenure_months": tenure,
                "signup_date": signup.isoformat(),
                "churned": "yes" if score > 0.6 else "no",
            }
        )
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(records)


def test_the_tutorials_run_as_written(bake, template_repo, monkeypatch, tmp_path):
    # `make setup` and the pages find uv, cruft and cookiecutter beside the tests' Python.
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    project = bake(template=template_repo)
    for step in (["make", "setup"], ["make", "repro"]):
        done = subprocess.run(step, cwd=project, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    served = run_page(project, "serve-the-api.md")
    predicted, explained = json_objects(served)[:2]
    assert predicted["predictions"][0] in {"Adelie", "Chinstrap", "Gentoo"}
    assert explained["explanations"][0]["contributions"]
    assert "model_predictions_total" in served

    monitored = run_page(project, "monitor-and-retrain.md")
    assert "exit code 1" in monitored  # the drifted batch: retraining warranted
    report = json.loads((project / "reports" / "monitoring" / "report.json").read_text())
    assert report["status"] == "retrain"

    run_page(project, "customise.md")
    params = yaml.safe_load((project / "params.yaml").read_text())
    assert params["model"]["name"] == "gradient_boosting"
    assert json.loads((project / "reports" / "metrics.json").read_text())["accuracy"] > 0.9

    exports = Path(os.environ["HOME"]) / "exports"
    exports.mkdir(parents=True, exist_ok=True)
    write_customers(exports / "customers.csv")
    searched = run_page(project, "your-csv.md")
    assert re.search(r"\d+ trials \(\d+ complete", searched) and "best: trial" in searched
    assert not subprocess.run(
        ["git", "status", "--porcelain", "params.yaml", "reports/automl"],
        cwd=project, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    metrics = json.loads((project / "reports" / "metrics.json").read_text())
    assert metrics["accuracy"] > metrics["baseline_accuracy"]
    schema = json.loads((project / "data" / "processed" / "schema.json").read_text())
    assert schema["target"] == "churned" and "customer_id" not in schema["features"]

    updated = run_page(project, "update-with-cruft.md")
    assert "Traceback" not in updated

    check_team_setup(project, tmp_path)


def check_team_setup(project: Path, scratch: Path) -> None:
    """The team-setup page against an S3-compatible server on loopback (moto) and an MLflow
    server keeping its artifacts there: the server is installed apart, with boto3, as a team's
    is; the project reaches the bucket with the credentials of its `.env` only."""
    import boto3  # moto's dependency, in the template's environment

    s3_port, mlflow_port = free_port(), free_port()
    endpoint, server_url = f"http://127.0.0.1:{s3_port}", f"http://127.0.0.1:{mlflow_port}"
    credentials = {
        "AWS_ACCESS_KEY_ID": "AKIATUTORIALTEAM",
        "AWS_SECRET_ACCESS_KEY": TEAM_SECRET,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
    }
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MLFLOW_"))}
    tools = Path(sys.executable).parent
    version = subprocess.run(
        [".venv/bin/python", "-c", "import mlflow; print(mlflow.__version__)"],
        cwd=project, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    server = [
        str(tools / "uvx"), "--from", f"mlflow=={version}", "--with", "boto3", "mlflow", "server",
        "--backend-store-uri", f"sqlite:///{scratch / 'team.db'}",
        "--artifacts-destination", "s3://mlflow-artifacts/",
        "--host", "127.0.0.1", "--port", str(mlflow_port), "--workers", "1",
    ]  # fmt: skip
    moto = [str(tools / "moto_server"), "-H", "127.0.0.1", "-p", str(s3_port)]
    server_env = {**clean, **credentials, "MLFLOW_S3_ENDPOINT_URL": endpoint}
    with background(moto, scratch, scratch / "s3.log", clean) as s3:
        wait_for(f"{endpoint}/", s3, scratch / "s3.log")
        bucket = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=TEAM_SECRET,
            region_name="us-east-1",
        )
        for name in ("ml-team", "mlflow-artifacts"):
            bucket.create_bucket(Bucket=name)
        with background(server, scratch, scratch / "mlflow.log", server_env) as mlflow:
            wait_for(f"{server_url}/health", mlflow, scratch / "mlflow.log", timeout=300)
            # What the reader writes in .env, as the page says; the page does the rest.
            with (project / ".env").open("a") as dotenv:
                dotenv.writelines(f"{key}={value}\n" for key, value in credentials.items())
            output = run_page(
                project,
                "team-setup.md",
                DVC_URL="s3://ml-team/my-ml-project",
                MLFLOW_SERVER=server_url,
            )
            with urllib.request.urlopen(
                f"{server_url}/api/2.0/mlflow/registered-models/search", timeout=10
            ) as answer:
                models = json.load(answer)["registered_models"]
        stored = bucket.list_objects_v2(Bucket="mlflow-artifacts")["Contents"]
        artifacts = [obj["Key"] for obj in stored]
        pulled = pull_as_a_teammate(project, scratch / "teammate", credentials)

    # Data and models: a teammate's clone pulls the committed versions from the bucket.
    assert "data/raw/" in pulled and "models/" in pulled, pulled
    assert "s3://ml-team/my-ml-project" in git(project, "show", "HEAD:.dvc/config")
    assert "dvc[s3]" in git(project, "show", "HEAD:pyproject.toml")
    assert git(project, "check-ignore", ".env").strip() == ".env"
    # Runs: make runs named the server; the retrained model is registered there, its files in
    # the bucket (through the server: the project has no S3 client for MLflow).
    assert f"MLflow tracking store: {server_url}" in output
    assert [model["name"] for model in models] == ["my-ml-project"]
    assert any(key.endswith("MLmodel") for key in artifacts)
    # Kubernetes: the canary overlay renders the stable and the canary Deployment.
    assert output.count("kind: Deployment") == 2
    assert TEAM_SECRET not in output + git(project, "log", "--all", "-p")


def pull_as_a_teammate(project: Path, clone: Path, credentials: dict[str, str]) -> str:
    """`make pull` in a fresh clone of the project with the teammate's own `.env` (its
    environment is the project's, linked, standing in for their `make setup`). Returns the
    DVC-tracked paths the clone then holds, one per line."""
    git(project.parent, "clone", "-q", str(project), str(clone))
    (clone / ".venv").symlink_to(project / ".venv")
    (clone / ".env").write_text("".join(f"{k}={v}\n" for k, v in credentials.items()))
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MLFLOW_"))}
    done = subprocess.run(["make", "pull"], cwd=clone, env=clean, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    tracked = []
    lock = yaml.safe_load((clone / "dvc.lock").read_text())
    outs = [out for stage in lock["stages"].values() for out in stage.get("outs", [])]
    for pointer in git(clone, "ls-files", "*.dvc").split():
        outs += [{**out, "path": str(Path(pointer).parent / out["path"])}
                 for out in yaml.safe_load((clone / pointer).read_text())["outs"]]  # fmt: skip
    for out in outs:
        path = clone / out["path"]
        assert path.exists(), f"{out['path']} was not pulled"
        tracked.append(out["path"] + ("/" if path.is_dir() else ""))
    return "\n".join(sorted(tracked))
