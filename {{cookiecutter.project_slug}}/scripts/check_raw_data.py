"""Raw data is immutable: refuse changes that modify or delete already-tracked raw data.

Raw files live in DVC; git holds their pointers (`data/raw/<file>.dvc`). Changing or deleting
a pointer rewrites history for every model trained on that data, so it is refused; adding a
new raw file (a new pointer) is allowed, and so is the `.gitignore` that `dvc add` updates.

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


def refused(found: list[tuple[str, str]]) -> list[str]:
    """One line per refused change of already-tracked raw data."""
    lines = []
    for status, path in found:
        name = path.rsplit("/", 1)[-1]
        if path.startswith(RAW_PREFIX) and name not in ALLOWED_NAMES and status in REFUSED:
            lines.append(f"{path}: {REFUSED[status]}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="compare HEAD with this revision instead of the index")
    args = parser.parse_args(argv)
    problems = refused(changes(args.base))
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
