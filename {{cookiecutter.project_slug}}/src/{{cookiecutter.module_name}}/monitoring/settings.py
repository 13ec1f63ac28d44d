"""The `monitoring:` section of params.yaml (validated by config.load_params with the rest)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, PositiveInt, StringConstraints

from ..config import Params, Section, Share, section
from .catalog import CRITICAL_CAPABLE, CRITICAL_DEFAULT

# Checks the retraining policy may list as critical (any failure of one warrants retraining):
# those of the catalog whose severity is "critical".
CriticalCheck = Literal[CRITICAL_CAPABLE]  # type: ignore[valid-type]
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
    """What params.yaml sets (the keys a team changes first), and the rest with its defaults,
    chosen on the benchmark of the template (20 standard-normal features, 10 seeds, 1k to 1M
    rows a side): shifts of 0.2 sd and more are found, unshifted columns stay quiet. Set any of
    them under `monitoring:` in params.yaml to change it."""

    # In params.yaml:
    reference: Annotated[str, StringConstraints(min_length=1)]
    alpha: Share
    retrain_drift_share: Share
    overrides: dict[str, ColumnOverride]
    # Defaults:
    # any of these failing warrants retraining (catalog.py marks which are by default)
    critical: list[CriticalCheck] = Field(default_factory=lambda: list(CRITICAL_DEFAULT))
    # many columns tested at once; Benjamini-Hochberg keeps false drift flags to ~1% of flags
    correction: Correction = "benjamini-hochberg"
    # numeric drift also needs a Wasserstein distance >= this many reference sd: below it, big
    # batches flag trivial shifts
    numeric_effect: NonNegative = 0.05
    # categorical drift also needs a Jensen-Shannon distance >= this: what a 0.05 sd shift does
    # to five equal categories
    categorical_effect: NonNegative = 0.02
    # text drift also needs a classifier to tell the batch's text from the training text with
    # this ROC AUC (0.5: alike)
    text_effect: Annotated[float, Field(ge=0.5, le=1)] = 0.6
    # a column fails when its non-missing share falls below this share of the reference's
    min_completeness: Share = 0.9
    # a categorical column fails when more of its values were never seen in training (rare ones
    # are grouped anyway)
    max_unknown_share: Share = 0.05
    # a text column's check fails when more of its words never appeared in training (a warning:
    # list unknown_words under critical to retrain on it)
    max_unknown_words: Share = 0.5
    # with labels in the batch: accuracy this share below (rmse above) the test split's fails
    performance_drop: NonNegative = 0.1
    # outliers fail when the batch's share of outlying rows is at least this many times the test
    # split's (and significantly above it): a feed that breaks makes many more
    outlier_ratio: Annotated[float, Field(ge=1)] = 3.0
    # predictions fail when their Kullback-Leibler divergence from the test split's (nats,
    # predicted classes or 10 bins of values) reaches this, and is significant (G-test): a class
    # 1.5 times as common moved diamonds' predictions by 0.014; clean batches of 300 rows, 0.005
    max_prediction_kl: NonNegative = 0.01
    history_batches: PositiveInt = 20  # past batches the report's drift-over-time view shows
    # ADWIN's confidence on the served stream (stream_changes.py): smaller finds fewer false
    # changes and real ones later
    change_delta: Annotated[float, Field(gt=0, lt=1)] = 0.002
    serving_window: PositiveInt = 1000  # recent API rows the /metrics drift gauges use

    def for_column(self, column: str, key: str, default: Any) -> Any:
        """The column's override of `key` when it sets one, else `default`."""
        override = self.overrides.get(column)
        value = getattr(override, key) if override is not None else None
        return default if value is None else value


PARAMS_SECTIONS = {"monitoring": MonitoringSettings}


def monitoring_settings(params: Params) -> MonitoringSettings:
    return section(params, MonitoringSettings)
