"""The package's layers: a module imports from its own sub-package and from the layers below
it, never from one beside or above it, and no import circle anywhere. Imports inside functions
count: a lazy import that closes a circle is still a circle in the design.

A new sub-package goes into LAYERS; an import the test refuses is usually mended by moving the
piece both sides need one layer down (as dataset/target.py holds the target checks that both
prepares use)."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest
import yaml

import {{ cookiecutter.module_name }} as package

ROOT = Path(package.__file__).parent
# Lowest first. "" is the package's own __init__.py (has_capability).
LAYERS = (
    ("", "config", "paths"),  # params.yaml typed, the pipeline's files
    ("dataset",),  # raw data, its schema, splits, target checks
    ("modeling", "engine"),  # the model Pipeline; the Dask engine (scale-out option)
    ("tracking",),  # MLflow
    ("pipeline", "predict", "monitoring", "experiments", "automl", "kubeflow"),  # what make runs
    ("serving", "ci"),  # the API, CI helpers
)
LEVEL = {part: level for level, parts in enumerate(LAYERS) for part in parts}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def imported(name: str, path: Path) -> set[str]:
    """The package's modules that `name` imports, anywhere in its body."""
    here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name.split(".") for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            start = here[: len(here) - node.level + 1] if node.level else []
            module = [*start, *(node.module or "").split(".")]
            targets = [module] + [[*module, alias.name] for alias in node.names]
        else:
            continue
        for target in targets:
            parts = [part for part in target if part]
            # An absolute import: only the package's own modules count.
            if not getattr(node, "level", 0):
                if parts[:1] != [package.__name__]:
                    continue
                parts = parts[1:]
            explicit = not parts  # `from .. import x` of the package's own __init__.py
            while ".".join(parts) not in MODULES:
                parts.pop()
            # A module of an option this project was made without resolves to nothing.
            if (parts or explicit) and ".".join(parts) != name:
                found.add(".".join(parts))
    return found


GRAPH = {name: imported(name, path) for name, path in MODULES.items()}


def part_of(name: str) -> str:
    """The sub-package (or top-level module) a module belongs to."""
    return name.split(".")[0]


def test_every_part_has_a_layer():
    unplaced = sorted({part_of(name) for name in MODULES} - set(LEVEL))
    assert not unplaced, f"add {unplaced} to LAYERS in {Path(__file__).name}"


def test_no_import_circle():
    try:
        TopologicalSorter(GRAPH).prepare()
    except CycleError as error:
        pytest.fail(f"import circle: {' -> '.join(error.args[1])}")


@pytest.mark.parametrize("name", sorted(MODULES))
def test_imports_go_down_the_layers(name):
    part = part_of(name)
    wrong = [
        f"{name} imports {other}: layer {LEVEL.get(part_of(other))} is not below {part}'s "
        f"layer {LEVEL.get(part)}"
        for other in sorted(GRAPH[name])
        if part_of(other) != part and LEVEL.get(part_of(other), 99) >= LEVEL.get(part, -1)
    ]
    assert not wrong, "; ".join(wrong)


def test_each_stage_depends_on_all_the_code_it_runs():
    """A stage's deps in dvc.yaml cover every module it imports, at any depth: editing one
    re-runs the stage (dvc.yaml lists code by sub-package folder)."""
    project = ROOT.parents[1]
    stages = yaml.safe_load((project / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    for name, stage in stages.items():
        entry = stage["cmd"].split(f" -m {package.__name__}.")[1].split()[0]
        reached, todo = set(), [entry]
        while todo:
            module = todo.pop()
            if module not in reached:
                reached.add(module)
                todo.extend(GRAPH[module])
        deps = [(project / dep).resolve() for dep in stage["deps"]]
        uncovered = sorted(
            module
            for module in reached
            if not any(dep == MODULES[module] or dep in MODULES[module].parents for dep in deps)
            and holds_code(MODULES[module])
        )
        assert not uncovered, f"dvc.yaml: stage {name} runs {uncovered}: add them to its deps"


def holds_code(path: Path) -> bool:
    """More than a docstring (a sub-package's __init__.py often is only that)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return len(tree.body) > (ast.get_docstring(tree) is not None)


def test_every_sub_package_says_what_it_holds():
    silent = [
        name
        for name, path in MODULES.items()
        if path.name == "__init__.py" and not ast.get_docstring(ast.parse(path.read_text()))
    ]
    assert not silent, f"give {silent} a docstring: it is the package map a reader finds"


def test_the_check_sees_every_kind_of_import(tmp_path):
    source = tmp_path / "stage.py"
    source.write_text(
        "from . import model\n"
        "import {{ cookiecutter.module_name }}.paths\n"
        "def run():\n"
        "    from ..dataset.raw import read_raw\n"
        "    from {{ cookiecutter.module_name }} import config\n"
    )
    found = imported("modeling.stage", source)
    assert found == {"", "modeling", "modeling.model", "paths", "dataset.raw", "config"}
