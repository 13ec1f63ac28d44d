"""The Dask engine: batches read by partition, the cluster, and the out-of-core prepare and
train (`compute.engine: dask` in params.yaml; see docs/scale-out.md). The stages that use it
decide through dataset.raw.out_of_core; predict/ and monitoring/ keep their own Dask variants."""
