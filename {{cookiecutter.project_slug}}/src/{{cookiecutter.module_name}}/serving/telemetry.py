"""What the API tells operators: Prometheus metrics of every request and prediction, and one
JSON log line per request in the Elastic Common Schema (ELK, Loki)."""

import json
import logging
import secrets
import sys
import time
from collections.abc import Callable, Container
from typing import Any

import ecs_logging
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from .routes import METRICS

LOGGER = logging.getLogger(__name__)
# Latency buckets in seconds: fine below 25 ms, where a healthy one-row prediction lands.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
ROWS_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000)


class ApiMetrics:
    """Everything /metrics exports; one registry per app, so tests can run several."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.requests = Counter(
            "api_requests_total",
            "HTTP requests by endpoint, method and status",
            ["endpoint", "method", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "api_request_duration_seconds",
            "Time to answer a request, by endpoint and status",
            ["endpoint", "status"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.rows = Histogram(
            "api_batch_rows",
            "Records per /predict request",
            buckets=ROWS_BUCKETS,
            registry=registry,
        )
        self.predicted_class = Counter(
            "model_predictions_total",
            "Predicted classes (classification)",
            ["prediction"],
            registry=registry,
        )
        self.predicted_value = Histogram(
            "model_prediction_value",
            "Predicted values (regression)",
            buckets=(0, 5, 10, 15, 20, 25, 30, 35, 40, 50, 75, 100, 250, 1000),
            registry=registry,
        )
        self.info = Gauge(
            "model_info",
            "The served model (value 1)",
            ["name", "version", "source"],
            registry=registry,
        )
        self.ready = Gauge("model_ready", "1 when a model is loaded", registry=registry)
        self.outliers = Counter(
            "model_outlier_records_total",
            "Records the outlier detector flagged (rate over api_batch_rows_sum: the share)",
            registry=registry,
        )

        self.scored = Counter(
            "model_scored_records_total",
            "Records each model scored (role: champion, or the challenger beside it)",
            ["role", "version"],
            registry=registry,
        )
        self.scoring = Histogram(
            "model_scoring_duration_seconds",
            "Time a model took to score a request's records (a shadow challenger: a batch of "
            "requests')",
            ["role"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.shadow = Counter(
            "model_shadow_records_total",
            "Records the shadow challenger scored, by whether it agreed with the champion",
            ["outcome"],
            registry=registry,
        )
        self.shadow_dropped = Counter(
            "model_shadow_dropped_records_total",
            "Records the shadow challenger skipped (it fell behind, or failed)",
            registry=registry,
        )

    def observe_predictions(self, rows: int, predictions: list, classifier: bool) -> None:
        self.rows.observe(rows)
        if classifier:
            for label in predictions:
                self.predicted_class.labels(label).inc()
        else:
            for value in predictions:
                self.predicted_value.observe(value)


class MetricsMiddleware:
    """Count and time every request (pure ASGI: cheaper than BaseHTTPMiddleware); log JSON."""

    def __init__(
        self,
        app: Any,
        metrics: ApiMetrics,
        access_log: bool,
        paths: Callable[[], Container[str]],
    ) -> None:
        """`paths`: the app's route paths, asked for at each request (routes change when a
        model is loaded)."""
        self.app, self.metrics, self.access_log, self.paths = app, metrics, access_log, paths

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            elapsed = time.perf_counter() - start
            path = scope["path"]
            # Requests to the app's routes are counted under their path; anything else (404s,
            # scans) under "other", so a scanner cannot grow the metrics without bound.
            endpoint = path if path in self.paths() else "other"
            code = str(status)
            self.metrics.requests.labels(endpoint, scope["method"], code).inc()
            self.metrics.latency.labels(endpoint, code).observe(elapsed)
            if self.access_log and endpoint != METRICS:
                LOGGER.info(
                    "request",
                    extra={
                        "ecs": {  # ECS fields, nested as ECS nests them (EcsFormatter)
                            "event": {"duration": round(elapsed * 1e9)},
                            "http": {
                                "request": {"method": scope["method"]},
                                "response": {"status_code": status},
                            },
                            "trace": {"id": trace_id(scope["headers"])},
                            "url": {"path": path},
                        }
                    },
                )


class BodyLimit:
    """A 413 for a request body over `max_bytes`, before the app parses it: a Content-Length
    that says so is refused unread; a streamed body is counted and refused once it passes the
    limit, so no more than `max_bytes` of it is ever held (pure ASGI)."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self.refuse(send)
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self.refuse(send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return body

        await self.app(scope, replay, send)

    async def refuse(self, send: Any) -> None:
        detail = f"request body over {self.max_bytes} bytes: send fewer records per request"
        payload = json.dumps({"detail": detail}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", b"%d" % len(payload)),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


class EcsFormatter(ecs_logging.StdlibFormatter):
    """ecs-logging's formatter, with a short way for the access log's lines: their record brings
    its ECS fields nested already (`extra={"ecs": {...}}`), written with one json.dumps. Measured
    in the API: the library's general way (every LogRecord attribute de-dotted and merged) took
    100 us of a 440 us one-row request; this one about 10 us, for the same line."""

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "ecs", None)
        if not isinstance(fields, dict):
            return super().format(record)
        message = record.getMessage()
        line = {
            "@timestamp": self._record_timestamp(record),
            "log.level": record.levelname.lower(),
            "message": message,
            "ecs.version": ecs_logging.ECS_VERSION,
            **fields,
            "log": {"logger": record.name, "original": message},
        }
        return json.dumps(line, separators=(",", ":"), default=str)


def configure_logging(level: str = "INFO") -> None:
    """The API's loggers (this package's and uvicorn's) write one JSON line each in the Elastic
    Common Schema (ecs-logging): `@timestamp`, `log.level`, `message`, and for requests
    `http.*`, `url.*`, `event.duration` (ns) and `trace.id`. Other loggers keep their format."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(EcsFormatter(exclude_fields=["process", "log.origin"]))
    for name in (__package__.split(".")[0], "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False


def trace_id(headers: list[tuple[bytes, bytes]]) -> str:
    """The W3C trace id of a `traceparent` header (a caller's trace), else a new one."""
    for key, value in headers:
        if key == b"traceparent":
            parts = value.decode("latin-1").split("-")
            if len(parts) >= 3 and len(parts[1]) == 32:
                return parts[1]
    return secrets.token_hex(16)
