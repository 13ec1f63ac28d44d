"""Fast tier: the serving option's deployment files, checked statically with the real tools
(hadolint for the Dockerfile); each checker is also shown to fail on a broken file."""

from __future__ import annotations

import ast
import configparser
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import as_new_user, bake_project

BIN = Path(sys.executable).parent
# Both tasks and both monitoring values: what changes the deployment files.
VARIANTS = [
    {"task": "classification", "monitoring": "yes"},
    {"task": "regression", "monitoring": "no"},
]


@pytest.fixture(scope="module")
def projects(tmp_path_factory) -> list[tuple[dict[str, str], Path]]:
    out = tmp_path_factory.mktemp("serving-bakes")
    baked = []
    with pytest.MonkeyPatch.context() as patch:
        as_new_user(patch, tmp_path_factory.mktemp("serving-home"))
        for i, answers in enumerate(VARIANTS):
            project = bake_project(out, **answers, serving="yes", project_name=f"serve {i}")
            baked.append((answers, project))
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
    for _, project in projects:
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
        # The API's own dependencies come from pyproject.toml's group, listed nowhere else.
        assert "--group api" in text and '"fastapi' not in text and '"scipy' not in text
        assert f"python -m {project.name.replace('-', '_')}.serving --host" in runtime


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


# PromQL words that are not metric names; series Prometheus itself records about a scrape.
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and"}
PROMQL_WORDS |= {"or", "unless", "offset", "le", "inf", "nan"}
PROMETHEUS_SERIES = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}


