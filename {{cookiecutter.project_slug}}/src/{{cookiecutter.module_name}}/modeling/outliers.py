"""The outlier detector train stores beside the model: is a record unlike the training data?

A record is an outlier when one of its numeric features lies far outside the training range
(more than MARGIN_SD training standard deviations beyond its minimum or maximum), or when its
numeric features together are rarer than all but OUTLIER_RATE of the training rows: the
Mahalanobis distance of the features after scikit-learn's QuantileTransformer (each feature
made standard normal, so skewed columns do not dominate and correlations are kept), an
impossible combination of values that are each ordinary. The score is the larger of the two,
each relative to its limit: 1 and above is an outlier.

Why not an IsolationForest: on the outlier benchmark (benchmarks/outlier_benchmark.py) it
missed single far-out values among many features, and scored slower per record. Categorical and
text features are left to the monitor's unknown-category and unknown-word checks.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import joblib
import numpy as np
import pandas as pd
from sklearn.covariance import EmpiricalCovariance
from sklearn.preprocessing import QuantileTransformer

from ..dataset.schema import NUMERIC, Schema

MARGIN_SD = 1.0  # beyond the training range by more than this many sd: out of range
OUTLIER_RATE = 0.005  # share of training rows the combination limit flags
FIT_ROWS = 100_000  # a seeded sample of the train split fits it (under a second)


@dataclass
class Outliers:
    """Per record: its score (1 and above: an outlier) and why."""

    scores: np.ndarray
    reasons: list[str]

    @property
    def flagged(self) -> np.ndarray:
        return self.scores >= 1.0


@dataclass
class OutlierDetector:
    columns: list[str]
    low: np.ndarray  # training minimum, maximum and standard deviation per column
    high: np.ndarray
    spread: np.ndarray
    transformer: QuantileTransformer
    covariance: EmpiricalCovariance
    limit: float  # the Mahalanobis distance only OUTLIER_RATE of the training rows exceed

    @classmethod
    def fit(cls, features: pd.DataFrame, schema: Schema, seed: int = 0) -> OutlierDetector | None:
        """Fitted on the numeric features of the training rows; None without any."""
        columns = [column for column in schema.columns(NUMERIC) if column in features.columns]
        if not columns or len(features) < 10:
            return None
        if len(features) > FIT_ROWS:
            features = features.sample(n=FIT_ROWS, random_state=seed)
        values = numeric_matrix(features, columns)
        low, high = np.nanmin(values, axis=0), np.nanmax(values, axis=0)
        spread = np.nanstd(values, axis=0)
        spread = np.where(spread > 0, spread, 1.0)  # a constant column: any other value is out
        transformer = QuantileTransformer(
            n_quantiles=min(1000, len(values)),
            output_distribution="normal",
            subsample=FIT_ROWS,
            random_state=seed,
        )
        normal = np.nan_to_num(transformer.fit_transform(values), nan=0.0)
        covariance = EmpiricalCovariance().fit(normal)
        distances = np.sqrt(covariance.mahalanobis(normal))
        limit = float(np.quantile(distances, 1 - OUTLIER_RATE))
        return cls(columns, low, high, spread, transformer, covariance, max(limit, 1e-9))

    def score(self, features: pd.DataFrame) -> Outliers:
        """Scores of records whose numeric features are numbers or missing (missing counts as
        ordinary)."""
        if features.empty:
            return Outliers(np.zeros(0), [])
        values = numeric_matrix(features, self.columns)
        beyond = np.maximum(self.low - values, values - self.high)
        excess = np.nan_to_num(np.maximum(beyond, 0.0) / self.spread, nan=0.0) / MARGIN_SD
        normal = np.nan_to_num(self.transformer.transform(values), nan=0.0)
        distance = np.sqrt(self.covariance.mahalanobis(normal)) / self.limit
        scores = np.maximum(excess.max(axis=1), distance)
        reasons = []
        for row in np.flatnonzero(scores >= 1.0):
            worst = int(excess[row].argmax())
            if excess[row, worst] >= 1.0:
                reasons.append(
                    f"{self.columns[worst]} {values[row, worst]:.6g} outside the training range "
                    f"[{self.low[worst]:.6g}, {self.high[worst]:.6g}]"
                )
            else:
                reasons.append("an unusual combination of " + ", ".join(self._top(normal[row])))
        reason_of = dict(zip(np.flatnonzero(scores >= 1.0), reasons, strict=True))
        return Outliers(scores, [reason_of.get(row, "") for row in range(len(scores))])

    def _top(self, normal: np.ndarray, count: int = 2) -> list[str]:
        """The features that add most to a row's distance."""
        contribution = normal * (self.covariance.get_precision() @ normal)
        return [self.columns[i] for i in np.argsort(-contribution)[:count]]

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        joblib.dump(self, buffer)
        return buffer.getvalue()

    @staticmethod
    def from_bytes(data: bytes) -> OutlierDetector:
        return joblib.load(io.BytesIO(data))


def numeric_matrix(features: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """The columns as floats (anything that is not a number: missing)."""
    try:  # numbers already (the API's checked records): one conversion, no per-column pass
        return features[columns].to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError):
        pass
    return np.column_stack(
        [
            pd.to_numeric(features[column], errors="coerce").to_numpy(float, na_value=np.nan)
            for column in columns
        ]
    )
