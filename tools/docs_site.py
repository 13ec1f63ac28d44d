"""Build the documentation site into build/site with mkdocs-material, strictly.

The pages about the generated project are not written twice: they are the `docs/` pages of a
project baked from this template (default answers), plus two sections of its README (the
layout and the commands), copied to docs/components/ (git-ignored) before the build.
docs/options.md is regenerated from cookiecutter.json. Any warning (a broken link or anchor, a
page left out of the navigation) fails the build.

Usage: python tools/docs_site.py [--out build/site]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMPONENTS = ROOT / "docs" / "components"
# Sections of the generated README that become pages of their own.
README_PAGES = {"What is where": "layout", "Commands": "commands"}
NOTE = (
    '!!! note "In every project"\n    This page is `{source}` of a project baked with the '
    "default answers: each project carries the pages of its own template version.\n\n"
)


def readme_sections(readme: str) -> dict[str, str]:
    sections, title, lines = {}, None, []
    for line in readme.splitlines():
        if line.startswith("## "):
            if title:
                sections[title] = "\n".join(lines).strip() + "\n"
            title, lines = line[3:].strip(), []
        elif title:
            lines.append(line)
    if title:
        sections[title] = "\n".join(lines).strip() + "\n"
    return sections


def with_note(text: str, source: str) -> str:
    title, _, body = text.partition("\n")
    return f"{title}\n\n{NOTE.format(source=source)}{body.lstrip()}"


def write_components() -> list[str]:
    COMPONENTS.mkdir(parents=True, exist_ok=True)
    for old in COMPONENTS.glob("*.md"):
        old.unlink()
    with tempfile.TemporaryDirectory() as scratch:
        # The default answers plus the options that are off by default: a page for every one.
        bake = [sys.executable, "-m", "cookiecutter", "--no-input", "-o", scratch, str(ROOT)]
        bake.append("scale_out=yes")
        subprocess.run(bake, check=True, capture_output=True)
        project = Path(scratch) / "my-ml-project"
        pages = []
        for page in sorted((project / "docs").glob("*.md")):
            text = page.read_text(encoding="utf-8")
            (COMPONENTS / page.name).write_text(with_note(text, f"docs/{page.name}"))
            pages.append(page.stem)
        sections = readme_sections((project / "README.md").read_text(encoding="utf-8"))
    for title, page in README_PAGES.items():
        if title not in sections:
            raise SystemExit(f"docs: the generated README has no section {title!r}")
        text = sections[title].replace("](docs/", "](")  # the pages sit side by side here
        source = f"README.md, section {title}"
        (COMPONENTS / f"{page}.md").write_text(with_note(f"# {title}\n{text}", source))
        pages.append(page)
    return pages


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "site")
    args = parser.parse_args()
    subprocess.run([sys.executable, str(ROOT / "tools" / "options_doc.py")], check=True)
    write_components()
    build = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(args.out)]
    subprocess.run([*build, "--config-file", str(ROOT / "mkdocs.yml")], check=True)


if __name__ == "__main__":
    main()
