"""The fitted Pipeline as an ONNX graph (skl2onnx), checked against scikit-learn, and the inputs
that graph takes.

ONNX has no operator that parses text into numbers or dates, so the graph starts one step later
than the Pipeline: `onnx_inputs` applies the Pipeline's own parsing functions (as_numbers,
as_text, DateParts) in numpy and feeds one tensor per raw feature column: float32 numbers,
strings for categories, four float32 date parts per date column. Inside the graph those steps
are the identity (the converters below); everything after them (imputation, scaling, one-hot
encoding with infrequent categories, the estimator) is skl2onnx's own conversion.

Categories: TextOneHotEncoder has a converter of its own (skl2onnx's handles infrequent
categories only for some input layouts). A category never seen in training is encoded as zeros
in the graph, and `OnnxModel` maps it to an infrequent one where that column exists, so that
both land where scikit-learn puts them.

An export is used only once `verify` has found it equal to scikit-learn on the test split (plus a
row with every value missing and one with unseen categories): the same classes, and
probabilities (or regression outputs) within a tolerance, since ONNX computes in float32 where
scikit-learn's preprocessing uses float64.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import is_numeric_dtype
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder

from ..dataset.schema import CATEGORICAL, DATETIME, NUMERIC, TEXT, Schema
from .estimators import family_of
from .features import (
    DateParts,
    TextOneHotEncoder,
    WordTfidfVectorizer,
    as_documents,
    as_numbers,
    as_text,
)

OPSET = {"": 17, "ai.onnx.ml": 3}
DATE_PARTS = len(DateParts.parts)
UNSEEN = "(a category never seen in training)"


@dataclass
class Verification:
    """What the check of an export found; `verified` decides whether it is used."""

    verified: bool
    reason: str  # why it is not used ("" when verified)
    rows: int = 0
    max_difference: float = 0.0  # largest |probability| (classification) or output difference
    tolerance: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _identity_shape(operator: Any) -> None:
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    first = operator.inputs[0]
    width = sum(variable.type.shape[1] or 0 for variable in operator.inputs) or None
    if isinstance(operator.raw_operator, DateParts) and width:
        width = DATE_PARTS * width  # a date column in, its four parts out
    kind = StringTensorType if isinstance(first.type, StringTensorType) else FloatTensorType
    operator.outputs[0].type = kind([first.get_first_dimension(), width])


def _identity(scope: Any, operator: Any, container: Any) -> None:
    from skl2onnx.common._apply_operation import apply_concat, apply_identity

    step = operator.raw_operator
    if isinstance(step, FunctionTransformer) and step.func not in (
        as_numbers,
        as_text,
        as_documents,
    ):
        raise NotImplementedError(f"no ONNX converter for FunctionTransformer({step.func})")
    names = [variable.full_name for variable in operator.inputs]
    output = operator.outputs[0].full_name
    if len(names) == 1:
        apply_identity(scope, names[0], output, container)
    else:
        apply_concat(scope, names, output, container, axis=1)


def _fix_missing_flag() -> None:
    """skl2onnx 1.20 writes a Python bool as the missing-value flag of histogram gradient
    boosting's leaves, which onnx >= 1.17 refuses ("Expected an int, got a boolean"): give it
    the 0/1 the attribute holds. Idempotent; a skl2onnx without that helper is left alone."""
    from skl2onnx.common import tree_ensemble

    original = getattr(tree_ensemble, "add_node", None)
    if original is None or getattr(original, "casts_missing_flag", False):
        return

    def add_node(*args: Any, nodes_missing_value_tracks_true: Any = 0, **kwargs: Any) -> Any:
        flag = int(nodes_missing_value_tracks_true)
        return original(*args, nodes_missing_value_tracks_true=flag, **kwargs)

    add_node.casts_missing_flag = True  # type: ignore[attr-defined]
    tree_ensemble.add_node = add_node


def _register_converters() -> None:
    from skl2onnx import get_model_alias, update_registered_converter
    from skl2onnx.common._registration import get_converter
    from skl2onnx.operator_converters.tfidf_vectoriser import convert_sklearn_tfidf_vectoriser
    from skl2onnx.shape_calculators.text_vectorizer import (
        calculate_sklearn_text_vectorizer_output_shapes,
    )

    _fix_missing_flag()

    # A TfidfVectorizer whose vocabulary was pruned after fitting: converted as one, with the
    # options of TfidfVectorizer's converter.
    update_registered_converter(
        WordTfidfVectorizer,
        "ProjectWordTfidfVectorizer",
        calculate_sklearn_text_vectorizer_output_shapes,
        convert_sklearn_tfidf_vectoriser,
        options=get_converter(get_model_alias(TfidfVectorizer)).get_allowed_options(),
    )

    # Our parsing steps run before the graph (onnx_inputs): inside it they pass values on.
    update_registered_converter(
        FunctionTransformer, "SklearnFunctionTransformer", _identity_shape, _identity
    )
    update_registered_converter(DateParts, "ProjectDateParts", _identity_shape, _identity)
    update_registered_converter(
        TextOneHotEncoder, "ProjectTextOneHotEncoder", _encoder_shape, _encoder
    )


def _encoder_shape(operator: Any) -> None:
    from skl2onnx.common.data_types import FloatTensorType

    encoder = operator.raw_operator
    width = sum(int(columns.max()) + 1 for columns in _all_columns(encoder))
    operator.outputs[0].type = FloatTensorType([operator.inputs[0].get_first_dimension(), width])


def _all_columns(encoder: TextOneHotEncoder) -> list[np.ndarray]:
    return [encoder.output_columns(feature)[1] for feature in range(len(encoder.categories_))]


def _encoder(scope: Any, operator: Any, container: Any) -> None:
    """Per feature: a LabelEncoder maps each known category to its output column (the shared
    one for the infrequent ones; an unseen one to none), then OneHot writes the row. A one-hot
    of every category folded by a matrix cost categories x columns floats: 49 MB and seconds a
    batch for a 4,000-value column."""
    from skl2onnx.common._apply_operation import apply_concat, apply_reshape
    from skl2onnx.proto import onnx_proto

    encoder = operator.raw_operator
    if getattr(encoder, "drop_idx_", None) is not None:
        raise NotImplementedError("TextOneHotEncoder(drop=...) has no ONNX converter here")
    columns = [(variable, j) for variable in operator.inputs for j in range(variable.type.shape[1])]
    outputs = []
    off_on = scope.get_unique_variable_name("off_on")
    container.add_initializer(off_on, onnx_proto.TensorProto.FLOAT, [2], [0.0, 1.0])
    for feature, (variable, j) in enumerate(columns):
        name = variable.full_name
        if variable.type.shape[1] > 1:  # one column of a wider input
            index = scope.get_unique_variable_name("index")
            container.add_initializer(index, onnx_proto.TensorProto.INT64, [1], [j])
            picked = scope.get_unique_variable_name("column")
            container.add_node("Gather", [name, index], picked, axis=1)
            name = picked
        known, landing = encoder.output_columns(feature)
        width = int(landing.max()) + 1
        position = scope.get_unique_variable_name("position")
        container.add_node(
            "LabelEncoder",
            name,
            position,
            op_domain="ai.onnx.ml",
            op_version=2,
            keys_strings=[category.encode("utf-8") for category in known],
            values_int64s=[int(column) for column in landing],
            default_int64=width,  # out of OneHot's range: a row of zeros
            name=scope.get_unique_operator_name("LabelEncoder"),
        )
        depth = scope.get_unique_variable_name("depth")
        container.add_initializer(depth, onnx_proto.TensorProto.INT64, [1], [width])
        hot = scope.get_unique_variable_name("one_hot")
        container.add_node("OneHot", [position, depth, off_on], hot, axis=-1)
        encoded = scope.get_unique_variable_name("encoded")
        apply_reshape(scope, hot, encoded, container, desired_shape=[-1, width])
        outputs.append(encoded)
    apply_concat(scope, outputs, operator.outputs[0].full_name, container, axis=1)


def export(model: Pipeline, schema: Schema) -> bytes:
    """The serialised ONNX model; raises (NotImplementedError, RuntimeError...) when a step has
    no converter."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    _register_converters()
    family = family_of(model.steps[-1][1])
    if family is not None and family.onnx_converter is not None:
        family.onnx_converter()  # a library's estimator skl2onnx does not know (LightGBM...)
    inputs = []
    for column, kind in schema.features.items():
        if kind in (CATEGORICAL, TEXT):
            inputs.append((column, StringTensorType([None, 1])))
        else:
            width = DATE_PARTS if kind == DATETIME else 1
            inputs.append((column, FloatTensorType([None, width])))
    options = {id(model): {"zipmap": False}} if hasattr(model, "classes_") else None
    graph = convert_sklearn(model, initial_types=inputs, options=options, target_opset=OPSET)
    names = dict(zip(schema.features, (tensor.name for tensor in graph.graph.input), strict=True))
    _select_every_date_part(graph, [names[column] for column in schema.columns(DATETIME)])
    return graph.SerializeToString()


