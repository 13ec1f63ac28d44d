"""Slow tier: the faults a team meets every week, injected on loopback into a baked project.

A tracking server that is down, hung, refusing the credentials or failing after the fit; a DVC
remote that cannot be written or reached, and Ctrl-C in the middle of a push; a second
`dvc repro` while one runs, SIGKILL mid-train, a full disk; the API without a model or
registry, an oversized body, a missing token; credentials in `.env` that must reach no output.
Each case asserts what the user sees (one line naming the fix, no traceback), that it comes
within seconds and that nothing computed is lost; the seconds of each are written to
build/test-artifacts/faults.md (a record, not a timed assertion, except the 60 s the
tracking-server case promises).

All tests share one default project, set up and trained once.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import http.server
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from conftest import as_new_user, bake_project, git
from helpers import BIN, background, free_port, run, stages_run, tail
from matrix import TEMPLATE_DIR

pytestmark = pytest.mark.slow

MODULE = "my_ml_project"
ARTIFACTS = TEMPLATE_DIR / "build" / "test-artifacts"
FAULTS: list[tuple[str, str, float, str]] = []  # fault, what the user sees, seconds, kept


def record(fault: str, seen: str, seconds: float, kept: str) -> None:
    FAULTS.append((fault, seen, seconds, kept))


def write_table() -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    rows = ["| Fault | What the user sees | Seconds | What was kept |", "|---|---|---|---|"]
    for fault, seen, seconds, kept in FAULTS:
        rows.append(f"| {fault} | `{seen.replace('|', '/')}` | {seconds:.1f} | {kept} |")
    (ARTIFACTS / "faults.md").write_text("\n".join(rows) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Iterator[Path]:
    """The default bake, set up and trained, its first run committed."""
    scratch = tmp_path_factory.mktemp("faults")
    (scratch / "home").mkdir()
    with pytest.MonkeyPatch.context() as patch:
        as_new_user(patch, scratch / "home")
        patch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ['PATH']}")
        for name in ("MLFLOW_TRACKING_URI", "MODEL_SOURCE", "MODEL_ALIAS", "API_TOKEN"):
            patch.delenv(name, raising=False)
        project = bake_project(scratch / "bake")
        run(["make", "setup"], project)
        run(["make", "repro"], project)
        git(project, "add", "-A")
        git(project, "commit", "-qnm", "First pipeline run")  # -n: no hook environments to build
        yield project
    write_table()


def timed(cmd: list[str], cwd: Path, **env: str) -> tuple[subprocess.CompletedProcess, float]:
    start = time.monotonic()
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env={**os.environ, **env})
    return done, time.monotonic() - start


def set_param(project: Path, key: str, value: object) -> None:
    """Edit one `key: value` line of params.yaml in place (keeping its comment)."""
    params = project / "params.yaml"
    text, count = re.subn(
        rf"(?m)^(\s+{key}: )\S+", rf"\g<1>{value}", params.read_text(encoding="utf-8"), count=1
    )
    assert count == 1, key
    params.write_text(text, encoding="utf-8")


TREES = iter(range(201, 300))


def retrain_needed(project: Path) -> None:
    """A new hyper-parameter value: `make repro` must fit again."""
    # JSON-style, no space: set_param replaces one token, so the next call finds it whole.
    set_param(project, "params", f'{{"n_estimators":{next(TREES)}}}')


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def line_with(output: str, needle: str) -> str:
    found = [line for line in output.splitlines() if needle in line]
    assert found, f"{needle!r} not in:\n{output[-3000:]}"
    return found[0]


# --- a tracking server that fails --------------------------------------------------------------


@contextlib.contextmanager
def http_server(answer: Callable[[str, str], tuple[int, bytes]]) -> Iterator[str]:
    """A loopback HTTP server answering each request with answer(method, path)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            status, body = answer(self.command, self.path)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PATCH = do_DELETE = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def closed_port() -> Iterator[str]:
    yield f"http://127.0.0.1:{free_port()}"


