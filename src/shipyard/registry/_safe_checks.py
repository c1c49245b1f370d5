"""Structural checks of the scikit-learn objects whose compiled code trusts stored integers.

Building an object from a file never runs code from the file, but some scikit-learn types
are read by Cython loops that do not bounds-check: a decision tree follows its stored child
and feature indices, a histogram-GBM predictor its node links and bitset indices, libsvm its
support-vector counts. A crafted file could point them outside their arrays and make
``predict`` read (or, in ``decision_path``, write) memory it does not own. So every such
object is checked before the model is handed out:

- trees: children of an internal node lie after it and inside the node array, each node has
  one parent, leaves have no children, features lie below the tree's feature count, the
  stored depth bounds the real one, and an ensemble's trees read no more features than the
  ensemble checks its input for;
- histogram-GBM predictors: the same for their node links, feature and bitset indices;
- libsvm models: support-vector counts, coefficient and intercept shapes agree.

KD-trees and ball trees store index arrays that are not checked here; they need an explicit
trust (their classes are not on the default allow-list).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from shipyard.errors import IntegrityError

TREE = "sklearn.tree._tree:Tree"
#: Types whose stored indices are not validated: loading them needs an explicit trust.
UNVALIDATED = frozenset(
    {"sklearn.neighbors._kd_tree.KDTree", "sklearn.neighbors._ball_tree.BallTree"}
)


def _bad(what: str) -> IntegrityError:
    return IntegrityError(f"the model file is inconsistent: {what}; refusing to load it")


class Checks:
    """Collects the trees of one file as they are built, then checks them all at once."""

    def __init__(self) -> None:
        self.trees: list[tuple[np.ndarray[Any, Any], int, int]] = []  # nodes, n_features, depth

    def tree_state(self, tree: Any, state: Any) -> None:
        """Checks of a Tree's state before it is copied into the tree (links: in ``finish``)."""
        if not isinstance(state, dict) or not isinstance(state.get("nodes"), np.ndarray):
            raise _bad("a decision tree has no node array")
        nodes, count, depth = state["nodes"], state.get("node_count"), state.get("max_depth")
        names = set(nodes.dtype.names or ())
        if not {"left_child", "right_child", "feature"} <= names:
            raise _bad("a decision tree's node array has the wrong layout")
        if type(count) is not int or not 0 < count <= len(nodes):
            raise _bad("a decision tree's node count does not match its node array")
        if type(depth) is not int or not 0 <= depth < count:
            raise _bad("a decision tree has an impossible depth")
        self.trees.append((nodes[:count], int(tree.n_features), depth))

    def finish(self) -> None:
        """Every tree of the file at once: links, features, one parent per node, real depth."""
        if not self.trees:
            return
        sizes = np.array([len(nodes) for nodes, _f, _d in self.trees])
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        local_left = np.concatenate([nodes["left_child"] for nodes, _f, _d in self.trees])
        local_right = np.concatenate([nodes["right_child"] for nodes, _f, _d in self.trees])
        feature = np.concatenate([nodes["feature"] for nodes, _f, _d in self.trees])
        limit = np.repeat(np.array([f for _n, f, _d in self.trees]), sizes)
        offset = np.repeat(starts, sizes)
        ids = np.arange(len(offset)) - offset
        _check_links(local_left, local_right, feature, limit, "decision tree",
                     np.repeat(sizes, sizes), ids)  # fmt: skip
        left = np.where(local_left >= 0, local_left + offset, -1)
        right = np.where(local_right >= 0, local_right + offset, -1)
        children = np.concatenate([left[left >= 0], right[right >= 0]])
        parents = np.bincount(children, minlength=len(left))
        if parents[starts].any() or (np.delete(parents, starts) != 1).any():
            raise _bad("a decision tree node has more or fewer than one parent")
        depth = np.zeros(len(left), dtype=np.int64)
        frontier, level = starts, 0
        while frontier.size:
            inner = frontier[left[frontier] >= 0]
            level += 1
            frontier = np.concatenate([left[inner], right[inner]])
            depth[frontier] = level
        deepest = np.maximum.reduceat(depth, starts)
        if (deepest > np.array([d for _n, _f, d in self.trees])).any():
            raise _bad("a decision tree is deeper than it declares")


