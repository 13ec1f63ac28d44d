"""A challenger beside the champion: train registers it (mlflow.register_as), the API scores it
in shadow or answers a share of requests with it (serving.challenger), `make promote` moves the
champion alias to it, or refuses."""

from __future__ import annotations

import contextlib
import json

import mlflow
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from mlflow.exceptions import MlflowException
from prometheus_client.parser import text_string_to_metric_families

from {{ cookiecutter.module_name }}.config import load_params
from {{ cookiecutter.module_name }}.paths import TEST_DATA
from {{ cookiecutter.module_name }}.serving.app import create_app
from {{ cookiecutter.module_name }}.serving.promotion import compare_and_promote, parse_traffic
from {{ cookiecutter.module_name }}.tracking.training_run import register_version


@pytest.fixture
def registry(pipeline_run, monkeypatch):
    """The session's model registered again under the challenger alias, as a retrain with
    mlflow.register_as: challenger registers it; the champion alias is put back afterwards."""
    root, logged = pipeline_run["root"], pipeline_run["logged"]
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MODEL_ALIAS", raising=False)
    monkeypatch.setenv("MODEL_SOURCE", "registry")
    settings = load_params(root).mlflow
    client = mlflow.MlflowClient(settings.tracking_uri)
    name = settings.registered_model_name
    champion = str(client.get_model_version_by_alias(name, settings.model_alias).version)
    run = client.get_run(logged["run_id"])
    metric = logged.get("primary_metric") or "val_accuracy"
    mlflow.set_tracking_uri(settings.tracking_uri)
    try:
        as_challenger = settings.model_copy(update={"register_as": "challenger"})
        version, moved = register_version(
            as_challenger, logged["model_uri"], {}, metric, run.data.metrics
        )
        yield {
            "root": root,
            "client": client,
            "settings": settings,
            "champion": champion,
            "challenger": version,
            "moved": moved,
        }
    finally:
        client.set_registered_model_alias(name, settings.model_alias, champion)
        with contextlib.suppress(MlflowException):  # promoted: removed already
            client.delete_registered_model_alias(name, settings.challenger_alias)
        mlflow.set_tracking_uri(None)


def records(root, rows: int = 12) -> list[dict]:
    """Rows of the test split as JSON records (null for a missing value)."""
    schema = json.loads((root / "data/processed/schema.json").read_text(encoding="utf-8"))
    test = pd.read_parquet(root / TEST_DATA)[list(schema["features"])].head(rows)
    return json.loads(test.to_json(orient="records"))


def alias_version(client, name: str, alias: str) -> str:
    return str(client.get_model_version_by_alias(name, alias).version)


