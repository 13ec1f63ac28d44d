"""The search: an Optuna study (TPE sampling, median pruning on the folds) whose trials
cross-validate candidates on the train split, on one process or several sharing its storage.

The study lives in its storage (a journal file in reports/automl/, or automl.storage's
database) under the MLflow experiment's name: a new search continues it, every finished trial
is kept there at once (Ctrl-C loses only the trial under way), and a search whose data or
settings changed refuses to mix its scores with the old ones.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import multiprocessing
import os
import queue
import signal
import statistics
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold

from ..config import Params, load_params
from ..dataset.sample import read_rows
from ..dataset.schema import Schema
from ..modeling.estimators import build_estimator
from ..modeling.metrics import PRIMARY_METRIC, TASK_METRICS, higher_is_better, task_scores
from ..modeling.model import build_model, fit
from ..paths import AUTOML_DIR, SCHEMA_FILE, TRAIN_DATA, require_outputs
from .settings import AutomlSettings, automl_settings
from .space import Candidate, check_families, starting_points, suggest

STUDY_FILE = AUTOML_DIR / "study.journal"
# Study attributes: what the search compares its scores on, and its MLflow parent run.
SEARCH_ATTR, PARENT_ATTR = "search", "mlflow_parent_run"
# Trial attributes: its folds' scores, and why it stopped early (pruned, budget).
SCORES_ATTR, STOPPED_ATTR = "fold_scores", "stopped"


@dataclass
class Search:
    """What a worker needs to run trials. A worker process gets it pickled and reads
    params.yaml itself: the validated Params class is built at run time, so it does not pickle."""

    root: Path
    budget: float  # seconds
    deadline: float  # time.time() the search ends
    trials: int | None  # most finished trials in the study when this search ends
    parent_run: str | None
    # params.yaml as loaded (read again in a worker process). Load it before MLflow is
    # imported: MLflow's telemetry thread sets and unsets a variable while the environment
    # overrides are read.
    params: Params | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.params is None:
            self.params = load_params(self.root)
        self.settings: AutomlSettings = automl_settings(self.params)
        self.families: list[str] = check_families(self.settings.families)

    def __getstate__(self) -> dict[str, Any]:
        fields = ("root", "budget", "deadline", "trials", "parent_run")
        return {name: getattr(self, name) for name in fields}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, params=None)
        self.__post_init__()


def metric_of(settings: AutomlSettings, task: str) -> str:
    """automl.metric, checked against the task's scores (one line if it is another task's)."""
    allowed = TASK_METRICS[task]
    if settings.metric not in allowed:
        raise SystemExit(
            f"params.yaml: automl.metric {settings.metric!r} is no {task} score; use one of "
            f"{', '.join(allowed)} (the headline one: {PRIMARY_METRIC[task]})"
        )
    return settings.metric


def storage_of(root: Path, settings: AutomlSettings) -> optuna.storages.BaseStorage:
    """automl.storage's database, or the journal file in reports/automl/ (a file several local
    processes share safely)."""
    if not settings.storage:
        from optuna.storages.journal import JournalFileBackend

        (root / STUDY_FILE).parent.mkdir(parents=True, exist_ok=True)
        return optuna.storages.JournalStorage(JournalFileBackend(str(root / STUDY_FILE)))
    try:
        return optuna.storages.RDBStorage(settings.storage)
    except Exception as error:  # a wrong URL, a database that is down, a missing driver
        problem = " ".join(str(error).split())[:200]
        raise SystemExit(
            f"params.yaml: automl.storage {settings.storage!r} cannot be opened ({problem}): fix "
            'the URL or its server, or set it to "" for a file in reports/automl/'
        ) from None


def fingerprint(root: Path, settings: AutomlSettings, families: list[str], metric: str) -> str:
    """What makes two searches' scores comparable: the train split and the search settings."""
    digest = hashlib.md5(usedforsecurity=False)
    for path in (TRAIN_DATA, SCHEMA_FILE):
        with (root / path).open("rb") as handle:
            for block in iter(lambda handle=handle: handle.read(1 << 20), b""):
                digest.update(block)
    search = {
        "data": digest.hexdigest(),
        "metric": metric,
        "folds": settings.folds,
        "families": sorted(families),
        "sample_rows": settings.sample_rows,
    }
    return json.dumps(search, sort_keys=True)


