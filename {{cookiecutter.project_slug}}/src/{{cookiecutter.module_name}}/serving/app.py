"""The prediction API (FastAPI): `make serve`, or `python -m <package>.serving`.

    POST /predict   {"records": [{feature: value, ...}, ...]} -> predictions (+ probabilities)
    GET  /health    alive;  GET /ready  model loaded;  GET /metrics  Prometheus;  GET /docs

Which model is served is configuration (params.yaml `serving.model_source` and
`mlflow.model_alias`, or MODEL_SOURCE / MODEL_ALIAS / MLFLOW_TRACKING_URI): `local` serves
models/model from `make repro`, `registry` the registered version the alias points to (train
moves it). The request schema comes from the model's MLflow signature, recorded at training.
Bad input gets a 422 that names each bad field; requests are logged as JSON lines.
"""

# No `from __future__ import annotations`: FastAPI must see the request model built at run time.
import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from ..config import Params, has_capability, load_params
from .auth import BearerToken, api_token
from .model_loader import ServedModel, load_served
from .records import field_errors, request_models
from .scoring import score_columns
from .telemetry import ApiMetrics, BodyLimit, MetricsMiddleware

LOGGER = logging.getLogger(__name__)


def create_app(root: Path | str = ".", params: Params | None = None) -> FastAPI:
    """The API for the project at `root`. The model loads before the first request; without
    one (not trained yet, unreadable, registry unreachable) the process stays up, /ready says
    why with a 503, and loading is retried every serving.reload_seconds until it works."""
    root = Path(root).resolve()
    params = params or load_params(root)
    metrics = ApiMetrics(CollectorRegistry())
    app = FastAPI(
        title=f"{params.mlflow.registered_model_name} prediction API",
        description="Predictions of the model trained by the project's DVC pipeline.",
        version="0.1.0",
        lifespan=reload_until_loaded,
    )
    # The last added runs first: every request is counted and logged, 401s and 413s included.
    app.add_middleware(BodyLimit, max_bytes=params.serving.max_request_bytes)
    if token := api_token():
        app.add_middleware(BearerToken, token=token)
    app.add_middleware(MetricsMiddleware, metrics=metrics, access_log=params.serving.access_log)
    state = app.state
    state.root, state.params, state.metrics = root, params, metrics
    state.served, state.problem, state.drift = None, "", None

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": field_errors(list(error.errors()))}, status_code=422)

    add_probes(app)
    served = attempt_loading(app)
    if served is None:
        add_unavailable(app)
    else:
        install(app, served)
    return app


def attempt_loading(app: FastAPI) -> ServedModel | None:
    """Load the configured model; on failure keep the reason for /ready (blocking: seconds)."""
    try:
        return load_served(app.state.root, app.state.params)
    except RuntimeError as error:  # missing, or the registry cannot be reached
        problem = str(error)
    except Exception as error:  # an unreadable model: the API must stay up all the same
        problem = f"the model cannot be loaded: {type(error).__name__}: {error}"
    problem = " ".join(problem.split())[:500]
    if problem != app.state.problem:
        LOGGER.error("model not loaded", extra={"fields": {"reason": problem}})
    app.state.problem = problem
    return None


def install(app: FastAPI, served: ServedModel) -> None:
    """Serve `served`: the real /predict replaces the 503 one; the drift gauges start."""
    state = app.state
    app.router.routes = [route for route in app.router.routes if route.path != "/predict"]
    state.drift = drift_gauges(state.root, state.params, state.metrics.registry)
    add_predict(app, served, state.params.serving.max_batch_rows, state.metrics, state.drift)
    app.openapi_schema = None  # the request schema is the model's
    state.served, state.problem = served, ""
    LOGGER.info("model loaded", extra={"fields": served.info})


@asynccontextmanager
async def reload_until_loaded(app: FastAPI) -> AsyncIterator[None]:
    """While no model is served, try again every serving.reload_seconds."""

    async def retry() -> None:
        while app.state.served is None:
            await asyncio.sleep(app.state.params.serving.reload_seconds)
            served = await asyncio.to_thread(attempt_loading, app)
            if served is not None:
                install(app, served)

    task = asyncio.create_task(retry()) if app.state.served is None else None
    yield
    if task is not None:
        task.cancel()


def add_unavailable(app: FastAPI) -> None:
    @app.post("/predict", responses={503: {"description": "No model loaded"}})
    async def unavailable() -> JSONResponse:
        """No model is loaded: see /ready for why."""
        return JSONResponse({"detail": app.state.problem}, status_code=503)


def add_probes(app: FastAPI) -> None:
    """/health, /ready and /metrics, answered from the app's state (the model may come later)."""
    state = app.state

    @app.get("/health", tags=["probes"])
    async def health() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/ready", tags=["probes"], responses={503: {"description": "No model loaded"}})
    async def ready() -> JSONResponse:
        """Readiness: a model is loaded and can predict."""
        served = state.served
        if served is None:
            return JSONResponse({"status": "unavailable", "reason": state.problem}, 503)
        scorer = "numpy" if served.fast is not None else "pipeline"
        return JSONResponse({"status": "ready", "model": served.info, "scorer": scorer})

    @app.get("/metrics", tags=["probes"], response_class=Response)
    async def prometheus() -> Response:
        """Prometheus metrics: requests, latency, predictions, model version (and drift)."""
        if state.drift is not None:
            await state.drift.refresh()
        return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)


def add_predict(
    app: FastAPI, served: ServedModel, max_rows: int, metrics: ApiMetrics, window: Any
) -> None:
    """/predict, its request schema built from the served model's signature."""
    metrics.info.labels(served.name, served.version, served.source).set(1)
    metrics.ready.set(1)
    body_model, response_model = request_models(served, max_rows)
    columns = list(served.columns)
    classes = [str(label) for label in served.classes]

    @app.post(
        "/predict",
        response_model=response_model,
        responses={
            400: {"description": "The body is not UTF-8 text"},
            422: {"description": "Invalid records: one error per bad field"},
        },
    )
    async def predict(body: body_model) -> JSONResponse:
        """Predict a batch of records (the training features, by name; null = missing)."""
        records = body.records
        values = {column: [getattr(row, column) for row in records] for column in columns}
        try:
            result = score_columns(served, values, classes)
        except (ValueError, TypeError) as error:
            detail = [{"loc": ["body", "records"], "msg": str(error), "type": "model_input"}]
            return JSONResponse({"detail": detail}, status_code=422)
        metrics.observe_predictions(len(records), result["predictions"], bool(classes))
        if window is not None:
            lists = values.values()
            window.add([dict(zip(columns, row, strict=True)) for row in zip(*lists, strict=True)])
        return JSONResponse({"model": served.info, **result})


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
