from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter
from jinja2 import Environment
from matrix import TEMPLATE_DIR

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["TEMPLATE_DIR", "as_new_user", "bake_project", "git", "npm_package", "tomllib"]

TOOLS_DIR = TEMPLATE_DIR / "build" / "tools"


def npm_package(name: str, version: str) -> Path:
    """The npm package `name@version`, installed once into build/tools/<name> (kept between
    sessions). A prefix of its own: an install elsewhere cannot prune it."""
    prefix = TOOLS_DIR / name
    module = prefix / "node_modules" / name
    installed = module / "package.json"
    if installed.exists() and json.loads(installed.read_text())["version"] == version:
        return module
    npm = shutil.which("npm")
    assert npm and shutil.which("node"), f"node and npm are needed for {name}: make system-deps"
    prefix.mkdir(parents=True, exist_ok=True)
    command = [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", "--no-save"]
    done = subprocess.run([*command, f"{name}@{version}"], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return module


def as_new_user(patch: pytest.MonkeyPatch, home: Path) -> Path:
    """Make `home` the home of the processes the tests start, as a new user's would be.

    Bakes write the default local DVC remote under ~, so it stays out of the real home. Package
    caches stay where they were (a cold uv cache would download everything again), and a git
    identity is configured, as on a developer's machine. The generated projects' make runs as a
    user types it, even under the template's `make test`: an inherited MAKELEVEL turns "make:"
    messages into "make[2]:".
    """
    real_home = Path.home()
    patch.setenv("UV_CACHE_DIR", os.environ.get("UV_CACHE_DIR", str(real_home / ".cache" / "uv")))
    patch.setenv(
        "PIP_CACHE_DIR", os.environ.get("PIP_CACHE_DIR", str(real_home / ".cache" / "pip"))
    )
    patch.setenv("PYENV_ROOT", os.environ.get("PYENV_ROOT", str(real_home / ".pyenv")))
    patch.setenv("HOME", str(home))
    patch.setenv("DVC_NO_ANALYTICS", "1")
    patch.delenv("GIT_CONFIG_GLOBAL", raising=False)
    for variable in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS"):
        patch.delenv(variable, raising=False)
    (home / ".gitconfig").write_text("[user]\n\tname = Test User\n\temail = test@example.com\n")
    return home


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch):
    """Every test runs as a new user (see `as_new_user`)."""
    return as_new_user(monkeypatch, tmp_path_factory.mktemp("home"))


@pytest.fixture
def tools_on_path(monkeypatch):
    """`make setup` finds uv next to the interpreter running the tests."""
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def template_repo(tmp_path_factory) -> Path:
    """A committed copy of the template, as cruft and `cookiecutter gh:...` see it."""
    copy = tmp_path_factory.mktemp("template") / "mlops-template"
    shutil.copytree(
        TEMPLATE_DIR,
        copy,
        ignore=shutil.ignore_patterns(".git", ".venv", "build", "__pycache__", ".*_cache"),
    )
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "template"]):
        subprocess.run(["git", *args], cwd=copy, check=True, env=env, capture_output=True)
    return copy


def bake_project(output: Path, template: Path = TEMPLATE_DIR, **answers: str) -> Path:
    """The one way the tests bake: cookiecutter --no-input with `answers`, into `output`, as the
    current user (each test runs as a new one; a module-scoped fixture makes its own with
    `as_new_user`). A refused answer or a failing hook raises, failing the test."""
    return Path(
        cookiecutter(str(template), no_input=True, extra_context=answers, output_dir=str(output))
    )


@pytest.fixture
def bake(tmp_path_factory):
    """bake(**answers) -> the baked project, in a folder of its own."""

    def _bake(template: Path = TEMPLATE_DIR, **answers: str) -> Path:
        return bake_project(tmp_path_factory.mktemp("bake"), template, **answers)

    return _bake


def load_hook(name: str, context: dict, folder: Path):
    """Render hooks/<name>.py with a context, as cookiecutter does, then import it."""
    source = (TEMPLATE_DIR / "hooks" / f"{name}.py").read_text(encoding="utf-8")
    path = folder / f"{name}_{uuid.uuid4().hex[:8]}.py"
    path.write_text(Environment().from_string(source).render(cookiecutter=context), "utf-8")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
