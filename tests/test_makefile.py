"""The generated Makefile: every target documented; clear lines when something is missing."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

MAKE = shutil.which("make")


def make(project, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """make as a user types it, even when the tests themselves run under `make test`."""
    clean = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MAKELEVEL", "MFLAGS"}}
    return subprocess.run(
        [MAKE, *args], cwd=project, capture_output=True, text=True, env={**clean, **env}
    )


def test_help_lists_every_target_with_one_line(bake):
    project = bake()
    # The Makefile and the fragments of the capabilities it includes (make/*.mk).
    phony = []
    for path in [project / "Makefile", *sorted((project / "make").glob("*.mk"))]:
        text = path.read_text(encoding="utf-8").replace("\\\n", " ")
        phony += re.search(r"^\.PHONY: (.+)$", text, re.MULTILINE).group(1).split()
    done = make(project, "help")
    assert done.returncode == 0
    described = {}
    for line in done.stdout.splitlines():
        name, _, text = line.strip().partition(" ")
        described[name] = text.strip()
    assert set(described) == set(phony)
    assert all(described.values())
    assert make(project).stdout == done.stdout  # help is the default goal


def test_setup_without_uv_says_how_to_get_it(bake, tmp_path):
    project = bake(env_manager="uv")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "sh", "env", "python3", "sed"):
        found = subprocess.run(
            ["bash", "-c", f"command -v {tool}"], capture_output=True, text=True
        ).stdout.strip()
        (bin_dir / tool).symlink_to(found)
    done = make(project, "setup", PATH=str(bin_dir))
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if not line.startswith("make:")]
    assert lines == [
        "uv not found: install it (pipx install uv, or python3 -m pip install "
        "--user uv) or run 'make setup ENV_MANAGER=pip'"
    ]
    assert not (project / ".venv").exists()


def test_targets_needing_the_environment_say_run_setup_first(bake):
    project = bake()
    for target in ("repro", "test", "metrics", "push"):
        done = make(project, target)
        assert done.returncode != 0
        assert "No environment yet: run 'make setup' first." in done.stderr
