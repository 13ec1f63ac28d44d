"""The DVC stages (dvc.yaml): prepare -> train -> evaluate, one module each."""
