"""Compile the bytecode of what the project imports, once, right after `make setup`.

Installers can compile every file they install (`uv sync --compile-bytecode`, `pip install
--compile`): about 12,900 files, 27-31 s on a 2-core laptop. The project uses a fraction of
them. Importing what it uses compiles exactly those, so setup takes half the time and the first
`make repro` and `make test` start as fast as later ones. What it uses: every module its code
and its tests import (also inside functions: mlflow.sklearn, shap, onnxruntime...), the
modules `dvc repro` loads, MLflow's sqlite store and pytest-xdist's workers.

The imports run in two processes at once: numpy and pandas, then the rest (scipy, scikit-learn,
ONNX, SHAP...) in one; DVC's stack and the web libraries, which need neither numpy nor pandas,
then MLflow and matplotlib, which need both and find them compiled by then, in the other.
Measured on 2 cores, cold: 15.5-17.3 s in one process; 9.5-10.4 s when a first process
compiled numpy and pandas before both started; 7.7-8.8 s this way. The project's own files are
compiled without being imported.

    .venv/bin/python scripts/compile_imports.py
"""

from __future__ import annotations

import ast
import compileall
import gc
import importlib
import json
import subprocess
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src"
# What `make repro` and `make test` run besides the code: DVC's command line and pipeline
# machinery, MLflow's embedded store, the test workers. Without them the first `make test`
# compiled about 900 files, in both of its processes at once.
TOOLS = (
    "dvc.cli",
    "dvc.commands.repro",
    "dvc.repo.reproduce",
    "dvc.stage",
    "mlflow.store.tracking.sqlalchemy_store",
    "mlflow.store.model_registry.sqlalchemy_store",
    "git",  # GitPython: MLflow records the commit of a run with it
    "xdist.remote",
)
# Imported first by the first process: most of what it imports next needs them.
FIRST = ("numpy", "pandas")
# The packages of the second process (the first takes the rest), imported in this order: the
# ones before mlflow do not import numpy or pandas. Chosen so both processes take as long.
SECOND = ("dvc", "fastapi", "uvicorn", "prometheus_client", "mlflow", "matplotlib")


def imported_by(folder: Path) -> set[str]:
    """Every absolute module the code under `folder` imports, at the top or in a function."""
    names: set[str] = set()
    for path in folder.rglob("*.py"):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError):  # named below, when compiling the folder
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
    return names


def groups() -> tuple[list[str], list[str]]:
    """The installed modules the project uses, in two groups: FIRST then the rest, and
    SECOND's in SECOND's order."""
    own = {path.parent.name for path in SOURCE.glob("*/__init__.py")}
    own |= {path.stem for path in (ROOT / "tests").rglob("*.py")}  # conftest and the like
    skip = own | set(sys.stdlib_module_names)
    names = imported_by(SOURCE) | imported_by(ROOT / "tests")
    outside = sorted(name for name in names if package(name) not in skip)
    outside += TOOLS
    first = list(FIRST) + [name for name in outside if package(name) not in (*FIRST, *SECOND)]
    second = [name for name in outside if package(name) in SECOND]
    return first, sorted(second, key=lambda name: SECOND.index(package(name)))


def package(module: str) -> str:
    return module.split(".")[0]


def import_all(names: list[str] | tuple[str, ...]) -> list[str]:
    """Import each module (which compiles it and what it imports); the ones that failed."""
    sys.dont_write_bytecode = False  # even where PYTHONDONTWRITEBYTECODE is set: that is the job
    warnings.simplefilter("ignore")  # a library's import-time warnings are for the code using it
    failed = []
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as error:  # a module that cannot import now still works lazily
            failed.append(f"{name} ({type(error).__name__})")
    return failed


def main(argv: list[str]) -> int:
    # Both processes end once their imports are done. Python's exit runs the garbage collector
    # over every object still alive (about a second with all of them loaded); it skips frozen ones.
    if argv:  # one group, in its own process: the names are the arguments
        failed = import_all(argv)
        gc.freeze()
        print(json.dumps(failed))  # the last line of its output: what failed
        return 0
    first, second = groups()
    # The second group in another process while this one imports the first.
    command = [sys.executable, __file__, *second]
    worker = subprocess.Popen(command, stdout=subprocess.PIPE, text=True) if second else None
    failed = import_all(first)
    gc.freeze()
    if worker is not None:
        output = worker.communicate()[0].strip().splitlines()
        failed += json.loads(output[-1]) if worker.returncode == 0 and output else ["(crashed)"]
    # The project's own modules: compiled, not imported (a module may start work on import).
    if not compileall.compile_dir(SOURCE, quiet=2):
        failed.append(f"{SOURCE.name}/ (a file does not compile: run its tests)")
    if failed:
        print(f"compile_imports: not compiled (imports fail): {', '.join(failed)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
