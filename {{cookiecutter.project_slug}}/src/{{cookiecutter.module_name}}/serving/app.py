"""The prediction API (FastAPI): `make serve`, or `python -m <package>.serving`.

    POST /predict   {"records": [{column: value, ...}, ...]} -> predictions (+ probabilities, IDs)
    POST /explain   the same body -> per record, the features that pushed the prediction most
    GET  /health    alive;  GET /ready  model loaded;  GET /metrics  Prometheus;  GET /docs

Which model is served is configuration (params.yaml `predict.model_source` and
`mlflow.model_alias`, or MODEL_SOURCE / MODEL_ALIAS / MLFLOW_TRACKING_URI): `local` serves
models/model from `make repro`, `registry` the registered version the alias points to (train
moves it). A record is a row of the raw data as it is (predict/records.py, shared with
`make predict`); bad input gets a 422 that names each bad field; requests are logged as JSON
lines.
"""

# No `from __future__ import annotations`: FastAPI must see the request model built at run time.
import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pandas as pd
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from .. import has_capability
from ..config import Params, load_params
from ..modeling.explain import Explainer, top_contributions
from ..paths import MODEL_BACKGROUND
from ..predict.model_source import PredictionModel, load_model
from ..predict.records import Checked, RecordSchema
from ..predict.scorer import score
from .auth import BearerToken, api_token, document_bearer
from .challenger import CHALLENGER, CHAMPION, Challenger, load_challenger
from .openapi import (
    MODEL_VERSION_HEADER,
    ROUTING_KEY_PARAMETER,
    FiniteJSONResponse,
    error_detail,
    explain_response_model,
    request_body,
    response_model,
)
from .routes import EXPLAIN, HEALTH, METRICS, MODEL_ROUTES, PREDICT, READY
from .settings import serving_settings
from .telemetry import ApiMetrics, BodyLimit, MetricsMiddleware

LOGGER = logging.getLogger(__name__)


def create_app(root: Path | str = ".", params: Params | None = None) -> FastAPI:
    """The API for the project at `root`. The model loads before the first request; without
    one (not trained yet, unreadable, registry unreachable) the process stays up, /ready says
    why with a 503, and loading is retried every serving.reload_seconds until it works."""
    root = Path(root).resolve()
    params = params or load_params(root)
    serving = serving_settings(params)
    metrics = ApiMetrics(CollectorRegistry())
    app = FastAPI(
        title=f"{params.mlflow.registered_model_name} prediction API",
        description="Predictions of the model trained by the project's DVC pipeline.",
        version="0.1.0",
        lifespan=reload_until_loaded,
    )
    # The last added runs first: every request is counted and logged, 401s and 413s included.
    app.add_middleware(BodyLimit, max_bytes=serving.max_request_bytes)
    if token := api_token():
        app.add_middleware(BearerToken, token=token)
        generated = app.openapi
        app.openapi = lambda: document_bearer(generated())  # type: ignore[method-assign]
    app.add_middleware(
        MetricsMiddleware,
        metrics=metrics,
        access_log=serving.access_log,
        paths=lambda: {route.path for route in app.routes},
    )
    state = app.state
    state.root, state.params, state.metrics = root, params, metrics
    state.served, state.problem, state.drift = None, "", None
    state.challenger, state.challenger_problem = None, ""

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        detail = [
            {
                "loc": list(found["loc"]),  # row numbers stay numbers, as FastAPI has them
                "msg": found["msg"],
                "type": found["type"],
            }
            for found in error.errors()
        ]
        return JSONResponse({"detail": detail}, status_code=422)

    add_probes(app)
    served = attempt_loading(app)
    if served is None:
        add_unavailable(app)
    else:
        install(app, served)
    return app


def attempt_loading(app: FastAPI) -> PredictionModel | None:
    """Load the configured model; on failure keep the reason for /ready (blocking: seconds)."""
    try:
        return load_model(app.state.root, app.state.params)
    except RuntimeError as error:  # missing, or the registry cannot be reached
        problem = str(error)
    except Exception as error:  # an unreadable model: the API must stay up all the same
        problem = f"the model cannot be loaded: {type(error).__name__}: {error}"
    problem = " ".join(problem.split())[:500]
    if problem != app.state.problem:
        LOGGER.error("model not loaded", extra={"fields": {"reason": problem}})
    app.state.problem = problem
    return None


