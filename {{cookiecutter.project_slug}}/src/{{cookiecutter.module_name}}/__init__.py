"""A tabular ML project: a DVC pipeline configured by params.yaml (see dvc.yaml and README.md).

One sub-package per concern, each saying what it holds in its own docstring; config.py is the
typed params.yaml, paths.py the pipeline's files. tests/test_architecture.py lists the
sub-packages by layer: a module imports only from its own sub-package and the layers below.
"""

from importlib.util import find_spec


def has_capability(name: str) -> bool:
    """True when the optional sub-package `name` (monitoring, serving...) is part of the project."""
    return find_spec(f"{__name__}.{name}") is not None
