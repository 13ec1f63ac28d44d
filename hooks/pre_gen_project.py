"""Validate every answer before the project is written.

Choice questions are checked by cookiecutter itself; this checks the free-text ones. Each
refused answer prints one line naming the question and the fix, then the hook exits 1,
and cookiecutter removes the folder it started.
"""

from __future__ import annotations

import json
import keyword
import re
import sys
import unicodedata
from pathlib import Path

# Values arrive as JSON: quotes, backslashes and newlines in answers cannot break this file.
CONTEXT = json.loads(r"""{{ cookiecutter | tojson }}""")

# Names that collide with the project's own folders or confuse test discovery.
PROJECT_FOLDERS = {"src", "test", "tests", "scripts", "data", "models", "reports", "notebooks"}

SLUG = re.compile(r"^[a-z0-9]+(?:[-_.][a-z0-9]+)*$")
# The folder, the distribution and the package are named after the slug: cookiecutter.json caps
# the one it derives from project_name at this length, and a longer answer is refused.
MAX_SLUG = 64
# Answers written on one line of README.md, pyproject.toml, LICENSE and the YAML and JSON files.
ONE_LINE_ANSWERS = ("project_name", "description", "author_name")
MODULE = re.compile(r"^[a-z_][a-z0-9_]*$")
# A requirement in pyproject.toml ("pandas>=2.1", 'boto3>=1.28', "dvc[s3]>=3.67"), and a
# top-level import in the project's code.
REQUIREMENT = re.compile(r"""["']([A-Za-z][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*[<>=!~;]""")
IMPORT = re.compile(r"^\s*(?:from|import)\s+([A-Za-z_]\w*)", re.MULTILINE)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Characters that cannot appear unquoted in .dvc/config or a shell command line.
UNSAFE_IN_URL = re.compile(r"[\s\"'#;`$\\]")
REMOTE_PATTERNS = {
    "s3": (re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^/].*)?/?$"), "s3://BUCKET/PATH"),
    "gs": (re.compile(r"^gs://[a-z0-9][a-z0-9._-]{1,61}[a-z0-9](/[^/].*)?/?$"), "gs://BUCKET/PATH"),
    "azure": (
        re.compile(r"^azure://[a-z0-9][a-z0-9-]{1,61}[a-z0-9](/[^/].*)?/?$"),
        "azure://CONTAINER/PATH",
    ),
    "ssh": (re.compile(r"^ssh://([^@/\s]+@)?[A-Za-z0-9.-]+(:\d+)?/.+$"), "ssh://USER@HOST/PATH"),
}
URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
HTTP_URL = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?(/\S*)?$")


def check_slug(slug: str) -> str | None:
    if not slug:
        return "project_slug is empty: give a project_name with letters or digits"
    if len(slug) > MAX_SLUG:
        return (
            f"project_slug is {len(slug)} characters long: give one of at most {MAX_SLUG} "
            "(or a shorter project_name)"
        )
    if not SLUG.match(slug):
        return (
            f"project_slug {slug!r} is not a valid folder/distribution name: use lowercase "
            "letters, digits and single dashes, e.g. 'my-ml-project'"
        )
    return None


def check_one_line(question: str, text: str) -> str | None:
    """A line break or another control character has no place in a one-line answer (and
    cookiecutter, which renders answers as Jinja, turns a carriage return into a newline)."""
    for char in text:
        if unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            return (
                f"{question} holds a line break or control character ({char!r}): "
                "answer on one line, without it"
            )
    return None


def dependency_modules(template_dir: str | None) -> set[str]:
    """The import names a package called like the project's would shadow, read from the
    template: the distributions its pyproject.toml names (normalised) and the top-level modules
    its code imports (sklearn, yaml...). Empty when the template folder is not known: cruft
    re-renders pass none, and the name was checked when the project was made."""
    folders = list(Path(template_dir).glob("*cookiecutter.project_slug*")) if template_dir else []
    names: set[str] = set()
    for project in folders:
        pyproject = (project / "pyproject.toml").read_text(encoding="utf-8")
        names |= {re.sub(r"[-.]+", "_", name).lower() for name in REQUIREMENT.findall(pyproject)}
        for module in project.rglob("*.py"):
            names |= set(IMPORT.findall(module.read_text(encoding="utf-8")))
    return names - set(sys.stdlib_module_names) - {"__future__"}


def check_module_name(name: str, dependencies: set[str]) -> str | None:
    fix = "answer module_name with another name, e.g. 'my_project'"
    if not MODULE.match(name):
        return (
            f"module_name {name!r} is not a valid Python package name "
            f"(lowercase letters, digits, underscores; not starting with a digit): {fix}"
        )
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        return f"module_name {name!r} is a Python keyword: {fix}"
    if name in sys.stdlib_module_names:
        return f"module_name {name!r} would shadow the standard library module: {fix}"
    if name in dependencies:
        return f"module_name {name!r} would shadow the {name!r} dependency: {fix}"
    if name in PROJECT_FOLDERS:
        return f"module_name {name!r} collides with the project folder of that name: {fix}"
    return None


def check_email(email: str) -> str | None:
    if not EMAIL.match(email):
        return f"author_email {email!r} is not an email address: answer e.g. 'you@example.com'"
    return None


def check_dvc_remote(kind: str, url: str) -> str | None:
    if kind == "none":
        if url:
            return (
                "dvc_remote_url must be blank when dvc_remote is 'none': "
                "clear it or pick a remote kind"
            )
        return None
    if not url:
        return f"dvc_remote_url is blank but dvc_remote is {kind!r}: give its URL or path"
    if UNSAFE_IN_URL.search(url):
        return (
            f"dvc_remote_url {url!r} contains spaces, quotes, '#', ';', '$' or backslashes: "
            "use a plain path or URL"
        )
    if kind == "local":
        if URL_SCHEME.match(url):
            return (
                f"dvc_remote_url {url!r} is a URL but dvc_remote is 'local': give a path "
                "such as ~/dvc-remotes/NAME, or pick the matching remote kind"
            )
        if not (url.startswith(("/", "~")) or re.match(r"^[A-Za-z]:[\\/]", url)):
            return (
                f"dvc_remote_url {url!r} is relative: give an absolute path or one under ~ "
                "(outside the project), e.g. ~/dvc-remotes/NAME"
            )
        return None
    pattern, example = REMOTE_PATTERNS[kind]
    if not pattern.match(url):
        return f"dvc_remote_url {url!r} does not fit dvc_remote {kind!r}: use {example}"
    return None


def check_mlflow(mode: str, url: str) -> str | None:
    if mode == "embedded":
        if url:
            return (
                "mlflow_server_url must be blank when mlflow_tracking is 'embedded': "
                "clear it or pick 'server'"
            )
        return None
    if not HTTP_URL.match(url):
        return (
            f"mlflow_server_url {url!r} is not an http(s) URL: "
            "answer e.g. http://mlflow.example.com:5000"
        )
    return None


def problems(context: dict) -> list[str]:
    checks = [
        *(check_one_line(question, context[question]) for question in ONE_LINE_ANSWERS),
        check_slug(context["project_slug"]),
        check_module_name(context["module_name"], dependency_modules(context.get("_repo_dir"))),
        check_email(context["author_email"]),
        check_dvc_remote(context["dvc_remote"], context["dvc_remote_url"]),
        check_mlflow(context["mlflow_tracking"], context["mlflow_server_url"]),
    ]
    return [problem for problem in checks if problem]


def main() -> int:
    found = problems(CONTEXT)
    if found:
        # One line: the first problem; fixing answers one at a time keeps the message short.
        print(f"ERROR: {found[0]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
