"""Keep the files of the chosen answers, record the answers for cruft, then put the project
under git and DVC.

Which paths belong to which answer is the table `_files_of_answers` of cookiecutter.json
(an optional capability is a sub-package, its tests, its Make fragment and deployment files);
the template's tests derive the expected file sets from the same table.

The work itself lives in the generated project (`scripts/init_repo.py`), so `make init`
can finish it later with the same code, e.g. when git was missing at bake time.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

CONTEXT = json.loads(r"""{{ cookiecutter | tojson }}""")
# cookiecutter's built-in abbreviations, expanded so cruft can clone the template later.
ABBREVIATIONS = {
    "gh": "https://github.com/{}.git",
    "gl": "https://gitlab.com/{}.git",
    "bb": "https://bitbucket.org/{}",
}


def is_cruft_run(context: dict) -> bool:
    """cruft (create, update, diff) puts `_commit` in the context; cookiecutter never does.

    cruft update and diff render into temporary folders that must stay untouched, and cruft
    create writes .cruft.json only after this hook, so none of them gets git or DVC here.
    """
    return "_commit" in context


def resolve_local(path: str, cwd_at_bake: str | None) -> Path | None:
    """A template given as a (possibly relative) local path, made absolute."""
    candidate = Path(path).expanduser()
    if not candidate.is_absolute() and cwd_at_bake:
        candidate = Path(cwd_at_bake) / candidate
    return candidate.resolve() if candidate.is_dir() else None


def template_url(template: str, cwd_at_bake: str | None) -> str:
    prefix, _, rest = template.partition(":")
    if prefix in ABBREVIATIONS and rest and "/" in rest and "//" not in rest:
        return ABBREVIATIONS[prefix].format(rest)
    local = (
        None
        if "://" in template or template.startswith("git@")
        else resolve_local(template, cwd_at_bake)
    )
    return str(local) if local else template


def template_commit(repo_dir: Path | None) -> str | None:
    if repo_dir is None:
        return None
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=repo_dir,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:  # git not installed
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def unchosen_paths(table: dict, answers: dict) -> list[str]:
    """Paths listed for answers other than the given ones (and not for a given one too)."""
    module = answers["module_name"]
    chosen, other = set(), set()
    for option, by_value in table.items():
        for value, paths in by_value.items():
            (chosen if answers.get(option) == value else other).update(
                path.format(module=module) for path in paths
            )
    return sorted(other - chosen)


def remove_unchosen(root: Path, table: dict, answers: dict) -> list[str]:
    """Delete the files and folders of the answers not chosen; returns what was removed.
    Idempotent: cruft re-runs this hook on renders that may already lack them."""
    removed = []
    for relative in unchosen_paths(table, answers):
        path = root / relative
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        else:
            continue
        removed.append(relative)
        # A folder whose every file belonged to unchosen answers (deploy/) goes too.
        parent = path.parent
        while parent != root and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
            parent = parent.parent
    return removed


def cruft_state(context: dict, url: str, commit: str | None) -> dict:
    """The .cruft.json that `cruft create` would have written."""
    answers = {key: value for key, value in context.items() if not key.startswith("_")}
    answers.update({"_template": url, "_commit": commit})
    return {
        "template": url,
        "commit": commit,
        "checkout": context.get("_checkout"),
        "context": {"cookiecutter": answers},
        "directory": None,
    }


def main() -> int:
    # Every run, cruft's included: its renders must match a plain bake's file tree.
    remove_unchosen(Path.cwd(), CONTEXT["_files_of_answers"], CONTEXT)
    if is_cruft_run(CONTEXT):
        # stderr: `cruft diff` prints a patch on stdout that users pipe into `git apply`.
        print(
            "cruft: git and DVC set-up skipped here; in a new project run `make init`",
            file=sys.stderr,
        )
        return 0
    root = Path.cwd()
    cwd_at_bake = os.environ.get("PWD")
    url = template_url(CONTEXT["_template"], cwd_at_bake)
    commit = template_commit(resolve_local(CONTEXT.get("_repo_dir", ""), cwd_at_bake))
    state = cruft_state(CONTEXT, url, commit)
    (root / ".cruft.json").write_text(
        json.dumps(state, ensure_ascii=False, indent=4) + "\n", encoding="utf-8"
    )

    sys.dont_write_bytecode = True  # leave no __pycache__ in the new project
    sys.path.insert(0, str(root / "scripts"))
    from init_repo import bootstrap

    author = (CONTEXT["author_name"], CONTEXT["author_email"])
    for note in bootstrap(root, author, f"Initial commit from {url}"):
        print(note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