def _select_every_date_part(graph: Any, dates: list[str]) -> None:
    """The ColumnTransformer picks "its" column out of each date input, which is one column to
    it; the input holds the four date parts: select all four."""
    from onnx import helper, numpy_helper

    for position, node in enumerate(graph.graph.node):
        if node.op_type == "ArrayFeatureExtractor" and node.input[0] in dates:
            name = f"{node.input[0]}_date_parts"
            parts = numpy_helper.from_array(np.arange(DATE_PARTS, dtype=np.int64), name)
            graph.graph.initializer.append(parts)
            replacement = helper.make_node(
                "ArrayFeatureExtractor",
                [node.input[0], name],
                list(node.output),
                domain=node.domain,
                name=node.name,
            )
            graph.graph.node[position].CopyFrom(replacement)


def category_vocabulary(model: Pipeline) -> dict[str, tuple[frozenset[str], str | None]]:
    """Per categorical column: the categories the encoder knows, and one of its infrequent ones
    (None when it has none), read from the fitted one-hot encoders."""
    vocabulary = {}
    for _, transformer, columns in getattr(model.steps[0][1], "transformers_", []):
        steps = getattr(transformer, "steps", [(None, transformer)])
        encoder = steps[-1][1]
        if not isinstance(encoder, OneHotEncoder):
            continue
        infrequent = getattr(encoder, "infrequent_categories_", None) or [None] * len(columns)
        for column, known, rare in zip(columns, encoder.categories_, infrequent, strict=True):
            representative = str(rare[0]) if rare is not None and len(rare) else None
            vocabulary[column] = (frozenset(map(str, known)), representative)
    return vocabulary


