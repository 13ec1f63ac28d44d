"""Monitoring: the statistics agree with scipy, each check fires on a batch built to break it
and stays quiet on a clean resample, bad batches exit 2 with a report, the window exports
Prometheus gauges."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from scipy import stats

from {{ cookiecutter.module_name }}.ci import retrain
from {{ cookiecutter.module_name }}.config import load_params
from {{ cookiecutter.module_name }}.dataset.raw import read_raw
from {{ cookiecutter.module_name }}.dataset.schema import CATEGORICAL, NUMERIC, Schema
from {{ cookiecutter.module_name }}.monitoring import drift
from {{ cookiecutter.module_name }}.monitoring.__main__ import main as monitoring_main
from {{ cookiecutter.module_name }}.monitoring.checks import check_schema, feature_drift
from {{ cookiecutter.module_name }}.monitoring.drift_window import DriftWindow
from {{ cookiecutter.module_name }}.monitoring.run import monitor
from {{ cookiecutter.module_name }}.monitoring.settings import ColumnOverride
from {{ cookiecutter.module_name }}.monitoring.verdict import STATUS
from {{ cookiecutter.module_name }}.paths import SCHEMA_FILE
from {{ cookiecutter.module_name }}.tracking.lineage import pointer_md5

MONITORING = "{{ cookiecutter.module_name }}.monitoring"


@pytest.mark.parametrize("sizes", [(300, 500), (5000, 3000)])
def test_numeric_drift_matches_scipy(sizes):
    rng = np.random.default_rng(0)
    reference = rng.normal(size=sizes[0])
    current = np.round(rng.normal(0.1, 1.2, size=sizes[1]), 1)  # ties too
    found = drift.numeric_drift(reference, current)
    method = "auto" if max(sizes) <= drift.SCIPY_KS_MAX_ROWS else "asymp"
    expected = stats.ks_2samp(reference, current, method=method)
    assert found.statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert found.p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)
    distance = stats.wasserstein_distance(reference, current)
    assert found.effect == pytest.approx(distance / reference.std(), rel=1e-9)


def test_categorical_drift_and_corrections_match_scipy():
    reference = pd.Series(["a"] * 50 + ["b"] * 30 + ["c"] * 20 + [None] * 5)
    current = pd.Series(["a"] * 20 + ["b"] * 30 + ["c"] * 40 + ["d"] * 10)
    found = drift.categorical_drift(reference, current)
    table = [[50, 30, 20, 0], [20, 30, 40, 10]]
    expected = stats.chi2_contingency(table, correction=False)
    assert found.p_value == pytest.approx(expected.pvalue)
    assert 0 < found.effect < 1 and found.extra["psi"] > 0
    p_values = [0.001, 0.02, 0.03, 0.5]
    assert drift.adjust(p_values, "benjamini-hochberg") == pytest.approx(
        stats.false_discovery_control(p_values)
    )
    assert drift.adjust(p_values, "bonferroni") == pytest.approx([0.004, 0.08, 0.12, 1.0])


@pytest.fixture(scope="module")
def project(pipeline_run) -> dict:
    root = pipeline_run["root"]
    schema = Schema.load(root / SCHEMA_FILE)
    params = load_params(root)
    raw = read_raw(root, params.data)
    raw = raw[raw[schema.target].notna()].reset_index(drop=True)
    return {"root": root, "schema": schema, "raw": raw, "params": params}


def resample(raw: pd.DataFrame, rows: int = 300, seed: int = 1) -> pd.DataFrame:
    return raw.sample(n=rows, replace=True, random_state=seed).reset_index(drop=True)


def run_monitor(project: dict, batch: pd.DataFrame, tmp_path: Path, html: bool = False):
    path = tmp_path / "batch.csv"
    batch.to_csv(path, index=False)
    code, report = monitor(path, project["root"], out_dir=tmp_path / "out", html=html)
    assert json.loads((tmp_path / "out" / "report.json").read_text()) == json.loads(
        json.dumps(report, default=str)
    )
    failed = {(row["check"], row["column"]) for row in report["checks"] if row["failed"]}
    return code, report, failed


def test_unseen_rows_of_the_same_data_show_no_prediction_drift(tmp_path_factory):
    """Noisy labels and the default forest of deep trees: on its own training rows it gives the
    labels back, on new rows it does not. The test split, never trained on, is a batch of the
    same data: its predictions must not read as drift."""
    from {{ cookiecutter.module_name }}.paths import TEST_DATA

    from conftest import trained_on

    rng = np.random.default_rng(0)
    rows = 3000
    noisy = pd.DataFrame({"x1": rng.normal(size=rows), "x2": rng.normal(size=rows)})
    noisy["label"] = np.where(rng.random(rows) < 0.3, "yes", "no")
    data = {"raw_path": "data/raw/noisy.csv", "target": "label", "task": "classification"}
    root = trained_on(tmp_path_factory.mktemp("noisy"), noisy, data=data)
    batch = tmp_path_factory.mktemp("batch") / "test_split.csv"
    pd.read_parquet(root / TEST_DATA).to_csv(batch, index=False)
    _, report = monitor(batch, root, out_dir=batch.parent / "out")
    failed = {row["check"] for row in report["checks"] if row["failed"]}
    assert "prediction_drift" not in failed, report["message"]


def test_a_text_column_drifts_by_its_words_and_its_length(tmp_path_factory):
    """Free text: the test split reads as the same data; a batch of one-word texts drifts (the
    report charts the words per value); so does a batch of only the negative reviews, of known
    words and the same length (a change of topic); a batch in another language has unknown
    words."""
    from {{ cookiecutter.module_name }}.paths import TEST_DATA

    from conftest import project_params, trained_on
    from synthetic import review_frame

    task = project_params()["data"]["task"]
    frame = review_frame(task, rows=1500)[["review", "label"]]
    data = {"raw_path": "data/raw/reviews.csv", "target": "label", "task": task}
    root = trained_on(tmp_path_factory.mktemp("reviews"), frame, data=data)
    held_out = tmp_path_factory.mktemp("batch") / "test_split.csv"
    test_rows = pd.read_parquet(root / TEST_DATA)
    test_rows.to_csv(held_out, index=False)
    _, report = monitor(held_out, root, out_dir=held_out.parent / "same")
    (row,) = [row for row in report["checks"] if row["check"] == "feature_drift"]
    assert (row["column"], row["failed"], row["test"]) == ("review", False, "domain_classifier")
    assert row["effect"] < 0.6 and row["words_p_value"] > 0.01
    negative = held_out.parent / "negative.csv"
    bad = test_rows["label"] == "negative" if task == "classification" else test_rows["label"] < 3
    test_rows[bad].to_csv(negative, index=False)
    _, report = monitor(negative, root, out_dir=held_out.parent / "negative")
    (row,) = [row for row in report["checks"] if row["check"] == "feature_drift"]
    assert row["failed"] and row["effect"] >= 0.6, row
    assert row["words_p_value"] > 0.01  # the length did not move: the words did
    short = held_out.parent / "short.csv"
    test_rows.assign(review=test_rows["review"].str.split().str[0]).to_csv(short, index=False)
    _, report = monitor(short, root, out_dir=held_out.parent / "short")
    rows = [row for row in report["checks"] if row["check"] == "feature_drift"]
    assert [(row["column"], row["failed"]) for row in rows] == [("review", True)]
    html = (held_out.parent / "short" / "report.html").read_text(encoding="utf-8")
    assert "review: drifted" in html and "<svg" in html

    def unknown_words(report: dict) -> dict:
        (row,) = [row for row in report["checks"] if row["check"] == "unknown_words"]
        return row

    assert not unknown_words(report)["failed"]  # shorter, but the same words
    german = held_out.parent / "german.csv"
    words = ["das", "produkt", "kam", "kaputt", "an", "und", "war", "schlecht", "verpackt"]
    test_rows.assign(review=" ".join(words)).to_csv(german, index=False)
    _, report = monitor(german, root, out_dir=held_out.parent / "german")
    found = unknown_words(report)
    assert found["failed"] and found["statistic"] > 0.8 and "kaputt" in found["values"]


def test_clean_resample_is_healthy_and_reported(project, tmp_path):
    code, report, failed = run_monitor(project, resample(project["raw"]), tmp_path, html=True)
    assert (code, report["status"], failed) == (0, "healthy", set())
    names = {row["check"] for row in report["checks"]}
    assert {"data_type", "completeness", "feature_drift", "prediction_drift"} <= names
    assert {"label_drift", "performance"} <= names  # the batch carries the target
    for row in report["checks"]:
        if row["check"] == "feature_drift":
            assert {"statistic", "p_value", "p_adjusted", "effect", "threshold"} <= set(row)
    page = (tmp_path / "out" / "report.html").read_text()
    assert page.count("<svg") == sum(r["check"] == "feature_drift" for r in report["checks"])


def break_batch(project: dict, how: str) -> tuple[pd.DataFrame, set]:
    """A resample broken in one way, and the failed checks that must show it."""
    schema, raw = project["schema"], project["raw"]
    batch = resample(raw)
    numeric, categorical = schema.columns(NUMERIC)[0], schema.columns(CATEGORICAL)[0]
    if how == "completeness":
        batch.loc[batch.index[::2], numeric] = np.nan
        return batch, {("completeness", numeric)}
    if how == "unknown_categories":
        batch.loc[batch.index[::4], categorical] = "never-seen"
        return batch, {("unknown_categories", categorical)}
    if how == "numeric_drift":
        batch[numeric] = batch[numeric] + raw[numeric].std()
        return batch, {("feature_drift", numeric)}
    if how == "categorical_drift":
        batch[categorical] = raw[categorical].value_counts().index[-1]
        return batch, {("feature_drift", categorical)}
    if how == "label_and_prediction_drift":
        target = raw[schema.target]
        if schema.task == "classification":
            subset = raw[target == target.value_counts().index[0]]
        else:
            subset = raw[target > target.quantile(0.75)]
        expected = {("label_drift", None), ("prediction_drift", None)}
        return resample(subset), expected | {("prediction_divergence", None)}
    if how == "outliers":  # a broken feed: a tenth of the rows far beyond the training range
        values = batch[numeric].to_numpy(dtype=float, copy=True)
        values[::10] = raw[numeric].max() + 10 * raw[numeric].std()
        batch[numeric] = values
        return batch, {("outliers", None)}
    if how == "performance":
        batch[schema.target] = batch[schema.target].sample(frac=1, random_state=0).to_numpy()
        return batch, {("performance", None)}
    raise ValueError(how)


@pytest.mark.parametrize(
    "how",
    [
        "completeness",
        "unknown_categories",
        "numeric_drift",
        "categorical_drift",
        "label_and_prediction_drift",
        "performance",
        "outliers",
    ],
)
def test_each_check_fires_on_a_batch_built_to_break_it(project, tmp_path, how):
    batch, expected = break_batch(project, how)
    code, report, failed = run_monitor(project, batch, tmp_path)
    assert expected <= failed, report["message"]
    critical = any(row["severity"] == "critical" for row in report["checks"] if row["failed"])
    drifted = report["policy"]["drift_share"] >= report["policy"]["retrain_drift_share"]
    assert code == (1 if critical or drifted else 0)
    assert report["status"] == STATUS[code]


def test_drift_share_policy_and_overrides(project, tmp_path):
    schema, raw = project["schema"], project["raw"]
    batch = resample(raw)
    shifted = schema.columns(NUMERIC)[:3]
    for column in shifted:
        batch[column] = batch[column] + raw[column].std()
    code, report, failed = run_monitor(project, batch, tmp_path)
    assert {("feature_drift", column) for column in shifted} <= failed
    assert code == 1 and "features drift" in report["message"]

    overrides = {shifted[0]: ColumnOverride(effect=100.0), shifted[1]: ColumnOverride(skip=True)}
    settings = project["params"].monitoring.model_copy(update={"overrides": overrides})
    reference = pd.read_parquet(project["root"] / settings.reference)
    _, typed = check_schema(batch, schema)
    rows = {row["column"]: row for row in feature_drift(reference, typed, schema, settings)}
    assert not rows[shifted[0]]["failed"] and rows[shifted[0]]["threshold"] == 100.0
    assert shifted[1] not in rows and rows[shifted[2]]["failed"]


def test_extra_columns_are_a_warning_only(project, tmp_path):
    batch = resample(project["raw"]).assign(surprise=1)
    code, _, failed = run_monitor(project, batch, tmp_path)
    assert failed == {("extra_columns", None)} and code == 0


def bad_batches(project: dict, tmp_path: Path) -> dict[str, tuple[Path, str]]:
    schema, raw = project["schema"], project["raw"]
    numeric = schema.columns(NUMERIC)[0]
    batches = {
        "missing_column": (resample(raw).drop(columns=[numeric]), "missing_columns"),
        "all_nan_column": (resample(raw).assign(**{numeric: np.nan}), "all_missing"),
        "wrong_type": (resample(raw).assign(**{numeric: "lots"}), "data_type"),
    }
    paths = {}
    for name, (frame, check_name) in batches.items():
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
        paths[name] = (tmp_path / f"{name}.csv", check_name)
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "header_only.csv").write_text(",".join(raw.columns) + "\n")
    (tmp_path / "garbage.parquet").write_bytes(b"\x00\xffnot parquet at all")
    paths["empty"] = (tmp_path / "empty.csv", None)
    paths["header_only"] = (tmp_path / "header_only.csv", None)
    paths["unreadable"] = (tmp_path / "garbage.parquet", None)
    paths["no_file"] = (tmp_path / "absent.csv", None)
    return paths


def test_bad_batches_exit_2_with_a_structured_report(project, tmp_path):
    for name, (path, check_name) in bad_batches(project, tmp_path).items():
        out = tmp_path / name
        code, _ = monitor(path, project["root"], out_dir=out)
        saved = json.loads((out / "report.json").read_text())
        assert (code, saved["status"], saved["exit_code"]) == (2, "unusable", 2), name
        assert "\n" not in saved["message"] and saved["message"].startswith("batch unusable")
        if check_name:
            assert any(r["check"] == check_name and r["failed"] for r in saved["checks"]), name
        assert (out / "report.html").read_text().count("unusable") >= 1


def test_cli_exit_codes_and_one_line(project, tmp_path, capsys):
    """What a scheduler calls: `python -m <package>.monitoring BATCH` exits 0 healthy,
    1 retrain, 2 unusable (make would turn 1 and 2 alike into its own 2)."""
    garbage = tmp_path / "garbage.parquet"
    garbage.write_bytes(b"PAR1 nonsense")
    drifted = tmp_path / "drifted.csv"
    break_batch(project, "label_and_prediction_drift")[0].to_csv(drifted, index=False)
    for batch, expected in ((garbage, 2), (drifted, 1)):
        arguments = [str(batch), "--root", str(project["root"]), "--out", str(tmp_path / "out")]
        with pytest.raises(SystemExit) as exited:
            monitoring_main(arguments)
        assert exited.value.code == expected
        assert len(capsys.readouterr().out.strip().splitlines()) == 2  # verdict, report paths


@pytest.mark.slow
def test_a_fresh_interpreter_monitors_without_importing_mlflow(project, tmp_path):
    """-X importtime lists every module imported: the model is read without mlflow (seconds)."""
    clean = tmp_path / "clean.csv"
    resample(project["raw"]).to_csv(clean, index=False)
    command = [sys.executable, "-X", "importtime", "-m", MONITORING]
    command += [str(clean), "--root", str(project["root"]), "--out", str(tmp_path / "cli")]
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr + done.stdout
    assert len(done.stdout.strip().splitlines()) == 2
    assert " mlflow" not in done.stderr
    # ... and it did load the model: its report has the prediction drift check
    assert "prediction_drift" in (tmp_path / "cli" / "report.json").read_text()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"alpha": 2}, r"monitoring\.alpha: input should be less than or equal to 1"),
        (
            {"alhpa": 0.01},
            r"unknown key monitoring\.alhpa \(did you mean alpha\?\); expected one of reference",
        ),
        (
            {"overrides": {"x": {"efect": 0.1}}},
            r"key monitoring\.overrides\.x\.efect \(did you mean effect\?\); expected",
        ),
        ({"critical": ["drift"]}, r"monitoring\.critical\.0: input should be 'completeness'"),
    ],
)
def test_settings_errors_are_one_line(make_project, change, message):
    with pytest.raises(SystemExit, match=message):
        load_params(make_project(monitoring=change))


def test_window_is_bounded_and_exports_drift_gauges(project):
    schema, raw = project["schema"], project["raw"]
    settings = project["params"].monitoring
    reference = pd.read_parquet(project["root"] / settings.reference)
    window = DriftWindow(reference, schema, settings, size=200, min_rows=50)
    window.add(resample(raw, rows=30).to_dict("records"))
    assert len(window) == 30 and window.update() == {}  # too few rows to judge
    window.add(resample(raw, rows=250, seed=2))
    assert len(window) == 200  # the oldest rows fell out
    scores = window.update()
    assert scores and not any(row["failed"] for row in scores.values())

    numeric = schema.columns(NUMERIC)[0]
    shifted = resample(raw, rows=200, seed=3)
    shifted[numeric] = shifted[numeric] + 2 * raw[numeric].std()
    for row in shifted.to_dict("records"):
        window.add(row)
    assert window.update()[numeric]["failed"]

    text = generate_latest(window.registry).decode()
    families = {family.name: family for family in text_string_to_metric_families(text)}
    assert families["model_window_rows"].samples[0].value == 200
    detected = {s.labels["feature"]: s.value for s in families["model_drift_detected"].samples}
    assert detected[numeric] == 1.0
    assert set(detected) == set(scores)
    assert families["model_drift_share"].samples[0].value == window.drift_share() > 0


def test_window_takes_nulls_and_numbers_near_the_float_limit(project):
    """API clients send null for a missing value and any JSON number: the gauges still update
    (a huge value is an infinite effect, not a failed update)."""
    schema, raw = project["schema"], project["raw"]
    settings = project["params"].monitoring
    reference = pd.read_parquet(project["root"] / settings.reference)
    window = DriftWindow(reference, schema, settings, size=200, min_rows=50)
    rows = resample(raw, rows=100, seed=4).drop(columns=[schema.target]).to_dict("records")
    numeric = schema.columns(NUMERIC)[0]
    for row in rows[:40]:
        row.update(dict.fromkeys(row))  # every field null
    for row, value in zip(rows[40:60], [1e308, 1.7e308] * 10, strict=True):
        row[numeric] = value
    window.add(rows)
    scores = window.update()
    assert scores[numeric]["failed"] and scores[numeric]["effect"] > 1e300
    text = generate_latest(window.registry).decode()
    families = {family.name: family for family in text_string_to_metric_families(text)}
    effects = {s.labels["feature"]: s.value for s in families["model_drift_effect"].samples}
    assert effects[numeric] == scores[numeric]["effect"] and set(effects) == set(scores)
    # The distance itself, where the differences of the values overflow a float.
    found = drift.numeric_drift(np.array([0.0, 1.0, 2.0]), np.array([-1e308, 0.0, 1e308]))
    assert found.extra["wasserstein"] == pytest.approx(1e308 / 3 * 2)


def test_retraining_decision_asks_the_monitor_about_a_batch(project, tmp_path):
    """`make retrain-check CURRENT=batch.csv`: the monitor's verdict decides, exit codes kept."""
    root = project["root"]
    raw_path = project["params"].data.raw_path
    if not (root / "dvc.lock").exists():  # the data the model was trained on, as DVC records it
        md5 = pointer_md5(root / f"{raw_path}.dvc")
        lock = {"schema": "2.0", "stages": {"prepare": {"deps": [{"path": raw_path, "md5": md5}]}}}
        (root / "dvc.lock").write_text(json.dumps(lock), encoding="utf-8")
    assert retrain.check(root) == 0

    batches = {
        "clean": resample(project["raw"]),
        "drifted": break_batch(project, "label_and_prediction_drift")[0],
        "unusable": resample(project["raw"]).drop(columns=project["schema"].columns(NUMERIC)[:1]),
    }
    verdicts = {}
    for name, batch in batches.items():
        path = tmp_path / f"{name}.csv"
        batch.to_csv(path, index=False)
        verdicts[name] = retrain.check(root, path)
    assert verdicts == {"clean": 0, "drifted": 1, "unusable": 2}
    with pytest.raises(SystemExit, match="cannot be judged"):
        retrain.run(root, current=tmp_path / "unusable.csv")


