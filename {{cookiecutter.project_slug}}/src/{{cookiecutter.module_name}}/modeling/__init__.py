"""Model building: estimator families, feature preprocessing, the Pipeline, metrics.

Add a model family in estimators.py, a feature transformation in features.py, a metric in
metrics.py."""
