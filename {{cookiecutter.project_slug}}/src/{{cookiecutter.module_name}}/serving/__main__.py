"""`python -m <package>.serving`: serve the prediction API with uvicorn (`make serve`)."""

import argparse
import gc
import os
from pathlib import Path

from .app import create_app
from .telemetry import configure_logging


def main(argv: list[str] | None = None) -> None:
    """Serve the API with uvicorn."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--root", type=Path, default=Path(), help="project root (default: .)")
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "INFO"))
    args = parser.parse_args(argv)
    import uvicorn

    configure_logging(args.log_level.upper())
    app = create_app(args.root)
    # The start-up objects (mlflow, pandas, scikit-learn, the model) never die: frozen, a full
    # garbage collection skips them instead of stalling every request for ~150 ms.
    gc.collect()
    gc.freeze()
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        access_log=False,  # the middleware logs each request as JSON
        log_config=None,
        log_level=args.log_level.lower(),
    )


if __name__ == "__main__":
    main()
