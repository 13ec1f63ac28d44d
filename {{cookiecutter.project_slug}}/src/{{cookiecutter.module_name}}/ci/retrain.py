"""Continuous training: decide whether to retrain, then retrain onto a branch for review.

    python -m <package>.ci.retrain check [--current BATCH]           # `make retrain-check`
    python -m <package>.ci.retrain run [--current BATCH] [--on kfp]  # `make retrain`

`check` exits 0 (up to date), 1 (retrain) or 2 (the batch cannot be judged). It retrains when
the raw data the pipeline reads differs from what the model was trained on (the DVC hashes in
dvc.lock against the `.dvc` pointer of `data.raw_path`: new data), when that raw file is an
import from storage (`dvc import-url s3://...`) whose source has changed since (new data landed
in the bucket: `run` brings it in with `dvc update`), and, given a batch of
production data and the monitoring capability, when the monitor says so (drift, quality or
performance; see `python -m <package>.monitoring`). `run` makes that decision in-process, so the
exit codes keep their meaning, and when retraining is warranted runs `dvc repro`; locally it
then commits dvc.lock and the reports on a new `retrain/...` branch, while in CI
(`--no-commit`) `cml pr create` does that part. With the scale-out option, `--on kfp` runs the
retraining as the Kubeflow pipeline instead (kubeflow.host, or kfp.local when it is empty) and
waits for it: its train step registers the new version as `make repro` does, and nothing changes
in git, so there is no branch to propose.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

from .. import has_capability
from ..config import Params, load_params
from ..tracking.lineage import pointer_md5
from ..tracking.server import check_tracking_server

LOCK_FILE = Path("dvc.lock")


def results(root: Path) -> list[str]:
    """What a retraining changes and a reviewer approves: dvc.lock and every output that git
    keeps (`cache: false` in dvc.yaml: metrics, plot data, the model card), so a stage a team
    adds is proposed too."""
    stages = yaml.safe_load((root / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    paths = [LOCK_FILE.as_posix()]
    for stage in stages.values():
        for kind in ("outs", "metrics", "plots"):
            for out in stage.get(kind, []):
                if isinstance(out, dict):
                    (path, options), *_ = out.items()
                    if (options or {}).get("cache", True) is False and path not in paths:
                        paths.append(path)
    return paths


def monitoring_history(root: Path) -> list[str]:
    """The monitor's history of batches, committed with the model the latest batch led to."""
    if not has_capability("monitoring"):
        return []
    from ..monitoring.history import HISTORY_FILE
    from ..monitoring.run import REPORT_DIR

    path = REPORT_DIR / HISTORY_FILE
    return [path.as_posix()] if (root / path).is_file() else []


def trained_on(root: Path) -> dict[str, str]:
    """{path: md5} of the prepare stage's data dependencies in dvc.lock."""
    lock = yaml.safe_load((root / LOCK_FILE).read_text(encoding="utf-8")) or {}
    deps = lock.get("stages", {}).get("prepare", {}).get("deps", [])
    return {dep["path"]: str(dep.get("md5")) for dep in deps if dep["path"].startswith("data/")}


def retrain_reasons(root: Path, params: Params) -> list[str]:
    """Why the model is out of date with its data; empty when it is not."""
    raw_path = params.data.raw_path
    if not (root / LOCK_FILE).is_file():
        return ["no dvc.lock: the pipeline has never run in this revision"]
    lineage = trained_on(root)
    current = pointer_md5(root / f"{raw_path}.dvc")
    if raw_path not in lineage:
        before = ", ".join(sorted(lineage)) or "nothing"
        return [f"data.raw_path is now {raw_path}; the model was trained on {before}"]
    if current is None:
        return [f"{raw_path} has no .dvc pointer: track it with `dvc add`"]
    if lineage[raw_path] != current:
        return [f"{raw_path} changed: trained on md5 {lineage[raw_path]}, now {current}"]
    return []


class SourceUnreachable(SystemExit):
    """The source of an imported raw file cannot be reached (the check cannot judge)."""


def import_source(root: Path, params: Params) -> str | None:
    """The URL data.raw_path is imported from (`dvc import-url`), None for a `dvc add` file."""
    pointer = root / f"{params.data.raw_path}.dvc"
    if not pointer.is_file():
        return None
    deps = (yaml.safe_load(pointer.read_text(encoding="utf-8")) or {}).get("deps") or []
    return str(deps[0]["path"]) if deps else None


def source_changes(root: Path, params: Params) -> list[str]:
    """Why the imported raw file is out of date with its source (DVC compares the version it
    recorded, an ETag or a checksum, with the source's now); empty when it is not an import or
    is up to date. SystemExit when the source cannot be asked."""
    source = import_source(root, params)
    if source is None:
        return []
    from dvc.repo import Repo

    target = f"{params.data.raw_path}.dvc"
    try:
        with Repo(str(root)) as repo:
            status = repo.stage.get_target(target).deps[0].workspace_status()
    except Exception as error:  # no credentials, no network, no such object
        problem = " ".join(str(error).split())[:200]
        raise SourceUnreachable(
            f"cannot ask {source} whether it changed ({type(error).__name__}: {problem}): "
            "check the credentials and endpoint in .env"
        ) from None
    if not status:
        return []
    return [f"{params.data.raw_path}: its source {source} changed (`dvc update` brings it in)"]


