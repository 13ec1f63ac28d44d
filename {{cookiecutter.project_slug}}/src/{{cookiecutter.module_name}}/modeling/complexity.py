"""How big a fitted model is, read off its trees: what decides whether the work that only
describes it (the ONNX export, exact SHAP) is affordable, so that this work stays bounded as
the data and the model grow.

Exact TreeSHAP costs about (leaves x depth^2) per tree and explained row. Measured with shap 0.54
on a 2-core machine, one row took 1.1 s for 200 unlimited-depth trees grown on 43k rows (2.0M
leaves, depth ~40: 3.2e9 units) and 2.6 ms for 100 rounds of 5-class histogram boosting
(2.9e6 units): about 1e9 to 3e9 units a second. skl2onnx converts about 80k tree nodes a second
and holds about 1.5 GB per million nodes while it does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator


@dataclass(frozen=True)
class TreeSize:
    trees: int
    nodes: int
    leaves: int
    shap_cost: float  # exact TreeSHAP per explained row: sum over trees of leaves x depth^2

    def describe(self) -> str:
        return f"{self.trees} trees, {_count(self.nodes)} nodes"


def tree_size(estimator: BaseEstimator) -> TreeSize | None:
    """The size of a fitted scikit-learn tree model (trees, forests and boosting); None for
    other models."""
    shapes: list[tuple[int, int, int]] = []  # per tree: nodes, leaves, depth
    if hasattr(estimator, "tree_"):
        trees = [estimator]
    elif hasattr(estimator, "_predictors"):  # histogram gradient boosting
        for predictors in estimator._predictors:
            for predictor in predictors:
                nodes = predictor.nodes
                shapes.append((len(nodes), int(nodes["is_leaf"].sum()), int(nodes["depth"].max())))
        trees = []
    elif hasattr(estimator, "estimators_"):  # forests; gradient boosting holds a 2-D array
        trees = list(np.ravel(estimator.estimators_))
    else:
        return None
    for tree in trees:
        if not hasattr(tree, "tree_"):
            return None
        structure = tree.tree_
        shapes.append((structure.node_count, structure.n_leaves, structure.max_depth))
    return _size(shapes)


def booster_size(estimator: BaseEstimator) -> TreeSize | None:
    """The size of a fitted LightGBM or XGBoost model, read off its trees' dumps (milliseconds
    for hundreds of trees)."""
    shapes: list[tuple[int, int, int]] = []
    if hasattr(estimator, "booster_"):  # LightGBM
        for tree in estimator.booster_.dump_model()["tree_info"]:
            shapes.append(_lightgbm_tree(tree["tree_structure"]))
    elif hasattr(estimator, "get_booster"):  # XGBoost: one line a node, a tab per level
        for dump in estimator.get_booster().get_dump():
            lines = dump.splitlines()
            leaves = sum("leaf=" in line for line in lines)
            depth = max((len(line) - len(line.lstrip("\t")) for line in lines), default=0)
            shapes.append((len(lines), leaves, depth))
    else:
        return None
    return _size(shapes)


def _lightgbm_tree(root: dict) -> tuple[int, int, int]:
    nodes = leaves = depth = 0
    stack = [(root, 0)]
    while stack:
        node, level = stack.pop()
        nodes, depth = nodes + 1, max(depth, level)
        if "left_child" in node:
            stack += [(node["left_child"], level + 1), (node["right_child"], level + 1)]
        else:
            leaves += 1
    return nodes, leaves, depth


def _size(shapes: list[tuple[int, int, int]]) -> TreeSize | None:
    if not shapes:
        return None
    nodes, leaves, depths = np.asarray(shapes, dtype=float).T
    cost = float((leaves * np.maximum(depths, 1) ** 2).sum())
    return TreeSize(len(shapes), int(nodes.sum()), int(leaves.sum()), cost)


def _count(number: float) -> str:
    for size, unit in ((1e6, "M"), (1e3, "k")):
        if number >= size:
            return f"{number / size:.1f}{unit}"
    return str(int(number))