# Inside the graph every row is dense (one-hot and TF-IDF blocks included): a session call gets at
# most this many floats of the preprocessing's output, so a chunk of rows of a 4,000-value
# category is scored in slices (one call of 25,000 such rows peaked at 1.9 GB).
BLOCK_FLOATS = 8_000_000


class OnnxModel:
    """An onnxruntime session with what it needs to be fed: the schema and the vocabulary."""

    def __init__(self, serialised: bytes, schema: Schema, model: Pipeline, threads: int = 1):
        self.serialised, self.threads = serialised, threads
        self.session = session(serialised, threads)
        self.schema = schema
        self.vocabulary = category_vocabulary(model)
        # skl2onnx names an input after its column, rewritten when the name is no identifier
        # ("signup date" -> "signup_date"); the inputs keep the columns' order.
        inputs = (tensor.name for tensor in self.session.get_inputs())
        self.input_names = dict(zip(schema.features, inputs, strict=True))
        width = len(model.steps[0][1].get_feature_names_out())
        self.block_rows = max(256, BLOCK_FLOATS // max(width, 1))

    def __getstate__(self) -> dict[str, Any]:
        # A session cannot be pickled: a Dask worker rebuilds it from the serialised model.
        return {key: value for key, value in self.__dict__.items() if key != "session"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.session = session(self.serialised, self.threads)

    def run(self, frame: pd.DataFrame | Mapping[str, np.ndarray]) -> np.ndarray:
        """Probabilities (classification, in the model's class order) or predictions, of a
        DataFrame's feature columns or of one array per feature (the API's checked records)."""
        rows = _rows(frame)
        if rows > self.block_rows:
            blocks = range(0, rows, self.block_rows)
            return np.concatenate(
                [self.run(_row_slice(frame, i, i + self.block_rows)) for i in blocks]
            )
        feed = onnx_inputs(self.schema, frame)
        for column, (known, representative) in self.vocabulary.items():
            if representative is not None and column in feed:
                values = feed[column]
                # a set lookup per value: np.isin sorts the vocabulary at every call
                unseen = np.array([value not in known for value in values.reshape(-1)])
                if unseen.any():
                    values = values.astype(object)
                    values[unseen.reshape(values.shape)] = representative
                    feed[column] = values.astype(str)
        outputs = self.session.run(None, {self.input_names[name]: feed[name] for name in feed})
        if self.schema.task == "classification":
            return np.asarray(outputs[1], dtype=float)
        return np.asarray(outputs[0], dtype=float).reshape(-1)


def _rows(columns: pd.DataFrame | Mapping[str, np.ndarray]) -> int:
    if isinstance(columns, pd.DataFrame):
        return len(columns)
    return len(next(iter(columns.values()), ()))


def _row_slice(
    columns: pd.DataFrame | Mapping[str, np.ndarray], start: int, stop: int
) -> pd.DataFrame | dict[str, np.ndarray]:
    if isinstance(columns, pd.DataFrame):
        return columns.iloc[start:stop]
    return {name: values[start:stop] for name, values in columns.items()}


def onnx_inputs(
    schema: Schema, frame: pd.DataFrame | Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """One tensor per feature column, parsed as the Pipeline's first steps parse them."""
    feed = {}
    # Column by column: with pandas 3 a frame[[column]] costs ~0.7 ms, most of an API request's
    # time for a handful of columns (measured: 6.3 ms -> well under 1 ms a row).
    for column, kind in schema.features.items():
        values = frame[column]
        if kind == NUMERIC:
            if isinstance(values, np.ndarray) and values.dtype.kind == "f":  # checked records
                numbers = values.astype(np.float32)
            elif is_numeric_dtype(values):
                numbers = values.to_numpy(dtype=np.float32, na_value=np.nan)
            else:
                numbers = as_numbers(pd.DataFrame({column: values})).astype(np.float32)
            feed[column] = numbers.reshape(-1, 1)
        elif kind == CATEGORICAL:
            feed[column] = as_text(values).astype(str).reshape(-1, 1)
        elif kind == TEXT:
            feed[column] = as_documents(values).reshape(-1, 1)
        else:
            dates = pd.DataFrame({column: values})
            parts = DateParts(schema.date_formats[column]).fit(dates).transform(dates)
            feed[column] = parts.astype(np.float32)
    return feed


def session(serialised: bytes, threads: int = 1) -> Any:
    """An onnxruntime session. One thread by default: a server scales by processes, and a second
    thread costs more than it saves on the small batches of an API; 0 = every core (batches)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only
    return onnxruntime.InferenceSession(
        serialised, sess_options=options, providers=["CPUExecutionProvider"]
    )


def export_verified(
    model: Pipeline, schema: Schema, frame: pd.DataFrame, tolerance: float
) -> tuple[bytes | None, Verification]:
    """Export and verify on `frame`; (None, why) when the model has no ONNX form."""
    try:
        serialised = export(model, schema)
        graph = OnnxModel(serialised, schema, model)
    except Exception as error:  # no converter for a step, or a graph onnxruntime refuses
        problem = (str(error).splitlines() or [""])[0][:200]
        reason = f"skl2onnx cannot convert it ({type(error).__name__}: {problem})"
        return None, Verification(False, reason, 0, 0.0, tolerance)
    return serialised, verify(graph, model, schema, frame, tolerance)


def edge_rows(schema: Schema, frame: pd.DataFrame) -> pd.DataFrame:
    """A row with every value missing, and one with unseen categories (and the first row's
    other values): what production sends and a test split may lack."""
    missing = frame.head(1).astype(object)
    missing.loc[:, :] = None
    unseen = frame.head(1).astype(object)
    for column in schema.columns(CATEGORICAL):
        unseen.loc[:, column] = UNSEEN
    return pd.concat([missing, unseen], ignore_index=True)


def verify(
    graph: OnnxModel, model: Pipeline, schema: Schema, frame: pd.DataFrame, tolerance: float
) -> Verification:
    """Compare the graph's outputs with the Pipeline's on `frame` (the test split) and the
    edge rows."""
    if frame.empty:
        return Verification(False, "no rows to verify the export on", 0, 0.0, tolerance)
    frame = pd.concat([frame, edge_rows(schema, frame)], ignore_index=True)
    try:
        ours = graph.run(frame)
    except Exception as error:  # onnxruntime refusing a row scikit-learn scores
        problem = (str(error).splitlines() or [""])[0][:200]
        return Verification(False, f"onnxruntime fails on it: {problem}", 0, 0.0, tolerance)
    if schema.task == "classification":
        expected = model.predict_proba(frame)
        same_classes = (ours.argmax(axis=1) == expected.argmax(axis=1)).all()
    else:
        expected, same_classes = model.predict(frame).astype(float), True
        # Regression outputs are compared relative to the target's spread.
        spread = float(np.std(expected)) or 1.0
        ours, expected = ours / spread, expected / spread
    difference = float(np.max(np.abs(ours - expected)))
    if not same_classes:
        reason = "it predicts a different class than scikit-learn for some test rows"
    elif not difference <= tolerance:
        reason = f"its outputs differ from scikit-learn's by {difference:.2g} > {tolerance:g}"
    else:
        reason = ""
    return Verification(not reason, reason, len(frame), difference, tolerance)
