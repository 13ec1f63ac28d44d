"""The generated prediction API against its peers, same model, same run.

Bakes the default project, trains it, then load-tests on loopback with wrk (Debian `wrk`):
1. one-row predictions, 8 connections: our API (validation, metrics and JSON access logs on,
   /metrics scraped every 5 s as Prometheus would, which recomputes the drift gauges; scored by
   onnxruntime) against
   - Seldon's MLServer (`mlserver` + `mlserver-mlflow`, V2 protocol) serving the same
     models/model (targets: >= 2x its requests/s, p99 <= 10 ms), with --mlserver-python;
   - `mlflow models serve --env-manager local` on the same models/model;
   - the API of an earlier revision of the template (--baseline-rev, e.g. the one with the numpy
     forest scorer), baked and trained the same way;
2. our API, 32 connections until at least 20,000 requests: zero errors;
3. /explain of one record, 1 connection (target: p99 <= 50 ms);
4. batches of 100 and 1,000 records, 2 connections: rows/s, against `make predict` on 200,000
   rows of the same record (python -m <module>.predict, start-up included);
5. the same one-row load with a shadow challenger (the model registered again under the
   challenger alias, the champion from the registry, serving.challenger: shadow): what the
   shadow costs the client (target: p99 at most 1 ms more than the champion alone).

Usage: python benchmarks/serving_benchmark.py [--duration S] [--scrape-interval S] [--project DIR]
    [--mlserver-python PY] [--baseline-rev REV]
--project reuses a baked project whose .venv and models/ exist (make setup && make repro).
--mlserver-python: a Python 3.12 venv with `mlserver mlserver-mlflow` and the model's pins
(`uv pip install mlserver mlserver-mlflow -r <project>/models/model/requirements.txt`).
Needs uv (requirements-dev.txt), wrk, and network access for `make setup`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from common import BIN, TEMPLATE_DIR, env, report, timed

WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [==[{body}]==]
done = function(summary, latency, requests)
  io.write(string.format("JSON %d %d %d %d %d %f %f %f %f\\n", summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, summary.duration, 0,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(url: str, process: subprocess.Popen, timeout: float = 120) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:
                if answer.status == 200:
                    return time.perf_counter() - start
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {timeout} s")


def start(cmd: list[str], cwd: Path, log: Path, extra_env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        cmd,
        cwd=cwd,
        env={
            **env(),
            "PATH": f"{cwd / '.venv/bin'}{os.pathsep}{env()['PATH']}",
            **(extra_env or {}),
        },
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopped with its workers
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


class Scraper:
    """Scrape /metrics every `interval` seconds while a load test runs, like Prometheus (whose
    default in deploy/prometheus is 15 s): each scrape after new requests recomputes the
    drift gauges, so their cost lands in the measured latencies."""

    def __init__(self, url: str, interval: float) -> None:
        self.url, self.interval = url, interval
        self.durations: list[float] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stopped.wait(self.interval):
            start = time.perf_counter()
            with urllib.request.urlopen(self.url, timeout=10) as answer:
                answer.read()
            self.durations.append(time.perf_counter() - start)

    def __enter__(self) -> Scraper:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join()

    def summary(self) -> dict:
        slowest = max(self.durations, default=0.0)
        return {"scrapes": len(self.durations), "slowest_scrape_ms": round(slowest * 1000, 1)}


def wrk(url: str, body: str, connections: int, duration: float, scratch: Path) -> dict:
    script = scratch / f"post-{abs(hash(body))}.lua"
    script.write_text(WRK_SCRIPT.replace("{body}", body))
    threads = min(2, connections)
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{int(duration)}s", "-s", str(script), url]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    line = next(x for x in done.stdout.splitlines() if x.startswith("JSON "))
    requests, socket_errors, status_errors, micros, _, p50, p90, p99, worst = line.split()[1:]
    seconds = int(micros) / 1e6
    return {
        "connections": connections,
        "requests": int(requests),
        "errors": int(socket_errors) + int(status_errors),
        "rps": round(int(requests) / seconds, 1),
        "p50_ms": round(float(p50), 2),
        "p90_ms": round(float(p90), 2),
        "p99_ms": round(float(p99), 2),
        "max_ms": round(float(worst), 2),
        "seconds": round(seconds, 1),
    }


def bake_and_train(
    root: Path, template: Path = TEMPLATE_DIR, *answers: str, family: str = ""
) -> Path:
    """Bake (answers as `name=value`), `make setup`, `make repro` (with params.yaml's
    model.name set to `family` when given); the project's folder."""
    timed(
        [str(BIN / "cookiecutter"), "--no-input", str(template), "-o", str(root), *answers],
        cwd=root,
    )
    project = root / "my-ml-project"
    if family:
        params = project / "params.yaml"
        text = re.sub(r"(?m)^(  name: )\S+", rf"\g<1>{family}", params.read_text(), count=1)
        params.write_text(text)
    timed(["make", "setup"], cwd=project)
    timed(["make", "repro"], cwd=project)
    return project


