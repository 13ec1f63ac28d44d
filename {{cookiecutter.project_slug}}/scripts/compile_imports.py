"""Compile the bytecode of what the project imports, once, right after `make setup`.

Installers can compile every file they install (`uv sync --compile-bytecode`, `pip install
--compile`): about 12,900 files, 27-31 s on a 2-core laptop. The project uses a fraction of
them. Importing what it uses compiles exactly those, so setup takes half the time and the first
`make repro` starts as fast as later ones. What it uses: each module of the package, every
module its code imports (also inside functions: mlflow.sklearn, shap, onnxruntime...), and the
modules `dvc repro` loads. Two processes were measured slower than one: both compile numpy,
pandas and scikit-learn.

    .venv/bin/python scripts/compile_imports.py
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import sys
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "src"
# What `make repro` runs besides the package: DVC's command line and its pipeline machinery.
# (Adding DVC's graph and git access and MLflow's sqlite store, about 500 more files, made
# setup 7 s slower for under a second off the first `make repro` in one measured run.)
TOOLS = ("dvc.cli", "dvc.commands.repro", "dvc.repo.reproduce", "dvc.stage")


def package_modules(package: str) -> list[str]:
    root = importlib.import_module(package)
    return [
        module.name
        for module in pkgutil.walk_packages(root.__path__, f"{package}.")
        if module.name.rsplit(".", 1)[-1] != "__main__"  # importing a command would run it
    ]


def imported_by(folder: Path) -> set[str]:
    """Every absolute module the code under `folder` imports, at the top or in a function."""
    names: set[str] = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
    return names


def main() -> int:
    sys.dont_write_bytecode = False  # even where PYTHONDONTWRITEBYTECODE is set: that is the job
    failed = []
    for package in sorted(path.parent.name for path in SOURCE.glob("*/__init__.py")):
        try:
            modules = package_modules(package)
        except Exception as error:  # a broken package: setup still succeeds, and says so
            failed.append(f"{package} ({type(error).__name__}: {error})")
            continue
        modules += sorted(imported_by(SOURCE / package) - set(modules)) + list(TOOLS)
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception as error:  # a module that cannot import now still works lazily
                failed.append(f"{name} ({type(error).__name__})")
    if failed:
        print(f"compile_imports: not compiled (imports fail): {', '.join(failed)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