def open_study(
    root: Path, params: Params, settings: AutomlSettings, families: list[str], new: bool
) -> optuna.Study:
    """The project's study: created (its first trials queued: starting_points), continued, or
    refused when it searched other data or settings."""
    require_outputs(root, SCHEMA_FILE, TRAIN_DATA)
    metric = metric_of(settings, params.data.task)
    storage = storage_of(root, settings)
    name = params.mlflow.experiment_name
    if new:
        with contextlib.suppress(KeyError):  # none yet
            optuna.delete_study(study_name=name, storage=storage)
    study = optuna.create_study(
        study_name=name,
        storage=storage,
        direction="maximize" if higher_is_better(metric) else "minimize",
        load_if_exists=True,
    )
    expected = fingerprint(root, settings, families, metric)
    found = study.user_attrs.get(SEARCH_ATTR)
    if found is None:
        study.set_user_attr(SEARCH_ATTR, expected)
        schema = Schema.load(root / SCHEMA_FILE)
        for point in starting_points(families, params, schema):
            study.enqueue_trial(point, skip_if_exists=True)
    elif found != expected:
        changed = [
            key
            for key, value in json.loads(expected).items()
            if json.loads(found).get(key) != value
        ]
        raise SystemExit(
            f"automl: the saved study {name!r} searched with other {', '.join(changed)} "
            "(data = the train split prepare wrote): `make automl NEW=1` starts a new study"
        )
    return study


