"""Outputs are written whole or not at all, and a disk that is full stops a stage in one line."""

from __future__ import annotations

import errno
import sys

import pandas as pd
import pytest

from {{ cookiecutter.module_name }}.paths import TRAIN_DATA, stage_main, unwritable, written
from {{ cookiecutter.module_name }}.pipeline import prepare


def test_an_output_replaces_the_old_one_only_when_complete(tmp_path):
    target = tmp_path / "metrics.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), written(target) as partial:
        partial.write_text("half")
        raise RuntimeError("killed midway")
    assert target.read_text() == "old" and list(tmp_path.iterdir()) == [target]
    with written(target) as partial:
        partial.write_text("new")
    assert target.read_text() == "new" and list(tmp_path.iterdir()) == [target]


def test_a_folder_output_is_swapped_whole(tmp_path):
    plots = tmp_path / "plots"
    (plots / "stale").mkdir(parents=True)
    with written(plots) as partial:
        (partial / "roc").mkdir(parents=True)
    assert [path.name for path in plots.iterdir()] == ["roc"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["plots"]


def test_a_full_disk_stops_the_stage_in_one_line(make_project, monkeypatch):
    root = make_project()

    def full_disk(self, path, *args, **kwargs):
        # pyarrow's own wording: the errno is only in the message
        raise OSError("Error writing bytes to file. Detail: [errno 28] No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full_disk)
    monkeypatch.setattr(sys, "argv", ["prepare", "--root", str(root)])
    with pytest.raises(SystemExit) as stopped:
        stage_main(prepare.run, "prepare")
    message = str(stopped.value)
    assert message.startswith(f"cannot write {root / TRAIN_DATA}: No space left on device; free")
    assert "`make repro` again" in message and "\n" not in message
    assert not (root / TRAIN_DATA).exists()
    assert not list((root / TRAIN_DATA).parent.glob("*.partial"))


@pytest.mark.parametrize(
    ("code", "reason"),
    [(errno.ENOSPC, "No space left on device"), (errno.EROFS, "Read-only file system")],
)
def test_unwritable_outputs_name_the_file(code, reason):
    error = OSError(code, reason, "models/model/model.pkl")
    assert unwritable(error).startswith(f"cannot write models/model/model.pkl: {reason}; free")


def test_other_os_errors_are_not_hidden():
    assert unwritable(OSError(errno.ECONNRESET, "Connection reset by peer")) is None
