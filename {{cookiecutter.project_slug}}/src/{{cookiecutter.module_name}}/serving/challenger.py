"""A challenger beside the champion (params.yaml `serving.challenger`, env CHALLENGER): the API
also loads the registered version mlflow.challenger_alias points to, and

- `shadow`: the champion answers every request; the challenger scores the same records off
  the request path, in batches of the requests of the last few milliseconds (one onnxruntime
  call for many requests: the client waits for none of it), and /metrics counts how often it
  agreed with the champion and how long it took;
- `split`: the challenger answers `serving.challenger_share` of the requests, chosen by a hash
  of the `X-Routing-Key` header when the client sends one (the same key, the same model), at
  random otherwise; every answer names the model that produced it.

Either way /metrics counts the records each version scored (`model_scored_records_total`),
which `make promote` reads before it moves the champion alias (serving/promotion.py).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import zlib
from pathlib import Path

import numpy as np

from ..config import Params
from ..predict.model_source import PredictionModel, load_model
from ..predict.records import Checked
from ..predict.scorer import score
from .settings import serving_settings
from .telemetry import ApiMetrics

LOGGER = logging.getLogger(__name__)
CHAMPION, CHALLENGER = "champion", "challenger"
ROUTING_KEY = b"x-routing-key"
# A regression challenger agrees when its prediction is within 5% of the champion's.
AGREE_RELATIVE = 0.05
# Shadow records wait this long to be scored together; past MAX_PENDING_ROWS waiting (the
# challenger cannot keep up) new ones are skipped and counted, so the API never falls behind.
FLUSH_SECONDS = 0.02
MAX_PENDING_ROWS = 20_000


def load_challenger(
    root: Path, params: Params, champion: PredictionModel
) -> tuple[PredictionModel | None, str]:
    """The challenger serving.challenger asks for, or None and why not (the champion serves
    alone: a missing challenger never stops the API)."""
    if serving_settings(params).challenger == "off":
        return None, ""
    alias = params.mlflow.challenger_alias
    if params.predict.model_source != "registry":
        # models/model is the latest trained model, whichever alias it took
        return None, (
            "serving.challenger needs the champion from the registry: set "
            "predict.model_source: registry (MODEL_SOURCE=registry)"
        )
    if alias == params.mlflow.model_alias:
        return None, f"mlflow.challenger_alias is the champion's alias {alias!r}: name another"
    try:
        challenger = load_model(root, params, source="registry", alias=alias)
    except Exception as error:  # no such alias yet, registry down, unreadable model
        return None, " ".join(str(error).split())[:300]
    if challenger.version == champion.version:
        return None, f"{alias!r} points to the champion's version {champion.version}"
    if challenger.schema.features != champion.schema.features:
        return None, (
            f"version {challenger.version} ({alias!r}) takes other features than the champion: "
            "a challenger scores the champion's records, so both need the same raw columns"
        )
    if bool(challenger.classes) != bool(champion.classes):
        return None, f"version {challenger.version} ({alias!r}) is not for the same task"
    return challenger, ""


class Challenger:
    """The challenger of one API process, in its mode (shadow or split)."""

    def __init__(
        self,
        champion: PredictionModel,
        challenger: PredictionModel,
        mode: str,
        share: float,
        metrics: ApiMetrics,
    ) -> None:
        self.champion, self.challenger, self.mode, self.share = champion, challenger, mode, share
        self.metrics = metrics
        self.pending: list[tuple[Checked, np.ndarray]] = []
        self.pending_rows = 0
        self.flush_scheduled = False

    @property
    def info(self) -> dict[str, object]:
        return {**self.challenger.info, "mode": self.mode, "share": self.share}

    def picks_challenger(self, headers: list[tuple[bytes, bytes]]) -> bool:
        """split: does this request go to the challenger? Sticky per X-Routing-Key."""
        if self.mode != "split":
            return False
        for key, value in headers:
            if key == ROUTING_KEY and value:
                return zlib.crc32(value) / 2**32 < self.share
        return random.random() < self.share

    def shadow(self, checked: Checked, predictions: np.ndarray) -> None:
        """shadow: queue the records the champion just answered for the challenger (request
        path: a list append; the scoring runs on the event loop after FLUSH_SECONDS)."""
        if self.mode != "shadow":
            return
        rows = len(checked.rows)
        if self.pending_rows + rows > MAX_PENDING_ROWS:
            self.metrics.shadow_dropped.inc(rows)
            return
        self.pending.append((checked, predictions))
        self.pending_rows += rows
        if not self.flush_scheduled:
            self.flush_scheduled = True
            asyncio.get_running_loop().call_later(FLUSH_SECONDS, self.flush)

    def flush(self) -> None:
        """Score the queued records with the challenger in one call; count agreement."""
        batch, self.pending, self.pending_rows = self.pending, [], 0
        self.flush_scheduled = False
        if not batch:
            return
        names = list(batch[0][0].columns)
        columns = {
            name: np.concatenate([checked.columns[name] for checked, _ in batch]) for name in names
        }
        champion = np.concatenate([predictions for _, predictions in batch])
        combined = Checked(columns, {}, np.arange(len(champion)))
        start = time.perf_counter()
        try:
            theirs = score(self.challenger, combined).predictions
        except Exception as error:  # the challenger must never hurt the champion's serving
            LOGGER.warning("shadow scoring failed", extra={"fields": {"reason": str(error)[:200]}})
            self.metrics.shadow_dropped.inc(len(champion))
            return
        self.metrics.scoring.labels(CHALLENGER).observe(time.perf_counter() - start)
        self.metrics.scored.labels(CHALLENGER, self.challenger.version).inc(len(champion))
        agreed = int(agreement(champion, theirs).sum())
        self.metrics.shadow.labels("agree").inc(agreed)
        self.metrics.shadow.labels("disagree").inc(len(champion) - agreed)


def agreement(champion: np.ndarray, challenger: np.ndarray) -> np.ndarray:
    """Per record: the same class, or (regression) a value within AGREE_RELATIVE."""
    if champion.dtype.kind in "fc" and challenger.dtype.kind in "fc":
        return np.isclose(challenger, champion, rtol=AGREE_RELATIVE, atol=0.0)
    return champion.astype(str) == challenger.astype(str)
