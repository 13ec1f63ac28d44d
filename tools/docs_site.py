"""Build the documentation site into build/site with mkdocs-material, strictly.

The component pages are not written twice: they are the sections of the README of a project
baked from this template (default answers), one page per section, written to
docs/components/ (git-ignored) before the build. docs/options.md is regenerated from
cookiecutter.json. Any warning (a broken link, a page left out of the navigation) fails.

Usage: python tools/docs_site.py [--out build/site]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMPONENTS = ROOT / "docs" / "components"
# README section -> component page (the sections not listed stay in the README only).
PAGES = {
    "What is where": "layout",
    "Commands": "commands",
    "The pipeline": "pipeline",
    "Predictions in batches": "batch-predictions",
    "Sweeps: trying hyper-parameters": "sweeps",
    "Customise it": "customise",
    "Serving predictions": "serving",
    "Monitoring: when to retrain": "monitoring",
    "Bring your own data": "your-data",
    "Versioning data and models with DVC": "dvc",
    "Tracking experiments with MLflow": "mlflow",
    "When something fails": "failures",
    "Pre-commit hooks": "pre-commit",
    "Continuous integration and delivery (GitHub Actions)": "ci",
    "Updating from the template": "updating",
}


def readme_sections(readme: str) -> dict[str, str]:
    sections, title, lines = {}, None, []
    for line in readme.splitlines():
        if line.startswith("## "):
            if title:
                sections[title] = "\n".join(lines).strip() + "\n"
            title, lines = line[3:].strip(), []
        elif title:
            lines.append(line[1:] if line.startswith("###") else line)  # ### -> ##
    if title:
        sections[title] = "\n".join(lines).strip() + "\n"
    return sections


def anchor(title: str) -> str:
    return re.sub(r"[^a-z0-9 -]", "", title.lower()).strip().replace(" ", "-")


def write_components() -> list[str]:
    with tempfile.TemporaryDirectory() as scratch:
        bake = [sys.executable, "-m", "cookiecutter", "--no-input", "-o", scratch, str(ROOT)]
        subprocess.run(bake, check=True, capture_output=True)
        readme = (Path(scratch) / "my-ml-project" / "README.md").read_text(encoding="utf-8")
    sections = readme_sections(readme)
    missing = sorted(set(PAGES) - set(sections))
    if missing:
        raise SystemExit(f"docs: the generated README has no section {missing}: update PAGES")
    links = {f"(#{anchor(title)})": f"({page}.md)" for title, page in PAGES.items()}
    COMPONENTS.mkdir(parents=True, exist_ok=True)
    for old in COMPONENTS.glob("*.md"):
        old.unlink()
    for title, page in PAGES.items():
        text = sections[title]
        for old, new in links.items():
            text = text.replace(old, new)
        header = (
            f'# {title}\n\n!!! note "From the generated README"\n    This page is the '
            f"section *{title}* of the README every project gets (default answers).\n\n"
        )
        (COMPONENTS / f"{page}.md").write_text(header + text, encoding="utf-8")
    return list(PAGES.values())


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
