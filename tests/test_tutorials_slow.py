"""Slow tier: the tutorials of the docs site run as written.

Each page's `bash` blocks run in order, as one script, in a project baked with the default
answers after `make setup` and `make repro` (the pages start from there). A `yaml` block is an
edit of `params.yaml`, applied as a person would: each section shown replaces those keys. The
outcome each page promises is then checked on the project.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import json
import os
import random
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import TEMPLATE_DIR

pytestmark = pytest.mark.slow

TUTORIALS = TEMPLATE_DIR / "docs" / "tutorials"
BLOCK = re.compile(r"^```(bash|yaml)\n(.*?)^```", re.MULTILINE | re.DOTALL)
# Applies a yaml block to params.yaml (run by the page's script with the project's Python).
EDIT_PARAMS = """
import sys, yaml
params = yaml.safe_load(open("params.yaml"))
for section, values in yaml.safe_load(sys.stdin).items():
    params.setdefault(section, {}).update(values)
open("params.yaml", "w").write(yaml.safe_dump(params, sort_keys=False))
"""


def page_script(page: Path) -> str:
    """The page's blocks as one bash script."""
    lines = ["set -euo pipefail"]
    for language, body in BLOCK.findall(page.read_text(encoding="utf-8")):
        if language == "bash":
            lines.append(body)
        else:
            lines.append(f".venv/bin/python -c '{EDIT_PARAMS}' <<'YAML'\n{body}YAML")
    return "\n".join(lines) + "\n"


def run_page(project: Path, name: str) -> str:
    script = page_script(TUTORIALS / name)
    assert script.count("\n") > 2, f"{name} has no runnable block"
    process = subprocess.Popen(
        ["bash", "-c", script],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # the page's background jobs are stopped with it
    )
    try:
        output, _ = process.communicate(timeout=900)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    assert process.returncode == 0, f"{name}:\n{output[-4000:]}"
    return output


def json_objects(output: str) -> list[dict]:
    """The JSON answers curl printed (without newlines, so maybe several on one line)."""
    decoder, found, index = json.JSONDecoder(), [], output.find("{")
    while index >= 0:
        try:
            value, end = decoder.raw_decode(output, index)
        except json.JSONDecodeError:
            end = index + 1
        else:
            found.append(value)
        index = output.find("{", end)
    return found


def write_customers(path: Path, rows: int = 800, seed: int = 3) -> None:
    """A churn export as teams have them: an ID, names, a date, gaps, a rare plan."""
    rng = random.Random(seed)
    records = []
    for index in range(rows):
        tenure, spend = rng.randint(1, 72), round(rng.gammavariate(2, 30), 2)
        plan = rng.choices(["basic", "plus", "pro", "legacy"], [0.5, 0.3, 0.18, 0.02])[0]
        score = -0.05 * tenure + 0.02 * spend + (plan == "basic") + rng.gauss(0, 1)
        signup = datetime.date(2020, 1, 1) + datetime.timedelta(days=rng.randint(0, 1500))
        records.append(
            {
                "customer_id": f"C{index:05d}",
                "name": f"Customer {index}",
                "plan": plan,
                "monthly_spend": "" if rng.random() < 0.05 else spend,
                "tenure_months": tenure,
                "signup_date": signup.isoformat(),
                "churned": "yes" if score > 0.6 else "no",
            }
        )
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(records)


def test_the_tutorials_run_as_written(bake, template_repo, monkeypatch):
    # `make setup` and the pages find uv, cruft and cookiecutter beside the tests' Python.
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    project = bake(template=template_repo)
    for step in (["make", "setup"], ["make", "repro"]):
        done = subprocess.run(step, cwd=project, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    served = run_page(project, "serve-the-api.md")
    predicted, explained = json_objects(served)[:2]
    assert predicted["predictions"][0] in {"Adelie", "Chinstrap", "Gentoo"}
    assert explained["explanations"][0]["contributions"]
    assert "model_predictions_total" in served

    monitored = run_page(project, "monitor-and-retrain.md")
    assert "exit code 1" in monitored  # the drifted batch: retraining warranted
    report = json.loads((project / "reports" / "monitoring" / "report.json").read_text())
    assert report["status"] == "retrain"

    run_page(project, "customise.md")
    params = yaml.safe_load((project / "params.yaml").read_text())
    assert params["model"]["name"] == "gradient_boosting"
    assert json.loads((project / "reports" / "metrics.json").read_text())["accuracy"] > 0.9

    exports = Path(os.environ["HOME"]) / "exports"
    exports.mkdir(parents=True, exist_ok=True)
    write_customers(exports / "customers.csv")
    run_page(project, "your-csv.md")
    metrics = json.loads((project / "reports" / "metrics.json").read_text())
    assert metrics["accuracy"] > metrics["baseline_accuracy"]
    schema = json.loads((project / "data" / "processed" / "schema.json").read_text())
    assert schema["target"] == "churned" and "customer_id" not in schema["features"]

    updated = run_page(project, "update-with-cruft.md")
    assert "Traceback" not in updated
