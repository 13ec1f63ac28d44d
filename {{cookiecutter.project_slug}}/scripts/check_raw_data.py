"""Raw data is immutable: refuse changes that modify or delete already-tracked raw data.

Raw files live in DVC; git holds their pointers (`data/raw/<file>.dvc`). Changing or deleting
a pointer rewrites history for every model trained on that data, so it is refused; adding a
new raw file (a new pointer) is allowed, and so is the `.gitignore` that `dvc add` updates.
One change is allowed: an import (`dvc import-url`, a file that lands in a bucket) updated
from the same source by `dvc update`: its pointer records the source's new version, and the old
version stays in the DVC remote under the old pointer, which git keeps.

    python scripts/check_raw_data.py               # staged changes (the pre-commit hook)
    python scripts/check_raw_data.py --base main   # changes since the merge base (CI)

Standard library only: it runs before the project's environment exists. Exit 1 on refusal.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

RAW_PREFIX = "data/raw/"
# Bookkeeping files under data/raw that may change freely.
ALLOWED_NAMES = {".gitignore", ".gitkeep"}
# git status letters: A added, M modified, D deleted, R renamed, C copied, T type changed.
REFUSED = {"M": "modified", "D": "deleted", "T": "type changed", "R": "renamed"}


def changes(base: str | None) -> list[tuple[str, str]]:
    """(status letter, path) for every changed path, staged ones when base is None."""
    args = ["git", "diff", "--name-status", "--no-renames", "-z"]
    args += ["--cached"] if base is None else [f"{base}...HEAD"]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"check_raw_data: git diff failed: {done.stderr.strip()}")
    fields = [field for field in done.stdout.split("\0") if field]
    return [(fields[i][0], fields[i + 1]) for i in range(0, len(fields) - 1, 2)]


def import_source(pointer: str) -> str | None:
    """The source URL of an import pointer (`deps:` of a .dvc file); None for a `dvc add` one.
    The pointer is DVC's own small YAML, read line by line (no YAML parser here)."""
    in_deps = False
    for line in pointer.splitlines():
        if line and not line.startswith((" ", "-")):
            in_deps = line.startswith("deps:")
        elif in_deps and line.lstrip(" -").startswith("path:"):
            return line.split("path:", 1)[1].strip().strip("'\"") or None
    return None


def pointer_at(revision: str | None, path: str) -> str:
    """The pointer's text at `revision` (None: the index), "" when it is not there."""
    spec = f"{revision}:{path}" if revision else f":{path}"
    done = subprocess.run(["git", "show", spec], capture_output=True, text=True, check=False)
    return done.stdout if done.returncode == 0 else ""


def updated_import(base: str | None, path: str) -> bool:
    """Is this modified pointer an import updated from its unchanged source?"""
    if not path.endswith(".dvc"):
        return False
    if base:  # the branch against where it started from
        done = subprocess.run(
            ["git", "merge-base", base, "HEAD"], capture_output=True, text=True, check=False
        )
        before, after = done.stdout.strip() or base, "HEAD"
    else:  # staged: HEAD against the index
        before, after = "HEAD", None
    source = import_source(pointer_at(before, path))
    return source is not None and source == import_source(pointer_at(after, path))


def refused(found: list[tuple[str, str]], base: str | None = None) -> list[str]:
    """One line per refused change of already-tracked raw data."""
    lines = []
    for status, path in found:
        name = path.rsplit("/", 1)[-1]
        if path.startswith(RAW_PREFIX) and name not in ALLOWED_NAMES and status in REFUSED:
            if status == "M" and updated_import(base, path):
                continue
            lines.append(f"{path}: {REFUSED[status]}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="compare HEAD with this revision instead of the index")
    args = parser.parse_args(argv)
    problems = refused(changes(args.base), args.base)
    if not problems:
        return 0
    print("Raw data is immutable: these changes to tracked raw data are refused:", file=sys.stderr)
    for line in problems:
        print(f"  {line}", file=sys.stderr)
    print(
        "Add the new version as a new file instead (e.g. data/raw/<name>-v2.csv, then\n"
        "`dvc add` it and point data.raw_path in params.yaml at it); restore the old one with\n"
        "`git restore --staged --worktree <path>.dvc && dvc checkout <path>`.",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