def load_data(search: Search) -> tuple[pd.DataFrame, pd.Series, Schema, list]:
    """The train split (a seeded sample of automl.sample_rows) and its folds."""
    params, settings = search.params, search.settings
    schema = Schema.load(search.root / SCHEMA_FILE)
    stratify = params.stratify
    train = read_rows(
        search.root / TRAIN_DATA,
        settings.sample_rows,
        settings.seed,
        params.data.target if stratify else None,
    )
    if len(train) < 2 * settings.folds:
        raise SystemExit(
            f"automl: {len(train)} train rows cannot make {settings.folds} folds: lower "
            "automl.folds or add data"
        )
    features, target = train[list(schema.features)], train[schema.target]
    splitter = (
        StratifiedKFold(settings.folds, shuffle=True, random_state=settings.seed)
        if stratify and target.value_counts().max() >= settings.folds
        else KFold(settings.folds, shuffle=True, random_state=settings.seed)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a class rarer than the folds: in some folds only
        folds = list(splitter.split(features, target))
    return features, target, schema, folds


class Objective:
    """One trial: a candidate cross-validated fold by fold, reported after each fold so that
    the pruner can stop a bad one early; logged as a nested MLflow run."""

    def __init__(self, search: Search, worker: int):
        self.search = search
        self.worker = worker
        self.features, self.target, self.schema, self.folds = load_data(search)
        self.metric = search.settings.metric
        self.too_small: str | None = None  # why the budget cannot fit one trial
        self.finished = 0
        self.runs = None
        self.logging_failed = False
        if search.parent_run is not None:
            self.runs = open_runs(search, search.parent_run)
            if self.runs is None:
                self.logging_failed = True

    def __call__(self, trial: optuna.Trial) -> float:
        params = self.search.params
        candidate = suggest(trial, self.search.families, params.data.task, self.schema)
        started = time.time()
        try:
            with warnings.catch_warnings():
                # a fold's convergence or ill-defined-score notices: the trial's line says how
                # it did, and `make repro` reports on the model kept
                warnings.simplefilter("ignore")
                scores = self.cross_validate(trial, candidate, started)
        except optuna.TrialPruned:
            self.report(trial, candidate, trial.user_attrs.get(SCORES_ATTR, []), started)
            raise
        except Exception as error:
            problem = " ".join(str(error).split())[:200] or type(error).__name__
            trial.set_user_attr(STOPPED_ATTR, f"failed: {problem}")
            self.report(trial, candidate, [], started)
            raise
        except SystemExit as error:  # build_estimator and fit refuse params in one line
            trial.set_user_attr(STOPPED_ATTR, f"failed: {error}")
            self.report(trial, candidate, [], started)
            raise ValueError(str(error)) from None
        self.finished += 1
        self.report(trial, candidate, scores, started)
        return statistics.fmean(scores)

    def cross_validate(self, trial: optuna.Trial, candidate: Candidate, started: float) -> list:
        params = self.search.params
        task = params.data.task
        estimator = build_estimator(
            candidate.family, candidate.model_params, task, self.search.settings.seed
        )
        features = candidate.features(params.features)
        scores: list[float] = []
        for step, (fit_rows, check_rows) in enumerate(self.folds):
            model = build_model(
                self.schema, features.min_category_frequency, estimator, features.text
            )
            fitted = fit(model, self.features.iloc[fit_rows], self.target.iloc[fit_rows])
            predicted = fitted.predict(self.features.iloc[check_rows])
            actual = self.target.iloc[check_rows]
            scores.append(task_scores(task, actual, predicted)[self.metric])
            trial.set_user_attr(SCORES_ATTR, scores)
            if step == len(self.folds) - 1:
                break
            trial.report(statistics.fmean(scores), step)
            if self.finished == 0 and step == 0:
                self.check_budget(trial, time.time() - started)
            if trial.should_prune():
                trial.set_user_attr(STOPPED_ATTR, f"pruned after fold {step + 1}")
                raise optuna.TrialPruned()
            if time.time() > self.search.deadline:
                trial.set_user_attr(STOPPED_ATTR, f"budget spent after fold {step + 1}")
                trial.study.stop()
                raise optuna.TrialPruned()
        return scores

    def check_budget(self, trial: optuna.Trial, first_fold: float) -> None:
        """Stop the search when its first trial alone would overrun the budget."""
        projected = first_fold * len(self.folds)
        if projected <= self.search.budget:
            return
        self.too_small = (
            f"automl: a budget of {self.search.budget:.0f} s is too small for one trial: its "
            f"first fold took {first_fold:.1f} s, so {len(self.folds)} folds take about "
            f"{math.ceil(projected)} s; raise it (make automl BUDGET={math.ceil(projected * 3)}) "
            "or lower automl.folds or automl.sample_rows"
        )
        trial.set_user_attr(STOPPED_ATTR, "budget too small")
        trial.study.stop()
        raise optuna.TrialPruned()

    def report(
        self, trial: optuna.Trial, candidate: Candidate, scores: list[float], started: float
    ) -> None:
        """A line in the terminal, and the trial's nested run."""
        seconds = time.time() - started
        stopped = trial.user_attrs.get(STOPPED_ATTR)
        score = f"{self.metric} {statistics.fmean(scores):.4f}" if scores else "no score"
        if scores and len(scores) > 1:
            score += f" ± {statistics.stdev(scores):.4f}"
        state = f" ({stopped})" if stopped else ""
        print(
            f"trial {trial.number:>3} {candidate.family:<17} {score} in {seconds:.1f} s{state}",
            flush=True,
        )
        if self.runs is None or self.logging_failed:
            return
        metrics = {f"cv_{self.metric}": statistics.fmean(scores)} if scores else {}
        if len(scores) > 1:
            metrics[f"cv_{self.metric}_std"] = statistics.stdev(scores)
        metrics["seconds"] = seconds
        run_params = {f"model.params.{key}": value for key, value in candidate.model_params.items()}
        run_params.update(
            {f"features.{key}": value for key, value in candidate.preprocessing.items()}
        )
        run_params["model.name"] = candidate.family
        tags = {"automl.trial": str(trial.number), "automl.state": stopped or "complete"}
        try:
            self.runs.log_trial(f"trial-{trial.number}", run_params, metrics, tags)
        except Exception as error:  # the store went away: the study keeps the trials
            self.logging_failed = True
            print(f"automl: MLflow stopped taking trial runs ({error}); the study keeps them")


def open_runs(search: Search, parent_run: str) -> Any:
    """The search's runs in MLflow, or None (one line) when the store cannot be reached."""
    from ..tracking.search_runs import SearchRuns

    try:
        return SearchRuns(search.params.mlflow, parent_run, "automl", {})
    except Exception as error:
        print(f"automl: trials are not logged to MLflow ({' '.join(str(error).split())[:160]})")
        return None


def run_worker(search: Search, worker: int) -> str | None:
    """Run trials until the deadline or the trial count; returns why the budget cannot fit
    one trial, if so. Threads: the cores shared among the workers."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    storage = storage_of(search.root, search.settings)
    # The starting points (one a family) run whole, and TPE models the scores right after them
    # rather than after its default of 10 random trials, which a budget of minutes cannot
    # spare. From then on a trial is pruned when, after a fold, it scores worse than the median
    # of the earlier trials after that fold.
    first = len(search.families)
    study = optuna.load_study(
        study_name=search.params.mlflow.experiment_name,
        storage=storage,
        sampler=optuna.samplers.TPESampler(
            seed=search.settings.seed + worker,
            n_startup_trials=first,
            multivariate=True,
            group=True,
        ),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=first),
    )
    objective = Objective(search, worker)
    callbacks = []
    if search.trials is not None:
        states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
        callbacks.append(optuna.study.MaxTrialsCallback(search.trials, states=states))
    remaining = search.deadline - time.time()
    if remaining > 0 and not limit_reached(study, search.trials):
        study.optimize(objective, timeout=remaining, catch=(Exception,), callbacks=callbacks)
    return objective.too_small


def limit_reached(study: optuna.Study, trials: int | None) -> bool:
    if trials is None:
        return False
    done = study.get_trials(
        deepcopy=False, states=(optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    )
    return len(done) >= trials


def _worker_process(search: Search, worker: int, threads: int, results: Any) -> None:
    os.environ["OMP_NUM_THREADS"] = str(threads)
    try:
        results.put((worker, run_worker(search, worker)))
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # one is enough: report and end
        results.put((worker, None))
    except SystemExit as error:
        results.put((worker, str(error)))


def run_workers(search: Search, jobs: int) -> str | None:
    """`jobs` processes (one: this one) running trials of the same study."""
    if jobs == 1:
        return run_worker(search, 0)
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    threads = max(1, (os.cpu_count() or 1) // jobs)
    processes = [
        context.Process(target=_worker_process, args=(search, worker, threads, results))
        for worker in range(jobs)
    ]
    for process in processes:
        process.start()
    found = []
    try:
        # drained while they run: a process that put something ends only once it is read
        while any(process.is_alive() for process in processes):
            with contextlib.suppress(queue.Empty):
                found.append(results.get(timeout=0.5))
    except KeyboardInterrupt:
        # From a terminal the workers got it too; sent to this process alone (kill -INT), it is
        # passed on to those still running after a moment.
        for process in processes:
            process.join(timeout=2)
            if process.is_alive():
                os.kill(process.pid, signal.SIGINT)
        for process in processes:
            process.join()
        raise
    while True:
        try:
            found.append(results.get_nowait())
        except queue.Empty:
            break
    for process in processes:
        process.join()
    return next((problem for _, problem in sorted(found) if problem), None)