def _check_links(
    left: np.ndarray[Any, Any],
    right: np.ndarray[Any, Any],
    feature: np.ndarray[Any, Any],
    n_features: Any,
    what: str,
    size: Any,
    ids: np.ndarray[Any, Any],
    leaf: np.ndarray[Any, Any] | None = None,
) -> None:
    """Internal nodes link forward inside their tree and split on a known feature.

    Arrays hold node-local values of one or several trees laid end to end: ``ids`` is each
    node's index in its tree, ``size`` and ``n_features`` its tree's node and feature counts
    (per node, or one number for a single tree).
    """
    if leaf is None:
        leaf = left == -1
        if (leaf != (right == -1)).any():
            raise _bad(f"a {what} node has exactly one child")
    inner = ~leaf
    bound = size[inner] if isinstance(size, np.ndarray) else size
    for child in (left[inner], right[inner]):
        if ((child <= ids[inner]) | (child >= bound)).any():
            raise _bad(f"a {what} node points outside its tree")
    limit = n_features[inner] if isinstance(n_features, np.ndarray) else n_features
    used = feature[inner]
    if ((used < 0) | (used >= limit)).any():
        raise _bad(f"a {what} splits on a feature it does not have")


def check_object(obj: Any) -> None:
    """Checks of a built estimator against the input width it validates at predict."""
    state = getattr(obj, "__dict__", None)
    if not state or "n_features_in_" not in state:
        return
    width = state["n_features_in_"]
    if type(width) is not int or width < 0:
        raise _bad("the number of input features is not a count")
    tree = state.get("tree_")
    if tree is not None and int(getattr(tree, "n_features", -1)) != width:
        raise _bad("a decision tree's feature count differs from its estimator's")
    members = state.get("estimators_")
    if isinstance(members, list | np.ndarray):
        for member in np.ravel(np.asarray(members, dtype=object)):
            sub = getattr(member, "tree_", None)
            if sub is not None and int(sub.n_features) > width:
                raise _bad("an ensemble's tree reads more features than the ensemble checks")
    if "_predictors" in state:
        _check_hist_gbm(state["_predictors"], width)
        categorical = getattr(state.get("_bin_mapper"), "is_categorical_", None)
        if categorical is not None and len(categorical) != width:
            raise _bad("a histogram-GBM's feature map has another width than the input")
    if "_n_support" in state and "support_vectors_" in state:
        _check_libsvm(state)


def _check_hist_gbm(predictors: Any, width: int) -> None:
    for predictor in (p for row in predictors for p in row):
        nodes = getattr(predictor, "nodes", None)
        if not isinstance(nodes, np.ndarray) or nodes.dtype.names is None or not len(nodes):
            raise _bad("a histogram-GBM predictor has no node array")
        leaf = nodes["is_leaf"].astype(bool)
        _check_links(nodes["left"], nodes["right"], nodes["feature_idx"], width,
                     "histogram-GBM tree", len(nodes), np.arange(len(nodes)), leaf)  # fmt: skip
        categorical = (~leaf) & nodes["is_categorical"].astype(bool)
        if categorical.any():
            limit = min(len(predictor.raw_left_cat_bitsets), len(predictor.binned_left_cat_bitsets))
            if (nodes["bitset_idx"][categorical] >= limit).any():
                raise _bad("a histogram-GBM node points past its category bitsets")


def _check_libsvm(state: dict[str, Any]) -> None:
    counts = np.asarray(state["_n_support"])
    vectors = state["support_vectors_"]
    total = vectors.shape[0]
    coef = np.asarray(state.get("_dual_coef_", np.empty((0, 0))))
    classes = state.get("classes_")
    if classes is not None and len(classes) > 1:  # classification: counts per class
        n = len(classes)
        if len(counts) != n or int(counts.sum()) != total or coef.shape != (n - 1, total):
            raise _bad("the support-vector counts do not match the support vectors")
        if np.asarray(state.get("_intercept_")).shape != (n * (n - 1) // 2,):
            raise _bad("the libsvm intercepts do not match the classes")
    elif coef.shape != (1, total) or (counts < 0).any() or (counts > total).any():
        raise _bad("the libsvm coefficients do not match the support vectors")
    if len(np.asarray(state.get("support_", []))) != total:
        raise _bad("the support indices do not match the support vectors")
    if (
        state.get("kernel") != "precomputed"
        and total
        and vectors.shape[1] != state["n_features_in_"]
    ):
        raise _bad("the support vectors have another width than the input")
