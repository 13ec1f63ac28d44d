"""The README's main job: bake the default project into build/ and run it end to end.

Bakes with the embedded defaults (local DVC remote, sqlite MLflow store), then runs the
generated project's own `make setup` and `make repro`, and prints its metrics and where MLflow
stored the run. Re-running replaces build/my-ml-project.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

from cookiecutter.main import cookiecutter

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"


def remove_tree(path: Path) -> None:
    """rmtree that also removes read-only files (raw data and the DVC cache are read-only)."""

    def make_writable_and_retry(func, failed, _exc):
        os.chmod(failed, stat.S_IWRITE | stat.S_IREAD)
        func(failed)

    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=make_writable_and_retry)
    else:
        shutil.rmtree(path, onerror=make_writable_and_retry)


def run(cmd: list[str], cwd: Path) -> None:
    print(f"\n$ {' '.join(cmd)}", flush=True)
    if subprocess.run(cmd, cwd=cwd, check=False).returncode != 0:
        raise SystemExit(f"`{' '.join(cmd)}` failed in {cwd}")


def main() -> None:
    project = BUILD / "my-ml-project"
    if project.exists():
        remove_tree(project)
    print(f"Baking the default project into {project} ...", flush=True)
    cookiecutter(str(ROOT), no_input=True, output_dir=str(BUILD))
    for target in ("setup", "repro", "metrics", "runs"):
        run(["make", target], cwd=project)
    print(f"\nDone: the project is in {project} (`make help` there lists what else it does).")


if __name__ == "__main__":
    main()
