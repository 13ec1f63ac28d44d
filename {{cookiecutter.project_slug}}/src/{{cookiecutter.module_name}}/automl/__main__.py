"""`make automl` and `make automl-show`.

    python -m <package>.automl [--budget SECONDS] [--jobs N] [--trials N] [--new]
    python -m <package>.automl show

The search runs until the budget (automl.budget, or --budget) is spent, or --trials more trials
finished; the best trial's model is then written to params.yaml for you to review and train
with `make repro`. Exit code: 0 done, 1 no trial finished, 2 a refusal (one line), 130
interrupted (the finished trials are kept, and the best so far written).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..config import Params, load_params
from ..paths import AUTOML_DIR
from .settings import AutomlSettings, automl_settings
from .space import check_families

USAGE = "make automl [BUDGET=seconds] [JOBS=n] [TRIALS=n] [NEW=1]"


def run_search(root: Path, budget: int | None, jobs: int, trials: int | None, new: bool) -> int:
    params = load_params(root)
    settings = automl_settings(params)
    families = check_families(settings.families)
    from ..tracking.server import check_tracking_server

    check_tracking_server(params.mlflow.tracking_uri)  # in seconds, before any trial
    import optuna

    from .leaderboard import finished
    from .search import PARENT_ATTR, STOPPED_ATTR, Search, open_study, run_workers

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = open_study(root, params, settings, families, new)
    done_before = len(
        study.get_trials(
            deepcopy=False,
            states=(optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED),
        )
    )
    runs = parent_runs(params, study.user_attrs.get(PARENT_ATTR), study.study_name)
    if runs is not None:
        study.set_user_attr(PARENT_ATTR, runs.parent_id)
    seconds = budget or settings.budget
    plan = Search(
        root=root,
        budget=seconds,
        deadline=time.time() + seconds,
        trials=None if trials is None else done_before + trials,
        parent_run=runs.parent_id if runs is not None else None,
        params=params,
    )
    where = settings.storage or (root / AUTOML_DIR).as_posix()
    print(
        f"automl: {', '.join(families)} for {seconds} s"
        + (f" or {trials} trials" if trials else "")
        + f", {settings.folds} folds, {jobs} process(es); study {study.study_name!r} in {where}"
        + (f", continuing its {done_before} trials" if done_before else ""),
        flush=True,
    )
    interrupted = False
    try:
        too_small = run_workers(plan, jobs)
    except KeyboardInterrupt:
        interrupted, too_small = True, None
        print("\nautoml: interrupted; every finished trial is kept in the study", flush=True)
    if too_small:  # nothing new was tried: params.yaml stays as it is
        print(too_small, file=sys.stderr)
        return 2
    best = finished(study)
    if not best:
        failures = [
            trial.user_attrs.get(STOPPED_ATTR, "")
            for trial in study.get_trials(deepcopy=False)
            if trial.state == optuna.trial.TrialState.FAIL
        ]
        reason = next((found for found in failures if found), "no trial ran")
        print(f"automl: no trial finished ({reason})", file=sys.stderr)
        return 130 if interrupted else 1
    conclude(root, params, settings, study, runs)
    return 130 if interrupted else 0


def parent_runs(params: Params, parent: str | None, name: str):
    """The search's parent MLflow run (opened again when it still exists), or None with one
    line when the store fails: the trials are kept in the study either way."""
    from ..tracking.search_runs import SearchRuns

    try:
        return SearchRuns(params.mlflow, parent, f"automl {name}", {"automl": "true"})
    except Exception as error:
        print(f"automl: trials are not logged to MLflow ({' '.join(str(error).split())[:160]})")
        return None


def conclude(root: Path, params: Params, settings: AutomlSettings, study, runs) -> None:
    """The winner into params.yaml, the leaderboard and plots written, shown and logged."""
    from .leaderboard import finished, leaderboard_lines, write_reports
    from .space import candidate_of
    from .winner import write_winner

    best = finished(study)[0]
    candidate = candidate_of(best.params)
    print("\n".join(leaderboard_lines(study, settings.metric)))
    changes = write_winner(root, candidate)
    written = write_reports(root, study, settings.metric)
    print(f"\nbest: trial {best.number}, {candidate.family}, {settings.metric} {best.value:.4f}")
    if changes:
        for key, (before, after) in changes.items():
            print(f"  params.yaml {key}: {before!r} -> {after!r}")
        print(
            "review it (`git diff params.yaml`), then `make repro` trains it and registers the "
            f"model; commit params.yaml with {AUTOML_DIR}/"
        )
    else:
        print("params.yaml already holds it: nothing changed")
    if runs is not None:
        try:
            runs.finish(
                {f"best_cv_{settings.metric}": best.value, "trials": len(study.trials)},
                {"automl.best_family": candidate.family, "automl.best_trial": str(best.number)},
                root / AUTOML_DIR,
            )
            print(f"MLflow: parent run {runs.parent_id}, {len(written)} report files logged")
        except Exception as error:  # the store went away: the files stay in reports/automl/
            print(f"automl: MLflow did not take the reports ({' '.join(str(error).split())[:160]})")


def show(root: Path) -> int:
    """The leaderboard of the saved study, and its plots, written again and logged."""
    import optuna

    from .search import PARENT_ATTR, storage_of

    params = load_params(root)
    settings = automl_settings(params)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    storage = storage_of(root, settings)
    try:
        study = optuna.load_study(study_name=params.mlflow.experiment_name, storage=storage)
    except KeyError:
        print(f"automl: no search saved yet: run `{USAGE}`", file=sys.stderr)
        return 2
    from .leaderboard import leaderboard_lines, write_reports

    print("\n".join(leaderboard_lines(study, settings.metric)))
    written = write_reports(root, study, settings.metric)
    print(f"\nwrote {', '.join(path.relative_to(root).as_posix() for path in written)}")
    parent = study.user_attrs.get(PARENT_ATTR)
    if parent:
        runs = parent_runs(params, parent, study.study_name)
        if runs is not None and runs.parent_id == parent:
            runs.finish({}, {}, root / AUTOML_DIR)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", nargs="?", choices=("search", "show"), default="search")
    parser.add_argument("--budget", type=int, help="seconds (default: automl.budget)")
    parser.add_argument("--jobs", type=int, default=1, help="processes sharing the study")
    parser.add_argument("--trials", type=int, help="stop once this many more trials finished")
    parser.add_argument("--new", action="store_true", help="start the study over")
    parser.add_argument("--root", type=Path, default=Path(), help="project root (default: .)")
    args = parser.parse_args(argv)
    for name in ("budget", "jobs", "trials"):
        value = getattr(args, name)
        if value is not None and value < 1:
            print(
                f"automl: --{name} ({name.upper()}=) must be 1 or more, got {value}",
                file=sys.stderr,
            )
            return 2
    try:
        if args.command == "show":
            return show(args.root)
        return run_search(args.root, args.budget, args.jobs, args.trials, args.new)
    except SystemExit as error:  # a refusal: one line
        if not isinstance(error.code, str):
            raise
        print(error.code, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
