"""A bounded sliding window of recent requests with drift scores against the reference, for a
serving process: add rows as they come, call update() now and then (not per request: the API
calls it when Prometheus scrapes), and let Prometheus read the gauges.

    window = DriftWindow.from_project(".", params, registry=prometheus_client.REGISTRY)
    window.add(request_rows)   # dicts or a DataFrame
    window.update()            # recompute the scores and set the gauges

update() may run in another thread than add(): it scores a snapshot of the rows.
ScrapedDriftWindow is how the API uses it: updated when Prometheus scrapes /metrics.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from prometheus_client import CollectorRegistry, Gauge

from ..config import Params
from ..dataset.schema import Schema
from ..paths import SCHEMA_FILE
from .checks import check_schema, feature_drift
from .settings import MonitoringSettings, monitoring_settings

LOGGER = logging.getLogger(__name__)


class DriftWindow:
    def __init__(
        self,
        reference: pd.DataFrame,
        schema: Schema,
        settings: MonitoringSettings,
        *,
        size: int = 1000,
        min_rows: int = 50,
        registry: CollectorRegistry | None = None,
        prefix: str = "model",
    ) -> None:
        if size < 1 or not 1 <= min_rows <= size:
            raise ValueError("need size >= 1 and 1 <= min_rows <= size")
        self.reference, self.schema = reference, schema
        self.settings = settings
        self.min_rows = min_rows
        self._rows: deque[dict[str, Any]] = deque(maxlen=size)
        self._added = 0
        self.scores: dict[str, dict[str, Any]] = {}
        registry = registry if registry is not None else CollectorRegistry()
        self.registry = registry
        feature = ["feature"]
        self._effect = Gauge(
            f"{prefix}_drift_effect",
            "Drift effect size of a feature in the "
            "window (normalised Wasserstein or Jensen-Shannon)",
            feature,
            registry=registry,
        )
        self._p_value = Gauge(
            f"{prefix}_drift_p_value",
            "Corrected drift p-value of a feature in the window",
            feature,
            registry=registry,
        )
        self._drifted = Gauge(
            f"{prefix}_drift_detected",
            "1 when a feature drifts in the window, else 0",
            feature,
            registry=registry,
        )
        self._share = Gauge(
            f"{prefix}_drift_share", "Share of tested features that drift", registry=registry
        )
        self._size = Gauge(f"{prefix}_window_rows", "Rows in the drift window", registry=registry)

    @classmethod
    def from_project(cls, root: Path | str, params: Params, **options: Any) -> DriftWindow:
        """The window of the project at `root`: its reference data and schema, and
        monitoring.serving_window rows (raises FileNotFoundError before `make repro`)."""
        root = Path(root)
        settings = monitoring_settings(params)
        schema = Schema.load(root / SCHEMA_FILE)
        reference = pd.read_parquet(root / settings.reference)
        options.setdefault("size", settings.serving_window)
        return cls(reference, schema, settings, **options)

    def __len__(self) -> int:
        return len(self._rows)

    def add(self, rows: Mapping[str, Any] | Iterable[Mapping[str, Any]] | pd.DataFrame) -> None:
        """Append one row (a mapping), many rows, or a DataFrame; the oldest fall out."""
        if isinstance(rows, pd.DataFrame):
            rows = rows.to_dict("records")
        elif isinstance(rows, Mapping):
            rows = [rows]
        new = [dict(row) for row in rows]
        self._rows.extend(new)
        self._added += len(new)
        self._size.set(len(self._rows))

    @property
    def added(self) -> int:
        """Rows added since the window was made (a change counter for callers)."""
        return self._added

    def snapshot(self) -> list[dict[str, Any]]:
        """The rows now in the window, oldest first (call it where add() is called)."""
        return list(self._rows)

    def update(self, rows: list[dict[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
        """Recompute every feature's drift on `rows` (default: a snapshot of the window) and
        set the gauges; {} (gauges left as they were) below min_rows rows."""
        rows = self.snapshot() if rows is None else rows
        if len(rows) < self.min_rows:
            return {}
        current = pd.DataFrame(rows)
        checks, typed = check_schema(current, self.schema)
        if any(row["failed"] and row["severity"] == "unusable" for row in checks):
            return {}  # e.g. a feature missing from every request: nothing to compare
        rows = feature_drift(self.reference, typed, self.schema, self.settings)
        self.scores = {row["column"]: row for row in rows}
        for column, row in self.scores.items():
            # Report rows hold None for a non-finite number: an effect too large to represent.
            effect = math.inf if row["effect"] is None else row["effect"]
            self._effect.labels(column).set(effect)
            self._p_value.labels(column).set(row["p_adjusted"])
            self._drifted.labels(column).set(int(row["failed"]))
        drifted = sum(row["failed"] for row in rows)
        self._share.set(drifted / len(rows) if rows else 0.0)
        return self.scores

    def drift_share(self) -> float:
        return sum(row["failed"] for row in self.scores.values()) / max(len(self.scores), 1)


class ScrapedDriftWindow:
    """The drift gauges of the API, recomputed when Prometheus scrapes /metrics (the only time
    they are read), after new requests and at most every `min_interval` seconds. An update
    takes tens of ms on 1000 rows: it runs in a worker thread on a snapshot, so predictions keep
    being answered; recomputing every few hundred rows put it on the p99 of /predict."""

    min_interval = 5.0

    def __init__(self, window: DriftWindow) -> None:
        self.window = window
        self.scored = 0  # window.added at the last update
        self.last = -math.inf
        self.lock = asyncio.Lock()

    def add(self, rows: list[dict[str, Any]]) -> None:
        self.window.add(rows)

    async def refresh(self) -> None:
        async with self.lock:
            now = time.monotonic()
            if self.window.added == self.scored or now - self.last < self.min_interval:
                return
            self.scored, self.last = self.window.added, now
            try:
                await asyncio.to_thread(self.window.update, self.window.snapshot())
            except (ValueError, TypeError, RuntimeError) as error:
                LOGGER.warning("drift update failed", extra={"fields": {"reason": str(error)}})
