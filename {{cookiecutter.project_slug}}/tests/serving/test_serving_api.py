"""The prediction API against the model the session's pipeline run trained."""

from __future__ import annotations

import json
import math
import re
import shutil
import socket
import time

import pandas as pd
import pytest
import yaml
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from {{ cookiecutter.module_name }} import has_capability
from {{ cookiecutter.module_name }}.config import Params, load_params
from {{ cookiecutter.module_name }}.dataset.schema import DATETIME, NUMERIC, Schema
from {{ cookiecutter.module_name }}.modeling.model import load_pipeline
from {{ cookiecutter.module_name }}.paths import MODEL_DIR, RUN_FILE, TEST_DATA
from {{ cookiecutter.module_name }}.serving.app import create_app
from {{ cookiecutter.module_name }}.serving.routes import MODEL_ROUTES

from conftest import PROJECT_ROOT


def params_of(root, **serving: object) -> Params:
    """The project's params with some serving settings changed."""
    params = load_params(root)
    params.serving = params.serving.model_copy(update=serving)
    return params


@pytest.fixture(scope="module")
def client(pipeline_run):
    root = pipeline_run["root"]
    with TestClient(create_app(root, params_of(root, max_batch_rows=50))) as client:
        yield client


@pytest.fixture(scope="module")
def rows(pipeline_run) -> list[dict]:
    root = pipeline_run["root"]
    schema = Schema.load(root / "data/processed/schema.json")
    test = pd.read_parquet(root / TEST_DATA)[list(schema.features)].head(20)
    # JSON has no NaN: a missing value is null.
    return json.loads(test.to_json(orient="records"))


def test_health_ready_and_docs(client, pipeline_run):
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready").json()
    logged = pipeline_run["logged"]
    assert ready["model"] == {
        "name": logged["registered_model"],
        "version": logged["registered_version"],
        "source": "local",
    }
    openapi = client.get("/openapi.json").json()
    body = openapi["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
    record = body["schema"]["properties"]["records"]["items"]
    schema = Schema.load(pipeline_run["root"] / "data/processed/schema.json")
    assert set(record["required"]) == set(schema.features)
    # Every raw column is a property: the target and dropped columns are accepted, ignored.
    assert set(record["properties"]) == {*schema.features, *schema.dropped, schema.target}
    assert record["additionalProperties"] is False
    assert "securitySchemes" not in openapi.get("components", {})  # no API_TOKEN: open
    assert client.get("/docs").status_code == 200


def test_batch_predictions_match_the_model(client, rows, pipeline_run):
    answer = client.post("/predict", json={"records": rows})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["model"]["version"] == pipeline_run["logged"]["registered_version"]
    model = load_pipeline(pipeline_run["root"] / MODEL_DIR)
    frame = pd.DataFrame(rows)
    expected = [str(value) for value in model.predict(frame)]
    if "probabilities" in body:
        assert body["predictions"] == expected
        for probabilities in body["probabilities"]:
            assert set(probabilities) == {str(label) for label in model.classes_}
            assert math.isclose(sum(probabilities.values()), 1, abs_tol=1e-4)
    else:
        # onnxruntime computes in float32: the verified tolerance, not float64 equality
        assert body["predictions"] == pytest.approx([float(v) for v in expected], rel=1e-4)


def test_onnxruntime_scores_once_the_export_verified(client, pipeline_run):
    check = json.loads((pipeline_run["root"] / MODEL_DIR / "onnx.json").read_text())
    assert check["verified"], check  # the default model and preprocessing convert
    assert client.get("/ready").json()["scorer"] == "onnxruntime"


def test_raw_rows_are_accepted_with_the_columns_the_model_ignores(client, pipeline_run):
    """The raw CSV's own rows, target included, missing values as null."""
    root = pipeline_run["root"]
    raw = pd.read_csv(root / load_params(root).data.raw_path).head(5)
    records = json.loads(raw.to_json(orient="records"))
    answer = client.post("/predict", json={"records": records})
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["predictions"]) == 5