def samples(text: str, name: str) -> dict[tuple, float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def served_with(root, **serving: object) -> TestClient:
    params = load_params(root)
    params.serving = params.serving.model_copy(update=serving)
    return TestClient(create_app(root, params))


def test_register_as_challenger_moves_the_challenger_alias_not_the_champion(registry):
    client, settings = registry["client"], registry["settings"]
    name = settings.registered_model_name
    assert registry["moved"]
    assert alias_version(client, name, "challenger") == registry["challenger"]
    assert alias_version(client, name, settings.model_alias) == registry["champion"]


def test_shadow_answers_with_the_champion_and_counts_the_challengers_agreement(registry):
    root, rows = registry["root"], records(registry["root"])
    with served_with(root, challenger="shadow") as api:
        ready = api.get("/ready").json()
        assert ready["challenger"]["version"] == registry["challenger"]
        assert ready["challenger"]["mode"] == "shadow"
        for row in rows:
            answer = api.post("/predict", json={"records": [row]})
            assert answer.status_code == 200
            assert answer.json()["model"]["role"] == "champion"
            assert answer.headers["x-model-version"] == registry["champion"]
        api.app.state.challenger.flush()  # what the event loop does within milliseconds
        text = api.get("/metrics").text
    scored = samples(text, "model_scored_records_total")
    assert scored[(("role", "champion"), ("version", registry["champion"]))] == len(rows)
    assert scored[(("role", "challenger"), ("version", registry["challenger"]))] == len(rows)
    shadow = samples(text, "model_shadow_records_total")
    # the same model under another version: it agrees on every record
    assert shadow[(("outcome", "agree"),)] == len(rows)
    assert shadow[(("outcome", "disagree"),)] == 0
    timed = samples(text, "model_scoring_duration_seconds_count")
    assert timed[(("role", "challenger"),)] >= 1
    traffic = parse_traffic(text, registry["challenger"])
    assert (traffic.records, traffic.agreed, traffic.compared) == (len(rows), len(rows), len(rows))


def test_split_routes_a_share_sticky_per_routing_key(registry):
    root, row = registry["root"], records(registry["root"], 1)[0]
    with served_with(root, challenger="split", challenger_share=0.5) as api:
        answered = {}
        for key in range(40):
            versions = {
                api.post(
                    "/predict", json={"records": [row]}, headers={"X-Routing-Key": f"user-{key}"}
                ).json()["model"]["version"]
                for _ in range(3)
            }
            assert len(versions) == 1  # the same key, the same model
            answered[key] = versions.pop()
        text = api.get("/metrics").text
        operation = api.get("/openapi.json").json()["paths"]["/predict"]["post"]
    assert [parameter["name"] for parameter in operation["parameters"]] == ["X-Routing-Key"]
    assert "X-Model-Version" in operation["responses"]["200"]["headers"]
    counts = {version: list(answered.values()).count(version) for version in set(answered.values())}
    assert set(counts) == {registry["champion"], registry["challenger"]}
    assert 8 <= counts[registry["challenger"]] <= 32  # half of 40, give or take chance
    scored = samples(text, "model_scored_records_total")
    assert (
        scored[(("role", "challenger"), ("version", registry["challenger"]))]
        == 3 * counts[registry["challenger"]]
    )
    assert sum(scored.values()) == 120


def test_challenger_missing_leaves_the_champion_serving_and_ready_says_why(
    pipeline_run, monkeypatch
):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("MODEL_SOURCE", "registry")
    root = pipeline_run["root"]
    with served_with(root, challenger="shadow") as api:
        ready = api.get("/ready").json()
        answer = api.post("/predict", json={"records": records(root, 1)})
    assert ready["status"] == "ready"
    assert "challenger" in ready["challenger"]["problem"]
    assert answer.status_code == 200 and answer.json()["model"]["role"] == "champion"


def test_promote_refuses_too_little_traffic_then_moves_the_alias(registry, capsys):
    root, client, settings = registry["root"], registry["client"], registry["settings"]
    name, params = settings.registered_model_name, load_params(root)
    with served_with(root, challenger="shadow") as api:
        for row in records(root, 5):
            api.post("/predict", json={"records": [row]})
        api.app.state.challenger.flush()
        text = api.get("/metrics").text

    def traffic_of(version):
        return parse_traffic(text, version)

    with pytest.raises(SystemExit, match=r"scored 5 live records, fewer than .*\(1000\)"):
        compare_and_promote(root, params, traffic_of, 1000, None)
    assert alias_version(client, name, settings.model_alias) == registry["champion"]
    compare_and_promote(root, params, traffic_of, 5, None)
    shown = capsys.readouterr().out
    assert "live records the challenger scored: 5" in shown
    assert "agreement with the champion (shadow): 100.0%" in shown
    assert alias_version(client, name, settings.model_alias) == registry["challenger"]
    with pytest.raises(MlflowException):
        client.get_model_version_by_alias(name, settings.challenger_alias)


def test_promote_refuses_a_challenger_that_scores_worse_on_labelled_rows(registry, monkeypatch):
    """The challenger's version answers with the majority class (or the mean): worse than the
    champion on the test split, so the alias stays, whatever its traffic."""
    from sklearn.dummy import DummyClassifier, DummyRegressor

    from {{ cookiecutter.module_name }}.serving import promotion

    root, client, settings = registry["root"], registry["client"], registry["settings"]
    params, real_load = load_params(root), promotion.load_model

    def load_worse_challenger(root, params, source=None, threads=1, alias=""):
        model = real_load(root, params, source=source, threads=threads, alias=alias)
        if alias == params.mlflow.challenger_alias:
            test = pd.read_parquet(root / TEST_DATA)
            dummy = DummyClassifier() if model.classes else DummyRegressor()
            model.pipeline = dummy.fit(test[list(model.schema.features)], test[model.schema.target])
        return model

    monkeypatch.setattr(promotion, "load_model", load_worse_challenger)
    with pytest.raises(SystemExit, match=r"not promoted: the challenger's \S+ [\d.]+ is worse"):
        compare_and_promote(root, params, None, 0, None)
    name = settings.registered_model_name
    assert alias_version(client, name, settings.model_alias) == registry["champion"]
    assert alias_version(client, name, settings.challenger_alias) == registry["challenger"]
