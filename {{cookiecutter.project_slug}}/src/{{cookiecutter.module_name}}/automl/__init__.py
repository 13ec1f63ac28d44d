"""`make automl`: an Optuna search over the model families and their parameters (FAMILIES in
modeling/estimators.py) and the preprocessing choices that matter, on cross-validation folds of
the train split; each trial a nested MLflow run, the winner written to params.yaml for review,
then trained by `make repro` like any other model. `make automl-show` draws its leaderboard."""
