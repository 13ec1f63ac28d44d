"""Check a batch of current data against the training data: data quality, drift, model health.

    python -m <package>.monitoring BATCH   (make monitor CURRENT=BATCH)

Reads a CSV or Parquet batch, runs every check configured in the `monitoring:` section of
params.yaml against the reference (the training split) and writes reports/monitoring/report.json
and report.html. Exit code: 0 healthy, 1 retraining warranted, 2 the batch is unusable (or the
monitor cannot run): always one line, never a traceback. Schedulers should call this command:
make turns every failure into its own exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .run import REPORT_DIR, monitor


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("current", type=Path, help="the batch to check (CSV or Parquet)")
    parser.add_argument("--root", type=Path, default=Path(), help="project root (default: .)")
    parser.add_argument("--out", type=Path, default=None, help=f"report folder ({REPORT_DIR})")
    args = parser.parse_args(argv)
    code, report = monitor(args.current, args.root, out_dir=args.out)
    out = args.out or args.root / REPORT_DIR
    print(report["message"])
    print(
        f"exit {code} ({report['status']}); reports: {out / 'report.json'}, {out / 'report.html'}"
    )
    sys.exit(code)


if __name__ == "__main__":
    main()