@contextlib.contextmanager
def hung_server() -> Iterator[str]:
    """Accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def refusing_credentials() -> contextlib.AbstractContextManager[str]:
    return http_server(lambda method, path: (401, b'{"error_code": "UNAUTHENTICATED"}'))


@pytest.mark.parametrize(
    ("fault", "server", "said"),
    [
        ("Tracking server down (closed port)", closed_port, "refused the connection"),
        ("Tracking server hung (accepts, never answers)", hung_server, "did not answer within 5 s"),
        (
            "Tracking server refuses the credentials",
            refusing_credentials,
            "refused the credentials",
        ),
    ],
)
def test_a_tracking_server_that_fails_stops_repro_before_the_fit(project, fault, server, said):
    model = project / "models" / "model" / "model.pkl"
    before, lock = sha256(model), sha256(project / "dvc.lock")
    retrain_needed(project)
    with server() as url:
        done, seconds = timed(["make", "repro"], project, MLFLOW_TRACKING_URI=url)
    output = done.stdout + done.stderr
    assert done.returncode != 0 and seconds < 60, (seconds, output[-2000:])
    assert "Traceback" not in output
    seen = line_with(output, f"MLflow tracking server {url} {said}")
    assert "MLFLOW_TRACKING_URI" in seen  # the fix is named on the same line
    assert sha256(model) == before and sha256(project / "dvc.lock") == lock
    assert not (project / "models" / "unlogged_run.json").exists()  # no fit was started
    record(
        fault, seen, seconds, "everything: checked before the fit; model and dvc.lock as they were"
    )


def test_a_store_failing_after_the_fit_keeps_the_model_to_log_later(project):
    """The check passes, then every other call fails (a server restarting mid-run): the fitted
    model is kept in models/, and `tracking log-kept` logs it once a store answers."""
    model = project / "models" / "model" / "model.pkl"
    before = sha256(model)
    retrain_needed(project)

    def answer(method: str, path: str) -> tuple[int, bytes]:
        if path.startswith("/api/2.0/mlflow/experiments/search"):
            return 200, b'{"experiments": []}'
        return 503, b'{"error_code": "TEMPORARILY_UNAVAILABLE"}'

    with http_server(answer) as url:
        done, seconds = timed(["make", "repro"], project, MLFLOW_TRACKING_URI=url)
    output = done.stdout + done.stderr
    assert done.returncode != 0 and "Traceback" not in output, output[-3000:]
    seen = line_with(output, f"MLflow tracking store {url} failed while logging the run")
    assert "the fitted model is kept in models/model/" in seen and "log-kept" in seen
    kept = project / "models" / "unlogged_run.json"
    assert kept.exists() and sha256(model) != before  # the new fit, not the old model
    record(
        "Tracking store fails after the fit (HTTP 503)",
        seen,
        seconds,
        "the fitted model in models/model, its run in models/unlogged_run.json",
    )

    # The embedded store answers: log the kept run, record it in DVC, evaluate.
    logged = run([".venv/bin/python", "-m", f"{MODULE}.tracking", "log-kept"], project)
    assert "registered" in logged.stdout and not kept.exists()
    assert sha256(model) != before
    run([".venv/bin/dvc", "commit", "-f", "train"], project)
    assert stages_run(run(["make", "repro"], project).stdout) == ["evaluate"]
    assert "up to date" in run([".venv/bin/dvc", "status"], project).stdout


# --- a DVC remote that fails -------------------------------------------------------------------


def use_remote(project: Path, name: str, url: str) -> None:
    """A per-machine default remote (.dvc/config.local), as a user would try one."""
    run([".venv/bin/dvc", "remote", "add", "--local", "-f", "-d", name, url], project)


def forget_remotes(project: Path) -> None:
    (project / ".dvc" / "config.local").unlink(missing_ok=True)


def test_an_unwritable_or_unreachable_remote_is_named_in_one_line(project, tmp_path):
    try:
        use_remote(project, "broken", "/dev/null/remote")
        done, seconds = timed(["make", "push"], project)
        assert done.returncode != 0 and "Traceback" not in done.stderr
        seen = line_with(done.stderr, "dvc push failed")
        assert seen.startswith("dvc push failed on remote 'broken' (/dev/null/remote): ")
        assert "Not a directory" in seen and "needs no credentials" in seen
        record(
            "DVC remote unwritable (`make push`)",
            seen[:160] + "...",
            seconds,
            "local data and cache untouched",
        )

        url = f"http://127.0.0.1:{free_port()}/store"
        use_remote(project, "web", url)
        done, seconds = timed(["make", "push"], project)
        seen = line_with(done.stderr, "dvc push failed")
        assert done.returncode != 0 and seen.startswith(
            f"dvc push failed on remote 'web' ({url}): "
        )
        assert "Cannot connect to host" in seen and "credentials for HTTP" in seen
        record(
            "DVC remote unreachable (`make push`)",
            seen[:160] + "...",
            seconds,
            "local data and cache untouched",
        )
    finally:
        forget_remotes(project)

    # CI's first step on a fresh clone: `make pull-data` against a remote it cannot reach.
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(project), str(clone))
    (clone / ".venv").symlink_to(project / ".venv")
    use_remote(clone, "web", url)
    done, seconds = timed(["make", "pull-data"], clone)
    seen = line_with(done.stderr, "dvc pull failed")
    assert done.returncode != 0 and seen.startswith(f"dvc pull failed on remote 'web' ({url}): ")
    assert "could not be reached" in seen
    assert "Traceback" not in done.stderr
    record(
        "DVC remote unreachable (`make pull-data` in CI)",
        seen[:160] + "...",
        seconds,
        "nothing to lose: the clone had no data",
    )


class Store:
    """A DVC HTTP remote on loopback that stores what it is sent, each upload taking `delay`
    seconds (a slow link)."""

    def __init__(self, folder: Path, delay: float) -> None:
        self.folder, self.delay = folder, delay

    def answer(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        path = self.folder / handler.path.lstrip("/")
        if handler.command in ("POST", "PUT"):
            body = self._body(handler)
            time.sleep(self.delay)
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(path.name + ".upload")
            partial.write_bytes(body)
            partial.replace(path)  # a stored object is whole
            status, data = 200, b""
        elif path.is_file():
            status, data = 200, path.read_bytes()
        else:
            status, data = 404, b""
        handler.send_response(status)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(data)

    @staticmethod
    def _body(handler: http.server.BaseHTTPRequestHandler) -> bytes:
        if handler.headers.get("Transfer-Encoding", "").lower() != "chunked":
            return handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        body = b""
        while size := int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16):
            body += handler.rfile.read(size)
            handler.rfile.readline()
        handler.rfile.readline()
        return body

    def objects(self) -> list[Path]:
        return [p for p in self.folder.rglob("*") if p.is_file() and p.suffix != ".upload"]


@contextlib.contextmanager
def serving(store: Store) -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            store.answer(self)

        do_GET = do_HEAD = do_POST = do_PUT = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/store"
    finally:
        server.shutdown()
        server.server_close()


def test_ctrl_c_during_a_push_then_the_same_command_finishes_it(project, tmp_path):
    store = Store(tmp_path / "remote", delay=1.0)
    try:
        with serving(store) as url:
            use_remote(project, "web", url)
            push = subprocess.Popen(
                ["make", "push"],
                cwd=project,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
                # Ctrl-C's default action, even when the tests run in the background (a shell's
                # background job ignores SIGINT, and so would the push, finishing with 0).
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
            )
            deadline = time.monotonic() + 60
            while len(store.objects()) < 3:
                assert push.poll() is None, push.communicate()
                assert time.monotonic() < deadline, "the push sent nothing in 60 s"
                time.sleep(0.1)
            interrupted = time.monotonic()
            os.killpg(push.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends
            _, stderr = push.communicate(timeout=60)
            seconds = time.monotonic() - interrupted
            assert push.returncode != 0 and "Traceback" not in stderr
            seen = line_with(stderr, "dvc push interrupted: run it again to finish")
            sent = len(store.objects())
            record(
                "Ctrl-C during `make push`",
                seen,
                seconds,
                f"the {sent} objects sent; the rest on the next push",
            )

            store.delay = 0
            run(["make", "push"], project)
            status = run([".venv/bin/dvc", "status", "--cloud"], project).stdout
            assert "in sync" in status, status
        for path in store.objects():  # every object whole: its name is its md5
            if path.suffix != ".dir":
                assert hashlib.md5(path.read_bytes()).hexdigest() == path.parent.name + path.name
    finally:
        forget_remotes(project)


# --- interrupted and concurrent work ----------------------------------------------------------


def stage_running(project: Path, module: str) -> bool:
    """A process of this project runs `python -m <module>` (read from /proc)."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            words = cmdline.read_bytes().split(b"\0")
            cwd = (cmdline.parent / "cwd").resolve()
        except OSError:
            continue
        if module.encode() in words and cwd == project.resolve():
            return True
    return False


