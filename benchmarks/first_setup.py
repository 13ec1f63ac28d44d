"""From bake to green tests with a warm package cache: what a newcomer waits for.

Each run bakes the default project twice into a scratch folder: the first goes through
`make setup` then `make test` (bake -> green tests, the figure the target is about: at most
30 s); the second through `make setup` then `make repro` (the first pipeline run right after
setup must not get slower). With --baseline-rev, an earlier revision of the template is
measured the same way in the same run, alternating with this one.

Usage: python benchmarks/first_setup.py [--runs 3] [--baseline-rev REV]

The package cache is warmed by one uncounted setup of each template. PYTHONDONTWRITEBYTECODE
is removed from the environment (as on a default Python install) so bytecode written at
setup or on first import is kept.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
from pathlib import Path

from common import BIN, report, templates_to_compare, timed


def one_run(template: Path, scratch: Path) -> dict[str, float]:
    times = {}
    for kind, last in (("tests", ["make", "test"]), ("repro", ["make", "repro"])):
        out = scratch / kind
        out.mkdir()
        bake = timed(
            [str(BIN / "cookiecutter"), "--no-input", "-o", str(out), str(template)],
            out,
            write_bytecode=True,
        )
        project = out / "my-ml-project"
        setup = timed(["make", "setup"], project, write_bytecode=True)
        times[f"{kind}_bake_s"], times[f"{kind}_setup_s"] = bake, setup
        times[f"make_{kind}_s"] = timed(last, project, write_bytecode=True)
    times["bake_to_green_tests_s"] = (
        times["tests_bake_s"] + times["tests_setup_s"] + times["make_tests_s"]
    )
    return times


def medians(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: round(statistics.median(run[key] for run in runs), 2) for key in runs[0]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline-rev", help="an earlier template revision to compare with")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        templates = templates_to_compare(scratch, args.baseline_rev)
        samples: dict[str, list[dict[str, float]]] = {name: [] for name in templates}
        for round_ in range(args.runs + 1):  # round 0 warms the package cache, uncounted
            for name, template in templates.items():
                folder = scratch / f"{name}-{round_}"
                folder.mkdir()
                times = one_run(template, folder)
                if round_:
                    samples[name].append(times)
                print(name, round_, {key: round(value, 1) for key, value in times.items()})
                subprocess.run(["rm", "-rf", str(folder)], check=True)
    results = {name: {"median": medians(runs), "runs": runs} for name, runs in samples.items()}
    if args.baseline_rev:
        results["baseline_rev"] = args.baseline_rev
    this = results["this"]["median"]["bake_to_green_tests_s"]
    results["verdict"] = {"bake_to_green_tests_s": this, "target_s": 30, "meets_target": this <= 30}
    report("first_setup", results)


if __name__ == "__main__":
    main()
