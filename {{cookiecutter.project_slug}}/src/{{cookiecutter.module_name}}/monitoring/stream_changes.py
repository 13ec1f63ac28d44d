"""Change points in the served stream: river's ADWIN (an adaptive sliding window that grows
while the stream is steady and drops its old part when the mean changes) over each numeric
feature and over the model's output (the top class's probability, or the predicted value),
record by record. A change is logged and counted in Prometheus per stream
(`model_change_points_total{stream=...}`); the fixed drift window (drift_window.py) stays for
the statistical tests.

    changes = StreamChanges.for_model(schema, params, registry)
    changes.add(features, outputs)   # per request: a DataFrame and one output per record

An update takes well under a microsecond per value (river's ADWIN is compiled), so it runs in
the request: the detection delay is counted in records, not in scrapes.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from prometheus_client import CollectorRegistry, Counter

from ..config import Params
from ..dataset.schema import NUMERIC, Schema
from ..modeling.outliers import numeric_matrix
from .settings import monitoring_settings

LOGGER = logging.getLogger(__name__)
OUTPUT = "model_output"  # the stream of the model's outputs, beside the features'


class StreamChanges:
    def __init__(self, columns: list[str], registry: CollectorRegistry, delta: float) -> None:
        from river.drift import ADWIN  # a second to import: only where a stream is watched

        self.columns = columns
        self.detectors = {name: ADWIN(delta=delta) for name in [*columns, OUTPUT]}
        self.counter = Counter(
            "model_change_points_total",
            "Changes in the mean of a feature or of the model's output (ADWIN)",
            ["stream"],
            registry=registry,
        )
        for name in self.detectors:  # every stream exported from the start, at 0
            self.counter.labels(name)

    @classmethod
    def for_model(
        cls, schema: Schema, params: Params, registry: CollectorRegistry
    ) -> StreamChanges:
        settings = monitoring_settings(params)
        return cls(schema.columns(NUMERIC), registry, settings.change_delta)

    def add(self, features: Any, outputs: np.ndarray) -> list[str]:
        """Feed one request's records in order; the streams where a change was found."""
        return self.add_values(numeric_matrix(features, self.columns), outputs)

    def add_values(self, values: np.ndarray, outputs: np.ndarray) -> list[str]:
        """add() of the records' numeric features as a float matrix (numeric_matrix, columns in
        self.columns' order)."""
        matrix = np.column_stack([values, np.asarray(outputs, dtype=float)])
        found = []
        for name, values in zip(self.detectors, matrix.T, strict=True):
            detector = self.detectors[name]
            for value in values[~np.isnan(values)].tolist():
                detector.update(value)
                if detector.drift_detected:
                    found.append(name)
                    self.counter.labels(name).inc()
                    LOGGER.warning(
                        "change point",
                        extra={
                            "fields": {
                                "stream": name,
                                "mean_now": round(detector.estimation, 6),
                                "window_records": int(detector.width),
                            }
                        },
                    )
        return found