def promql_metrics(expr: str) -> set[str]:
    """Metric names an expression reads: identifiers that are not functions (followed by
    `(`), label matchers, grouping labels, strings or durations."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", expr)  # grouping labels
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # range durations
    names = set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*(?!\s*\()\b(?!\s*\()", expr))
    return {name for name in names if name.lower() not in PROMQL_WORDS}


def exported_metrics(project: Path) -> set[str]:
    """Sample names the API exports, read from the metric objects its code creates."""
    package = project / "src" / project.name.replace("-", "_")
    suffixes = {"Counter": ["_total"], "Gauge": [""], "Histogram": ["_bucket", "_sum", "_count"]}
    names = set()
    for module in (
        "serving/telemetry.py",
        "monitoring/drift_window.py",
        "monitoring/stream_changes.py",
    ):
        if not (package / module).exists():
            continue
        for node in ast.walk(ast.parse((package / module).read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) in suffixes):
                continue
            first = node.args[0]
            if isinstance(first, ast.Constant):
                name = first.value
            else:  # drift_window.py: f"{prefix}_drift_share", prefix "model" (the API's default)
                assert isinstance(first, ast.JoinedStr), ast.dump(first)
                name = "model" + "".join(
                    part.value for part in first.values if isinstance(part, ast.Constant)
                )
            base = name.removesuffix("_total")
            names |= {base + suffix for suffix in suffixes[node.func.id]}
    return names


def dashboard_and_alert_queries(project: Path) -> list[str]:
    dashboard = json.loads(
        (project / "deploy/grafana/dashboards/api.json").read_text(encoding="utf-8")
    )
    queries = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    alerts = yaml.safe_load((project / "deploy/prometheus/alerts.yml").read_text("utf-8"))
    return queries + [rule["expr"] for group in alerts["groups"] for rule in group["rules"]]


def test_every_dashboard_and_alert_metric_is_exported_by_the_api(projects):
    for answers, project in projects:
        exported = exported_metrics(project)
        assert {"api_requests_total", "api_request_duration_seconds_bucket"} <= exported
        assert ("model_drift_share" in exported) == (answers["monitoring"] == "yes")
        used = set()
        for query in dashboard_and_alert_queries(project):
            names = promql_metrics(query)
            assert names, query
            used |= names
        assert used - PROMETHEUS_SERIES <= exported, used - PROMETHEUS_SERIES - exported
        # The panels the issue asks for are there.
        assert {"api_requests_total", "api_request_duration_seconds_bucket", "model_info"} <= used
        prediction = "model_predictions_total"
        if answers["task"] == "regression":
            prediction = "model_prediction_value_bucket"
        assert prediction in used
        assert ("model_drift_share" in used) == (answers["monitoring"] == "yes")


def test_promql_metric_extraction():
    expr = (
        "histogram_quantile(0.99, sum by (le) (rate(api_request_duration_seconds_bucket"
        '{endpoint="/predict",status=~"5.."}[5m]))) / ignoring(status) up{job="api"} > 0.1'
    )
    assert promql_metrics(expr) == {"api_request_duration_seconds_bucket", "up"}
    assert promql_metrics("max by (name, version) (model_info)") == {"model_info"}


def test_compose_services_ports_and_volumes(projects):
    for answers, project in projects:
        compose = yaml.safe_load((project / "compose.yaml").read_text(encoding="utf-8"))
        services = compose["services"]
        assert set(services) == {"api", "mlflow", "postgres", "prometheus", "grafana", "filebeat"}
        ports = {name: service.get("ports", []) for name, service in services.items()}
        assert ports == {
            "api": ["127.0.0.1:8000:8000"],
            "mlflow": ["127.0.0.1:5000:5000"],
            "postgres": [],
            "prometheus": ["127.0.0.1:9090:9090"],
            "grafana": ["127.0.0.1:3000:3000"],
            "filebeat": [],
        }
        assert set(compose["volumes"]) == {
            "postgres-data",
            "mlflow-artifacts",
            "mlflow-auth",
            "prometheus-data",
            "grafana-data",
        }
        named = {
            volume.split(":")[0]
            for service in services.values()
            for volume in service.get("volumes", [])
            if not volume.startswith((".", "/"))
        }
        assert named == set(compose["volumes"])  # every named volume declared and used
        for service in services.values():  # every bind mount exists in the project
            for volume in service.get("volumes", []):
                if volume.startswith("./") and "data/processed" not in volume:
                    assert (project / volume.split(":")[0]).exists(), volume
        api = services["api"]
        assert api["build"] == "." and api["environment"]["MLFLOW_TRACKING_URI"] == (
            "http://mlflow:5000"
        )
        assert any(v.startswith("./data/processed") for v in api.get("volumes", [])) == (
            answers["monitoring"] == "yes"
        )
        mlflow = " ".join(services["mlflow"]["command"])
        assert (
            "--backend-store-uri postgresql+psycopg2://mlflow:" in mlflow
            and "@postgres:5432/" in mlflow
        )
        assert "--artifacts-destination /mlartifacts" in mlflow
        assert "mlflow-artifacts:/mlartifacts" in services["mlflow"]["volumes"]
        assert services["mlflow"]["depends_on"]["postgres"]["condition"] == "service_healthy"
        # The server wants a login; its admin comes from .env, and compose refuses to start
        # without it. Its users live on their own volume, as its auth config says.
        assert "--app-name basic-auth" in mlflow
        environment = services["mlflow"]["environment"]
        for name in ("MLFLOW_AUTH_ADMIN_USERNAME", "MLFLOW_AUTH_ADMIN_PASSWORD"):
            variable = name.replace("AUTH_ADMIN", "TRACKING")
            assert environment[name].startswith(f"${{{variable}:?"), environment
        assert environment["MLFLOW_FLASK_SERVER_SECRET_KEY"].startswith(
            "${MLFLOW_FLASK_SERVER_SECRET_KEY:?"
        )
        ini_mount = next(v for v in services["mlflow"]["volumes"] if "basic_auth.ini" in v)
        source, target = ini_mount.split(":")[:2]
        assert target == environment["MLFLOW_AUTH_CONFIG_PATH"]
        auth = configparser.ConfigParser()
        auth.read_string((project / source).read_text(encoding="utf-8"))
        assert auth["mlflow"]["database_uri"] == "sqlite:////mlauth/basic_auth.db"
        assert "admin_password" not in auth["mlflow"]  # never in a committed file
        assert "mlflow-auth:/mlauth" in services["mlflow"]["volumes"]
        assert "mlflow[auth]" in services["mlflow"]["build"]["dockerfile_inline"]
        assert api["environment"]["MLFLOW_TRACKING_PASSWORD"] == "${MLFLOW_TRACKING_PASSWORD:-}"
        # Prometheus scrapes the api service on its container port.
        scrape = yaml.safe_load((project / "deploy/prometheus/prometheus.yml").read_text("utf-8"))
        targets = scrape["scrape_configs"][0]["static_configs"][0]["targets"]
        assert targets == ["api:8000"]
        assert "./deploy/prometheus:/etc/prometheus:ro" in services["prometheus"]["volumes"]
        # Grafana: the datasource points at the prometheus service, the dashboard folder is
        # mounted where the provider reads it.
        grafana = project / "deploy/grafana/provisioning"
        source = yaml.safe_load((grafana / "datasources/prometheus.yml").read_text("utf-8"))
        assert source["datasources"][0]["url"] == "http://prometheus:9090"
        provider = yaml.safe_load((grafana / "dashboards/dashboards.yml").read_text("utf-8"))
        path = provider["providers"][0]["options"]["path"]
        assert f"./deploy/grafana/dashboards:{path}:ro" in services["grafana"]["volumes"]
        check_filebeat(project, services["filebeat"])


def check_filebeat(project: Path, service: dict) -> None:
    """The log shipper: only with its profile, its Elasticsearch from .env, the API's container
    logs decoded as the ECS JSON lines they are, nothing else shipped."""
    assert service["profiles"] == ["elk"]
    assert service["environment"]["ELASTICSEARCH_URL"].startswith("${ELASTICSEARCH_URL:-")
    mount = next(v for v in service["volumes"] if v.startswith("./deploy/filebeat/"))
    config = yaml.safe_load((project / mount.split(":")[0]).read_text(encoding="utf-8"))
    assert mount.split(":")[1] == "/usr/share/filebeat/filebeat.yml"
    assert config["output.elasticsearch"]["hosts"] == ["${ELASTICSEARCH_URL}"]
    (source,) = config["filebeat.inputs"]
    folder = source["paths"][0].split("*")[0].rstrip("/")
    assert any(v.startswith(folder + ":") for v in service["volumes"])
    ndjson = next(parser["ndjson"] for parser in source["parsers"] if "ndjson" in parser)
    assert ndjson["target"] == "" and ndjson["expand_keys"] is True
    dropped = next(p["drop_event"] for p in source["processors"] if "drop_event" in p)
    api_only = {"container.labels.com_docker_compose_service": "api"}
    assert dropped["when"]["not"]["equals"] == api_only
    assert "# ELASTICSEARCH_URL=" in (project / ".env.example").read_text(encoding="utf-8")
