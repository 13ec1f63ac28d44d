"""The `monitoring:` section of params.yaml (validated by config.load_params with the rest)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, PositiveInt, StringConstraints

from ..config import Params, Section, Share, section

# Checks the retraining policy may list as critical (any failure of one warrants retraining).
CriticalCheck = Literal[
    "completeness",
    "unknown_categories",
    "unknown_words",
    "prediction_drift",
    "label_drift",
    "performance",
]
Correction = Literal["benjamini-hochberg", "bonferroni", "none"]
NonNegative = Annotated[float, Field(ge=0)]


class ColumnOverride(Section):
    """Per-column exceptions to the thresholds below (monitoring.overrides.<column>)."""

    effect: NonNegative | None = None
    min_completeness: Share | None = None
    max_unknown_share: Share | None = None
    max_unknown_words: Share | None = None
    skip: bool = False


class MonitoringSettings(Section):
    reference: Annotated[str, StringConstraints(min_length=1)]
    alpha: Share
    correction: Correction
    numeric_effect: NonNegative
    categorical_effect: NonNegative
    text_effect: Annotated[float, Field(ge=0.5, le=1)]  # a text column: the domain classifier's AUC
    min_completeness: Share
    max_unknown_share: Share
    max_unknown_words: Share  # a text column: share of its words never seen in training
    performance_drop: NonNegative
    retrain_drift_share: Share
    critical: list[CriticalCheck]
    overrides: Annotated[dict[str, ColumnOverride], Field(default_factory=dict)]
    serving_window: PositiveInt  # recent API rows the /metrics drift gauges are computed on

    def for_column(self, column: str, key: str, default: Any) -> Any:
        """The column's override of `key` when it sets one, else `default`."""
        override = self.overrides.get(column)
        value = getattr(override, key) if override is not None else None
        return default if value is None else value


PARAMS_SECTIONS = {"monitoring": MonitoringSettings}


def monitoring_settings(params: Params) -> MonitoringSettings:
    return section(params, MonitoringSettings)
