"""What several test modules share: running commands, servers in the background, free ports,
the tutorials' pages as scripts. Test modules import from here and from conftest, never from
each other."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import TEMPLATE_DIR

BIN = Path(sys.executable).parent  # uv and schemathesis' `st` come with the dev requirements
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


def run(cmd: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env={**os.environ, **env})
    assert done.returncode == 0, f"{cmd} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def stages_run(output: str) -> list[str]:
    return [line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage")]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def tail(log: Path, size: int = 4000) -> str:
    return log.read_text(errors="replace")[-size:] if log.exists() else "(no log)"


@contextlib.contextmanager
def background(
    cmd: list[str], cwd: Path, log: Path, environment: dict[str, str] | None = None, **env: str
) -> Iterator[subprocess.Popen]:
    """A server in a process group of its own, stopped with all its children on the way out;
    its environment is `environment` (default: this one) plus `env`."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            cmd,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**(os.environ if environment is None else environment), **env},
            start_new_session=True,
        )
    try:
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # whatever of the group is still there
        process.wait()


def page_script(page: Path) -> str:
    """The page's blocks as one bash script."""
    lines = ["set -euo pipefail"]
    for language, body in BLOCK.findall(page.read_text(encoding="utf-8")):
        if language == "bash":
            lines.append(body)
        else:
            lines.append(f".venv/bin/python -c '{EDIT_PARAMS}' <<'YAML'\n{body}YAML")
    return "\n".join(lines) + "\n"


def run_page(project: Path, name: str, **env: str) -> str:
    """Run the page's blocks in `project`, with `env` added to the environment."""
    script = page_script(TUTORIALS / name)
    assert script.count("\n") > 2, f"{name} has no runnable block"
    process = subprocess.Popen(
        ["bash", "-c", script],
        cwd=project,
        env={**os.environ, **env},
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


def wait_for(url: str, process: subprocess.Popen, log: Path, timeout: float = 180) -> bytes:
    """The body of the first answer to GET url; fails with the server's log if the server
    exits, answers with an error (the API's 503: no model, it will not load later) or never
    answers."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                return answer.read()
        except urllib.error.HTTPError as error:
            pytest.fail(f"GET {url}: {error.code} {error.read()!r}\n{tail(log)}", pytrace=False)
        except OSError:
            pass
        command = " ".join(map(str, process.args))[:300]
        assert process.poll() is None, f"{command}: exited {process.returncode}\n{tail(log)}"
        assert time.monotonic() < deadline, f"{url} did not answer in {timeout} s:\n{tail(log)}"
        time.sleep(0.5)
