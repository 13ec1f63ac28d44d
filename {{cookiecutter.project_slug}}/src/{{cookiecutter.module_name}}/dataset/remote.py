"""`make push`, `make pull`, `make pull-data`: DVC's transfers to and from the project's remote,
with one line naming the remote, its URL and where its credentials come from when it fails
(DVC's own report is a stack of lines that rarely says which remote or which variables).

    python -m <package>.dataset.remote push|pull [TARGET ...]

Exit code: DVC's. Ctrl-C stops the transfer; what was sent or fetched stays, and running the
same command again finishes it (DVC skips what is already there).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections import deque

# Where each kind of remote takes its credentials from (the environment: put them in .env).
CREDENTIALS = {
    "s3": "credentials for S3: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)",
    "gs": "credentials for GCS: GOOGLE_APPLICATION_CREDENTIALS (a service-account key file)",
    "azure": "credentials for Azure: AZURE_STORAGE_CONNECTION_STRING",
    "ssh": "credentials for SSH: your key (ssh-agent or ~/.ssh; DVC_SSH_PRIVATE_KEY in CI)",
    "http": "credentials for HTTP: `dvc remote modify --local <name> auth basic` with its user "
    "and password (kept in .dvc/config.local)",
    "local": "a local remote needs no credentials: its folder must be creatable and writable",
    "other": "its credentials: `dvc remote modify --local <name> ...` (DVC's page of its kind)",
}
# DVC's own error lines and footer: summarised in our one line instead.
DVC_NOISE = ("ERROR", "Having any troubles?")


def dvc(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dvc", *args], capture_output=True, text=True)


def default_remote() -> tuple[str, str]:
    """(name, url) of the default remote; ("", "") when none is configured."""
    name = dvc("remote", "default").stdout.strip()
    for line in dvc("remote", "list").stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == name:
            return name, parts[1]
    return name, ""


KINDS = {"s3": "s3", "gs": "gs", "gcs": "gs", "azure": "azure", "ssh": "ssh", "http": "http"}
KINDS |= {"https": "http", "webdav": "http", "webdavs": "http"}


def kind_of(url: str) -> str:
    if "://" not in url:
        return "local"
    return KINDS.get(url.split("://", 1)[0], "other")


def explain(command: str, stderr: str, name: str, url: str) -> str:
    """One line: which remote failed, DVC's reason, and the credentials its kind uses."""
    if not name:
        return (
            f"dvc {command} failed: no default DVC remote; add one with "
            "`dvc remote add -d storage <url>` (see docs/dvc.md)"
        )
    lines = stderr.splitlines()
    errors = [line for line in lines if line.startswith("ERROR:")]
    reason = errors[-1].removeprefix("ERROR:").strip() if errors else "see the output above"
    if errors:  # DVC continues its last error on the lines below it
        for line in lines[lines.index(errors[-1]) + 1 :]:
            if not line.strip() or line.startswith(("ERROR", "WARNING", "<http", "Having")):
                break
            reason += " " + line.strip()
    reason = reason.removeprefix("unexpected error - ")
    if "Checkout failed" in reason:  # what DVC says when it found no copy, or no remote to ask
        reason += " (the remote has no copy of them, or could not be reached)"
    # DVC's summary ("N files failed to upload") follows one line per file: add the first cause.
    causes = [line.split(" - ", 1)[1] for line in errors if "failed to transfer" in line]
    if causes and causes[0] not in reason:
        reason = f"{reason} (first: {causes[0].split(': [Errno')[0]})"
    reason = " ".join(reason.split())[:300]
    credentials = CREDENTIALS[kind_of(url)].replace("<name>", name)
    return f"dvc {command} failed on remote '{name}' ({url}): {reason}; {credentials}"


def transfer(command: str, targets: list[str]) -> int:
    """Run `dvc push|pull TARGET...`: its progress shows as it goes, its failure as one line."""
    errors: deque[str] = deque(maxlen=40)
    process = subprocess.Popen(
        [sys.executable, "-m", "dvc", command, *targets], stderr=subprocess.PIPE, text=True
    )
    try:
        for line in process.stderr:
            errors.append(line)
            if line.strip() and not line.startswith(DVC_NOISE):  # the rest is summarised below
                sys.stderr.write(line)
        code = process.wait()
    except KeyboardInterrupt:
        process.wait()
        print(f"dvc {command} interrupted: run it again to finish", file=sys.stderr)
        return 130
    if code != 0:
        name, url = default_remote()
        print(explain(command, "".join(errors), name, url), file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("push", "pull"))
    parser.add_argument("targets", nargs="*", help="what to transfer (default: everything)")
    args = parser.parse_args(argv)
    return transfer(args.command, args.targets)


if __name__ == "__main__":
    sys.exit(main())
