"""One benchmark case in a fresh process (so its peak memory is its own): generate the data,
run our drift checks or Evidently's data-drift report for each seed, print JSON.

Usage: python drift_child.py ours|evidently numeric|categorical ROWS SEEDS [PROJECT_DIR]
"""

from __future__ import annotations

import json
import resource
import sys
import time

import numpy as np
import pandas as pd

FEATURES = 20
SHIFTS = {f"x{i}": shift for i, shift in enumerate((0.1, 0.2, 0.3, 0.4, 0.5))}  # rest: 0
CUTS = np.array([-0.8416, -0.2533, 0.2533, 0.8416])  # five equally common categories
LABELS = np.array(list("abcde"))


def data(rows: int, seed: int, kind: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    columns = [f"x{i}" for i in range(FEATURES)]
    offsets = np.array([SHIFTS.get(column, 0.0) for column in columns])
    reference = rng.standard_normal((rows, FEATURES))
    current = rng.standard_normal((rows, FEATURES))
    current += offsets
    if kind == "numeric":
        return (
            pd.DataFrame(reference, columns=columns, copy=False),
            pd.DataFrame(current, columns=columns, copy=False),
        )
    frames = []
    for values in (reference, current):
        frames.append(
            pd.DataFrame(
                {c: LABELS[np.searchsorted(CUTS, values[:, i])] for i, c in enumerate(columns)}
            )
        )
    return frames[0], frames[1]


def ours(project: str):
    sys.path.insert(0, f"{project}/src")
    from my_ml_project.config import load_params
    from my_ml_project.dataset.schema import Schema
    from my_ml_project.monitoring.checks import feature_drift

    settings = load_params(project).monitoring

    def detect(reference: pd.DataFrame, current: pd.DataFrame, kind: str) -> dict[str, bool]:
        features = dict.fromkeys(reference.columns, kind)
        schema = Schema("y", "regression", features, {}, {})
        rows = feature_drift(reference, current, schema, settings)
        return {row["column"]: row["failed"] for row in rows}

    return detect


def evidently():
    from evidently import Report
    from evidently.presets import DataDriftPreset

    def detect(reference: pd.DataFrame, current: pd.DataFrame, kind: str) -> dict[str, bool]:
        snapshot = Report([DataDriftPreset()]).run(current_data=current, reference_data=reference)
        found = {}
        for metric in snapshot.dict()["metrics"]:
            config = metric.get("config", {})
            if config.get("type", "").endswith("ValueDrift"):
                column = config["column"]
                value, threshold = float(metric["value"]), config.get("threshold")
                method = config.get("method", "")
                p_value_test = "p_value" in method or any(
                    name in method for name in ("K-S", "chi-square", "Z-test", "p_value")
                )
                found[column] = value < threshold if p_value_test else value >= threshold
        return found

    return detect


def main() -> None:
    tool, kind, rows, seeds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    detect = ours(sys.argv[5]) if tool == "ours" else evidently()
    flagged, seconds = [], []
    for seed in range(seeds):
        reference, current = data(rows, seed, kind)
        start = time.perf_counter()
        flagged.append(detect(reference, current, kind))
        seconds.append(time.perf_counter() - start)
        del reference, current
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"flagged": flagged, "seconds": seconds, "peak_mb": peak_mb}))


if __name__ == "__main__":
    main()