def test_explain_names_what_moved_each_prediction(pipeline_run, rows):
    """Every feature's contribution, from the expected output to the prediction (SHAP: they
    add up); sorted by size; the same predictions as /predict."""
    root = pipeline_run["root"]
    params = load_params(root)
    params.explain.top_features = 100  # all of them, to check that they add up
    with TestClient(create_app(root, params)) as client:
        body = {"records": rows[:4]}
        answer = client.post("/explain", json=body)
        assert answer.status_code == 200, answer.text
        explained = answer.json()
        predicted = client.post("/predict", json=body).json()
    schema = Schema.load(root / "data/processed/schema.json")
    assert [item["prediction"] for item in explained["explanations"]] == predicted["predictions"]
    for position, item in enumerate(explained["explanations"]):
        contributions = item["contributions"]
        assert {c["feature"] for c in contributions} == set(schema.features)
        sizes = [abs(c["contribution"]) for c in contributions]
        assert sizes == sorted(sizes, reverse=True)
        total = item["base_value"] + sum(c["contribution"] for c in contributions)
        if explained["units"] == "probability":
            expected = predicted["probabilities"][position][item["prediction"]]
        elif explained["units"] == "target":
            expected = predicted["predictions"][position]
        else:
            continue  # log-odds: not a quantity /predict answers
        assert total == pytest.approx(expected, abs=1e-3)


def test_explain_returns_the_top_features_only(client, rows):
    answer = client.post("/explain", json={"records": rows[:2]})
    assert answer.status_code == 200, answer.text
    top = load_params(client.app.state.root).explain.top_features
    for item in answer.json()["explanations"]:
        assert len(item["contributions"]) == min(top, len(client.app.state.served.schema.features))
    bad = client.post("/explain", json={"records": [{**rows[0], "unexpected": 1}]})
    assert bad.status_code == 422


def bad_requests(rows: list[dict]) -> dict[str, tuple[object, str]]:
    """Each bad body, with the field its error must name."""
    first = rows[0]
    column = next(iter(first))
    numeric = next((name for name, value in first.items() if isinstance(value, float)), None)
    cases = {
        "missing field": ({"records": [{k: v for k, v in first.items() if k != column}]}, column),
        "extra field": ({"records": [{**first, "unexpected": 1}]}, "unexpected"),
        "empty batch": ({"records": []}, "records"),
        "oversized batch": ({"records": [first] * 51}, "records"),
        "not a list": ({"records": first}, "records"),
        "no records key": ({"rows": [first]}, "records"),
    }
    if numeric:
        cases["wrong type"] = ({"records": [{**first, numeric: "not a number"}]}, numeric)
        # Validation is strict: no guessing a number from text (in a column of numbers), or
        # from true/false.
        cases["number as text"] = ({"records": [{**first, numeric: "1.5"}]}, numeric)
        cases["boolean for a number"] = ({"records": [{**first, numeric: True}]}, numeric)
    return cases


def test_bad_input_gets_field_level_422s(client, rows):
    for case, (body, name) in bad_requests(rows).items():
        answer = client.post("/predict", json=body)
        assert answer.status_code == 422, (case, answer.text)
        locations = [error["loc"] for error in answer.json()["detail"]]
        assert any(name in location for location in locations), (case, locations)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused(client, rows, literal):
    numeric = next((name for name, value in rows[0].items() if isinstance(value, float)), None)
    if numeric is None:
        pytest.skip("no numeric feature")
    text = json.dumps({"records": [{**rows[0], numeric: 0.5}]}).replace("0.5", literal, 1)
    answer = client.post("/predict", content=text, headers={"content-type": "application/json"})
    assert answer.status_code == 422, answer.text
    assert any(numeric in error["loc"] for error in answer.json()["detail"])