def monitor_verdict(root: Path, params: Params, batch: Path) -> tuple[int, str]:
    """The monitor's exit code and message for a batch of production data."""
    from ..monitoring.run import monitor

    code, report = monitor(batch, root, params)
    return code, str(report["message"])


def check(root: Path | str = ".", current: Path | None = None) -> int:
    """0: no retraining needed; 1: retraining warranted; 2: the batch cannot be judged."""
    root = Path(root)
    params = load_params(root)
    reasons = retrain_reasons(root, params)
    try:
        reasons += source_changes(root, params)
    except SourceUnreachable as error:
        print(f"retrain check: {error}")
        return 2
    if current is not None:
        code, message = monitor_verdict(root, params, current)
        if code == 2:
            print(f"retrain check: {message} (reports/monitoring/report.json)")
            return 2
        if code == 1:
            reasons.append(f"monitor on {current}: {message}")
    for reason in reasons:
        print(f"retrain: {reason}")
    if not reasons:
        print("model up to date with its data: no retraining needed")
    return 1 if reasons else 0


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def github_output(**values: str) -> None:
    """Step outputs for a GitHub Actions workflow; nothing elsewhere."""
    target = os.environ.get("GITHUB_OUTPUT")
    if target:
        with open(target, "a", encoding="utf-8") as stream:
            stream.writelines(f"{key}={value}\n" for key, value in values.items())


def run(
    root: Path | str = ".",
    *,
    force: bool = False,
    commit: bool = True,
    current: Path | None = None,
    on: str = "dvc",
) -> str | None:
    """Retrain when warranted, with `dvc repro` (on="dvc") or the Kubeflow pipeline ("kfp").
    Returns the new branch (dvc, commit=True), "" (dvc, commit=False) or None."""
    root = Path(root)
    if force:
        print("retrain: forced")
    else:
        verdict = check(root, current)
        if verdict == 2:
            raise SystemExit("retrain: the batch cannot be judged, nothing retrained")
        if verdict == 0:
            github_output(retrained="false")
            return None
    # Before DVC removes any output: a tracking server that is down is named in seconds.
    params = load_params(root)
    check_tracking_server(params.mlflow.tracking_uri)
    if on == "kfp":
        from ..kubeflow.launch import launch

        print(f"retrain: {launch(params, root, wait=True)}")
        print("retrain: the pipeline registered the new version in MLflow: review it there")
        github_output(retrained="false", retrained_on="kfp")
        return None
    proposed = results(root)
    if source_changes(root, params):  # new data in the bucket: the pointer follows it
        pointer = f"{params.data.raw_path}.dvc"
        done = subprocess.run([sys.executable, "-m", "dvc", "update", pointer], cwd=root)
        if done.returncode != 0:
            raise SystemExit(f"dvc update {pointer} failed: no retraining branch created")
        proposed.append(pointer)
    done = subprocess.run([sys.executable, "-m", "dvc", "repro"], cwd=root)
    if done.returncode != 0:
        raise SystemExit("dvc repro failed: no retraining branch created")
    changed = git(root, "status", "--porcelain", "--", *proposed)
    if not changed:
        # Drift alone does not make a new model: the pipeline needs new labelled data.
        print(
            "retrain: the pipeline's inputs did not change, nothing to propose; add new labelled"
            " data under data/raw (dvc add) and point data.raw_path at it"
        )
        github_output(retrained="false")
        return None
    if not commit:
        github_output(retrained="true")
        return ""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    branch = f"retrain/{stamp}"
    # No hooks: the new branch is HEAD, and the post-checkout hook's `dvc checkout` would run
    # on pre-commit's stash of the uncommitted pointers (an updated import back to its old data)
    git(root, "-c", "core.hooksPath=/dev/null", "switch", "--quiet", "--create", branch)
    git(root, "add", "--", *proposed, *monitoring_history(root))
    git(root, "commit", "--quiet", "--no-verify", "-m", "Retrain the model on the current data")
    print(f"retrain: new model on branch {branch}; push it and open a pull request to review")
    github_output(retrained="true", branch=branch)
    return branch


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    check_parser = sub.add_parser("check", help="exit 1 when retraining is warranted")
    run_parser = sub.add_parser("run", help="retrain when warranted")
    # A batch for the monitor to judge: only where the monitoring capability is.
    for command in (check_parser, run_parser) if has_capability("monitoring") else ():
        command.add_argument(
            "--current", type=Path, help="a batch of production data for the monitor to judge"
        )
    run_parser.add_argument("--force", action="store_true", help="skip the check")
    if has_capability("kubeflow"):
        run_parser.add_argument(
            "--on", choices=("dvc", "kfp"), default="dvc", help="where the retraining runs"
        )
    run_parser.add_argument(
        "--no-commit", action="store_true", help="leave the results uncommitted (for CI)"
    )
    args = parser.parse_args(argv)
    current = getattr(args, "current", None)
    if args.command == "check":
        return check(current=current)
    on = getattr(args, "on", "dvc")
    run(force=args.force, commit=not args.no_commit, current=current, on=on)
    return 0


if __name__ == "__main__":
    sys.exit(main())