def test_a_second_repro_is_refused_and_a_killed_one_recovers(project):
    """A second `dvc repro` while one runs stops at once, DVC naming the process in the way; a
    repro killed with SIGKILL mid-train leaves nothing taken for valid: the next `make repro`
    re-runs what is out of date and ends up to date."""
    dvc = str(project / ".venv" / "bin" / "dvc")
    first = subprocess.Popen(
        [dvc, "repro", "-f", "train"],
        cwd=project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while not stage_running(project, f"{MODULE}.pipeline.train"):
        assert time.monotonic() < deadline and first.poll() is None, "train never started"
        time.sleep(0.2)
    try:
        second, seconds = timed([dvc, "repro"], project)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    assert second.returncode != 0, second.stdout
    seen = line_with(second.stderr, "is busy, it is being blocked by")
    assert "dvc repro -f train" in second.stderr  # DVC names the process that holds it
    record("Two `dvc repro` at once", seen[:120] + "...", seconds, "the first run, untouched")

    done, seconds = timed(["make", "repro"], project)  # whatever the kill left out of date
    assert done.returncode == 0, done.stderr[-2000:]
    assert (project / "models" / "model" / "MLmodel").is_file()
    assert "up to date" in run([dvc, "status"], project).stdout
    assert not list(project.rglob("*.partial"))
    record(
        "SIGKILL mid-train, then `make repro`",
        "(the next `make repro` runs what the kill left out of date)",
        seconds,
        "prepare's outputs; train re-ran",
    )


@contextlib.contextmanager
def full_disk(folder: Path) -> Iterator[None]:
    """A 16 KiB tmpfs mounted over `folder`: writing more fails with ENOSPC."""
    if os.geteuid() != 0:
        pytest.fail("mounting a small tmpfs (a full disk) needs root", pytrace=False)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(folder)], check=True)
    try:
        yield
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_a_full_disk_stops_a_stage_in_one_line_and_the_next_run_recovers(project):
    lock = sha256(project / "dvc.lock")
    set_param(project, "seed", 4242)  # prepare must run (a seed DVC's run cache has not seen)
    with full_disk(project / "data" / "processed"):
        done, seconds = timed(["make", "repro"], project)
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    seen = line_with(done.stderr, "No space left on device")
    assert seen.startswith("cannot write data/processed/") and "`make repro` again" in seen
    assert sha256(project / "dvc.lock") == lock  # DVC recorded nothing of the failed stage
    record(
        "Disk full while prepare writes its outputs",
        seen[:140] + "...",
        seconds,
        "the raw data, the previous outputs and dvc.lock",
    )

    done = run(["make", "repro"], project)
    assert stages_run(done.stdout) == ["prepare", "train", "evaluate"]
    assert "up to date" in run([".venv/bin/dvc", "status"], project).stdout
    assert not list(project.rglob("*.partial"))


