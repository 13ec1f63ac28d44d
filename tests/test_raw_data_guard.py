"""Fast tier: the raw-data guard (scripts/check_raw_data.py) refuses and permits as documented."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import git
from matrix import TEMPLATE_DIR

GUARD = TEMPLATE_DIR / "{{cookiecutter.project_slug}}" / "scripts" / "check_raw_data.py"
POINTER = "outs:\n- md5: {md5}\n  size: 10\n  hash: md5\n  path: {name}\n"


def guard(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(GUARD), *args], cwd=repo, capture_output=True, text=True
    )


@pytest.fixture
def repo(tmp_path) -> Path:
    """A git repository on main with one tracked raw file (its DVC pointer) committed."""
    git(tmp_path, "init", "-q", "-b", "main")
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    (raw / ".gitignore").write_text("/old.csv\n")
    (raw / "old.csv.dvc").write_text(POINTER.format(md5="a" * 32, name="old.csv"))
    (tmp_path / "params.yaml").write_text("seed: 1\n")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "raw data")
    return tmp_path


def test_nothing_staged_passes(repo):
    assert guard(repo).returncode == 0


def test_modified_raw_pointer_is_refused(repo):
    (repo / "data/raw/old.csv.dvc").write_text(POINTER.format(md5="b" * 32, name="old.csv"))
    git(repo, "add", "-A")
    done = guard(repo)
    assert done.returncode == 1
    assert "data/raw/old.csv.dvc: modified" in done.stderr
    assert "new file" in done.stderr


def test_deleted_or_renamed_raw_pointer_is_refused(repo):
    git(repo, "mv", "data/raw/old.csv.dvc", "data/raw/renamed.csv.dvc")
    done = guard(repo)
    assert done.returncode == 1
    assert "data/raw/old.csv.dvc: deleted" in done.stderr


def test_new_raw_file_and_other_changes_are_allowed(repo):
    raw = repo / "data" / "raw"
    (raw / "new.csv.dvc").write_text(POINTER.format(md5="c" * 32, name="new.csv"))
    (raw / ".gitignore").write_text("/old.csv\n/new.csv\n")  # what `dvc add` appends
    (repo / "params.yaml").write_text("seed: 2\n")
    git(repo, "add", "-A")
    assert guard(repo).returncode == 0


def test_base_mode_checks_every_commit_since_the_merge_base(repo):
    git(repo, "switch", "-q", "-c", "feature")
    (repo / "data/raw/new.csv.dvc").write_text(POINTER.format(md5="c" * 32, name="new.csv"))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "new data")
    assert guard(repo, "--base", "main").returncode == 0
    (repo / "data/raw/old.csv.dvc").unlink()
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "drop old data")
    done = guard(repo, "--base", "main")
    assert done.returncode == 1
    assert "data/raw/old.csv.dvc: deleted" in done.stderr
    assert "new.csv" not in done.stderr


def test_a_git_commit_runs_the_guard_as_a_hook(repo):
    """The way pre-commit runs it: as the pre-commit hook of a real `git commit`."""
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text(f"#!/bin/sh\nexec '{sys.executable}' '{GUARD}'\n")
    hook.chmod(0o755)
    (repo / "data/raw/old.csv.dvc").write_text(POINTER.format(md5="d" * 32, name="old.csv"))
    git(repo, "add", "-A")
    done = subprocess.run(
        ["git", "commit", "-q", "-m", "overwrite"], cwd=repo, capture_output=True, text=True
    )
    assert done.returncode != 0 and "Raw data is immutable" in done.stderr
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "1"


IMPORT = (
    "md5: {md5}\nfrozen: true\ndeps:\n- etag: '{etag}'\n  size: 10\n  path: {source}\n"
    "outs:\n- md5: {etag}\n  size: 10\n  hash: md5\n  path: landed.csv\n"
)


@pytest.mark.parametrize("base", [None, "main"])
def test_an_import_may_follow_its_source_but_not_change_it(repo, base):
    """`dvc update` of an import (new version of the same source) passes, staged or on a
    branch; pointing the import at another source is refused like any modification."""
    pointer = repo / "data/raw/landed.csv.dvc"
    pointer.write_text(IMPORT.format(md5="1" * 32, etag="2" * 32, source="s3://bucket/a.csv"))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "import")
    if base:
        git(repo, "switch", "-q", "-c", "retrain")
    pointer.write_text(IMPORT.format(md5="3" * 32, etag="4" * 32, source="s3://bucket/a.csv"))
    git(repo, "add", "-A")
    if base:
        git(repo, "commit", "-q", "-m", "dvc update")
    assert guard(repo, *(["--base", base] if base else [])).returncode == 0
    pointer.write_text(IMPORT.format(md5="5" * 32, etag="6" * 32, source="s3://other/b.csv"))
    git(repo, "add", "-A")
    if base:
        git(repo, "commit", "-q", "-m", "another source")
    done = guard(repo, *(["--base", base] if base else []))
    assert done.returncode == 1
    assert "data/raw/landed.csv.dvc: modified" in done.stderr
