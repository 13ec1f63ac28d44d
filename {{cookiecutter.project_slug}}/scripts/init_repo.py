"""Put the project under version control: git, DVC-tracked raw data, first commit.

The cookiecutter post-generation hook calls `bootstrap()`; `make init` runs this file to
finish the job later (for instance after installing git). Every step is idempotent.

Standard library only: it runs before the project's environment exists. It writes DVC's
pointer files itself (what `dvc add` would write for a single file) because DVC is installed
by `make setup`, after the bake, and because a `dvc` CLI call costs about a second each.
"""

from __future__ import annotations

import hashlib
import shutil
import stat
import subprocess
import sys
from pathlib import Path

RAW_DIR = Path("data") / "raw"
DVC_DIR = Path(".dvc")
DVC_CACHE = DVC_DIR / "cache" / "files" / "md5"
# What `dvc init` keeps out of git: per-machine config, scratch space and the cache.
DVC_PRIVATE = ["/config.local", "/tmp", "/cache"]
# Files in data/raw that are bookkeeping, not data.
NOT_DATA = {".gitignore", ".gitkeep", ".DS_Store"}
FINISH_LATER = "make init"


def file_md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def raw_data_files(root: Path) -> list[Path]:
    """Data files under data/raw, as paths relative to the project root."""
    raw = root / RAW_DIR
    if not raw.is_dir():
        return []
    return sorted(
        path.relative_to(root)
        for path in raw.rglob("*")
        if path.is_file() and path.name not in NOT_DATA and path.suffix != ".dvc"
    )


def make_read_only(path: Path) -> None:
    mode = path.stat().st_mode
    path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def dvc_pointer(md5: str, size: int, name: str) -> str:
    """The text `dvc add` (DVC 3) writes for one file."""
    return f"outs:\n- md5: {md5}\n  size: {size}\n  hash: md5\n  path: {name}\n"


def add_to_gitignore(gitignore: Path, entry: str) -> None:
    lines = gitignore.read_text(encoding="utf-8").splitlines() if gitignore.exists() else []
    if entry not in lines:
        gitignore.write_text("\n".join([*lines, entry]) + "\n", encoding="utf-8")


def init_dvc(root: Path) -> None:
    """What `dvc init` does: a .dvc folder with a config (the template's, when present)."""
    (root / DVC_DIR).mkdir(exist_ok=True)
    (root / DVC_DIR / "config").touch()
    for entry in DVC_PRIVATE:
        add_to_gitignore(root / DVC_DIR / ".gitignore", entry)


def track_with_dvc(root: Path, relpath: Path) -> bool:
    """Track one raw file as `dvc add` would; False when it is already tracked.

    A tracked file is never re-added: raw data is immutable, a new version is a new file.
    """
    data = root / relpath
    pointer = data.with_name(data.name + ".dvc")
    if pointer.exists():
        return False
    md5 = file_md5(data)
    cached = root / DVC_CACHE / md5[:2] / md5[2:]
    if not cached.exists():
        cached.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(data, cached)
        make_read_only(cached)
    add_to_gitignore(data.parent / ".gitignore", "/" + data.name)
    pointer.write_text(dvc_pointer(md5, data.stat().st_size, data.name), encoding="utf-8")
    return True


def run_git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)


def has_commits(root: Path) -> bool:
    return run_git(root, "rev-parse", "--verify", "--quiet", "HEAD").returncode == 0


def init_git(root: Path) -> None:
    if (root / ".git").exists():
        return
    if run_git(root, "init", "--quiet", "--initial-branch=main").returncode != 0:
        # git older than 2.28 has no --initial-branch.
        run_git(root, "init", "--quiet")
        run_git(root, "symbolic-ref", "HEAD", "refs/heads/main")


def identity_args(root: Path, author: tuple[str, str]) -> list[str]:
    """Use the author from the answers only when git has no identity configured."""
    if run_git(root, "config", "user.email").stdout.strip():
        return []
    name, email = author
    return ["-c", f"user.name={name}", "-c", f"user.email={email}"]


def first_commit(root: Path, message: str, author: tuple[str, str]) -> str | None:
    """Commit everything once; returns an error line, or None on success or no-op."""
    if has_commits(root):
        return None
    run_git(root, "add", "--all")
    done = run_git(
        root, *identity_args(root, author), "commit", "--quiet", "--no-verify", "-m", message
    )
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["unknown error"])[-1]
        return f"git commit failed ({reason}): fix it, then run `{FINISH_LATER}`"
    return None


def bootstrap(root: Path, author: tuple[str, str], message: str) -> list[str]:
    """Track raw data with DVC, make it read-only, init git and commit. Returns notes."""
    notes = []
    init_dvc(root)
    tracked = [path for path in raw_data_files(root) if track_with_dvc(root, path)]
    for path in raw_data_files(root):
        make_read_only(root / path)
    if tracked:
        notes.append("DVC now tracks " + ", ".join(p.as_posix() for p in tracked))
    if shutil.which("git") is None:
        notes.append(f"git not found: install git, then run `{FINISH_LATER}` to commit")
        return notes
    init_git(root)
    error = first_commit(root, message, author)
    notes.append(error or "git repository ready on branch main")
    return notes


def author_from_pyproject(root: Path) -> tuple[str, str]:
    """(name, email) of the first author in pyproject.toml, for `make init`."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10; used only when git has no identity anyway
        return "Unknown", "unknown@example.com"
    with (root / "pyproject.toml").open("rb") as stream:
        authors = tomllib.load(stream).get("project", {}).get("authors", [{}])
    first = authors[0] if authors else {}
    return first.get("name", "Unknown"), first.get("email", "unknown@example.com")


def main() -> int:
    root = Path.cwd()
    if not (root / "params.yaml").exists():
        print("run `make init` in the project root (the folder with params.yaml)", file=sys.stderr)
        return 1
    for note in bootstrap(root, author_from_pyproject(root), "Initial commit"):
        print(note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
