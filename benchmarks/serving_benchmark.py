"""The generated prediction API against `mlflow models serve`, same model, same run.

Bakes the default project, trains it, then load-tests on loopback with wrk (Debian `wrk`):
1. one-row predictions, 8 connections: our API (validation, metrics and JSON access logs on,
   /metrics scraped every 5 s as Prometheus would, which recomputes the drift gauges) against
   `mlflow models serve --env-manager local` on the same models/model
   (targets: >= 10x its requests/s, p99 <= 15 ms);
2. our API, 32 connections until at least 20,000 requests: zero errors.

Usage: python benchmarks/serving_benchmark.py [--duration S] [--scrape-interval S] [--project DIR]
--project reuses a baked project whose .venv and models/ exist (make setup && make repro).
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


def start(cmd: list[str], cwd: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        cmd,
        cwd=cwd,
        env={**env(), "PATH": f"{cwd / '.venv/bin'}{os.pathsep}{env()['PATH']}"},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopped with its workers
    )


def stop(process: subprocess.Popen) -> None:
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


def bake_and_train(root: Path) -> Path:
    timed(
        [str(BIN / "cookiecutter"), "--no-input", str(TEMPLATE_DIR), "-o", str(root)],
        cwd=root,
    )
    project = root / "my-ml-project"
    timed(["make", "setup"], cwd=project)
    timed(["make", "repro"], cwd=project)
    return project


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=15, help="seconds per wrk run")
    parser.add_argument(
        "--scrape-interval", type=float, default=5, help="seconds between /metrics scrapes"
    )
    parser.add_argument("--project", type=Path, help="a baked, set-up and trained project")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found: apt-get install wrk")
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Path(scratch_dir)
        project = args.project.resolve() if args.project else bake_and_train(scratch)
        python = str(project / ".venv/bin/python")
        module = json.loads((project / ".cruft.json").read_text())["context"]["cookiecutter"][
            "module_name"
        ]
        example = json.loads((project / "models/model/input_example.json").read_text())
        row = dict(zip(example["columns"], example["data"][0], strict=True))
        ours_body = json.dumps({"records": [row]})
        mlflow_body = json.dumps(
            {"dataframe_split": {"columns": example["columns"], "data": [example["data"][0]]}}
        )

        results: dict = {"model": "default bake (random forest, 200 trees), one-row requests"}
        port = free_port()
        api = start(
            [python, "-m", f"{module}.serving", "--port", str(port)], project, scratch / "api.log"
        )
        try:
            results["api_start_s"] = round(wait_until(f"http://127.0.0.1:{port}/ready", api), 1)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready") as answer:
                results["api_scorer"] = json.load(answer)["scorer"]
            url = f"http://127.0.0.1:{port}/predict"
            wrk(url, ours_body, 8, 3, scratch)  # warm-up
            metrics_url = f"http://127.0.0.1:{port}/metrics"
            with Scraper(metrics_url, args.scrape_interval) as scraper:
                results["api_8_connections"] = wrk(url, ours_body, 8, args.duration, scratch)
            results["api_8_connections"]["metrics"] = scraper.summary()
            # Long enough for 20k requests at the rate just measured (plus a margin).
            rate = max(results["api_8_connections"]["rps"], 1.0)
            seconds = max(args.duration, 1.3 * 20_000 / rate)
            with Scraper(metrics_url, args.scrape_interval) as scraper:
                results["api_32_connections"] = wrk(url, ours_body, 32, seconds, scratch)
            results["api_32_connections"]["metrics"] = scraper.summary()
        finally:
            stop(api)

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
            results["mlflow_start_s"] = round(
                wait_until(f"http://127.0.0.1:{port}/ping", mlflow), 1
            )
            url = f"http://127.0.0.1:{port}/invocations"
            wrk(url, mlflow_body, 8, 3, scratch)
            results["mlflow_8_connections"] = wrk(url, mlflow_body, 8, args.duration, scratch)
        finally:
            stop(mlflow)

    ours, theirs = results["api_8_connections"], results["mlflow_8_connections"]
    ratio = ours["rps"] / max(theirs["rps"], 1e-9)
    results["rps_ratio"] = round(ratio, 1)
    soak = results["api_32_connections"]
    results["targets"] = {
        "rps_ratio_at_least_10": ratio >= 10,
        "p99_at_most_15_ms": ours["p99_ms"] <= 15,
        "20k_requests_zero_errors": soak["requests"] >= 20_000 and soak["errors"] == 0,
        "no_errors_at_8_connections": ours["errors"] == 0 and theirs["errors"] == 0,
    }
    report("serving", results)
    if not all(results["targets"].values()):
        raise SystemExit("a serving target was missed: " + re.sub(r"\s+", " ", str(results)))


if __name__ == "__main__":
    main()
