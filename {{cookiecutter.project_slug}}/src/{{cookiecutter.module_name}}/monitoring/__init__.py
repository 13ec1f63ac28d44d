"""Monitoring: data-quality and drift checks of a batch against the training data, and the
retraining verdict (`python -m <package>.monitoring BATCH`, exit 0 / 1 / 2)."""
