"""`make kfp-compile` / `make kfp-run`, or

    python -m <package>.kubeflow compile|run [--wait]

compile writes build/kfp/pipeline.yaml (KFP v2). run runs the pipeline on this machine with
kfp.local (one subprocess per step, in this environment; outputs in build/kfp/local/) when
kubeflow.host (KFP_HOST) is empty, and submits it to that Kubeflow Pipelines endpoint otherwise
(--wait: until it ends, at most kubeflow.wait_minutes).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..config import load_params
from .launch import launch
from .pipeline import compile_pipeline


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("compile", "run"))
    parser.add_argument("--root", type=Path, default=Path(), help="project root (default: .)")
    parser.add_argument("--wait", action="store_true", help="wait for a submitted run to end")
    args = parser.parse_args(argv)
    params = load_params(args.root)
    if args.command == "compile":
        print(f"KFP pipeline written to {compile_pipeline(params, args.root)}")
    else:
        print(launch(params, args.root, wait=args.wait))


if __name__ == "__main__":
    sys.exit(main())