def install(app: FastAPI, served: PredictionModel) -> None:
    """Serve `served`: the real /predict replaces the 503 one; the drift gauges start."""
    state = app.state
    app.router.routes = [r for r in app.router.routes if r.path not in MODEL_ROUTES]
    state.drift = drift_gauges(state.root, state.params, state.metrics.registry)
    changes = change_detectors(served, state.params, state.metrics.registry)
    records = RecordSchema(served.schema, state.params.data.decimal)
    settings = serving_settings(state.params)
    state.challenger = None
    challenger, state.challenger_problem = load_challenger(state.root, state.params, served)
    if challenger is not None:
        mode, share = settings.challenger, settings.challenger_share
        state.challenger = Challenger(served, challenger, mode, share, state.metrics)
        LOGGER.info("challenger loaded", extra={"fields": state.challenger.info})
    elif state.challenger_problem:
        LOGGER.warning(
            "no challenger: the champion serves alone",
            extra={"fields": {"reason": state.challenger_problem}},
        )
    add_predict(
        app,
        served,
        records,
        settings.max_batch_rows,
        state.metrics,
        state.drift,
        changes,
        state.challenger,
    )
    add_explain(app, served, records, settings.max_batch_rows, state.params.explain.top_features)
    app.openapi_schema = None  # the request schema is the model's
    state.served, state.problem = served, ""
    LOGGER.info("model loaded", extra={"fields": served.info})


@asynccontextmanager
async def reload_until_loaded(app: FastAPI) -> AsyncIterator[None]:
    """While no model is served, try again every serving.reload_seconds."""

    async def retry() -> None:
        while app.state.served is None:
            await asyncio.sleep(serving_settings(app.state.params).reload_seconds)
            served = await asyncio.to_thread(attempt_loading, app)
            if served is not None:
                install(app, served)

    task = asyncio.create_task(retry()) if app.state.served is None else None
    yield
    if task is not None:
        task.cancel()


def add_unavailable(app: FastAPI) -> None:
    for path in MODEL_ROUTES:

        @app.post(path, responses={503: {"description": "No model loaded"}})
        async def unavailable() -> JSONResponse:
            """No model is loaded: see /ready for why."""
            return JSONResponse({"detail": app.state.problem}, status_code=503)


def add_probes(app: FastAPI) -> None:
    """/health, /ready and /metrics, answered from the app's state (the model may come later)."""
    state = app.state

    @app.get(HEALTH, tags=["probes"])
    async def health() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get(READY, tags=["probes"], responses={503: {"description": "No model loaded"}})
    async def ready() -> JSONResponse:
        """Readiness: a model is loaded and can predict."""
        served = state.served
        if served is None:
            return JSONResponse({"status": "unavailable", "reason": state.problem}, 503)
        answer = {"status": "ready", "model": served.info, "scorer": served.scorer}
        if state.challenger is not None:
            answer["challenger"] = state.challenger.info
        elif state.challenger_problem:
            answer["challenger"] = {"problem": state.challenger_problem}
        return JSONResponse(answer)

    @app.get(METRICS, tags=["probes"], response_class=Response)
    async def prometheus() -> Response:
        """Prometheus metrics: requests, latency, predictions, model version (and drift)."""
        if state.drift is not None:
            await state.drift.refresh()
        return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)


