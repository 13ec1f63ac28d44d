"""`make predict INPUT=batch.csv [OUTPUT=predictions.csv]`, or

    python -m <package>.predict INPUT [OUTPUT] [--source local|registry]

Scores a CSV or Parquet file with the model of `make repro` (or the registry's alias: `--source
registry`, MODEL_SOURCE, predict.model_source) into OUTPUT (default
data/predictions/<input name>.csv; .parquet writes Parquet). See predict/batch.py for the output.

Exit code: 0 every row scored; 1 some rows refused (named on the terminal and in the output's
`error` column), the others scored; 2 nothing scored (the file cannot be read, its columns do not
fit the model, or there is no model).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..config import load_params
from ..dataset.raw import out_of_core
from ..paths import unwritable
from .batch import BatchRefused, predict_file
from .model_source import load_model

PREDICTIONS_DIR = Path("data/predictions")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input", type=Path, help="a CSV or Parquet file of raw records")
    parser.add_argument("output", type=Path, nargs="?", help="where the predictions go")
    parser.add_argument("--source", choices=("local", "registry"), help="which model")
    parser.add_argument("--root", type=Path, default=Path(), help="project root (default: .)")
    args = parser.parse_args(argv)
    output = args.output or args.root / PREDICTIONS_DIR / f"{args.input.stem}.csv"
    if output.resolve() == args.input.resolve():
        print(f"predict: the output {output} would overwrite the input", file=sys.stderr)
        return 2
    params = load_params(args.root)
    try:
        partitions = out_of_core(params, args.input)
        # onnxruntime on every core, unless Dask already runs a partition per core
        model = load_model(args.root, params, args.source, threads=1 if partitions else 0)
        if partitions:
            from .dask_batch import predict_partitions  # scale-out option

            result = predict_partitions(model, params, args.input, output)
        else:
            result = predict_file(model, params, args.input, output)
    except (RuntimeError, BatchRefused) as error:
        print(f"predict: nothing scored: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        problem = unwritable(error, "run it again (no half-written output was kept)")
        if problem is None:
            raise
        print(f"predict: nothing scored: {problem}", file=sys.stderr)
        return 2
    for error in result.errors:
        print(f"row {error.row}, {error.field}: {error.message}", file=sys.stderr)
    if result.refused > len(result.errors):
        print(
            f"... {result.refused - len(result.errors)} more in the error column", file=sys.stderr
        )
    rate = result.rows / result.seconds if result.seconds else 0
    print(
        f"{result.scored} of {result.rows} rows scored ({result.refused} refused) with "
        f"{model.name} version {model.version} ({model.scorer}) in {result.seconds:.1f} s "
        f"({rate:,.0f} rows/s): {output}"
    )
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())