def template_at(rev: str, scratch: Path) -> Path:
    """The template as it was at `rev` (git archive of this repository)."""
    folder = scratch / f"template-{rev}"
    folder.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(TEMPLATE_DIR), "archive", rev], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def example(project: Path) -> dict:
    """A row of the model's input example without missing values (every server takes it)."""
    found = json.loads((project / "models/model/input_example.json").read_text())
    rows = [row for row in found["data"] if all(value is not None for value in row)]
    return dict(zip(found["columns"], rows[0], strict=True))


def v2_body(row: dict) -> str:
    """The V2 inference protocol's request for one row, decoded by MLServer as a DataFrame."""
    inputs = []
    for name, value in row.items():
        kind = "BYTES" if isinstance(value, str) else "FP64"
        inputs.append({"name": name, "shape": [1], "datatype": kind, "data": [value]})
    return json.dumps({"parameters": {"content_type": "pd"}, "inputs": inputs})


def measure_api(
    project: Path, scratch: Path, body: str, args, label: str, extra_env: dict | None = None
) -> dict:
    module = module_of(project)
    python = str(project / ".venv/bin/python")
    # Revisions before the package had sub-packages served it from <module>/serve.py.
    entry = "serving" if (project / "src" / module / "serving").is_dir() else "serve"
    results: dict = {}
    port = free_port()
    api = start(
        [python, "-m", f"{module}.{entry}", "--port", str(port)],
        project,
        scratch / f"{label}.log",
        extra_env,
    )
    try:
        results["start_s"] = round(wait_until(f"http://127.0.0.1:{port}/ready", api), 1)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready") as answer:
            results["scorer"] = json.load(answer)["scorer"]
        url = f"http://127.0.0.1:{port}/predict"
        wrk(url, body, 8, 3, scratch)  # warm-up
        metrics_url = f"http://127.0.0.1:{port}/metrics"
        with Scraper(metrics_url, args.scrape_interval) as scraper:
            results["8_connections"] = wrk(url, body, 8, args.duration, scratch)
        results["8_connections"]["metrics"] = scraper.summary()
        if label == "api":
            # Long enough for 20k requests at the rate just measured (plus a margin).
            rate = max(results["8_connections"]["rps"], 1.0)
            seconds = max(args.duration, 1.3 * 20_000 / rate)
            with Scraper(metrics_url, args.scrape_interval) as scraper:
                results["32_connections"] = wrk(url, body, 32, seconds, scratch)
            results["32_connections"]["metrics"] = scraper.summary()
            explain = f"http://127.0.0.1:{port}/explain"
            wrk(explain, body, 1, 3, scratch)  # warm-up: the explainer is built on first use
            results["explain_1_connection"] = wrk(explain, body, 1, args.duration, scratch)
            row = json.loads(body)["records"][0]
            for size in (100, 1000):
                batch = json.dumps({"records": [row] * size})
                found = wrk(url, batch, 2, args.duration, scratch)
                found["rows_per_s"] = round(found["rps"] * size)
                results[f"batch_{size}_rows"] = found
    finally:
        stop(api)
    return results


def measure_mlserver(project: Path, scratch: Path, python: Path, body: str, args) -> dict:
    folder = scratch / "mlserver"
    folder.mkdir()
    port, grpc, metrics = free_port(), free_port(), free_port()
    (folder / "settings.json").write_text(
        json.dumps(
            {
                "host": "127.0.0.1",
                "http_port": port,
                "grpc_port": grpc,
                "metrics_port": metrics,
                "parallel_workers": 0,  # in-process, like our one uvicorn process
            }
        )
    )
    (folder / "model-settings.json").write_text(
        json.dumps(
            {
                "name": "model",
                "implementation": "mlserver_mlflow.MLflowRuntime",
                "parameters": {"uri": str(project / "models/model")},
            }
        )
    )
    server = start(
        [str(python.parent / "mlserver"), "start", str(folder)], project, scratch / "mlserver.log"
    )
    try:
        results = {
            "start_s": round(wait_until(f"http://127.0.0.1:{port}/v2/health/ready", server), 1)
        }
        url = f"http://127.0.0.1:{port}/v2/models/model/infer"
        wrk(url, body, 8, 3, scratch)
        results["8_connections"] = wrk(url, body, 8, args.duration, scratch)
    finally:
        stop(server)
    return results


def measure_mlflow_serve(project: Path, scratch: Path, row: dict, args) -> dict:
    body = json.dumps({"dataframe_split": {"columns": list(row), "data": [list(row.values())]}})
    port = free_port()
    mlflow = start(
        [
            *[str(project / ".venv/bin/mlflow"), "models", "serve", "-m", "models/model"],
            *["--env-manager", "local", "--host", "127.0.0.1", "--port", str(port)],
        ],
        project,
        scratch / "mlflow.log",
    )
    try:
        results = {"start_s": round(wait_until(f"http://127.0.0.1:{port}/ping", mlflow), 1)}
        url = f"http://127.0.0.1:{port}/invocations"
        wrk(url, body, 8, 3, scratch)
        results["8_connections"] = wrk(url, body, 8, args.duration, scratch)
    finally:
        stop(mlflow)
    return results


