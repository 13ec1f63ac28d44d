"""What `make repro` checks before DVC runs any stage, each in a second and in one line:

- params.yaml is valid: DVC would otherwise skip every stage when only a section no stage reads
  has a typo, and the typo would surface later, in `make serve` or `make monitor`;
- the MLflow tracking server answers (when one is configured): DVC deletes a stage's outputs
  before running it, so a train stage that then stopped for a server that is down would leave
  no model in the workspace.

    python -m <package>.pipeline.preflight
"""

from __future__ import annotations

from ..config import load_params
from ..tracking.server import check_tracking_server, is_server


def main() -> None:
    params = load_params()
    check_tracking_server(params.mlflow.tracking_uri)
    store = "tracking server answers" if is_server(params.mlflow.tracking_uri) else "embedded store"
    print(f"params.yaml is valid; MLflow: {store}")


if __name__ == "__main__":
    main()