def test_a_new_check_decides_retraining_when_listed_critical(project, tmp_path, monkeypatch):
    """README "Customise it": a function returning check rows, called from run_checks, and its
    entry in the catalog; listed in monitoring.critical, it decides retraining."""
    from {{ cookiecutter.module_name }}.monitoring import catalog, checks, run, verdict

    def too_few_rows(current):
        return [checks.check_row("min_rows", None, len(current) < 500, rows=len(current))]

    with pytest.raises(KeyError, match=r"no entry in monitoring/catalog\.py"):
        too_few_rows(resample(project["raw"]))
    entry = catalog.Check("Too few rows", "rows in the batch", (), "critical", "quality")
    monkeypatch.setitem(catalog.CHECKS, "min_rows", entry)

    original = run.check_quality

    def quality_and_rows(reference, current, schema, settings):
        return original(reference, current, schema, settings) + too_few_rows(current)

    monkeypatch.setattr(run, "check_quality", quality_and_rows)
    settings = project["params"].monitoring
    rows = run.run_checks(
        project["root"],
        resample(project["raw"]),
        project["schema"],
        settings,
        pd.read_parquet(project["root"] / settings.reference),
    )
    assert verdict.decide(rows, settings)[0] == verdict.HEALTHY  # not listed: reported only
    listed = settings.model_copy(update={"critical": [*settings.critical, "min_rows"]})
    code, message, _ = verdict.decide(rows, listed)
    assert code == verdict.RETRAIN and "min_rows" in message


