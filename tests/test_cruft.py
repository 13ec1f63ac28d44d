"""Updating generated projects with cruft: create, check, diff and update all work."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import git

CRUFT = [sys.executable, "-m", "cruft"]


def cruft(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CRUFT, *args], cwd=cwd, capture_output=True, text=True, check=False)


def snapshot(project: Path) -> dict[str, tuple[int, int]]:
    """Every file outside .git with its size and modification time."""
    return {
        path.relative_to(project).as_posix(): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in project.rglob("*")
        if path.is_file() and ".git" not in path.relative_to(project).parts[:1]
    }


def test_cruft_create_then_make_init(template_repo, tmp_path):
    done = cruft(tmp_path, "create", "--no-input", str(template_repo))
    assert done.returncode == 0, done.stderr
    assert "run `make init`" in done.stderr
    project = tmp_path / "my-ml-project"
    state = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    assert state["commit"] == git(template_repo, "rev-parse", "HEAD").strip()
    assert not (project / ".git").exists()

    done = subprocess.run(["make", "init"], cwd=project, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert git(project, "status", "--porcelain") == ""
    assert ".cruft.json" in git(project, "ls-files").split()
    assert cruft(project, "check").returncode == 0


def test_cookiecutter_bake_is_linked_and_updatable(bake, template_repo):
    project = bake(template=template_repo)
    state = json.loads((project / ".cruft.json").read_text(encoding="utf-8"))
    assert state["template"] == str(template_repo)
    assert state["commit"] == git(template_repo, "rev-parse", "HEAD").strip()

    before = snapshot(project)
    assert cruft(project, "check").returncode == 0
    done = cruft(project, "diff", "--exit-code")
    assert done.returncode == 0 and done.stdout == "", done.stdout + done.stderr
    done = cruft(project, "update", "--skip-apply-ask")
    assert done.returncode == 0, done.stderr
    # Hooks re-run by cruft in its temporary folders touched nothing here.
    assert snapshot(project) == before
    assert git(project, "status", "--porcelain") == ""

    # A template change reaches the project through `cruft update`, and only that change.
    readme = template_repo / "{{cookiecutter.project_slug}}" / "README.md"
    readme.write_text(
        readme.read_text(encoding="utf-8") + "\nA line from the template.\n", encoding="utf-8"
    )
    git(template_repo, "commit", "-qam", "template: one more README line")
    assert cruft(project, "check").returncode != 0
    done = cruft(project, "update", "--skip-apply-ask")
    assert done.returncode == 0, done.stderr
    changed = sorted(line[3:] for line in git(project, "status", "--porcelain").splitlines())
    assert changed == [".cruft.json", "README.md"]
    assert (
        (project / "README.md").read_text(encoding="utf-8").endswith("A line from the template.\n")
    )