@pytest.fixture(scope="module")
def customers_client(tmp_path_factory):
    """The API of a model trained on a table with ID columns (a number and a name)."""
    from {{ cookiecutter.module_name }}.pipeline import prepare, train

    from conftest import scaffold
    from synthetic import customers

    data = {"raw_path": "data/raw/customers.csv", "target": "churned", "task": "classification"}
    root = scaffold(tmp_path_factory.mktemp("customers"), customers(), data=data)
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        prepare.run(root)
        train.run(root)
    with TestClient(create_app(root, load_params(root))) as client:
        yield client


@pytest.mark.parametrize("path", ["/predict", "/explain"])
def test_missing_ids_are_echoed_as_null_and_nan_ids_refused(customers_client, path):
    from synthetic import AWKWARD_TEXT, customers

    records = json.loads(customers(3, seed=5).to_json(orient="records"))
    records[0]["customer_id"] = None  # an ID the record lacks: null back, the record scored
    records[1]["name"] = None
    records[2]["name"] = AWKWARD_TEXT[0]
    answer = customers_client.post(path, json={"records": records})
    assert answer.status_code == 200, answer.text
    ids = answer.json()["ids"]
    assert ids[0]["customer_id"] is None and ids[1]["name"] is None
    assert ids[2] == {"customer_id": records[2]["customer_id"], "name": AWKWARD_TEXT[0]}
    assert isinstance(ids[1]["customer_id"], int)  # not 1003.0 for a column with a null
    for literal in ("NaN", "Infinity"):
        text = json.dumps({"records": [{**records[1], "customer_id": 0.5}]})
        text = text.replace("0.5", literal, 1)
        refused = customers_client.post(
            path, content=text, headers={"content-type": "application/json"}
        )
        assert refused.status_code == 422, refused.text
        assert ["body", "records", 0, "customer_id"] in [e["loc"] for e in refused.json()["detail"]]


def test_free_text_is_scored_and_explained_word_by_word(tmp_path_factory):
    """A model of one text column: /predict takes raw text (line breaks, empty, null), /explain
    names the record's words that moved its prediction, the docs call the field free text."""
    from {{ cookiecutter.module_name }}.pipeline import prepare, train

    from conftest import project_params, scaffold
    from synthetic import review_frame

    task = project_params()["data"]["task"]
    data = {"raw_path": "data/raw/reviews.csv", "target": "label", "task": task}
    frame = review_frame(task)[["review", "label"]]
    root = scaffold(tmp_path_factory.mktemp("reviews"), frame, data=data)
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        prepare.run(root)
        train.run(root)
    records = [{"review": "Arrived broken,\nawful. Refund!"}, {"review": ""}, {"review": None}]
    with TestClient(create_app(root, load_params(root))) as client:
        assert client.post("/predict", json={"records": records}).status_code == 200
        answer = client.post("/explain", json={"records": records[:1]})
        assert answer.status_code == 200, answer.text
        (contribution,) = answer.json()["explanations"][0]["contributions"]
        assert contribution["feature"] == "review"
        words = [item["ngram"] for item in contribution["words"]]
        assert words and {"broken", "awful", "refund"} & set(words)
        assert set(words) <= {"arrived", "broken", "awful", "refund", "arrived broken"} | {
            "broken awful",
            "awful refund",
        }
        document = json.dumps(client.get("/openapi.json").json())
        assert '"description": "free text"' in document


def test_invalid_json_is_a_422(client):
    answer = client.post("/predict", content="{", headers={"content-type": "application/json"})
    assert answer.status_code == 422


