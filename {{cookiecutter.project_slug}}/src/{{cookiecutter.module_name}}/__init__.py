"""Tabular ML pipeline: prepare -> train -> evaluate, configured by params.yaml (see dvc.yaml)."""