def test_critical_defaults_to_the_catalog_and_a_warning_can_be_made_critical(project, tmp_path):
    """monitoring.critical defaults to the catalog's critical_by_default checks; unknown_words
    (a warning by default) decides retraining once listed."""
    from {{ cookiecutter.module_name }}.monitoring import catalog, checks, verdict

    settings = project["params"].monitoring
    assert settings.critical == catalog.CRITICAL_DEFAULT
    assert "unknown_words" not in settings.critical
    row = checks.check_row("unknown_words", "text", True, statistic=0.9, threshold=0.5)
    assert verdict.decide([dict(row)], settings)[0] == verdict.HEALTHY
    listed = settings.model_copy(update={"critical": ["unknown_words"]})
    graded = dict(row)
    assert verdict.decide([graded], listed)[0] == verdict.RETRAIN
    assert graded["severity"] == "critical"


def test_prediction_divergence_is_kl_with_a_g_test():
    """drift.divergence: scipy's KL of the shares, and the G-test of the two count tables."""
    reference = pd.Series({"a": 60, "b": 30, "c": 10})
    current = pd.Series({"a": 20, "b": 30, "c": 40, "d": 10})
    found = drift.divergence(reference, current)
    smoothed = (np.array([60, 30, 10, 0]) + 0.5) / (100 + 0.5 * 4)
    shares = np.array([20, 30, 40, 10]) / 100
    assert found.effect == pytest.approx(stats.entropy(shares, smoothed))
    table = [[60, 30, 10, 0], [20, 30, 40, 10]]
    g = stats.chi2_contingency(table, correction=False, lambda_="log-likelihood")
    assert (found.statistic, found.p_value) == pytest.approx((g.statistic, g.pvalue))
    same = drift.divergence(reference, reference * 3)
    assert same.p_value > 0.9 and same.effect < 0.001
    values = np.random.default_rng(0).normal(size=5000)
    edges = drift.decile_edges(values)
    assert len(edges) == 9 and drift.binned(values, edges).tolist() == [500] * 10


