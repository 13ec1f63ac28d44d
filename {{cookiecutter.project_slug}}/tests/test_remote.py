"""`make push` / `make pull`: a DVC remote that cannot be reached or written is named in one
line with its URL and where the credentials of its kind come from."""

from __future__ import annotations

import subprocess
import sys

import pytest
from dvc.repo import Repo

from {{ cookiecutter.module_name }}.dataset.remote import explain, kind_of

S3_DENIED = """ERROR: unexpected error - Forbidden: An error occurred (403) when calling the \
HeadObject operation: Forbidden

Having any troubles? Hit us up at https://dvc.org/support, we are always happy to help!
"""


@pytest.mark.parametrize(
    ("url", "kind", "credentials"),
    [
        ("s3://bucket/project", "s3", "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"),
        ("gs://bucket/project", "gs", "GOOGLE_APPLICATION_CREDENTIALS"),
        ("azure://container/project", "azure", "AZURE_STORAGE_CONNECTION_STRING"),
        ("ssh://user@host/srv/dvc", "ssh", "DVC_SSH_PRIVATE_KEY"),
        ("https://dvc.example.com/store", "http", "auth basic"),
        ("hdfs://namenode/dvc", "other", "dvc remote modify --local"),
        ("~/dvc-remotes/project", "local", "no credentials"),
    ],
)
def test_each_kind_names_its_credentials(url, kind, credentials):
    assert kind_of(url) == kind
    line = explain("push", S3_DENIED, "storage", url)
    assert line.startswith(f"dvc push failed on remote 'storage' ({url}): Forbidden: An error")
    assert credentials in line and "\n" not in line and "Having any troubles" not in line


def test_the_summary_gets_the_first_cause():
    stderr = (
        "ERROR: failed to transfer 'ffd0' - Cannot connect to host 127.0.0.1:9 ssl:default "
        "[Connect call failed ('127.0.0.1', 9)]: [Errno 111] Connect call failed\n"
        "ERROR: failed to transfer 'fd23' - Cannot connect to host 127.0.0.1:9 ssl:default\n"
        "ERROR: failed to push data to the cloud - 2 files failed to upload\n"
    )
    line = explain("push", stderr, "web", "http://127.0.0.1:9/store")
    assert line == (
        "dvc push failed on remote 'web' (http://127.0.0.1:9/store): failed to push data to the "
        "cloud - 2 files failed to upload (first: Cannot connect to host 127.0.0.1:9 ssl:default "
        "[Connect call failed ('127.0.0.1', 9)]); credentials for HTTP: `dvc remote modify "
        "--local web auth basic` with its user and password (kept in .dvc/config.local)"
    )


def test_a_pull_that_found_nothing_says_why_it_may_be(tmp_path):
    stderr = (
        "WARNING: Some of the cache files do not exist neither locally nor on remote.\n"
        "ERROR: failed to pull data from the cloud - Checkout failed for following targets:\n"
        "data/raw/table.csv\nIs your cache up to date?\n<https://error.dvc.org/missing-files>\n"
    )
    line = explain("pull", stderr, "web", "http://127.0.0.1:9/store")
    assert line.startswith(
        "dvc pull failed on remote 'web' (http://127.0.0.1:9/store): failed to pull data from "
        "the cloud - Checkout failed for following targets: data/raw/table.csv Is your cache up "
        "to date? (the remote has no copy of them, or could not be reached); credentials for HTTP"
    )


def test_no_remote_says_how_to_add_one():
    assert "`dvc remote add -d storage <url>`" in explain("pull", "", "", "")


@pytest.mark.slow
def test_an_unwritable_remote_fails_in_one_line(tmp_path):
    repo = Repo.init(tmp_path, no_scm=True)  # in this process: a dvc command costs seconds
    (tmp_path / "table.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    repo.add(str(tmp_path / "table.csv"))
    with repo.config.edit() as config:  # a remote under a file: unwritable
        config["remote"]["storage"] = {"url": "/dev/null/remote"}
        config["core"]["remote"] = "storage"
    command = [sys.executable, "-m", "{{ cookiecutter.module_name }}.dataset.remote", "push"]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert lines[-1].startswith("dvc push failed on remote 'storage' (/dev/null/remote): ")
    assert "Not a directory" in lines[-1] and "needs no credentials" in lines[-1]
    assert not any(line.startswith("ERROR") or "Traceback" in line for line in lines)
