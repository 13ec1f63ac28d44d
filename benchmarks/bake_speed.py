"""Default bake, hooks included, against a one-file template baked in the same run.

Target: median <= 1.5 s on a 2-core machine. The cookiecutter-data-science anchor (0.66 s, no
git, no DVC) is not runnable offline here, so the same-run reference is the floor every
cookiecutter template pays: a one-file template (0.48 s in ../shared/ANCHORS.md).

Usage: python benchmarks/bake_speed.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

from common import BIN, TEMPLATE_DIR, report, summary, timed


def one_file_template(root: Path) -> Path:
    template = root / "one-file"
    (template / "{{cookiecutter.name}}").mkdir(parents=True)
    (template / "cookiecutter.json").write_text(json.dumps({"name": "x"}))
    (template / "{{cookiecutter.name}}" / "README.md").write_text("# {{ cookiecutter.name }}\n")
    return template


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    runs = parser.parse_args().runs
    cookiecutter = str(BIN / "cookiecutter")
    samples: dict[str, list[float]] = {
        "one_file_template": [],
        "ours_no_hooks": [],
        "ours_with_hooks": [],
    }
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        floor = one_file_template(root)
        cases = {
            "one_file_template": [cookiecutter, "--no-input", str(floor)],
            "ours_no_hooks": [
                cookiecutter,
                "--no-input",
                "--accept-hooks",
                "no",
                str(TEMPLATE_DIR),
            ],
            "ours_with_hooks": [cookiecutter, "--no-input", str(TEMPLATE_DIR)],
        }
        for _ in range(runs):  # interleaved, so drift hits every case alike
            for name, cmd in cases.items():
                out = root / "out"
                samples[name].append(timed([*cmd, "-o", str(out)], cwd=root))
                shutil.rmtree(out)
    results = {name: summary(values) for name, values in samples.items()}
    ours = results["ours_with_hooks"]["median_s"]
    results["verdict"] = {
        "target_s": 1.5,
        "ours_with_hooks_median_s": ours,
        "meets_target": ours <= 1.5,
        "hooks_cost_s": round(ours - results["ours_no_hooks"]["median_s"], 3),
        "ratio_to_one_file_template": round(ours / results["one_file_template"]["median_s"], 2),
    }
    report("bake_speed", results)


if __name__ == "__main__":
    main()
