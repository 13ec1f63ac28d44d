"""The Dask engine: `make predict` and `make monitor` on batches bigger than memory
(`compute.engine: dask` in params.yaml; see docs/scale-out.md)."""
