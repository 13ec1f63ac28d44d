"""A tabular ML project: a DVC pipeline configured by params.yaml (see dvc.yaml and README.md).

Sub-packages, by concern:
    dataset/    reading raw data, its schema (feature types), splitting rows
    modeling/   estimators, feature preprocessing, the model Pipeline, metrics
    pipeline/   the DVC stages: prepare, train, evaluate (`python -m <package>.pipeline.train`)
    tracking/   MLflow: runs, registry, lineage (`python -m <package>.tracking runs|ui`)
    ci/         the pull-request report and continuous training
and, when the project was made with them, monitoring/ (data quality and drift) and serving/
(the prediction API). config.py is the typed params.yaml; paths.py the pipeline's files.
"""