def add_predict(
    app: FastAPI,
    served: PredictionModel,
    records_schema: RecordSchema,
    max_rows: int,
    metrics: ApiMetrics,
    window: Any,
    changes: Any,
    challenger: Challenger | None = None,
) -> None:
    """/predict, its request schema the served model's records (OpenAPI shows it). Each record
    is flagged an outlier or not; `window` (drift gauges) and `changes` (ADWIN change points)
    see every record, when the project has the monitoring capability. With a `challenger`, it
    answers some requests (split) or scores all of them after the champion (shadow)."""
    metrics.info.labels(served.name, served.version, served.source).set(1)
    metrics.ready.set(1)
    classes = [str(label) for label in served.classes]
    ids = records_schema.ids
    features = list(served.schema.features)

    @app.post(
        PREDICT,
        response_model=response_model(classes, ids, served.outliers is not None),
        openapi_extra={
            "requestBody": request_body(records_schema, max_rows),
            "parameters": [ROUTING_KEY_PARAMETER],
        },
        responses={
            200: {"headers": {"X-Model-Version": MODEL_VERSION_HEADER}},
            400: {"description": "The body is not UTF-8 text"},
            422: {"description": "Invalid records: one error per bad field"},
        },
    )
    async def predict(request: Request) -> JSONResponse:
        """Predict a batch of records: rows of the raw data (features by name, null = missing;
        other raw columns ignored, ID columns echoed back)."""
        checked = checked_body(await request.body(), records_schema, max_rows)
        if isinstance(checked, JSONResponse):
            return checked
        model, role = served, CHAMPION
        if challenger is not None and challenger.picks_challenger(request.scope["headers"]):
            model, role = challenger.challenger, CHALLENGER
        start = time.perf_counter()
        try:
            scores = score(model, checked)
        except (ValueError, TypeError) as error:
            detail = [{"loc": ["body", "records"], "msg": str(error), "type": "model_input"}]
            return JSONResponse({"detail": detail}, status_code=422)
        metrics.scoring.labels(role).observe(time.perf_counter() - start)
        metrics.scored.labels(role, model.version).inc(len(checked.rows))
        predictions = [str(p) for p in scores.predictions] if classes else scores.predictions
        info = {**model.info, "role": role}
        answer: dict[str, Any] = {"model": info, "predictions": list(predictions)}
        if classes:
            labels = classes if model is served else [str(label) for label in model.classes]
            answer["probabilities"] = [
                {label: round(float(p), 6) for label, p in zip(labels, row, strict=True)}
                for row in scores.probabilities
            ]
        if ids:
            answer["ids"] = checked.id_records()
        numbers = checked.numbers  # the numeric features as floats: outliers, change points
        if served.outliers is not None:
            found = served.outliers.score_values(numbers)
            answer["outliers"] = [
                {"outlier": bool(value >= 1.0), "score": round(float(value), 4), "reason": why}
                for value, why in zip(found.scores, found.reasons, strict=True)
            ]
            metrics.outliers.inc(int(found.flagged.sum()))
        metrics.observe_predictions(len(checked.rows), answer["predictions"], bool(classes))
        if window is not None:  # the checked values: a DataFrame's to_dict took 0.3 ms
            window.add([{name: row[name] for name in features} for row in checked.values])
        if changes is not None:
            top = scores.probabilities.max(axis=1) if classes else scores.predictions
            changes.add_values(numbers, top)
        if challenger is not None and role == CHAMPION:
            challenger.shadow(checked, scores.predictions)  # shadow mode: after the answer
        return FiniteJSONResponse(answer, headers={"x-model-version": model.version})


