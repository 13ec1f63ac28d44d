"""Hooks and the bootstrap script: unit tests of their functions, and refused answers."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import TEMPLATE_DIR, git, load_hook
from matrix import load_options

DEFAULT_CONTEXT = {
    "project_name": "P",
    "project_slug": "p",
    "module_name": "p",
    "description": "D",
    "author_name": "A",
    "author_email": "a@example.com",
    "dvc_remote": "local",
    "dvc_remote_url": "~/r",
    "mlflow_tracking": "embedded",
    "mlflow_server_url": "",
}


@pytest.fixture
def pre(tmp_path):
    return load_hook("pre_gen_project", DEFAULT_CONTEXT, tmp_path)


@pytest.fixture
def post(tmp_path):
    return load_hook("post_gen_project", {**DEFAULT_CONTEXT, "_template": "x"}, tmp_path)


@pytest.fixture
def init_repo():
    sys.dont_write_bytecode = True
    sys.path.insert(0, str(TEMPLATE_DIR / "{{cookiecutter.project_slug}}" / "scripts"))
    try:
        import init_repo

        yield init_repo
    finally:
        sys.path.pop(0)
        sys.modules.pop("init_repo", None)


# --- pre-generation validation -------------------------------------------------------------


def test_valid_defaults_pass(pre):
    assert pre.problems(DEFAULT_CONTEXT) == []


@pytest.mark.parametrize(
    ("name", "verdict"),
    [
        ("my_project", None),
        ("_private", None),
        ("p2", None),
        ("2fast", "not a valid"),
        ("My-Proj", "not a valid"),
        ("class", "keyword"),
        ("match", "keyword"),
        ("json", "standard library"),
        ("mlflow", "dependency"),
        ("sklearn", "dependency"),
        ("pydantic", "dependency"),
        ("xgboost", "dependency"),
        ("tests", "project folder"),
        ("café", "not a valid"),
        ("", "not a valid"),
    ],
)
def test_module_name_rules(pre, name, verdict):
    problem = pre.check_module_name(name, pre.dependency_modules(str(TEMPLATE_DIR)))
    assert (problem is None) if verdict is None else (verdict in problem and name in problem)


def test_shadowed_names_come_from_the_projects_requirements_and_imports(pre, tmp_path):
    names = pre.dependency_modules(str(TEMPLATE_DIR))
    # distributions (normalised), and import names that differ from them
    assert {"mlflow", "scikit_learn", "sklearn", "pyyaml", "yaml", "xgboost"} <= names
    assert {"pydantic", "fastapi", "shap", "onnxruntime", "skl2onnx", "uvicorn"} <= names
    assert {"dask", "kfp", "pytest", "ruff", "numpy"} <= names
    assert not names & {"json", "pathlib", "__future__", "os"}  # the standard library's own
    assert pre.dependency_modules(None) == set()  # cruft re-renders: checked at creation
    project = tmp_path / "{{cookiecutter.project_slug}}"
    (project / "src").mkdir(parents=True)
    (project / "pyproject.toml").write_text('dependencies = ["polars>=1", "my-lib[x]>=2"]')
    (project / "src" / "code.py").write_text("import requests\nfrom tomli import loads\n")
    assert pre.dependency_modules(str(tmp_path)) == {"polars", "my_lib", "requests", "tomli"}


@pytest.mark.parametrize(
    ("kind", "url", "ok"),
    [
        ("local", "~/dvc-remotes/p", True),
        ("local", "/srv/dvc", True),
        ("local", "relative/path", False),
        ("local", "s3://bucket/x", False),
        ("local", "/tmp/has space", False),
        ("s3", "s3://my-bucket/p", True),
        ("s3", "gs://my-bucket/p", False),
        ("s3", "s3://B/p", False),
        ("s3", "", False),
        ("gs", "gs://my-bucket", True),
        ("gs", "s3://my-bucket", False),
        ("azure", "azure://container/path", True),
        ("azure", "https://x.blob/y", False),
        ("ssh", "ssh://user@host.example.com/srv/dvc", True),
        ("ssh", "ssh://host", False),
        ("none", "", True),
        ("none", "s3://b/p", False),
        ("s3", "s3://bucket/p; rm -rf /", False),
        ("s3", 's3://bucket/p"x', False),
    ],
)
def test_dvc_remote_url_must_fit_its_kind(pre, kind, url, ok):
    assert (pre.check_dvc_remote(kind, url) is None) is ok


@pytest.mark.parametrize(
    ("mode", "url", "ok"),
    [
        ("embedded", "", True),
        ("embedded", "http://x:5000", False),
        ("server", "http://127.0.0.1:5000", True),
        ("server", "https://mlflow.example.com", True),
        ("server", "", False),
        ("server", "ftp://x", False),
        ("server", "http://x y", False),
    ],
)
def test_mlflow_server_url(pre, mode, url, ok):
    assert (pre.check_mlflow(mode, url) is None) is ok


@pytest.mark.parametrize(
    ("answers", "names"),
    [
        ({"module_name": "json"}, "module_name"),
        ({"project_slug": "-bad-"}, "project_slug"),
        ({"project_slug": "Bad Slug"}, "project_slug"),
        ({"author_email": "not-an-email"}, "author_email"),
        ({"dvc_remote": "s3", "dvc_remote_url": "gs://bucket/x"}, "dvc_remote_url"),
        ({"dvc_remote": "local", "dvc_remote_url": "data/remote"}, "dvc_remote_url"),
        ({"mlflow_tracking": "server", "mlflow_server_url": "localhost:5000"}, "mlflow_server_url"),
        ({"description": "first line\rsecond line"}, "description"),
        ({"author_name": "Tab\tName"}, "author_name"),
        ({"project_slug": "a" * 65}, "project_slug"),
    ],
)
def test_refused_answer_prints_one_line_and_leaves_no_folder(tmp_path, answers, names):
    # cookiecutter adds its own "Stopping generation" report after ours.
    args = [f"{key}={value}" for key, value in answers.items()]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cookiecutter",
            "--no-input",
            "-o",
            str(tmp_path),
            str(TEMPLATE_DIR),
            *args,
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0
    ours = [line for line in done.stderr.splitlines() if line.startswith("ERROR: ")]
    assert len(ours) == 1 and names in ours[0], done.stderr
    assert list(tmp_path.iterdir()) == []


# --- post-generation -------------------------------------------------------------------------


def test_cruft_runs_are_recognised(post):
    assert post.is_cruft_run({"_commit": "abc", "_template": "x"})
    assert not post.is_cruft_run({"_template": "x", "_output_dir": "/o"})


def test_template_url_expands_abbreviations_and_local_paths(post, tmp_path):
    assert post.template_url("gh:org/repo", None) == "https://github.com/org/repo.git"
    assert post.template_url("gl:org/repo", None) == "https://gitlab.com/org/repo.git"
    assert post.template_url("https://x.org/r.git", None) == "https://x.org/r.git"
    (tmp_path / "tpl").mkdir()
    assert post.template_url("tpl", str(tmp_path)) == str((tmp_path / "tpl").resolve())
    assert post.template_url("missing", str(tmp_path)) == "missing"


def test_cruft_state_holds_answers_not_private_values(post):
    context = {
        **DEFAULT_CONTEXT,
        "_template": "t",
        "__prompts__": {},
        "__raw_file": "x.csv",
        "_output_dir": "/o",
    }
    state = post.cruft_state(context, "https://x/t.git", "abc123")
    assert state["template"] == "https://x/t.git" and state["commit"] == "abc123"
    assert state["context"]["cookiecutter"] == {
        **DEFAULT_CONTEXT,
        "_template": "https://x/t.git",
        "_commit": "abc123",
    }


def test_template_commit_of_a_git_checkout(post, template_repo, tmp_path):
    assert post.template_commit(template_repo) == git(template_repo, "rev-parse", "HEAD").strip()
    assert post.template_commit(tmp_path) is None
    assert post.template_commit(None) is None


# --- bootstrap (scripts/init_repo.py) -----------------------------------------------------


def raw_project(tmp_path: Path, files: dict[str, bytes]) -> Path:
    root = tmp_path / "proj"
    (root / "data" / "raw").mkdir(parents=True)
    (root / "params.yaml").write_text("data: {}\n")
    for name, content in files.items():
        (root / "data" / "raw" / name).write_bytes(content)
    return root


def test_track_writes_what_dvc_add_writes(init_repo, tmp_path):
    root = raw_project(tmp_path, {"a.csv": b"x,y\n1,2\n"})
    assert init_repo.track_with_dvc(root, Path("data/raw/a.csv"))
    pointer = yaml.safe_load((root / "data/raw/a.csv.dvc").read_text())
    md5 = init_repo.file_md5(root / "data/raw/a.csv")
    assert pointer == {"outs": [{"md5": md5, "size": 8, "hash": "md5", "path": "a.csv"}]}
    assert (root / ".dvc/cache/files/md5" / md5[:2] / md5[2:]).read_bytes() == b"x,y\n1,2\n"
    assert (root / "data/raw/.gitignore").read_text() == "/a.csv\n"
    # Tracked data is never re-added, even when the file changed.
    (root / "data/raw/a.csv").write_bytes(b"changed")
    assert not init_repo.track_with_dvc(root, Path("data/raw/a.csv"))
    assert yaml.safe_load((root / "data/raw/a.csv.dvc").read_text()) == pointer


def test_bootstrap_is_idempotent_and_makes_raw_read_only(init_repo, tmp_path):
    root = raw_project(tmp_path, {"a.csv": b"a\n1\n", "b.csv": b"b\n2\n"})
    notes = init_repo.bootstrap(root, ("A", "a@example.com"), "Initial commit")
    assert notes[-1] == "git repository ready on branch main"
    head = git(root, "rev-parse", "HEAD")
    for name in ("a.csv", "b.csv"):
        mode = (root / "data/raw" / name).stat().st_mode
        assert not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    assert sorted(git(root, "ls-files").split()) == [
        ".dvc/.gitignore",
        ".dvc/config",
        "data/raw/.gitignore",
        "data/raw/a.csv.dvc",
        "data/raw/b.csv.dvc",
        "params.yaml",
    ]
    init_repo.bootstrap(root, ("A", "a@example.com"), "Initial commit")
    assert git(root, "rev-parse", "HEAD") == head
    assert (root / "data/raw/.gitignore").read_text() == "/a.csv\n/b.csv\n"


def test_bootstrap_uses_the_author_only_without_a_git_identity(init_repo, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.gitconfig here
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    root = raw_project(tmp_path, {"a.csv": b"a\n"})
    init_repo.bootstrap(root, ('Zoë "Q" O\'Neil', "zoe@example.com"), "Initial commit")
    assert git(root, "log", "-1", "--format=%an <%ae>").strip() == (
        'Zoë "Q" O\'Neil <zoe@example.com>'
    )


def test_bootstrap_without_git_tracks_data_and_names_the_make_target(
    init_repo, tmp_path, monkeypatch
):
    root = raw_project(tmp_path, {"a.csv": b"a\n"})
    monkeypatch.setattr(shutil, "which", lambda name: None)
    notes = init_repo.bootstrap(root, ("A", "a@example.com"), "Initial commit")
    assert (root / "data/raw/a.csv.dvc").exists() and not (root / ".git").exists()
    assert notes[-1] == "git not found: install git, then run `make init` to commit"


def test_bake_without_git_or_dvc_on_path_succeeds(tmp_path):
    """No git and no dvc: the bake still finishes, with one line naming `make init`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(sys.executable)
    env = {**os.environ, "PATH": str(bin_dir)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cookiecutter",
            "--no-input",
            "-o",
            str(tmp_path / "out"),
            str(TEMPLATE_DIR),
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert "git not found: install git, then run `make init` to commit" in done.stdout
    project = tmp_path / "out" / "my-ml-project"
    assert (project / "data/raw/penguins.csv.dvc").exists()
    assert not (project / ".git").exists()
    # Later, with git available, `make init` finishes the job.
    done = subprocess.run(["make", "init"], cwd=project, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert git(project, "status", "--porcelain") == ""
    assert git(project, "log", "--format=%s").strip() == "Initial commit"


def test_options_doc_is_generated_from_cookiecutter_json():
    done = subprocess.run(
        [sys.executable, str(TEMPLATE_DIR / "tools" / "options_doc.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    doc = (TEMPLATE_DIR / "docs" / "options.md").read_text(encoding="utf-8")
    for name, value in load_options().items():
        if not name.startswith("_"):
            assert f"| `{name}` |" in doc
            if isinstance(value, list):
                assert all(f"`{choice}`" in doc for choice in value)