@pytest.mark.parametrize("path", ["/predict", "/explain"])
@pytest.mark.parametrize("body", ["null", "[]", "3", '"records"'])
def test_a_body_that_is_not_an_object_is_a_422(client, path, body):
    answer = client.post(path, content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 422, answer.text
    assert [error["loc"] for error in answer.json()["detail"]] == [["body"]]


def test_numbers_may_be_written_as_integers_or_floats(client, rows):
    """Clients write 1990 or 1990.0 alike: both are the number a numeric feature takes."""
    numeric = client.app.state.served.schema.columns(NUMERIC)
    for name in numeric:
        value = next((row[name] for row in rows if row[name] is not None), 1)
        for written in (int(value), float(value)):
            answer = client.post("/predict", json={"records": [{**rows[0], name: written}]})
            assert answer.status_code == 200, answer.text


def test_every_route_is_counted_by_name_and_described_in_the_docs(client):
    served = {route.path for route in client.app.routes}
    assert set(MODEL_ROUTES) <= served
    client.get("/wp-login.php")  # a scanner's guess: counted as "other", not by its path
    text = client.get("/metrics").text
    assert 'api_requests_total{endpoint="other",method="GET",status="404"}' in text
    assert "wp-login" not in text
    docs = (PROJECT_ROOT / "docs" / "serving.md").read_text(encoding="utf-8")
    generated = {"/docs", "/docs/oauth2-redirect", "/openapi.json", "/redoc"}  # FastAPI's own
    assert not {path for path in served - generated if f"`{path}" not in docs}


def test_a_new_route_is_counted_under_its_path(pipeline_run, monkeypatch):
    """docs/customise.md, "Add an API route": a route added beside the others."""
    monkeypatch.setenv("API_TOKEN", "s3cret")
    app = create_app(pipeline_run["root"])

    @app.get("/version")
    async def version() -> dict[str, str]:
        return {"version": "1"}

    with TestClient(app) as client:
        assert client.get("/version").json() == {"version": "1"}  # not a model route: open
        assert client.post("/predict", json={"records": []}).status_code == 401
        text = client.get("/metrics").text
    assert 'api_requests_total{endpoint="/version",method="GET",status="200"} 1.0' in text


def test_missing_values_are_allowed(client, rows):
    answer = client.post("/predict", json={"records": [dict.fromkeys(rows[0])]})
    assert answer.status_code == 200, answer.text


def test_metrics_count_requests_predictions_and_the_model(client, rows, pipeline_run):
    client.post("/predict", json={"records": rows[:3]})
    client.post("/predict", json={"records": []})
    text = client.get("/metrics").text
    assert 'api_requests_total{endpoint="/predict",method="POST",status="200"}' in text
    assert 'api_requests_total{endpoint="/predict",method="POST",status="422"}' in text
    assert 'api_request_duration_seconds_bucket{endpoint="/predict",le="0.01",status="200"}' in text
    version = pipeline_run["logged"]["registered_version"]
    assert f'version="{version}"' in text and "model_info{" in text
    assert "model_predictions_total{" in text or "model_prediction_value_count" in text
    assert "model_ready 1.0" in text


def test_registry_source_loads_the_promoted_version(pipeline_run, monkeypatch):
    root, logged = pipeline_run["root"], pipeline_run["logged"]
    assert logged["promoted"]  # the first version gets the alias
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MODEL_ALIAS", raising=False)
    monkeypatch.setenv("MODEL_SOURCE", "registry")  # as the image and Kubernetes set it
    with TestClient(create_app(root)) as client:
        ready = client.get("/ready").json()
    assert ready["model"]["source"] == "registry"
    assert ready["model"]["version"] == logged["registered_version"]


def test_without_a_model_ready_says_why_then_recovers_when_it_appears(tmp_path, pipeline_run, rows):
    source = pipeline_run["root"]
    (tmp_path / "params.yaml").write_text(
        (source / "params.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    params = params_of(tmp_path, reload_seconds=0.1)
    with TestClient(create_app(tmp_path, params)) as client:
        assert client.get("/health").status_code == 200
        answer = client.get("/ready")
        assert answer.status_code == 503 and "make repro" in answer.json()["reason"]
        assert client.post("/predict", json={"records": rows[:1]}).status_code == 503

        # `make repro` (or `dvc pull`) brings the model: the running API picks it up.
        shutil.copytree(source / MODEL_DIR, tmp_path / MODEL_DIR)
        shutil.copy(source / RUN_FILE, tmp_path / RUN_FILE)
        deadline = time.monotonic() + 30
        while client.get("/ready").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert client.get("/ready").json()["status"] == "ready"
        answer = client.post("/predict", json={"records": rows[:2]})
        assert answer.status_code == 200 and len(answer.json()["predictions"]) == 2
        assert "Record" in json.dumps(client.get("/openapi.json").json())  # the model's schema


def test_an_unreadable_model_keeps_the_process_up(tmp_path, pipeline_run):
    source = pipeline_run["root"]
    shutil.copytree(source / MODEL_DIR, tmp_path / MODEL_DIR)
    (tmp_path / MODEL_DIR / "model.pkl").write_bytes(b"not a pickle")
    (tmp_path / "params.yaml").write_text(
        (source / "params.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    with TestClient(create_app(tmp_path)) as client:
        assert client.get("/health").status_code == 200
        answer = client.get("/ready")
        assert answer.status_code == 503
        assert answer.json()["reason"].startswith("the model cannot be loaded: ")


def test_an_unreachable_registry_is_named_at_start(pipeline_run, monkeypatch):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", closed)
    monkeypatch.setenv("MODEL_SOURCE", "registry")
    start = time.monotonic()
    with TestClient(create_app(pipeline_run["root"])) as client:
        answer = client.get("/ready")
    assert time.monotonic() - start < 10
    assert answer.status_code == 503
    assert answer.json()["reason"].startswith(f"MLflow tracking server {closed} refused")


def test_an_oversized_body_is_refused_unread(pipeline_run, rows):
    root = pipeline_run["root"]
    with TestClient(create_app(root, params_of(root, max_request_bytes=2000))) as client:
        small = client.post("/predict", json={"records": rows[:2]})
        assert small.status_code == 200
        big = json.dumps({"records": rows * 50}).encode()
        assert len(big) > 2000
        answer = client.post("/predict", content=big, headers={"content-type": "application/json"})
        assert answer.status_code == 413 and "fewer records" in answer.json()["detail"]

        def streamed():  # no Content-Length: counted as it arrives
            for start in range(0, len(big), 500):
                yield big[start : start + 500]

        answer = client.post(
            "/predict", content=streamed(), headers={"content-type": "application/json"}
        )
        assert answer.status_code == 413
        metrics = client.get("/metrics").text
        assert 'api_requests_total{endpoint="/predict",method="POST",status="413"} 2.0' in metrics


def queried_metrics() -> set[str]:
    """Metric names the Grafana dashboard and the Prometheus alert rules query."""
    dashboard = json.loads((PROJECT_ROOT / "deploy/grafana/dashboards/api.json").read_text("utf-8"))
    alerts = yaml.safe_load((PROJECT_ROOT / "deploy/prometheus/alerts.yml").read_text("utf-8"))
    queries = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    queries += [rule["expr"] for group in alerts["groups"] for rule in group["rules"]]
    names = set()
    for query in queries:
        query = re.sub(r'"[^"]*"|\{[^}]*\}|\[[^\]]*\]', "", query)
        query = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", query)
        names |= set(re.findall(r"\b[a-z_:][a-z0-9_:]*\b(?!\s*\()", query))
    return names - {"by", "without", "on", "ignoring", "and", "or", "unless", "bool"}


def test_dashboard_and_alerts_query_only_exported_metrics(client, rows):
    client.post("/predict", json={"records": rows})
    text = client.get("/metrics").text
    families = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, flags=re.MULTILINE))
    suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"]}
    exported = {
        name.removesuffix("_total") + suffix
        for name, kind in families.items()
        for suffix in suffixes.get(kind, [""])
    }
    # `up` is recorded by Prometheus itself for every scrape.
    assert queried_metrics() - {"up"} <= exported, queried_metrics() - {"up"} - exported


def drift_gauges(client: TestClient) -> dict[str, dict[str, float]]:
    """The drift gauges of a /metrics scrape: family -> {feature (or ""): value}."""
    text = client.get("/metrics").text
    found: dict[str, dict[str, float]] = {}
    for family in text_string_to_metric_families(text):
        if family.name.startswith(("model_drift", "model_window")):
            for sample in family.samples:
                found.setdefault(family.name, {})[sample.labels.get("feature", "")] = sample.value
    return found


@pytest.mark.skipif(
    not has_capability("monitoring"), reason="drift gauges come with the monitoring capability"
)
def test_drift_gauges_follow_the_requests_at_each_scrape(pipeline_run):
    """Requests fill the window; a scrape recomputes the gauges, and a shifted feature shows."""
    root = pipeline_run["root"]
    schema = Schema.load(root / "data/processed/schema.json")
    test = pd.read_parquet(root / TEST_DATA)[list(schema.features)]
    records = json.loads(test.sample(60, replace=True, random_state=0).to_json(orient="records"))
    params = params_of(root, max_batch_rows=100)
    params.monitoring.serving_window = 60
    with TestClient(create_app(root, params)) as client:
        client.app.state.drift.min_interval = 0  # every scrape after new requests recomputes
        assert drift_gauges(client)["model_window_rows"] == {"": 0.0}
        assert client.post("/predict", json={"records": records}).status_code == 200
        gauges = drift_gauges(client)
        assert gauges["model_window_rows"] == {"": 60.0}
        tested = set(schema.features) - set(schema.columns(DATETIME))  # dates move by nature
        assert set(gauges["model_drift_effect"]) == tested
        assert gauges["model_drift_share"][""] < 0.5  # held-out rows are like the reference

        numeric = schema.columns(NUMERIC)[0]
        spread = float(test[numeric].std())
        shifted = [
            {**row, numeric: round(row[numeric] + 5 * spread)}  # round: the field may be an int
            for row in records
            if row[numeric] is not None
        ]
        assert client.post("/predict", json={"records": shifted}).status_code == 200
        gauges = drift_gauges(client)
        assert gauges["model_drift_detected"][numeric] == 1.0
        assert gauges["model_drift_share"][""] > 0


def test_serving_settings_typos_stop_with_one_line(make_project, monkeypatch):
    root = make_project(serving={"max_batch_row": 10})
    with pytest.raises(
        SystemExit, match=r"unknown key serving\.max_batch_row \(did you mean max_batch_rows\?\)"
    ):
        load_params(root)
    monkeypatch.setenv("MODEL_SOURCE", "regsitry")
    with pytest.raises(SystemExit, match=r"predict\.model_source: .*'regsitry'.*MODEL_SOURCE\)$"):
        load_params(make_project())


def test_a_token_guards_predictions_but_not_the_probes(pipeline_run, rows, monkeypatch, caplog):
    monkeypatch.setenv("API_TOKEN", "s3cret-token")
    caplog.set_level("INFO")
    with TestClient(create_app(pipeline_run["root"])) as client:
        body = {"records": rows[:1]}
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret-token"}):
            answer = client.post("/predict", json=body, headers=headers)
            assert answer.status_code == 401 and "Bearer" in answer.headers["www-authenticate"]
        good = {"Authorization": "Bearer s3cret-token"}
        assert client.post("/predict", json=body, headers=good).status_code == 200
        for probe in ("/health", "/ready", "/metrics"):
            assert client.get(probe).status_code == 200
        assert "s3cret-token" not in client.get("/metrics").text
        document = client.get("/openapi.json").json()
        assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
        for path in ("/predict", "/explain"):
            assert document["paths"][path]["post"]["security"] == [{"bearerAuth": []}]
        assert "security" not in document["paths"]["/health"]["get"]
    logged = [json.dumps(getattr(record, "fields", {})) for record in caplog.records]
    assert len(logged) > 5 and not any("s3cret" in line for line in [caplog.text, *logged])


def test_each_record_says_whether_it_is_an_outlier_and_the_rate_is_counted(client, rows):
    """A record far outside the training range is flagged (with the feature named); ordinary
    held-out records are not; /metrics counts the flagged ones."""
    schema = client.app.state.served.schema
    numeric = schema.columns(NUMERIC)[0]
    before = metric_value(client, "model_outlier_records_total")
    far = {**rows[0], numeric: 1e9}
    answer = client.post("/predict", json={"records": [*rows[:5], far]})
    assert answer.status_code == 200, answer.text
    flags = answer.json()["outliers"]
    assert [flag["outlier"] for flag in flags] == [False] * 5 + [True]
    assert flags[-1]["score"] >= 1 and flags[-1]["reason"].startswith(f"{numeric} ")
    assert all(flag["reason"] == "" for flag in flags[:5])
    assert metric_value(client, "model_outlier_records_total") == before + 1
    openapi = client.get("/openapi.json").json()["components"]["schemas"]
    assert set(openapi["OutlierFlag"]["properties"]) == {"outlier", "score", "reason"}


def metric_value(client: TestClient, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                return sample.value
    raise AssertionError(f"{name} {labels} not exported")


@pytest.mark.skipif(
    not has_capability("monitoring"), reason="change points come with the monitoring capability"
)
def test_adwin_counts_a_change_in_a_feature_of_the_stream(pipeline_run):
    """Held-out records, then the same records with a feature shifted by 2 sd: ADWIN finds the
    change in that feature's stream, not before it."""
    root = pipeline_run["root"]
    schema = Schema.load(root / "data/processed/schema.json")
    numeric = schema.columns(NUMERIC)[0]
    test = pd.read_parquet(root / TEST_DATA)[list(schema.features)].dropna(subset=[numeric])
    steady = test.sample(600, replace=True, random_state=0)
    shifted = steady.assign(**{numeric: steady[numeric] + 2 * float(test[numeric].std())})
    with TestClient(create_app(root, params_of(root, max_batch_rows=200))) as client:
        for chunk in range(0, 600, 200):
            records = json.loads(steady.iloc[chunk : chunk + 200].to_json(orient="records"))
            assert client.post("/predict", json={"records": records}).status_code == 200
        assert metric_value(client, "model_change_points_total", stream=numeric) == 0
        for chunk in range(0, 600, 200):
            records = json.loads(shifted.iloc[chunk : chunk + 200].to_json(orient="records"))
            assert client.post("/predict", json={"records": records}).status_code == 200
        assert metric_value(client, "model_change_points_total", stream=numeric) >= 1


def test_request_logs_are_ecs_json_lines(pipeline_run, rows, capsys):
    """configure_logging: one JSON line per request with the Elastic Common Schema's fields, a
    caller's W3C trace id kept; loggers outside the API keep their format."""
    import logging

    from {{ cookiecutter.module_name }}.serving.telemetry import configure_logging

    names = ("{{ cookiecutter.module_name }}", "uvicorn", "uvicorn.error")
    saved = {
        name: (logging.getLogger(name).handlers[:], logging.getLogger(name).propagate)
        for name in names
    }
    other = logging.getLogger("somebody.else")
    other_handlers, root_handlers = other.handlers[:], logging.getLogger().handlers[:]
    try:
        configure_logging("INFO")
        root = pipeline_run["root"]
        trace = "0af7" * 8  # a W3C trace id: 32 hex digits
        with TestClient(create_app(root, params_of(root))) as client:
            headers = {"traceparent": f"00-{trace}-{'b7' * 8}-01"}
            assert (
                client.post("/predict", json={"records": rows[:1]}, headers=headers).status_code
                == 200
            )
        lines = [
            json.loads(line)
            for line in capsys.readouterr().out.splitlines()
            if line.startswith("{")
        ]
        request = next(line for line in lines if line.get("message") == "request")
        assert request["log.level"] == "info" and request["@timestamp"].endswith("Z")
        assert request["http"] == {"request": {"method": "POST"}, "response": {"status_code": 200}}
        assert request["url"] == {"path": "/predict"} and request["trace"] == {"id": trace}
        assert request["event"]["duration"] > 0 and "ecs.version" in request
        assert other.handlers == other_handlers and logging.getLogger().handlers == root_handlers
    finally:
        for name, (handlers, propagate) in saved.items():
            logging.getLogger(name).handlers[:] = handlers
            logging.getLogger(name).propagate = propagate
