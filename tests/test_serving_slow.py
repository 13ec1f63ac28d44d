"""Slow tier: the serving path against real infrastructure.

An MLflow tracking server on a throwaway PostgreSQL cluster, set up as compose.yaml sets it up
(its basic-auth login, the credentials in the project's .env), receives the pipeline's run and
registered model; the API then serves the version the "champion" alias points to. schemathesis
fuzzes the API against its own OpenAPI schema.

Both tests share one project (mlflow_tracking=server, every other answer the default), set up
and trained once: `make setup` is most of the wall time. The server answer only changes
params.yaml `mlflow.tracking_uri`, which the API serving `models/model` does not read.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import pwd
import re
import secrets
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from conftest import as_new_user, bake_project, git
from helpers import BIN, background, free_port, run, tail, wait_for
from packaging.requirements import Requirement

pytestmark = pytest.mark.slow

MODEL = "my-ml-project"  # the registered model of a default bake
SPECIES = {"Adelie", "Chinstrap", "Gentoo"}
# Every schemathesis check that applies to a stateless API without authentication. Left out:
# use_after_free and ensure_resource_availability (stateful: the API creates no resources),
# ignored_auth and object_level_authorization (no security schemes, by design), and
# --max-response-time (latency is the serving benchmark's job; a loaded CI box would flake).
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
)


def http_json(
    url: str, log: Path, body: object = None, auth: tuple[str, str] | None = None
) -> dict:
    """GET (or POST body as JSON) and parse the answer; an error shows the server's log."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = "Basic " + base64.b64encode(":".join(auth).encode()).decode()
    request = urllib.request.Request(url, data, headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.load(answer)
    except urllib.error.HTTPError as error:
        pytest.fail(f"{url}: {error.code} {error.read()!r}\n{tail(log)}", pytrace=False)


# --- PostgreSQL ------------------------------------------------------------------------------


def postgres_bindir() -> Path:
    """Where initdb and pg_ctl are: pg_config's bindir, initdb on PATH, or the newest
    /usr/lib/postgresql/N/bin (Debian keeps them off PATH)."""
    candidates = []
    if shutil.which("pg_config"):
        done = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        candidates.append(Path(done.stdout.strip()))
    if shutil.which("initdb"):
        candidates.append(Path(shutil.which("initdb")).parent)
    versions = Path("/usr/lib/postgresql").glob("*/bin")
    candidates += sorted(versions, key=lambda p: int(re.sub(r"\D", "", p.parent.name) or 0))[::-1]
    for bindir in candidates:
        if all((bindir / tool).is_file() for tool in ("initdb", "pg_ctl", "psql")):
            return bindir
    pytest.fail("PostgreSQL (initdb, pg_ctl) not found: apt-get install postgresql", pytrace=False)


def as_postgres_user() -> list[str]:
    """PostgreSQL refuses to run as root (CI runs as root): then run it as `postgres`."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail(
            "no `postgres` user to run PostgreSQL as root: apt-get install postgresql",
            pytrace=False,
        )
    return ["runuser", "-u", "postgres", "--"]


@dataclass
class Postgres:
    bindir: Path
    port: int
    password: str  # of the role `mlflow`, owner of the database `mlflow`

    def query(self, sql: str) -> list[list[str]]:
        """Rows straight from the database: psql as `mlflow` over TCP, as the server connects."""
        psql = [str(self.bindir / "psql"), "-X", "-q", "-A", "-t", "-F", "\t"]
        psql += ["-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port)]
        done = run(
            [*psql, "-U", "mlflow", "-d", "mlflow", "-c", sql], Path("/"), PGPASSWORD=self.password
        )
        return [line.split("\t") for line in done.stdout.splitlines()]


@contextlib.contextmanager
def postgres_cluster() -> Iterator[Postgres]:
    """A throwaway cluster on a free loopback port; stopped and deleted even on failure."""
    bindir, user = postgres_bindir(), as_postgres_user()
    # Not under pytest's tmp dirs: they are private to the user running the tests.
    base = Path(tempfile.mkdtemp(prefix="mlflow-pg-"))
    if user:
        shutil.chown(base, "postgres", "postgres")
    data, log = base / "data", base / "postgres.log"
    postgres = Postgres(bindir, free_port(), secrets.token_hex(12))

    def server_side(tool: str, *args: str) -> None:
        done = subprocess.run(
            [*user, str(bindir / tool), *args], cwd=base, capture_output=True, text=True
        )
        assert done.returncode == 0, f"{tool} {args}:\n{done.stdout}{done.stderr}{tail(log)}"

    try:
        # Local socket: trust, in a directory only postgres can enter; TCP: a password.
        initdb = ["-D", str(data), "-U", "postgres", "-E", "UTF8", "--no-sync"]
        server_side("initdb", *initdb, "--auth-local=trust", "--auth-host=scram-sha-256")
        options = f"-c listen_addresses=127.0.0.1 -p {postgres.port} -k {base}"
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"  # scratch
        server_side("pg_ctl", "-D", str(data), "-l", str(log), "-o", options, "-w", "start")
        psql = ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(base), "-p", str(postgres.port)]
        psql += ["-U", "postgres", "-d", "postgres"]
        psql += ["-c", f"CREATE ROLE mlflow LOGIN PASSWORD '{postgres.password}'"]
        server_side("psql", *psql, "-c", "CREATE DATABASE mlflow OWNER mlflow")
        yield postgres
    finally:
        if (data / "postmaster.pid").exists():
            for mode in ("fast", "immediate"):
                stop = [*user, str(bindir / "pg_ctl"), "-D", str(data), "-m", mode, "-w", "stop"]
                if subprocess.run(stop, cwd=base, capture_output=True).returncode == 0:
                    break
        shutil.rmtree(base, ignore_errors=True)


# --- MLflow server ---------------------------------------------------------------------------


@dataclass
class ComposeMlflow:
    """compose.yaml's mlflow service: what it installs, its store's URI scheme, its command's
    options and environment (compose's ${...} not yet resolved), and its bind mounts."""

    requirements: list[Requirement]
    scheme: str
    options: list[str]
    environment: dict[str, str]
    mounts: dict[str, Path]  # path in the container -> the project file mounted there


def compose_mlflow(project: Path) -> ComposeMlflow:
    service = yaml.safe_load((project / "compose.yaml").read_text())["services"]["mlflow"]
    installed = re.findall(r'"([^"]+)"', service["build"]["dockerfile_inline"])
    command = service["command"]
    uri = command[command.index("--backend-store-uri") + 1]
    mounts = {}
    for volume in service["volumes"]:
        source, target, *_ = volume.split(":")
        if source.startswith("./"):
            mounts[target] = project / source
    return ComposeMlflow(
        [Requirement(spec) for spec in installed],
        uri.split("://")[0],
        # The server's app (basic-auth: a login on every request but /health).
        command[command.index("--app-name") : command.index("--app-name") + 2],
        service.get("environment", {}),
        mounts,
    )


def interpolate(value: str, variables: dict[str, str]) -> str:
    """compose's ${NAME}, ${NAME:-default} and ${NAME:?error}, from `variables` (the .env)."""

    def resolve(match: re.Match) -> str:
        name, operator, word = match.groups()
        if variables.get(name):
            return variables[name]
        assert operator != "?", f"compose would refuse to start: {word}"
        return word or ""

    return re.sub(r"\$\{(\w+)(?::([?-])([^}]*))?\}", resolve, value)


def dotenv(project: Path) -> dict[str, str]:
    lines = (project / ".env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


@contextlib.contextmanager
def mlflow_server(project: Path, postgres: Postgres, port: int, scratch: Path) -> Iterator[Path]:
    """`mlflow server` on the cluster with proxied artifacts and the login of compose.yaml's
    service (its basic-auth app, environment from the project's .env, its auth config with the
    users' database moved to scratch); yields the artifact directory.

    It runs the project's own interpreter: server and client are the same MLflow, which must be
    in the range compose.yaml installs. The stack's database driver and the auth app's extra go
    into a directory of their own on PYTHONPATH, so the project's .venv stays as `make setup`
    left it.
    """
    python = project / ".venv" / "bin" / "python"
    compose = compose_mlflow(project)
    mlflow_spec = next(r for r in compose.requirements if r.name == "mlflow")
    probe = "from importlib.metadata import version; print(version('mlflow'))"
    client_version = run([str(python), "-c", probe], project).stdout.strip()
    assert mlflow_spec.specifier.contains(client_version), f"{client_version} not in {mlflow_spec}"
    # The extras compose installs with mlflow (the auth app's Flask-WTF), from its metadata.
    probe = "from importlib.metadata import requires; print('\\n'.join(requires('mlflow')))"
    extras = [
        Requirement(line)
        for line in run([str(python), "-c", probe], project).stdout.splitlines()
        if line.strip()
    ]
    extra_deps = [
        f"{r.name}{r.specifier}"
        for r in extras
        if r.marker and any(r.marker.evaluate({"extra": e}) for e in mlflow_spec.extras)
    ]
    assert extra_deps or not mlflow_spec.extras, mlflow_spec
    drivers = scratch / "drivers"
    install = ["uv", "pip", "install", "-q", "--python", str(python), "--target", str(drivers)]
    others = [str(r) for r in compose.requirements if r.name != "mlflow"]
    run([*install, *others, *extra_deps], scratch)
    env = {
        name: interpolate(str(value), dotenv(project))
        for name, value in compose.environment.items()
    }
    for variable, value in env.items():  # a file mounted into the container: the project's own
        if value in compose.mounts:
            config = compose.mounts[value].read_text()
            config = re.sub(
                r"(?m)^database_uri = .*$", f"database_uri = sqlite:///{scratch}/auth.db", config
            )
            (scratch / "basic_auth.ini").write_text(config)
            env[variable] = str(scratch / "basic_auth.ini")
    artifacts, log = scratch / "artifacts", scratch / "mlflow-server.log"
    store = f"{compose.scheme}://mlflow:{postgres.password}@127.0.0.1:{postgres.port}/mlflow"
    command = [str(python), "-m", "mlflow", "server", "--backend-store-uri", store]
    command += ["--artifacts-destination", str(artifacts), "--serve-artifacts"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1", *compose.options]
    # No job runner: five idle huey consumers (GenAI jobs) would cost a core and 1 GB here.
    env |= {"PYTHONPATH": str(drivers), "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    with background(command, scratch, log, **env) as server:
        wait_for(f"http://127.0.0.1:{port}/health", server, log)
        try:
            yield artifacts
        except AssertionError as error:  # e.g. `make repro` failed: the server may say why
            raise AssertionError(f"{error}\nMLflow server log:\n{tail(log)}") from None


# --- the shared project ----------------------------------------------------------------------


@dataclass
class Trained:
    project: Path
    mlflow_url: str
    postgres: Postgres
    artifacts: Path
    login: tuple[str, str]  # the MLflow admin of the project's .env


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Iterator[Trained]:
    """A project baked with mlflow_tracking=server, set up, then trained by `make repro`
    against an MLflow server on PostgreSQL. It is built before conftest's per-test home exists,
    so it gets one of its own the same way (package caches kept, a git identity); uv on PATH."""
    scratch = tmp_path_factory.mktemp("serving-slow")
    (scratch / "home").mkdir()
    with pytest.MonkeyPatch.context() as patch, contextlib.ExitStack() as stack:
        as_new_user(patch, scratch / "home")
        patch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ['PATH']}")
        for name in ("MLFLOW_TRACKING_URI", "MODEL_SOURCE", "MODEL_ALIAS"):
            patch.delenv(name, raising=False)
        postgres = stack.enter_context(postgres_cluster())
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        answers = {"mlflow_tracking": "server", "mlflow_server_url": url}
        project = bake_project(scratch / "bake", **answers)
        # The stack's credentials, as the README says: in .env (git-ignored), which make exports.
        login = ("team-admin", secrets.token_urlsafe(16))
        (project / ".env").write_text(
            f"MLFLOW_TRACKING_USERNAME={login[0]}\nMLFLOW_TRACKING_PASSWORD={login[1]}\n"
            f"MLFLOW_FLASK_SERVER_SECRET_KEY={secrets.token_hex(24)}\n"
        )
        assert git(project, "check-ignore", ".env").strip() == ".env"
        run(["make", "setup"], project)
        artifacts = stack.enter_context(mlflow_server(project, postgres, port, scratch))
        run(["make", "repro"], project)
        yield Trained(project, url, postgres, artifacts, login)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def example_records(project: Path) -> list[dict]:
    """The model's input example (rows of the training features), as /predict records."""
    example = json.loads((project / "models" / "model" / "input_example.json").read_text())
    return [dict(zip(example["columns"], row, strict=True)) for row in example["data"]]


def test_mlflow_server_on_postgresql_tracks_registers_and_serves_the_champion(trained, tmp_path):
    """compose.yaml's team setup for real, minus Docker: runs, metrics, versions and the alias
    live in PostgreSQL, artifacts on the server, and the API serves what the alias points to."""
    project, postgres = trained.project, trained.postgres
    server_log = trained.artifacts.parent / "mlflow-server.log"
    trained_run = json.loads((project / "models" / "mlflow_run.json").read_text())
    run_id = trained_run["run_id"]
    assert not (project / "mlflow.db").exists() and not (project / "mlruns").exists()

    # The server's REST API: the run with its metrics and lineage, the version, the alias.
    rest = f"{trained.mlflow_url}/api/2.0/mlflow"
    login = trained.login
    found = http_json(f"{rest}/runs/get?run_id={run_id}", server_log, auth=login)["run"]
    assert found["info"]["status"] == "FINISHED"
    metrics = {metric["key"]: metric["value"] for metric in found["data"]["metrics"]}
    assert {"accuracy", "f1_macro", "roc_auc", "val_accuracy"} <= set(metrics)
    assert 0.9 <= metrics["accuracy"] <= 1.0
    tags = {tag["key"]: tag["value"] for tag in found["data"]["tags"]}
    assert tags["git_commit"] == git(project, "rev-parse", "HEAD").strip()
    query = urllib.parse.urlencode({"name": MODEL, "alias": "champion"})
    champion = http_json(f"{rest}/registered-models/alias?{query}", server_log, auth=login)
    champion = champion["model_version"]
    assert champion["version"] == trained_run["registered_version"] == "1"
    assert champion["run_id"] == run_id and champion["status"] == "READY"

    # The same rows, read from PostgreSQL itself: it is the backend store.
    assert postgres.query("SELECT name FROM registered_models") == [[MODEL]]
    assert postgres.query("SELECT name, version, run_id, status FROM model_versions") == [
        [MODEL, "1", run_id, "READY"]
    ]
    assert postgres.query("SELECT name, alias, version FROM registered_model_aliases") == [
        [MODEL, "champion", "1"]
    ]
    assert postgres.query(f"SELECT status FROM runs WHERE run_uuid = '{run_id}'") == [["FINISHED"]]
    stored = postgres.query(f"SELECT key FROM latest_metrics WHERE run_uuid = '{run_id}'")
    assert {key for (key,) in stored} == set(metrics)
    # The model's files went to the server's artifact destination: what the pipeline copied to
    # models/model is byte for byte what the registry holds.
    pickles = list(trained.artifacts.rglob("model.pkl"))
    assert len(pickles) == 1, pickles
    assert sha256(pickles[0]) == sha256(project / "models" / "model" / "model.pkl")

    # The login: nothing without a user but /health; a wrong password is named in seconds.
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{rest}/experiments/search?max_results=1", timeout=10)
    assert refused.value.code == 401
    with urllib.request.urlopen(f"{trained.mlflow_url}/health", timeout=10) as health:
        assert health.status == 200
    start = time.monotonic()
    wrong = subprocess.run(
        ["make", "runs", "MLFLOW_TRACKING_PASSWORD=not-the-password"],  # pragma: allowlist secret
        cwd=project,
        capture_output=True,
        text=True,
    )
    elapsed = time.monotonic() - start
    assert wrong.returncode != 0 and elapsed < 30, (elapsed, wrong.stderr)
    assert wrong.stderr.splitlines()[0] == (
        f"MLflow tracking server {trained.mlflow_url} refused the credentials (HTTP 401): set "
        "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (or MLFLOW_TRACKING_TOKEN) in "
        ".env, or leave MLFLOW_TRACKING_URI and mlflow.tracking_uri empty to use the embedded store"
    ), wrong.stderr
    assert "not-the-password" not in wrong.stdout + wrong.stderr

    # The API serves the champion from the registry, configured as compose.yaml configures it.
    port, log = free_port(), tmp_path / "serve.log"
    env = {"MODEL_SOURCE": "registry", "MODEL_ALIAS": "champion"}
    env["MLFLOW_TRACKING_URI"] = trained.mlflow_url
    with background(["make", "serve", f"PORT={port}"], project, log, **env) as api:
        base = f"http://127.0.0.1:{port}"
        ready = json.loads(wait_for(f"{base}/ready", api, log))
        served = {"name": MODEL, "version": champion["version"], "source": "registry"}
        assert ready["status"] == "ready" and ready["model"] == served, ready
        records = example_records(project)
        answer = http_json(f"{base}/predict", log, {"records": records})
        assert answer["model"] == {**served, "role": "champion"}  # no challenger configured
        assert len(answer["predictions"]) == len(records)
        assert set(answer["predictions"]) <= SPECIES
        for row in answer["probabilities"]:
            assert set(row) == SPECIES and sum(row.values()) == pytest.approx(1, abs=1e-4)
        with urllib.request.urlopen(f"{base}/metrics", timeout=10) as exported:
            lines = exported.read().decode().splitlines()
        info = [line for line in lines if line.startswith("model_info{")]
        assert len(info) == 1 and info[0].endswith("} 1.0"), info
        assert dict(re.findall(r'(\w+)="([^"]*)"', info[0])) == served


def test_api_conforms_to_its_openapi_schema(trained, tmp_path):
    """schemathesis on every operation of /openapi.json: no 5xx, documented status codes,
    content types and headers, responses valid against the schema, schema-violating requests
    refused and valid ones accepted."""
    st = BIN / "st"
    if not st.exists():
        pytest.fail(
            "schemathesis not installed: pip install -r requirements-dev.txt", pytrace=False
        )
    port, log, report = free_port(), tmp_path / "serve.log", tmp_path / "schemathesis.json"
    with background(["make", "serve", f"PORT={port}"], trained.project, log) as api:
        base = f"http://127.0.0.1:{port}"
        ready = json.loads(wait_for(f"{base}/ready", api, log))
        assert ready["model"]["source"] == "local", ready  # models/model from `make repro`
        command = [str(st), "run", f"{base}/openapi.json", "--checks", ",".join(CHECKS)]
        # Bounded and reproducible: coverage is deterministic, fuzzing seeded.
        command += ["--phases", "examples,coverage,fuzzing", "--max-examples", "200"]
        command += ["--seed", "20240601", "--workers", "2", "--generation-database", "none"]
        command += ["--continue-on-failure", "--no-color"]  # a failing run lists every failure
        command += ["--report", "json", "--report-json-path", str(report)]
        done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    details = f"{done.stdout[-8000:]}{done.stderr[-2000:]}\nAPI log:\n{tail(log, 2000)}"
    assert report.exists(), details
    result = json.loads(report.read_text())
    assert result["complete"] and result["errors"] == [], details
    assert result["operations"]["tested"] == 5, details  # /health /ready /metrics /predict /explain
    assert result["test_cases"]["generated"] >= 50, details
    assert result["failures"] == [], details
    assert done.returncode == 0, details
