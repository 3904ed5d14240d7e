"""Built-in campaigns: concrete is built from the Yeh data; glass is listed as unavailable
(with the reason) when the glass model is missing, and uses the model's API when present."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from core.exceptions import InvalidInputError, ModelNotAvailableError
from core.optimize import (
    Campaign,
    CardinalityConstraint,
    CategoricalVariable,
    ContinuousVariable,
    MixtureConstraint,
    Objective,
    RecommenderSettings,
    builtin_campaigns,
    evaluate,
)
from core.optimize import builtins as builtins_module

FAST = RecommenderSettings(num_restarts=2, raw_samples=32, mc_samples=32, maxiter=40)


def test_glass_is_listed_as_unavailable_without_the_model(monkeypatch):
    import core.models

    monkeypatch.setitem(sys.modules, "core.models.glass", None)  # import fails
    # An earlier test may have imported it: the package attribute would satisfy the import.
    monkeypatch.delattr(core.models, "glass", raising=False)
    infos = {i.name: i for i in builtin_campaigns()}
    assert not infos["glass"].available
    assert "python -m core.train.glass" in infos["glass"].reason
    with pytest.raises(ModelNotAvailableError, match="glass property model"):
        Campaign.from_builtin("glass")
    with pytest.raises(InvalidInputError, match="Unknown built-in"):
        Campaign.from_builtin("steel")


class FakeGlassModel:
    """Stands in for core.models.glass's predictor (same API, simple formulas)."""

    def predict(self, compositions):
        si = np.array([c["SiO2"] for c in compositions])
        na = np.array([c["Na2O"] for c in compositions])
        return pd.DataFrame(
            {
                "Tg": 600 + 400 * si - 300 * na,
                "Tliquidus": 1500 - 800 * na,
                "Tg_std": 10.0,
                "Tliquidus_std": 20.0,
            }
        )

    def viscosity(self, composition, temperatures_K):  # noqa: N803
        return pd.DataFrame(
            {
                "T_K": temperatures_K,
                "log10_viscosity": [2 + 4 * composition["SiO2"] - 5 * composition["Na2O"]]
                * len(temperatures_K),
                "log10_viscosity_std": 0.1,
            }
        )


def test_glass_campaign_uses_the_model_api(monkeypatch):
    monkeypatch.setattr(builtins_module, "_glass_predictor", FakeGlassModel)
    campaign = Campaign.from_builtin("glass", n_initial=5, settings=FAST)
    measured = campaign.measured
    assert len(measured) == 5 and campaign.space.is_feasible(measured).all()
    assert np.allclose(measured[list(builtins_module.GLASS_OXIDES)].sum(axis=1), 1.0)
    assert {"Tg", "Tliquidus", "log10_viscosity_at_1400K"} <= set(measured.columns)
    more = evaluate(campaign, measured.head(2))
    assert campaign.add_results(more) == 2 and campaign.n_rounds == 1


def test_concrete_campaign_space(prepared):
    prepared("concrete")
    campaign = Campaign.from_builtin("concrete", n_initial=20, minimize_cement=True)
    assert len(campaign.measured) == 20
    assert [o.name for o in campaign.space.objectives] == ["compressive_strength", "cement"]
    kinds = {c.kind for c in campaign.space.constraints}
    assert kinds == {"mixture", "ratio"}


def test_categorical_and_at_most_k_nonzero_are_enumerated():
    rng = np.random.default_rng(1)
    n = 10
    a, b, c = (rng.uniform(0, 0.6, n) for _ in range(3))
    df = pd.DataFrame(
        {
            "a": a,
            "b": b,
            "c": c,
            "kind": rng.choice(["p", "q"], n),
            "y": a - b + rng.normal(0, 0.05, n),
        }
    )
    campaign = Campaign.from_table(
        df,
        [
            ContinuousVariable("a", 0, 0.6),
            ContinuousVariable("b", 0, 0.6),
            ContinuousVariable("c", 0, 0.6),
            CategoricalVariable("kind", ("p", "q")),
        ],
        [Objective("y")],
        [MixtureConstraint(("a", "b", "c"), 1.0), CardinalityConstraint(("a", "b", "c"), 2)],
        settings=RecommenderSettings(num_restarts=1, raw_samples=8, mc_samples=16, maxiter=20),
    )
    suggestions = campaign.recommend(2)
    assert campaign.space.is_feasible(suggestions).all()
    nonzero = (suggestions[["a", "b", "c"]] != 0).sum(axis=1)
    assert (nonzero <= 2).all()
    assert set(suggestions["kind"]) <= {"p", "q"}
    assert np.allclose(suggestions[["a", "b", "c"]].sum(axis=1), 1.0, atol=1e-9)


def test_glass_is_unavailable_when_no_model_is_trained(studio_env):
    infos = {i.name: i for i in builtin_campaigns()}
    assert not infos["glass"].available
    assert infos["glass"].reason
