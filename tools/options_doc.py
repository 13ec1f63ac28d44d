"""Generate docs/options.md from cookiecutter.json (tests fail when the two disagree).

Usage: python tools/options_doc.py          # rewrite docs/options.md
       python tools/options_doc.py --check  # exit 1 if it is stale
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "options.md"
HEADER = """# Options reference

Generated from `cookiecutter.json` by `python tools/options_doc.py`; do not edit by hand.
Answer on the command line with `cookiecutter --no-input TEMPLATE name=value ...`.
Defaults written as `{{ ... }}` are derived from earlier answers. Every answer is validated
before anything is written (`hooks/pre_gen_project.py`): a refused one prints one line naming
the fix and leaves no folder behind.
"""


def cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render(options: dict) -> str:
    prompts = options.get("__prompts__", {})
    lines = [HEADER, "| Option | Question | Default | Allowed values |", "|---|---|---|---|"]
    for name, value in options.items():
        if name.startswith("_"):
            continue
        prompt = prompts.get(name, name)
        if isinstance(value, list):
            labels = prompt if isinstance(prompt, dict) else {}
            question = labels.get("__prompt__", name)
            allowed = "<br>".join(f"`{v}`: {cell(labels.get(v, v))}" for v in value)
            lines.append(f"| `{name}` | {cell(question)} | `{value[0]}` | {allowed} |")
        else:
            lines.append(f"| `{name}` | {cell(prompt)} | `{cell(value)}` | free text |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    options = json.loads((ROOT / "cookiecutter.json").read_text(encoding="utf-8"))
    text = render(options)
    if "--check" in argv:
        if not DOC.exists() or DOC.read_text(encoding="utf-8") != text:
            print("docs/options.md is stale: run `python tools/options_doc.py`", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