def module_of(project: Path) -> str:
    return json.loads((project / ".cruft.json").read_text())["context"]["cookiecutter"][
        "module_name"
    ]


def make_predict_rows_per_s(project: Path, scratch: Path, row: dict, rows: int = 200_000) -> dict:
    """`python -m <module>.predict` on `rows` copies of the benchmark's record (CSV)."""
    import csv

    source = scratch / "batch.csv"
    with source.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(row))
        writer.writeheader()
        writer.writerows([row] * rows)
    python = str(project / ".venv/bin/python")
    seconds = timed(
        [python, "-m", f"{module_of(project)}.predict", str(source), str(scratch / "out.csv")],
        cwd=project,
    )
    return {"rows": rows, "seconds": round(seconds, 2), "rows_per_s": round(rows / seconds)}


def register_challenger(project: Path) -> None:
    """Retrain registering the new version under the challenger alias (the same model: what
    the shadow costs does not depend on its answers)."""
    cmd = [str(project / ".venv/bin/dvc"), "repro", "--force", "--single-item", "train"]
    done = subprocess.run(
        cmd, cwd=project, env={**env(), "REGISTER_AS": "challenger"}, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=15, help="seconds per wrk run")
    parser.add_argument(
        "--scrape-interval", type=float, default=5, help="seconds between /metrics scrapes"
    )
    parser.add_argument("--project", type=Path, help="a baked, set-up and trained project")
    parser.add_argument("--mlserver-python", type=Path, help="a venv's python with MLServer")
    parser.add_argument("--baseline-rev", help="an earlier template revision to serve too")
    parser.add_argument("--family", default="", help="model.name to train (default: the bake's)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install wrk")
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        project = (
            args.project.resolve() if args.project else bake_and_train(scratch, family=args.family)
        )
        row = example(project)
        body = json.dumps({"records": [row]})
        family = args.family or "the bake's default"
        results: dict = {"model": f"default bake, model.name {family}, one-row requests"}
        results["api"] = measure_api(project, scratch, body, args, "api")
        results["make_predict"] = make_predict_rows_per_s(project, scratch, row)
        register_challenger(project)
        shadow_env = {"MODEL_SOURCE": "registry", "CHALLENGER": "shadow"}
        results["api_shadow"] = measure_api(project, scratch, body, args, "shadow", shadow_env)
        if args.mlserver_python:
            results["mlserver"] = measure_mlserver(
                project, scratch, args.mlserver_python, v2_body(row), args
            )
        results["mlflow_serve"] = measure_mlflow_serve(project, scratch, row, args)
        if args.baseline_rev:
            baked = scratch / "baseline"
            baked.mkdir()
            old = bake_and_train(baked, template_at(args.baseline_rev, scratch))
            results["baseline"] = {"rev": args.baseline_rev}
            results["baseline"] |= measure_api(old, scratch, body, args, "baseline")

    ours = results["api"]["8_connections"]
    soak = results["api"]["32_connections"]
    explain = results["api"]["explain_1_connection"]
    results["rps_ratio_to_mlflow_serve"] = round(
        ours["rps"] / max(results["mlflow_serve"]["8_connections"]["rps"], 1e-9), 1
    )
    shadow = results["api_shadow"]["8_connections"]
    results["shadow_p99_cost_ms"] = round(shadow["p99_ms"] - ours["p99_ms"], 2)
    targets = {
        "p99_at_most_10_ms": ours["p99_ms"] <= 10,
        "shadow_costs_at_most_1_ms_at_p99": results["shadow_p99_cost_ms"] <= 1,
        "20k_requests_zero_errors": soak["requests"] >= 20_000 and soak["errors"] == 0,
        "explain_p99_at_most_50_ms": explain["p99_ms"] <= 50 and explain["errors"] == 0,
    }
    if "mlserver" in results:
        theirs = results["mlserver"]["8_connections"]
        ratio = ours["rps"] / max(theirs["rps"], 1e-9)
        results["rps_ratio_to_mlserver"] = round(ratio, 1)
        targets["rps_at_least_2x_mlserver"] = ratio >= 2
    if "baseline" in results:
        ratio = ours["rps"] / max(results["baseline"]["8_connections"]["rps"], 1e-9)
        results["rps_ratio_to_baseline"] = round(ratio, 2)
        targets["rps_at_least_baseline"] = ratio >= 1.0
    results["targets"] = targets
    report("serving", results)
    if not all(targets.values()):
        print("a serving target was missed: " + re.sub(r"\s+", " ", str(targets)))


if __name__ == "__main__":
    main()
