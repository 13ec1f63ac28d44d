"""`make sweep [JOBS=2]`: the space of params.yaml `sweep:` as DVC experiments.

    python -m <package>.experiments.sweep [--jobs N]

Each point is queued as `dvc exp run --queue -n <sweep>-<i> -S ++key=value ...` (`++`: set the
key whether params.yaml has it or not, as an empty `model.params` does not), then the queue
runs with N workers (`dvc exp run --run-all -j N`): each experiment in a copy of the project,
its train stage an MLflow run tagged `dvc_experiment` with the experiment's name, not a
registered version (registering belongs to the experiment you keep: `dvc exp apply <name>`,
then `make register`). The comparison follows (`make sweep-show`).

Exit code: 0 when every experiment succeeded, 1 when some failed (`dvc queue logs <name>`
tells why), 2 when nothing ran.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

from ..config import load_params, read_params_file
from ..tracking.server import check_tracking_server
from .compare import compare, print_table
from .space import sweep_points

SWEEP_PREFIX = "sweep"


def dvc(root: Path, *args: str, capture: bool = True) -> subprocess.CompletedProcess[str]:
    """DVC of this environment, whose queue workers must start from it too (they are `dvc`
    processes found on PATH): its folder goes first."""
    folder = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": folder + os.pathsep + os.environ.get("PATH", "")}
    return subprocess.run(
        [sys.executable, "-m", "dvc", *args], cwd=root, capture_output=capture, text=True, env=env
    )


def as_cli_value(value: object) -> str:
    """A value as `-S key=value` takes it (DVC reads it as YAML)."""
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()


def run_sweep(root: Path, jobs: int) -> int:
    params = load_params(root)
    points = sweep_points(params.sweep, read_params_file(root))
    check_tracking_server(params.mlflow.tracking_uri)  # in seconds, before queueing anything
    sweep = f"{SWEEP_PREFIX}-{time.strftime('%Y%m%d-%H%M%S')}"
    names = []
    for number, point in enumerate(points, start=1):
        name = f"{sweep}-{number}"
        settings = [f"{key}={as_cli_value(value)}" for key, value in point.items()]
        done = dvc(root, "exp", "run", "--queue", "-n", name, *[f"-S++{s}" for s in settings])
        if done.returncode != 0:
            problem = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
            print(
                f"sweep: could not queue {name} ({', '.join(settings)}): {problem}", file=sys.stderr
            )
            return 2
        names.append(name)
        print(f"queued {name}: {', '.join(settings)}")
    print(f"running {len(names)} experiments with {jobs} worker(s)...")
    dvc(root, "exp", "run", "--run-all", "-j", str(jobs), capture=False)
    rows = compare(root, sweep)
    print_table(rows, list(points[0]), params)
    failed = [name for name in names if name not in {row["experiment"] for row in rows}]
    for name in failed:
        print(f"sweep: {name} failed: `dvc queue logs {name}` shows why", file=sys.stderr)
    if not rows:
        return 2
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1, help="experiments run at once")
    parser.add_argument("--root", type=Path, default=Path(), help="project root (default: .)")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        print("sweep: --jobs (JOBS=) must be 1 or more", file=sys.stderr)
        return 2
    return run_sweep(args.root, args.jobs)


if __name__ == "__main__":
    sys.exit(main())