def add_explain(
    app: FastAPI, served: PredictionModel, records_schema: RecordSchema, max_rows: int, top: int
) -> None:
    """/explain: the same records as /predict; per record, the `top` features that moved the
    prediction most (SHAP, modeling/explain.py). The explainer is built in the background
    (SHAP takes seconds to import): the first call waits for it."""
    explainer = ThreadPoolExecutor(max_workers=1).submit(build_explainer, served)
    ids = records_schema.ids

    @app.post(
        EXPLAIN,
        openapi_extra={"requestBody": request_body(records_schema, max_rows)},
        response_model=explain_response_model(ids),
        responses={
            400: {"description": "The body is not UTF-8 text"},
            422: {"description": "Invalid records: one error per bad field"},
            503: {"description": "No explainer for this model"},
        },
    )
    async def explain(request: Request) -> JSONResponse:
        """Explain a batch of records: per record, the prediction, the expected output the
        contributions start from, and the features that contributed most (by size)."""
        checked = checked_body(await request.body(), records_schema, max_rows)
        if isinstance(checked, JSONResponse):
            return checked
        try:
            ready = await asyncio.wrap_future(explainer)
        except Exception as error:  # SHAP cannot explain this model: say so, keep serving
            return JSONResponse({"detail": f"no explainer: {error}"}, status_code=503)
        predicted = list(score(served, checked).predictions)
        found = await asyncio.to_thread(top_contributions, ready, checked.features, predicted, top)
        labels = [str(p) for p in predicted] if served.classes else predicted
        answer: dict[str, Any] = {
            "model": served.info,
            "units": ready.units,
            "method": "exact" if ready.exact_per_record() else "approximate",
            "explanations": [
                {"prediction": label, **item} for label, item in zip(labels, found, strict=True)
            ],
        }
        if ids:
            answer["ids"] = checked.id_records()
        return FiniteJSONResponse(answer)


def build_explainer(served: PredictionModel) -> Explainer:
    background = pd.read_parquet(served.path / MODEL_BACKGROUND)
    return Explainer(served.pipeline, background, served.classes)


def checked_body(
    body: bytes, records_schema: RecordSchema, max_rows: int
) -> Checked | JSONResponse:
    """The checked records of a /predict or /explain body, or the 400/422 answer refusing it."""
    records, problem = parse_records(body, max_rows)
    if problem is not None:
        return problem
    checked = records_schema.check_records(records)
    if checked.errors:
        return JSONResponse({"detail": error_detail(checked.errors)}, status_code=422)
    return checked


def parse_records(body: bytes, max_rows: int) -> tuple[list[Any], JSONResponse | None]:
    """The records of a /predict body, or the 400/422 answer for a body that has none."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return [], JSONResponse({"detail": "the body is not UTF-8 text"}, status_code=400)
    errors = []
    try:
        payload = json.loads(text)
    except ValueError as error:
        payload = ...  # not None: that is what a body of `null` decodes to
        errors.append((["body"], f"JSON decode error: {error}", "json_invalid"))
    if payload is not ... and not isinstance(payload, dict):
        errors.append(
            (["body"], "the body must be a JSON object with a list of records", "model_type")
        )
    records = None
    if isinstance(payload, dict):
        for key in payload:
            if key != "records":
                errors.append((["body", key], "extra field not permitted", "extra_forbidden"))
        records = payload.get("records")
        if "records" not in payload:
            errors.append((["body", "records"], "field required", "missing"))
        elif not isinstance(records, list):
            errors.append((["body", "records"], "a list of records is required", "list_type"))
        elif not 1 <= len(records) <= max_rows:
            message = f"between 1 and {max_rows} records per request"
            errors.append((["body", "records"], message, "too_long" if records else "too_short"))
    if errors:
        detail = [{"loc": loc, "msg": message, "type": kind} for loc, message, kind in errors]
        return [], JSONResponse({"detail": detail}, status_code=422)
    return records, None


def change_detectors(served: PredictionModel, params: Params, registry: CollectorRegistry) -> Any:
    """ADWIN over every numeric feature and the model's output, where the project has the
    monitoring capability; None otherwise."""
    if not has_capability("monitoring"):
        return None
    from ..monitoring.stream_changes import StreamChanges

    return StreamChanges.for_model(served.schema, params, registry)


def drift_gauges(root: Path, params: Params, registry: CollectorRegistry) -> Any:
    """Drift gauges on the latest requests, where the project has the monitoring capability
    (they need the reference data of `make repro`); None otherwise."""
    if not has_capability("monitoring"):
        return None
    from ..monitoring.drift_window import DriftWindow, ScrapedDriftWindow

    try:
        window = DriftWindow.from_project(root, params, registry=registry)
    except FileNotFoundError as error:
        LOGGER.warning("drift gauges off", extra={"fields": {"reason": str(error)}})
        return None
    return ScrapedDriftWindow(window)