# --- the API under faults ----------------------------------------------------------------------


def request(url: str, body: bytes | None = None, token: str | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, body, headers), timeout=30) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as error:
        text = error.read()
        return error.code, json.loads(text) if text.startswith(b"{") else {}


def until(
    check: Callable[[], bool], process: subprocess.Popen, log: Path, timeout: float = 120
) -> float:
    """Seconds until check() holds (the API's process must stay up meanwhile)."""
    start = time.monotonic()
    while True:
        with contextlib.suppress(OSError):
            if check():
                return time.monotonic() - start
        assert process.poll() is None, f"the API exited {process.returncode}:\n{tail(log)}"
        assert time.monotonic() - start < timeout, f"not within {timeout} s:\n{tail(log)}"
        time.sleep(0.2)


def oversized_status(port: int, length: int, token: str) -> int:
    """The status of a /predict whose headers announce `length` bytes: the API answers before
    reading the body (a client that then sends it would meet a closed connection)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.putrequest("POST", "/predict")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(length))
        connection.putheader("Authorization", f"Bearer {token}")
        connection.endheaders()
        return connection.getresponse().status
    finally:
        connection.close()


def example_body(project: Path) -> bytes:
    example = json.loads((project / "models" / "model" / "input_example.json").read_text())
    records = [dict(zip(example["columns"], row, strict=True)) for row in example["data"]]
    return json.dumps({"records": records[:2]}).encode()


def test_the_api_stays_up_without_a_model_and_recovers_when_it_appears(project, tmp_path):
    token = secrets.token_urlsafe(16)
    # serving's reload and body limit have defaults (serving/settings.py): set here, for the test
    params_file = project / "params.yaml"
    written = params_file.read_text(encoding="utf-8")
    params = yaml.safe_load(written)
    params["serving"].update(reload_seconds=1, max_request_bytes=1 << 20)
    params_file.write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    model, away = project / "models" / "model", project / "models" / "model.away"
    body = example_body(project)
    model.rename(away)
    port, log = free_port(), tmp_path / "serve.log"
    base = f"http://127.0.0.1:{port}"
    try:
        with background(["make", "serve", f"PORT={port}"], project, log, API_TOKEN=token) as api:
            until(lambda: request(f"{base}/health")[0] == 200, api, log)
            status, ready = request(f"{base}/ready")
            assert status == 503 and "run `make repro` first" in ready["reason"], ready
            assert request(f"{base}/predict", body, token)[0] == 503
            record(
                "API started without a model",
                f"/ready 503: {ready['reason']}",
                0.0,
                "the process: /health 200 throughout",
            )

            away.rename(model)
            seconds = until(lambda: request(f"{base}/ready")[0] == 200, api, log)
            record(
                "The model appears beside the running API",
                "/ready 200 (loaded on the next retry)",
                seconds,
                "no restart needed",
            )
            status, answer = request(f"{base}/predict", body, token)
            assert status == 200 and len(answer["predictions"]) == 2
            assert request(f"{base}/predict", body)[0] == 401  # the token guards predictions
            assert request(f"{base}/predict", body, "wrong")[0] == 401
            with urllib.request.urlopen(f"{base}/metrics", timeout=10) as scraped:  # open
                assert scraped.status == 200
            assert oversized_status(port, params["serving"]["max_request_bytes"] + 1, token) == 413
            assert request(f"{base}/health")[0] == 200
    finally:
        if away.exists():
            away.rename(model)
        params_file.write_text(written, encoding="utf-8")
    assert token not in log.read_text()

    # Registry unreachable at start: up, not ready, the reason names the server.
    url = f"http://127.0.0.1:{free_port()}"
    env = {"MODEL_SOURCE": "registry", "MLFLOW_TRACKING_URI": url}
    port, log = free_port(), tmp_path / "serve-registry.log"
    base = f"http://127.0.0.1:{port}"
    with background(["make", "serve", f"PORT={port}"], project, log, **env) as api:
        seconds = until(lambda: request(f"{base}/ready")[0] == 503, api, log)
        reason = request(f"{base}/ready")[1]["reason"]
        assert reason.startswith(f"MLflow tracking server {url} refused the connection"), reason
        assert request(f"{base}/health")[0] == 200
    record(
        "API started with the registry unreachable",
        f"/ready 503: {reason[:90]}...",
        seconds,
        "the process: retries every serving.reload_seconds",
    )


# --- secrets ------------------------------------------------------------------------------------

# Fake values that cannot occur by chance in any output.
FAKE_SECRETS = {
    "AWS_ACCESS_KEY_ID": "AKIAFAKEFAULTS998877",  # pragma: allowlist secret
    "AWS_SECRET_ACCESS_KEY": "fake/Faults+Secret/998866",  # pragma: allowlist secret
    "MLFLOW_TRACKING_PASSWORD": "faults-password-998855",  # pragma: allowlist secret
    "MLFLOW_TRACKING_TOKEN": "faults-token-998844",  # pragma: allowlist secret
    "API_TOKEN": "faults-api-token-998833",  # pragma: allowlist secret
}


def test_credentials_in_dotenv_reach_no_log_report_run_or_commit(project, tmp_path):
    """The pipeline, `make runs`, the monitor and the API run with the credentials of .env (as
    the README says to keep them); none of them is in any output, file or commit after."""
    dotenv = project / ".env"
    dotenv.write_text("".join(f"{name}={value}\n" for name, value in FAKE_SECRETS.items()))
    assert git(project, "check-ignore", ".env").strip() == ".env"
    outputs: list[str] = []
    try:
        retrain_needed(project)
        for command in (["make", "repro"], ["make", "runs"]):
            done = run(command, project)
            outputs += [done.stdout, done.stderr]
        batch = project / "data" / "raw" / "penguins.csv"
        done = subprocess.run(
            ["make", "monitor", f"CURRENT={batch}"], cwd=project, capture_output=True, text=True
        )
        assert done.returncode in (0, 1), done.stderr[-2000:]
        outputs += [done.stdout, done.stderr]
        port, log = free_port(), tmp_path / "serve.log"
        base = f"http://127.0.0.1:{port}"
        with background(["make", "serve", f"PORT={port}"], project, log) as api:
            until(lambda: request(f"{base}/ready")[0] == 200, api, log)
            body = example_body(project)
            assert request(f"{base}/predict", body, FAKE_SECRETS["API_TOKEN"])[0] == 200
            assert request(f"{base}/predict", body, "wrong")[0] == 401
            with urllib.request.urlopen(f"{base}/metrics", timeout=10) as scraped:
                outputs.append(scraped.read().decode())
        outputs.append(log.read_text(errors="replace"))
        git(project, "add", "-A")
        git(project, "commit", "-qnm", "Retrained with credentials in .env")
        outputs.append(git(project, "log", "-p", "--all"))
    finally:
        dotenv.unlink()
    files = [
        path
        for path in project.rglob("*")
        if path.is_file() and ".venv" not in path.parts and ".git" not in path.parts
    ]
    assert any(path.name == "mlflow.db" for path in files)  # runs' params and tags are in it
    for name, value in FAKE_SECRETS.items():
        assert not any(value in text for text in outputs), f"{name} in a log line or commit"
        leaked = [path for path in files if value.encode() in path.read_bytes()]
        assert not leaked, f"{name} in {leaked}"
    record(
        "Credentials in .env (AWS, MLflow, API token)",
        "(found in no log line, report, MLflow run, file or commit)",
        0.0,
        "-",
    )
