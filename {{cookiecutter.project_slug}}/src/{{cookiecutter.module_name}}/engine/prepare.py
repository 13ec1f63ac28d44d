"""Stage prepare on raw data bigger than memory (compute.engine: dask, a raw file of more than
one partition): the same outputs as pipeline/prepare.py, computed partition by partition.

Three passes over the raw data, each partition at a time and in parallel:

1. rows per partition, a seeded sample of `compute.schema_rows` rows drawn from every partition
   (the schema is inferred from it, as pipeline/prepare.py infers it from every row), and, for
   a CSV read as text, what type each column has over the whole file (engine/csv_types.py);
2. the checks on every row: the target (missing values, classes, numbers), and the values of
   each numeric and date feature against the schema;
3. the split: how many rows of each class each partition holds out for the test split is drawn
   first from the class counts of pass 2 (dataset/sample.py), so the test split has exactly
   `split.test_size` of the rows and of each class; each partition then writes its train and test
   rows, appended in order to data/processed/train.parquet and test.parquet.

The rows keep their position in the raw file as index, as with the pandas engine. The split is
seeded but not the one train_test_split draws: the same raw data read in memory (one partition)
gives other rows in the test split, in the same proportions.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_float_dtype, is_numeric_dtype

from ..config import Params
from ..dataset.raw import UnreadableData
from ..dataset.sample import allocate, pick, stratum_shares
from ..dataset.schema import (
    NUMERIC,
    ParseFailures,
    Schema,
    check_parse_failures,
    infer_schema,
    parse_failures,
    to_numbers,
)
from ..dataset.split import held_out_rows, unstratified_reason
from ..dataset.target import (
    check_classes,
    check_regression_target,
    check_target_column,
    regression_target_facts,
)
from ..paths import SCHEMA_FILE, TEST_DATA, TRAIN_DATA, written
from .batches import is_parquet, open_batch
from .cluster import dask_client
from .csv_types import TextFacts, as_read, plain_text, text_facts
from .settings import compute_settings

ALL_ROWS = "rows"  # the one stratum of a split that is not stratified


def prepare_partitions(root: Path, params: Params) -> Schema:
    import dask

    data = params.data
    path = root / data.raw_path
    try:
        frame = open_batch(path, params)
    except UnreadableData as error:
        raise SystemExit(str(error)) from None
    check_target_column(frame.columns, data)
    with dask_client(compute_settings(params)):
        parts = frame.to_delayed()
        offsets, kinds, sample = survey(parts, params, as_text=not is_parquet(path))
        schema = infer_schema(typed(sample, kinds, data.decimal), data)
        print(schema.summary() + f" (inferred on a sample of {len(sample)} rows)")
        counted = dask.compute(
            *[dask.delayed(count)(part, schema, kinds, params) for part in parts]
        )
        strata = check_counts(counted, schema, kinds, params)
        per_class, held_out = draw_test_rows(strata, params)
        rows = write_splits(root, parts, offsets, per_class, held_out, schema, kinds, params)
    schema.save(root / SCHEMA_FILE)
    print(
        f"prepared {rows['train']} train and {rows['test']} test rows in "
        f"{TRAIN_DATA.parent}/ ({len(parts)} partitions)"
    )
    return schema


def survey(parts: list, params: Params, as_text: bool) -> tuple[np.ndarray, dict, pd.DataFrame]:
    """Pass 1: where each partition starts in the file, the type of each column of a CSV over
    every row (empty for Parquet), and the sample the schema is inferred from (indexed by the
    rows' positions in the file)."""
    import dask

    seed, per_part = params.split.seed, math.ceil(compute_settings(params).schema_rows / len(parts))
    looked = dask.compute(
        *[
            dask.delayed(look)(part, per_part, seed + i, as_text, params.data.decimal)
            for i, part in enumerate(parts)
        ]
    )
    offsets = np.concatenate([[0], np.cumsum([rows for rows, _, _ in looked])])
    kinds = {}
    if as_text:
        facts = [found for _, _, found in looked]
        kinds = {
            column: sum((found[column] for found in facts), TextFacts()).kind for column in facts[0]
        }
    sample = pd.concat(
        [drawn.set_axis(drawn.index + offsets[i]) for i, (_, drawn, _) in enumerate(looked)]
    )
    return offsets, kinds, sample


def draw_test_rows(strata: pd.DataFrame, params: Params) -> tuple[list[dict | None], list[int]]:
    """How many rows each partition holds out for the test split: per class when the split is
    stratified (else None), and in all."""
    rows = int(strata.to_numpy().sum())
    held_out = held_out_rows(rows, params.split.test_size, "test", "split.test_size")
    stratified = params.stratify
    if stratified:
        reason = unstratified_reason(strata.sum(axis=0), held_out, rows - held_out)
        if reason:
            print(f"test split not stratified: {reason}")
            stratified = False
    if not stratified:
        strata = strata.sum(axis=1).to_frame(ALL_ROWS)
    shares = stratum_shares(strata.sum(axis=0).to_numpy(), held_out)
    taken = allocate(strata.to_numpy(), shares, params.split.seed)
    per_class = [
        dict(zip(strata.columns, counts, strict=True)) if stratified else None for counts in taken
    ]
    return per_class, [int(counts.sum()) for counts in taken]


def write_splits(
    root: Path,
    parts: list,
    offsets: np.ndarray,
    per_class: list[dict | None],
    held_out: list[int],
    schema: Schema,
    kinds: dict[str, str],
    params: Params,
) -> dict[str, int]:
    """Pass 3: every partition's train and test rows into part files, then appended in order
    to the two splits; the rows each got."""
    import dask

    parts_dir = root / TRAIN_DATA.parent / ".prepare-parts.partial"  # git-ignored
    shutil.rmtree(parts_dir, ignore_errors=True)
    parts_dir.mkdir(parents=True)
    try:
        dask.compute(
            *[
                dask.delayed(split_partition)(
                    part,
                    offsets[i],
                    per_class[i],
                    held_out[i],
                    params.split.seed + 1 + i,
                    schema,
                    kinds,
                    params,
                    parts_dir / f"{i:06d}",
                )
                for i, part in enumerate(parts)
            ]
        )
        return {
            side: append_parts(sorted(parts_dir.glob(f"*.{side}.parquet")), root / out)
            for side, out in (("train", TRAIN_DATA), ("test", TEST_DATA))
        }
    finally:
        shutil.rmtree(parts_dir, ignore_errors=True)


def look(
    part: pd.DataFrame, rows: int, seed: int, as_text: bool, decimal: str
) -> tuple[int, pd.DataFrame, dict[str, TextFacts]]:
    """Pass 1 on one partition: its rows, a seeded sample of `rows` of them (indexed by their
    position in the partition), and the facts about its text columns."""
    part = part.reset_index(drop=True)
    drawn = part.sample(n=min(rows, len(part)), random_state=seed).sort_index()
    return len(part), drawn, text_facts(part, decimal) if as_text else {}


def typed(part: pd.DataFrame, kinds: dict[str, str], decimal: str) -> pd.DataFrame:
    """A partition read as text, typed as a read of the whole file would be (Parquet: as is,
    text as pandas reads it)."""
    if not kinds:
        return part.assign(**{column: plain_text(part[column]) for column in part.columns})
    return part.assign(
        **{column: as_read(part[column], kinds[column], decimal) for column in part.columns}
    )


def with_target(
    part: pd.DataFrame, schema: Schema, kinds: dict[str, str], params: Params
) -> tuple[pd.DataFrame, dict]:
    """The partition typed, its target numbers for a regression, and the facts about the
    target (missing values; regression: values that are no numbers)."""
    data = params.data
    part = typed(part.reset_index(drop=True), kinds, data.decimal)
    values = part[data.target]
    facts: dict = {"booleans": False, "known": 0, "not_numbers": 0, "example": None}
    if data.task == "regression" and (is_bool_dtype(values) or not is_numeric_dtype(values)):
        facts.update(regression_target_facts(values, data.decimal))
        part = part.assign(**{data.target: to_numbers(values, data.decimal)})
    facts["missing"] = int(part[data.target].isna().sum())
    return part, facts


def count(
    part: pd.DataFrame, schema: Schema, kinds: dict[str, str], params: Params
) -> tuple[dict, pd.Series, dict]:
    """Pass 2 on one partition: the target's facts, rows per class (regression: its rows),
    and the features' parse failures."""
    part, facts = with_target(part, schema, kinds, params)
    part = part.dropna(subset=[params.data.target])
    labels = part[params.data.target]
    classes = params.data.task == "classification"
    strata = labels.value_counts() if classes else pd.Series({ALL_ROWS: len(part)})
    facts["float_labels"] = is_float_dtype(labels)
    return facts, strata, parse_failures(part, schema, params.data.decimal)


def check_counts(
    counted: tuple, schema: Schema, kinds: dict[str, str], params: Params
) -> pd.DataFrame:
    """The checks pipeline/prepare.py makes on every row, from pass 2's counts; returns rows
    per partition and class (regression: one column of all rows)."""
    data = params.data
    facts = [found for found, _, _ in counted]
    if data.task == "regression":
        bad = [found["example"] for found in facts if found["not_numbers"]]
        known = [found["example"] for found in facts if found["known"]]
        check_regression_target(
            sum(found["known"] for found in facts),
            sum(found["not_numbers"] for found in facts),
            (bad or known or [None])[0],
            any(found["booleans"] for found in facts),
            data,
        )
    missing = sum(found["missing"] for found in facts)
    if missing:
        print(f"dropped {missing} rows with a missing target {data.target!r}")
    strata = pd.DataFrame([found for _, found, _ in counted]).fillna(0).astype("int64")
    strata = strata[sorted(strata.columns, key=str)]
    if data.task == "classification":
        classes = int((strata.sum(axis=0) > 0).sum())
        check_classes(classes, any(found["float_labels"] for found in facts), data.target)
    failures: dict[str, ParseFailures] = {}
    for _, _, found in counted:
        for column, failed in found.items():
            failures[column] = failures[column] + failed if column in failures else failed
    # The texts read as missing values: from every row, not only the schema's sample.
    schema.na_markers = {
        column: found.markers for column, found in failures.items() if found.markers
    }
    check_parse_failures(failures, schema)
    return strata


def split_partition(
    part: pd.DataFrame,
    offset: int,
    per_class: dict | None,
    held_out: int,
    seed: int,
    schema: Schema,
    kinds: dict[str, str],
    params: Params,
    out: Path,
) -> None:
    """Pass 3 on one partition: its rows with a target, numbers as floats, `held_out` of them
    (`per_class[label]` of each label when stratified) held out for the test split; written to
    `out`.train/.test.parquet."""
    data = params.data
    part, _ = with_target(part, schema, kinds, params)
    part = part.set_axis(part.index + offset)  # the row's position in the raw file
    part = part.dropna(subset=[data.target])
    numbers = {column: to_numbers(part[column], data.decimal) for column in schema.columns(NUMERIC)}
    part = part[[*schema.features, data.target]].assign(**numbers)
    if per_class is None:
        test = part.iloc[pick(None, {ALL_ROWS: held_out}, seed, len(part))]
    else:
        test = part.iloc[pick(part[data.target], per_class, seed, len(part))]
    part.drop(test.index).to_parquet(out.with_suffix(".train.parquet"))
    test.to_parquet(out.with_suffix(".test.parquet"))


def append_parts(files: list[Path], output: Path) -> int:
    """The part files as one Parquet file (a row group each), in order; returns its rows. A
    column that is empty in one part gets its type from the others."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.unify_schemas([pq.read_schema(file) for file in files])
    rows = 0
    with written(output) as partial, pq.ParquetWriter(partial, schema) as writer:
        for file in files:
            table = pq.read_table(file)
            if table.num_rows:
                writer.write_table(table.select(schema.names).cast(schema))
                rows += table.num_rows
    return rows
