"""MLflow tracking: the store, training runs and the registry, lineage tags."""
