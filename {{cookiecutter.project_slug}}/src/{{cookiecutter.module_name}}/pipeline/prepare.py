"""Stage prepare: raw CSV -> checked, typed train/test split and schema in data/processed/.

The raw file is only read (DVC tracks it, read-only). No MLflow here: this stage stays fast.
"""

from __future__ import annotations

from pathlib import Path

from ..config import load_params
from ..dataset.raw import out_of_core, read_raw
from ..dataset.schema import NUMERIC, Schema, infer_schema, to_numbers, validate
from ..dataset.split import split_off
from ..dataset.target import drop_missing_target
from ..paths import SCHEMA_FILE, TEST_DATA, TRAIN_DATA, stage_main, written


def run(root: Path | str = ".") -> Schema:
    root = Path(root)
    params = load_params(root)
    data = params.data
    if out_of_core(params, root / data.raw_path):
        from ..engine.prepare import prepare_partitions  # scale-out option, compute.engine: dask

        return prepare_partitions(root, params)
    raw = read_raw(root, data)
    frame = drop_missing_target(raw, data)
    schema = infer_schema(raw, data)  # on every row: dropping some would break row numbers
    validate(frame, schema, data.decimal)
    print(schema.summary())

    # Numbers as floats, so the model signature accepts integers and missing values alike.
    numbers = {
        column: to_numbers(frame[column], data.decimal) for column in schema.columns(NUMERIC)
    }
    frame = frame[[*schema.features, data.target]].assign(**numbers)
    train, test = split_off(frame, data.target, params, "test")
    for frame_out, path in ((train, TRAIN_DATA), (test, TEST_DATA)):
        with written(root / path) as partial:
            frame_out.to_parquet(partial)  # the index keeps each row's line in the raw file
    schema.save(root / SCHEMA_FILE)
    print(f"prepared {len(train)} train and {len(test)} test rows in {TRAIN_DATA.parent}/")
    return schema


def main() -> None:
    stage_main(run, __doc__)


if __name__ == "__main__":
    main()
