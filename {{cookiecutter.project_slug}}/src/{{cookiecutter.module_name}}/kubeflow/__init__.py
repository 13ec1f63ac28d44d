"""The DVC pipeline as a Kubeflow Pipelines (v2) pipeline: `make kfp-compile`, `make kfp-run`
(see docs/scale-out.md)."""
