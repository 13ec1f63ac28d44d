"""Where a model comes from: code version (git) and data version (DVC), as MLflow tags.

Each piece is optional: a project without git, or raw data not yet `dvc add`-ed, still trains.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import yaml


def lineage_tags(root: Path, raw_path: str) -> dict[str, str]:
    """Tags for the run and the registered model version (absent pieces are left out)."""
    root = root.resolve()
    # normpath, not resolve: DVC may link the file to its cache, where no pointer file lies.
    raw_file = Path(os.path.normpath(root / raw_path))
    tags = {"data_path": raw_path}
    if raw_file.is_file():
        tags["data_md5"] = file_md5(raw_file)
    commit = _git(root, "rev-parse", "HEAD")
    if commit:
        tags["git_commit"] = commit
        # Only tracked files count: untracked outputs (mlflow.db...) do not change the code.
        changes = _git(root, "status", "--porcelain", "--untracked-files=no")
        tags["git_dirty"] = str(bool(changes)).lower()
    elif os.environ.get("GIT_COMMIT"):
        # An image built from a commit, without .git inside (the Kubeflow pipeline's image).
        tags["git_commit"] = os.environ["GIT_COMMIT"]
    found = dvc_md5(raw_file, root)
    if found:
        dvc_file, tags["data_dvc_md5"] = found
        tags["data_dvc_file"] = (
            dvc_file.relative_to(root).as_posix() if root in dvc_file.parents else str(dvc_file)
        )
    return tags


def file_md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def dvc_md5(raw_file: Path, root: Path) -> tuple[Path, str] | None:
    """The DVC hash recorded for the raw file: from `<file>.dvc`, else from the `.dvc` file of
    a folder holding it inside the project (then it is the folder's hash, ending in `.dir`)."""
    candidates = [raw_file.with_name(raw_file.name + ".dvc")]
    candidates += [
        folder.with_name(folder.name + ".dvc")
        for folder in raw_file.parents
        if root in folder.parents
    ]
    for candidate in candidates:
        md5 = pointer_md5(candidate)
        if md5 is not None:
            return candidate, md5
    return None


def pointer_md5(pointer: Path) -> str | None:
    """The hash a DVC pointer file (`<path>.dvc`) records; None when there is none to read."""
    if not pointer.is_file():
        return None
    try:
        return str(yaml.safe_load(pointer.read_text(encoding="utf-8"))["outs"][0]["md5"])
    except (yaml.YAMLError, KeyError, IndexError, TypeError):
        return None  # not a DVC file we understand


def _git(root: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, check=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return ""  # no git, not a repository, or no commit yet
    return done.stdout.strip()