def test_outlier_check_fails_on_many_outliers_only():
    """Fails when the share is outlier_ratio times the test split's and significant; lists the
    most outlying rows, worst first."""
    from {{ cookiecutter.module_name }}.modeling.outliers import Outliers
    from {{ cookiecutter.module_name }}.monitoring.model_checks import outlier_check
    from {{ cookiecutter.module_name }}.monitoring.settings import MonitoringSettings

    settings = MonitoringSettings(reference="x", alpha=0.01, retrain_drift_share=0.3, overrides={})
    scores = np.full(1000, 0.2)
    few = outlier_check(Outliers(scores.copy(), [""] * 1000), 0.01, 2000, settings)
    assert not few["failed"] and few["outlying_rows"] == 0 and few["examples"] == []
    scores[:12] = 1.5  # 1.2% against 1%: chance
    chance = outlier_check(Outliers(scores.copy(), ["far"] * 1000), 0.01, 2000, settings)
    assert not chance["failed"] and chance["outlying_rows"] == 12
    scores[:80] = np.linspace(1.1, 9, 80)  # 8%: a broken feed
    broken = outlier_check(Outliers(scores, ["far"] * 1000), 0.01, 2000, settings)
    assert broken["failed"] and broken["statistic"] == pytest.approx(0.08)
    assert [item["row"] for item in broken["examples"][:2]] == [79, 78]


