"""`make drift-demo`: the whole monitoring loop on the sample data in a minute.

Builds two batches from the raw data: a clean resample (the monitor stays quiet, exit 0) and a
drifted one (two numeric features shifted by one standard deviation, one categorical feature
skewed to its rarest value, a few rows with a value far out of range: the monitor asks for
retraining, exit 1, and lists the outliers), runs the monitor on both
and says where the reports are. Exits 1 if either verdict is not the expected one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..config import load_params
from ..dataset.raw import read_raw
from ..dataset.schema import CATEGORICAL, NUMERIC, Schema, to_numbers
from ..paths import SCHEMA_FILE, parse_root, require_outputs
from .run import REPORT_DIR, monitor
from .verdict import HEALTHY, RETRAIN, STATUS

BATCH_ROWS = 300
SHIFT_SD = 1.0  # shift of the drifted numeric features, in standard deviations
SKEW_SHARE = 0.6  # share of the drifted categorical feature's rows set to its rarest value
DEMO_HISTORY = "demo-history.jsonl"
BROKEN_SHARE = 0.05  # share of the drifted batch's rows with a value far out of range (outliers)


def make_batches(raw: pd.DataFrame, schema: Schema, decimal: str = ".", seed: int = 0):
    rng = np.random.default_rng(seed)
    clean = raw.sample(n=BATCH_ROWS, replace=True, random_state=seed).reset_index(drop=True)
    drifted = raw.sample(n=BATCH_ROWS, replace=True, random_state=seed + 1).reset_index(drop=True)
    for column in schema.columns(NUMERIC)[:2]:
        values = to_numbers(drifted[column], decimal)
        drifted[column] = values + SHIFT_SD * to_numbers(raw[column], decimal).std()
    for column in schema.columns(CATEGORICAL)[:1]:
        rarest = raw[column].value_counts().index[-1]
        chosen = rng.random(len(drifted)) < SKEW_SHARE
        drifted.loc[chosen, column] = rarest
    for column in schema.columns(NUMERIC)[-1:]:  # a broken feed: ten times the largest value
        values = to_numbers(drifted[column], decimal)
        broken = rng.random(len(drifted)) < BROKEN_SHARE
        drifted[column] = values.mask(broken, 10 * to_numbers(raw[column], decimal).abs().max())
    return clean, drifted


def run(root: Path | str = ".") -> int:
    root = Path(root)
    params = load_params(root)
    require_outputs(root, SCHEMA_FILE)
    data = params.data
    schema = Schema.load(root / SCHEMA_FILE)
    raw = read_raw(root, data)
    clean, drifted = make_batches(raw, schema, data.decimal)
    folder = root / "data" / "interim"
    folder.mkdir(parents=True, exist_ok=True)
    outcomes = []
    for name, batch, expected, out in (
        ("clean resample", clean, HEALTHY, root / REPORT_DIR / "demo-clean"),
        ("drifted batch", drifted, RETRAIN, root / REPORT_DIR),
    ):
        path = folder / f"demo_{name.split()[0]}.csv"
        batch.to_csv(path, index=False, sep=data.sep, decimal=data.decimal)
        # both batches in a history of their own (git-ignored, unlike the project's): the
        # report shows them side by side
        history_file = root / REPORT_DIR / DEMO_HISTORY
        code, report = monitor(path, root, params, out_dir=out, history_file=history_file)
        mark = "as expected" if code == expected else f"UNEXPECTED (wanted {STATUS[expected]})"
        print(f"{name} ({path.relative_to(root)}): exit {code}, {report['message']} [{mark}]")
        print(f"  reports: {(out / 'report.html').relative_to(root)}, report.json beside it")
        outcomes.append(code == expected)
    return 0 if all(outcomes) else 1


def main() -> None:
    raise SystemExit(run(parse_root(__doc__)))


if __name__ == "__main__":
    main()
