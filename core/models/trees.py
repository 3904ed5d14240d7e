"""Gradient-boosted regression trees as plain arrays: composition features and prediction.

scikit-learn's ``HistGradientBoostingRegressor`` trains them (``core.train.glass.trees``);
the fitted trees are written as flat node arrays to safetensors, so loading a model never
unpickles anything and inference needs only NumPy. :func:`composition_features` turns oxide
compositions into the trees' inputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from core.chem.composition import parse_formula
from core.featurizers.composition import DescriptorTable

FRACTION_DECIMALS = 6  # composition_features round mole fractions to this many decimals
NODE_FIELDS = ("feature", "threshold", "left", "right", "value", "is_leaf", "missing_left")


@dataclass
class TreeEnsemble:
    """Additive regression trees in flat arrays.

    Node ``i`` of the concatenated trees splits on ``feature[i] <= threshold[i]`` (``left`` /
    ``right`` are indices into the same arrays; NaN goes left where ``missing_left``) or, if
    ``is_leaf[i]``, holds ``value[i]`` (learning rate already applied). The prediction is
    ``baseline`` plus one leaf value per tree, starting from ``roots``.
    """

    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray
    is_leaf: np.ndarray
    missing_left: np.ndarray
    roots: np.ndarray
    baseline: float

    @classmethod
    def from_sklearn(cls, model) -> TreeEnsemble:
        """A fitted one-output ``HistGradientBoostingRegressor`` (numerical features only)."""
        parts: dict[str, list[np.ndarray]] = {f: [] for f in NODE_FIELDS}
        roots, offset = [], 0
        for (predictor,) in model._predictors:
            nodes = predictor.nodes
            if nodes["is_categorical"].any():
                raise ValueError("categorical splits are not supported")
            roots.append(offset)
            parts["feature"].append(nodes["feature_idx"].astype(np.int32))
            parts["threshold"].append(nodes["num_threshold"].astype(np.float64))
            parts["left"].append(nodes["left"].astype(np.int64) + offset)
            parts["right"].append(nodes["right"].astype(np.int64) + offset)
            parts["value"].append(nodes["value"].astype(np.float64))
            parts["is_leaf"].append(nodes["is_leaf"].astype(bool))
            parts["missing_left"].append(nodes["missing_go_to_left"].astype(bool))
            offset += len(nodes)
        baseline = float(np.ravel(model._baseline_prediction)[0])
        return cls(
            **{f: np.concatenate(v) for f, v in parts.items()},
            roots=np.asarray(roots, dtype=np.int64),
            baseline=baseline,
        )

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        out = {prefix + f: getattr(self, f) for f in NODE_FIELDS}
        out[prefix + "roots"] = self.roots
        out[prefix + "baseline"] = np.array([self.baseline])
        return out

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], prefix: str) -> TreeEnsemble:
        fields = {f: np.asarray(arrays[prefix + f]) for f in (*NODE_FIELDS, "roots")}
        for f in ("is_leaf", "missing_left"):
            fields[f] = fields[f].astype(bool)
        return cls(**fields, baseline=float(np.asarray(arrays[prefix + "baseline"])[0]))

    @property
    def n_trees(self) -> int:
        return len(self.roots)

    def predict(self, features: np.ndarray, chunk: int = 2048) -> np.ndarray:
        """(N, F) features -> (N,) predictions (all trees walked together, level by level)."""
        features = np.asarray(features, dtype=np.float64)
        out = np.empty(len(features))
        for start in range(0, len(features), chunk):
            x = features[start : start + chunk]
            node = np.broadcast_to(self.roots, (len(x), self.n_trees)).copy()
            while True:
                inner = ~self.is_leaf[node]
                if not inner.any():
                    break
                r, t = np.nonzero(inner)
                n = node[r, t]
                v = x[r, self.feature[n]]
                go_left = np.where(np.isnan(v), self.missing_left[n], v <= self.threshold[n])
                node[r, t] = np.where(go_left, self.left[n], self.right[n])
            out[start : start + chunk] = self.baseline + self.value[node].sum(axis=1)
        return out


def composition_features(
    compositions: Sequence[Mapping[str, float]],
    compounds: Sequence[str],
    elements: Sequence[str],
    descriptors: DescriptorTable,
) -> np.ndarray:
    """The trees' inputs for compositions (mappings formula -> molar amount, normalised
    here to mole fractions as the set networks' encoding does, rounded to
    :data:`FRACTION_DECIMALS` decimals): the fractions of ``compounds`` (a compound outside
    that list adds no column of its own), the fraction-weighted mean and standard deviation
    of the compounds' scaled descriptors, and the atom fractions of ``elements``."""
    col = {c: i for i, c in enumerate(compounds)}
    el = {e: i for i, e in enumerate(elements)}
    n_desc = descriptors.raw.shape[1]
    out = np.zeros((len(compositions), len(compounds) + 2 * n_desc + len(elements)))
    scaled: dict[str, np.ndarray] = {}
    atoms: dict[str, dict[str, float]] = {}
    for r, comp in enumerate(compositions):
        mean = np.zeros(n_desc)
        square = np.zeros(n_desc)
        counts = np.zeros(len(elements))
        amount = sum(float(x) for x in comp.values())
        # mole fractions on a fixed grid, in a fixed order: the fitted split thresholds sit
        # on training values (quantile bins), so a stored glass (float32 fractions, off by
        # ~1e-7) and the same glass typed in the app must give bit-identical features, or
        # they take other branches and get another prediction
        fractions = {
            f: round(float(x) / amount, FRACTION_DECIMALS) if amount > 0 else 0.0
            for f, x in comp.items()
        }
        for formula in sorted(fractions):
            x = fractions[formula]
            if formula in col:
                out[r, col[formula]] += x
            if formula not in scaled:
                row = descriptors.row(formula)
                if row is not None:
                    raw = descriptors.raw[row]
                else:
                    raw = descriptors.descriptors_of(formula)
                scaled[formula] = descriptors.scale(raw[None, :])[0].astype(np.float64)
                atoms[formula] = parse_formula(formula)
            d = scaled[formula]
            mean += x * d
            square += x * d * d
            for e, n in atoms[formula].items():
                if e in el:
                    counts[el[e]] += x * n
        base = len(compounds)
        out[r, base : base + n_desc] = mean
        out[r, base + n_desc : base + 2 * n_desc] = np.sqrt(np.maximum(square - mean**2, 0.0))
        total = counts.sum()
        out[r, base + 2 * n_desc :] = counts / total if total > 0 else counts
    return out