def test_history_keeps_every_batch_and_the_report_shows_it(project, tmp_path):
    """Each monitor run appends one line; the report's drift-over-time table has every tested
    feature with its pattern once there are batches enough."""
    from {{ cookiecutter.module_name }}.monitoring.history import HISTORY_FILE, read

    schema, raw = project["schema"], project["raw"]
    numeric = schema.columns(NUMERIC)[0]
    for step in range(4):  # quiet, quiet, then a jump that stays: abrupt
        batch = resample(raw, seed=step)
        if step >= 2:
            batch[numeric] = batch[numeric] + raw[numeric].std()
        run_monitor(project, batch, tmp_path, html=step == 3)
    entries = read(tmp_path / "out" / HISTORY_FILE)
    assert [entry["status"] for entry in entries][:2] == ["healthy", "healthy"]
    assert [entry["features"][numeric]["drifted"] for entry in entries] == [0, 0, 1, 1]
    page = (tmp_path / "out" / "report.html").read_text()
    assert "Drift over time: the last 4 batches" in page
    row = page[page.index("<table id='history'>") :].split("</table>")[0]
    assert f"<td>{numeric}</td><td>abrupt</td>" in row


@pytest.mark.parametrize(
    ("ratios", "expected"),
    [
        ([0.2, 0.3, 0.2, 0.25, 0.3], "stable"),
        ([0.2, 0.3, 0.25, 2.5, 2.6, 2.4], "abrupt"),
        ([0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4], "incremental"),
        ([0.2, 2.0, 0.3, 2.2, 0.2, 2.1], "recurring"),
        ([1.5, 1.6, 1.5, 1.7], "persistent"),
        ([0.2, 1.5], "too few batches"),
        ([float("nan"), float("nan"), 1.5], "too few batches"),  # tested in one batch only
    ],
)
def test_history_patterns_are_named_by_their_rules(ratios, expected):
    from {{ cookiecutter.module_name }}.monitoring.history import pattern

    assert pattern(ratios, [value >= 1 for value in ratios]) == expected


def test_adwin_finds_where_a_long_history_changed():
    """river's ADWIN over the history: a level shift after 40 quiet batches is found within ten
    batches; a quiet history of the same length has no change."""
    from {{ cookiecutter.module_name }}.monitoring.history import change_points

    rng = np.random.default_rng(0)
    quiet = list(np.abs(rng.normal(0.3, 0.1, size=60)))
    assert change_points(quiet) == []
    shifted = quiet[:40] + [value + 2 for value in quiet[40:]]
    found = change_points(shifted)
    assert found and 40 <= found[0] <= 50
