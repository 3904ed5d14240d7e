"""Bayesian recipe optimisation: variables, constraints, objectives, campaigns (BoTorch
recommender) and their SQLAlchemy store.

Public API::

    from core.optimize import Campaign, CampaignStore
    campaign = Campaign.from_builtin("concrete")          # or Campaign.from_table(df, ...)
    suggestions = campaign.recommend(4)                   # recipes + mean/std per objective
    campaign.add_results(measured)                        # next round
    store = CampaignStore()                               # SQLite in the cache by default
    campaign_id = store.save(campaign); store.load(campaign_id); store.list()
"""

from core.optimize.builtins import (
    BuiltinInfo,
    builtin_campaigns,
    evaluate,
    random_feasible,
)
from core.optimize.campaign import Campaign
from core.optimize.parts import (
    CardinalityConstraint,
    CategoricalVariable,
    ContinuousVariable,
    FixedVariable,
    LinearInequality,
    MixtureConstraint,
    Objective,
    RatioConstraint,
)
from core.optimize.recommender import InfeasibleSuggestionError, RecommenderSettings
from core.optimize.search_space import FEASIBILITY_TOL, SearchSpace
from core.optimize.store import (
    CampaignConflictError,
    CampaignNotFoundError,
    CampaignStore,
    StoreUnavailableError,
)

__all__ = [
    "FEASIBILITY_TOL",
    "BuiltinInfo",
    "Campaign",
    "CampaignConflictError",
    "CampaignNotFoundError",
    "CampaignStore",
    "CardinalityConstraint",
    "CategoricalVariable",
    "ContinuousVariable",
    "FixedVariable",
    "InfeasibleSuggestionError",
    "LinearInequality",
    "MixtureConstraint",
    "Objective",
    "RatioConstraint",
    "RecommenderSettings",
    "SearchSpace",
    "StoreUnavailableError",
    "builtin_campaigns",
    "evaluate",
    "random_feasible",
]
