"""Recipes as model inputs: continuous and fixed variables in their units, categoricals
one-hot (step 1 of a round, :mod:`core.optimize.recommender`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from core.optimize.parts import CategoricalVariable, ContinuousVariable, FixedVariable
from core.optimize.search_space import SearchSpace

DTYPE = torch.float64


# ------------------------------------------------------------------------------ encoding
class Encoding:
    """Model columns of a search space: numeric variables, then one-hot categoricals."""

    def __init__(self, space: SearchSpace, measured: pd.DataFrame | None = None) -> None:
        self.space = space
        self.columns: list[str] = []
        self.search_lo: list[float] = []
        self.search_hi: list[float] = []
        for v in space.variables:
            if isinstance(v, ContinuousVariable):
                self.columns.append(v.name)
                self.search_lo.append(v.lower), self.search_hi.append(v.upper)
            elif isinstance(v, FixedVariable):
                self.columns.append(v.name)
                self.search_lo.append(v.value), self.search_hi.append(v.value)
        self.n_numeric = len(self.columns)
        self.onehot: dict[str, list[int]] = {}
        for v in space.variables:
            if isinstance(v, CategoricalVariable):
                self.onehot[v.name] = list(
                    range(len(self.columns), len(self.columns) + len(v.choices))
                )
                self.columns += [f"{v.name}={c}" for c in v.choices]
                self.search_lo += [0.0] * len(v.choices)
                self.search_hi += [1.0] * len(v.choices)
        lo, hi = np.array(self.search_lo), np.array(self.search_hi)
        # Bounds the model normalises with: the search box widened to the measured data
        # (recipes outside today's bounds still inform the model), never zero-width.
        if measured is not None and len(measured):
            x = self.encode(measured)
            lo, hi = np.minimum(lo, x.min(axis=0)), np.maximum(hi, x.max(axis=0))
        width = hi - lo
        hi = np.where(width > 0, hi, lo + np.maximum(np.abs(lo) * 1e-3, 1.0))
        self.model_bounds = np.stack([lo, hi])
        # Unit cube used by the optimiser: x = lower + span * u (span 1 where fixed).
        self.lower = np.array(self.search_lo)
        self.span = np.where(
            np.array(self.search_hi) > self.lower, np.array(self.search_hi) - self.lower, 1.0
        )

    @property
    def d(self) -> int:
        return len(self.columns)

    def encode(self, recipes: pd.DataFrame) -> np.ndarray:
        x = np.zeros((len(recipes), len(self.columns)))
        x[:, : self.n_numeric] = recipes[self.columns[: self.n_numeric]].to_numpy(dtype=float)
        for name, idx in self.onehot.items():
            choices = self.space.variable(name).choices
            codes = recipes[name].astype(str).map({c: i for i, c in enumerate(choices)})
            x[np.arange(len(recipes)), np.array(idx)[codes.to_numpy(dtype=int)]] = 1.0
        return x

    def decode(self, x: np.ndarray) -> pd.DataFrame:
        out: dict[str, object] = {}
        numeric = {n: x[:, i] for i, n in enumerate(self.columns[: self.n_numeric])}
        for v in self.space.variables:
            if isinstance(v, CategoricalVariable):
                codes = x[:, self.onehot[v.name]].argmax(axis=1)
                out[v.name] = [v.choices[c] for c in codes]
            else:
                out[v.name] = numeric[v.name]
        return pd.DataFrame(out)
