"""The search's results: the leaderboard (best trials, and the best of each family) as a table,
and Optuna's history and parameter-importance plots, written to reports/automl/ (the pull
request's report shows them) and logged to the search's parent MLflow run."""

from __future__ import annotations

import statistics
import warnings
from pathlib import Path
from typing import Any

import optuna

from ..paths import AUTOML_DIR
from .search import SCORES_ATTR
from .space import FAMILY, candidate_of

LEADERBOARD_FILE = AUTOML_DIR / "leaderboard.md"
TRIALS_FILE = AUTOML_DIR / "trials.csv"
HISTORY_PLOT = AUTOML_DIR / "history.png"
IMPORTANCE_PLOT = AUTOML_DIR / "importance.png"
TOP = 10  # trials the leaderboard lists


def finished(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """The trials that scored every fold, best first."""
    trials = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    maximise = study.direction == optuna.study.StudyDirection.MAXIMIZE
    return sorted(trials, key=lambda trial: trial.value, reverse=maximise)


def row(trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
    scores = trial.user_attrs.get(SCORES_ATTR) or [trial.value]
    seconds = (
        (trial.datetime_complete - trial.datetime_start).total_seconds()
        if trial.datetime_complete and trial.datetime_start
        else float("nan")
    )
    candidate = candidate_of(trial.params)
    settings = {**candidate.model_params, **candidate.preprocessing}
    shown = ", ".join(f"{key}={_short(value)}" for key, value in settings.items())
    return {
        "trial": trial.number,
        "family": trial.params[FAMILY],
        "score": statistics.fmean(scores),
        "spread": statistics.stdev(scores) if len(scores) > 1 else 0.0,
        "seconds": seconds,
        "params": shown,
    }


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def table(rows: list[dict[str, Any]], metric: str) -> list[str]:
    lines = [
        f"| rank | trial | family | {metric} (± fold sd) | seconds | parameters |",
        "|---:|---:|---|---|---:|---|",
    ]
    for rank, found in enumerate(rows, start=1):
        lines.append(
            f"| {rank} | {found['trial']} | {found['family']} | {found['score']:.4f} ± "
            f"{found['spread']:.4f} | {found['seconds']:.1f} | {found['params']} |"
        )
    return lines


def counts(study: optuna.Study) -> str:
    states: dict[str, int] = {}
    for trial in study.get_trials(deepcopy=False):
        states[trial.state.name.lower()] = states.get(trial.state.name.lower(), 0) + 1
    listed = ", ".join(f"{number} {state}" for state, number in sorted(states.items()))
    return f"{sum(states.values())} trials ({listed})"


def leaderboard_lines(study: optuna.Study, metric: str) -> list[str]:
    """The leaderboard as Markdown lines: the top trials, then each family's best."""
    trials = finished(study)
    if not trials:
        return [f"No trial finished yet: {counts(study)}."]
    best_of_family: dict[str, optuna.trial.FrozenTrial] = {}
    for trial in trials:
        best_of_family.setdefault(trial.params[FAMILY], trial)
    # Dated by its last trial, not by now: drawn again without new trials, nothing changes.
    ended = max(trial.datetime_complete for trial in trials)
    lines = [
        f"{counts(study)}; ranked by cross-validated {metric} on the train split "
        f"(last trial {ended:%Y-%m-%d %H:%M}).",
        "",
        f"### Best {min(TOP, len(trials))} trials",
        "",
        *table([row(trial) for trial in trials[:TOP]], metric),
        "",
        "### Best of each family",
        "",
        *table([row(trial) for trial in best_of_family.values()], metric),
    ]
    return lines


def write_reports(root: Path, study: optuna.Study, metric: str) -> list[Path]:
    """leaderboard.md, trials.csv and the two plots in reports/automl/; returns those written."""
    folder = root / AUTOML_DIR
    folder.mkdir(parents=True, exist_ok=True)
    (root / LEADERBOARD_FILE).write_text(
        "\n".join(leaderboard_lines(study, metric)) + "\n", encoding="utf-8"
    )
    frame = study.trials_dataframe(attrs=("number", "value", "state", "duration", "params"))
    frame.to_csv(root / TRIALS_FILE, index=False)
    written = [root / LEADERBOARD_FILE, root / TRIALS_FILE]
    written += draw_plots(root, study, metric)
    return written


def draw_plots(root: Path, study: optuna.Study, metric: str) -> list[Path]:
    """Optuna's optimisation history, and the importance of the parameters of the best family
    (its own trials: the families' parameters differ)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as plots

    trials = finished(study)
    if not trials:
        return []
    drawn = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna's matplotlib plots are "experimental"
        axes = plots.plot_optimization_history(study, target_name=metric)
        _save(plt, axes, f"{metric} of each trial, and the best so far", root / HISTORY_PLOT)
        drawn.append(root / HISTORY_PLOT)
        family = trials[0].params[FAMILY]
        own = [trial for trial in trials if trial.params[FAMILY] == family]
        if len(own) >= 3:  # importance needs trials that differ
            of_family = optuna.create_study(direction=study.direction)
            of_family.add_trials(own)
            names = [name for name in own[0].params if name != FAMILY]
            try:
                axes = plots.plot_param_importances(
                    of_family,
                    # seeded: the same trials draw the same image
                    evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0),
                    params=names,
                    target_name=metric,
                )
            except (RuntimeError, ValueError, ZeroDivisionError):
                return drawn  # all trials alike on these parameters
            title = f"What mattered to {metric} in the {len(own)} {family} trials"
            _save(plt, axes, title, root / IMPORTANCE_PLOT)
            drawn.append(root / IMPORTANCE_PLOT)
        else:
            (root / IMPORTANCE_PLOT).unlink(missing_ok=True)
    return drawn


def _save(plt: Any, axes: Any, title: str, path: Path) -> None:
    axes.set_title("", loc="left")  # Optuna's own titles
    axes.set_title(title)
    figure = axes.get_figure()
    figure.set_size_inches(8, 4.5)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
