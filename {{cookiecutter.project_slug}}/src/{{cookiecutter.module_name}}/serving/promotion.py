"""`make promote` (no VERSION): move the champion alias to the challenger once the comparison
says so, and show the comparison either way.

1. Live traffic, from the API's /metrics (API_URL, default http://127.0.0.1:8000): the records
   the challenger scored (shadow or split, serving.challenger) and, in shadow mode, how often
   it agreed with the champion. Fewer than serving.promote_min_records: refused.
2. Labelled data: both versions score the test split, or LABELLED=file.csv (rows of the raw
   data with the target: labels that arrived after the predictions). A challenger whose
   primary metric is worse than the champion's: refused.

Then mlflow.model_alias points to the challenger's version and mlflow.challenger_alias is
removed; the API serves the new champion from its next start.
"""

from __future__ import annotations

import argparse
import os
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..config import Params, load_params
from ..dataset.schema import Schema
from ..modeling.metrics import is_better, primary_metric, task_scores
from ..paths import TEST_DATA
from ..predict.batch import BatchRefused, read_chunks
from ..predict.model_source import PredictionModel, load_model
from ..tracking.server import check_tracking_server
from .challenger import CHALLENGER, CHAMPION
from .settings import serving_settings

DEFAULT_API = "http://127.0.0.1:8000"
TIMEOUT_S = 5


@dataclass
class Traffic:
    """What the API's /metrics says of the challenger."""

    records: int  # scored by the challenger's version
    agreed: int  # shadow: records on which it agreed with the champion
    compared: int  # shadow: records compared


def read_traffic(api: str, version: str) -> Traffic:
    """The challenger's live traffic from the API's /metrics; SystemExit when it cannot be read."""
    url = api.rstrip("/") + "/metrics"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as answer:
            text = answer.read().decode("utf-8")
    except (OSError, ValueError) as error:
        raise SystemExit(
            f"cannot read the challenger's traffic from {url} ({error}): start the API with "
            "serving.challenger on (or set API_URL), or MIN_RECORDS=0 to decide on labelled "
            "data alone"
        ) from None
    return parse_traffic(text, version)


def parse_traffic(text: str, version: str) -> Traffic:
    """The challenger's traffic in a /metrics answer (Prometheus' text format)."""
    from prometheus_client.parser import text_string_to_metric_families

    records = agreed = compared = 0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "model_scored_records_total" and sample.labels == {
                "role": CHALLENGER,
                "version": version,
            }:
                records += int(sample.value)
            elif sample.name == "model_shadow_records_total":
                compared += int(sample.value)
                agreed += int(sample.value) if sample.labels.get("outcome") == "agree" else 0
    return Traffic(records, agreed, compared)


def labelled_rows(
    root: Path, params: Params, schema: Schema, labelled: Path | None
) -> pd.DataFrame:
    """The rows both versions are scored on: a labelled file, else the test split."""
    if labelled is None:
        if not (root / TEST_DATA).exists():
            raise SystemExit(f"{TEST_DATA} not found: run `make repro`, or pass LABELLED=file.csv")
        frame = pd.read_parquet(root / TEST_DATA)
    else:
        try:
            frame = pd.concat(list(read_chunks(labelled, params)), ignore_index=True)
        except BatchRefused as error:
            raise SystemExit(str(error)) from None
    missing = [name for name in [*schema.features, schema.target] if name not in frame.columns]
    if missing:
        raise SystemExit(
            f"{labelled or TEST_DATA} lacks {', '.join(missing)}: labelled rows hold the "
            "features and the target"
        )
    frame = frame[frame[schema.target].notna()]
    if frame.empty:
        raise SystemExit(f"{labelled or TEST_DATA} has no row with a label")
    return frame


def labelled_score(model: PredictionModel, rows: pd.DataFrame, metric: str) -> float:
    predicted = model.pipeline.predict(rows[list(model.schema.features)])
    return task_scores(model.schema.task, rows[model.schema.target], predicted)[metric]


def compare_and_promote(
    root: Path,
    params: Params,
    traffic_of: Callable[[str], Traffic] | None,
    min_records: int,
    labelled: Path | None,
) -> None:
    """Compare the challenger with the champion; move the alias, or SystemExit saying why not.
    `traffic_of`: the live traffic of a challenger version (None: labelled data alone)."""
    settings = params.mlflow
    check_tracking_server(settings.tracking_uri)
    try:
        champion = load_model(root, params, source="registry", alias=settings.model_alias)
    except RuntimeError as error:
        raise SystemExit(str(error)) from None
    try:
        challenger = load_model(root, params, source="registry", alias=settings.challenger_alias)
    except RuntimeError:
        raise SystemExit(
            f"no version has the alias {settings.challenger_alias!r}: train one with "
            "mlflow.register_as: challenger (REGISTER_AS=challenger make repro)"
        ) from None
    if challenger.version == champion.version:
        raise SystemExit(f"the challenger is the champion already (version {champion.version})")
    metric = primary_metric(champion.schema.task)
    rows = labelled_rows(root, params, champion.schema, labelled)
    ours, theirs = labelled_score(champion, rows, metric), labelled_score(challenger, rows, metric)
    traffic = traffic_of(challenger.version) if traffic_of is not None and min_records else None
    source = str(labelled or f"the test split ({TEST_DATA})")
    print(f"{CHAMPION} version {champion.version}, {CHALLENGER} version {challenger.version}")
    print(f"  {metric} on {len(rows)} labelled rows of {source}: {ours:.4f} vs {theirs:.4f}")
    if traffic is not None:
        print(f"  live records the challenger scored: {traffic.records}")
        if traffic.compared:
            share = traffic.agreed / traffic.compared
            print(f"  agreement with the champion (shadow): {share:.1%}")
        if traffic.records < min_records:
            raise SystemExit(
                f"not promoted: the challenger scored {traffic.records} live records, fewer "
                f"than serving.promote_min_records ({min_records}): let it serve longer"
            )
    if is_better(metric, ours, theirs):
        raise SystemExit(
            f"not promoted: the challenger's {metric} {theirs:.4f} is worse than the "
            f"champion's {ours:.4f} on {source}"
        )
    import mlflow

    client = mlflow.MlflowClient(settings.tracking_uri)
    client.set_registered_model_alias(
        settings.registered_model_name, settings.model_alias, challenger.version
    )
    client.delete_registered_model_alias(settings.registered_model_name, settings.challenger_alias)
    print(
        f"promoted: alias {settings.model_alias!r} moved to version {challenger.version}, "
        f"{settings.challenger_alias!r} removed; the API serves it from its next start"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(), help="project root (default: .)")
    parser.add_argument("--api", default=os.environ.get("API_URL") or DEFAULT_API)
    parser.add_argument("--labelled", type=Path, help="labelled rows (default: the test split)")
    parser.add_argument(
        "--min-records", type=int, help="live records needed (default: serving.promote_min_records)"
    )
    args = parser.parse_args(argv)
    params = load_params(args.root)
    minimum = args.min_records
    if minimum is None:
        minimum = serving_settings(params).promote_min_records
    api = args.api

    def traffic_of(version: str) -> Traffic:
        return read_traffic(api, version)

    compare_and_promote(args.root.resolve(), params, traffic_of, minimum, args.labelled)


if __name__ == "__main__":
    main()
