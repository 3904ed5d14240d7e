"""Built-in campaigns.

- ``concrete``: the Yeh data (1,030 mixes). Seven ingredients in kg/m^3 bounded by the
  data's range, curing age fixed at 28 days (it varies in the data, so the surrogate learns
  its effect), the mix makes up one cubic metre (``total_mass`` kg, 2,350 by default: the
  data's median), water/binder (binder = cement + slag + fly ash) in [0.25, 0.60];
  maximize compressive strength, optionally also minimize cement.
- ``glass``: oxide mole fractions summing to 1; objectives from the glass property model
  (:func:`core.models.glass.load_predictor`): Tg at least ``tg_min`` K, liquidus as low as
  possible, log10 viscosity at ``working_T`` K in ``[2.5, 3.5]`` (the working range).
  The "measurements" are the model's predictions (a virtual lab): :func:`evaluate` fills
  them in for suggested glasses. Unavailable, with the reason, while no model is trained.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.exceptions import InvalidInputError, ModelNotAvailableError
from core.optimize.parts import (
    ContinuousVariable,
    FixedVariable,
    MixtureConstraint,
    Objective,
    RatioConstraint,
)
from core.optimize.search_space import SearchSpace

GLASS_OXIDES = {  # mole-fraction bounds of a soda-lime/borosilicate design space
    "SiO2": (0.45, 0.80),
    "B2O3": (0.0, 0.20),
    "Al2O3": (0.0, 0.15),
    "Na2O": (0.0, 0.20),
    "K2O": (0.0, 0.10),
    "CaO": (0.0, 0.15),
    "MgO": (0.0, 0.10),
}
GLASS_WORKING_WINDOW = (2.5, 3.5)  # log10(eta / Pa s) around the working point (10^3 Pa s)


@dataclass(frozen=True)
class BuiltinInfo:
    name: str
    title: str
    description: str
    available: bool
    reason: str = ""


def builtin_campaigns() -> list[BuiltinInfo]:
    """The built-in campaigns and whether each can be opened on this installation."""
    from core.data import concrete

    out = []
    try:
        concrete.load(columns=["cement"])
        out.append(
            BuiltinInfo(
                "concrete",
                "Concrete (Yeh, 1,030 mixes)",
                __doc__.split("- ``concrete``: ")[1].split("- ``glass``")[0].strip(),
                True,
            )
        )
    except Exception as err:  # noqa: BLE001 - shown to the user as the reason
        out.append(
            BuiltinInfo(
                "concrete", "Concrete (Yeh, 1,030 mixes)", "", False, f"{type(err).__name__}: {err}"
            )
        )
    description = __doc__.split("- ``glass``: ")[1].strip()
    try:
        _glass_predictor()
        out.append(BuiltinInfo("glass", "Glass design (property model)", description, True))
    except ModelNotAvailableError as err:
        out.append(
            BuiltinInfo("glass", "Glass design (property model)", description, False, str(err))
        )
    return out


@dataclass(frozen=True)
class BuiltinStart:
    """What a built-in campaign starts from (``Campaign.from_builtin`` builds it)."""

    space: SearchSpace
    measured: pd.DataFrame
    name: str
    builtin: str
    settings: Any = None


def builtin_start(name: str, **options) -> BuiltinStart:
    """The start of a built-in campaign: ``"concrete"`` (Yeh data) or ``"glass"`` (glass
    property model); ``options`` go to :func:`concrete_start` or :func:`glass_start`."""
    builders = {"concrete": concrete_start, "glass": glass_start}
    if name not in builders:
        raise InvalidInputError(
            "Unknown built-in campaign",
            got=repr(name),
            expected=f"one of {sorted(builders)}",
            fix="pick one of these",
        )
    return builders[name](**options)


def _sample(data: pd.DataFrame, n_initial: int | None, seed: int) -> pd.DataFrame:
    if n_initial is None or n_initial >= len(data):
        return data
    if isinstance(n_initial, bool) or not isinstance(n_initial, int) or n_initial < 3:
        raise InvalidInputError(
            "n_initial must be a whole number >= 3",
            got=repr(n_initial),
            expected=">= 3 rows",
            fix="e.g. 100",
        )
    return data.sample(n_initial, random_state=seed)


def concrete_space(
    total_mass: float = 2350.0, wb_window=(0.25, 0.60), minimize_cement: bool = False
):
    from core.data import concrete

    data = concrete.load()
    variables = [
        ContinuousVariable(
            c, float(np.floor(data[c].min())), float(np.ceil(data[c].max())), concrete.UNITS[c]
        )
        for c in concrete.INGREDIENTS
    ]
    variables.append(FixedVariable("age", 28.0, "days"))
    objectives = [Objective("compressive_strength", "maximize", unit="MPa")]
    if minimize_cement:
        objectives.append(Objective("cement", "minimize", unit="kg/m^3"))
    constraints = (
        MixtureConstraint(concrete.INGREDIENTS, total_mass),
        RatioConstraint(("water",), ("cement", "blast_furnace_slag", "fly_ash"), *wb_window),
    )
    return SearchSpace(tuple(variables), tuple(objectives), constraints), data


def concrete_start(
    n_initial: int | None = None,
    seed: int = 0,
    total_mass: float = 2350.0,
    wb_window=(0.25, 0.60),
    minimize_cement: bool = False,
    settings=None,
    name: str = "Concrete strength",
):
    """The concrete campaign; ``n_initial`` mixes drawn at random (default: all 1,030)."""
    space, data = concrete_space(total_mass, wb_window, minimize_cement)
    data = _sample(data, n_initial, seed)
    return BuiltinStart(space, data, name=name, builtin="concrete", settings=settings)


# ------------------------------------------------------------------------------- glass
def _glass_predictor():
    try:
        from core.models import glass
    except ImportError as err:
        raise ModelNotAvailableError(
            "The glass campaign needs the glass property model, which is not in this build "
            f"({err}). Train it with `python -m core.train.glass train`."
        ) from None
    try:
        return glass.load_predictor()
    except ModelNotAvailableError:
        raise
    except (FileNotFoundError, OSError, KeyError, ValueError) as err:
        raise ModelNotAvailableError(
            f"The glass property model could not be loaded: {err}. "
            "Train it with `python -m core.train.glass train`."
        ) from None


def glass_space(tg_min: float = 800.0, working_T: float = 1400.0):  # noqa: N803
    variables = tuple(
        ContinuousVariable(o, lo, hi, "mol fraction") for o, (lo, hi) in GLASS_OXIDES.items()
    )
    objectives = (
        Objective("Tg", "target", low=tg_min, unit="K"),
        Objective("Tliquidus", "minimize", unit="K"),
        Objective(
            f"log10_viscosity_at_{working_T:g}K", "target", *GLASS_WORKING_WINDOW, unit="log10 Pa s"
        ),
    )
    return SearchSpace(variables, objectives, (MixtureConstraint(tuple(GLASS_OXIDES), 1.0),))


def evaluate(campaign, recipes: pd.DataFrame) -> pd.DataFrame:
    """The glass model's predictions for ``recipes`` as measured results (glass campaigns
    only: the property model stands in for the lab)."""
    if campaign.builtin != "glass":
        raise InvalidInputError(
            "Only the glass campaign can be evaluated by a model",
            got=campaign.builtin,
            expected="a glass campaign",
            fix="enter measured results instead",
        )
    return _evaluate_glass(campaign.space, recipes)


def _evaluate_glass(space, recipes: pd.DataFrame) -> pd.DataFrame:
    predictor = _glass_predictor()
    visc = [o for o in space.objectives if o.name.startswith("log10_viscosity_at_")]
    working_T = float(visc[0].name.removeprefix("log10_viscosity_at_").removesuffix("K"))
    oxides = list(space.names)
    comps = [{o: float(r[o]) for o in oxides} for _, r in recipes.iterrows()]
    props = predictor.predict(comps)
    out = recipes[oxides].reset_index(drop=True).copy()
    out["Tg"] = props["Tg"].to_numpy(dtype=float)
    out["Tliquidus"] = props["Tliquidus"].to_numpy(dtype=float)
    eta = []
    for comp in comps:
        curve = predictor.viscosity(comp, [working_T])
        col = _viscosity_column(curve.columns)
        eta.append(float(curve[col].iloc[0]))
    out[visc[0].name] = eta
    return out


def _viscosity_column(columns) -> str:
    """The log10 viscosity column of the model's viscosity table (not its ``_std``)."""
    for c in columns:
        name = str(c).lower()
        if ("visc" in name or "eta" in name or name.startswith("log10")) and not name.endswith(
            "_std"
        ):
            return c
    raise ModelNotAvailableError(
        f"The glass model's viscosity table has no log10 viscosity column: {list(columns)}"
    )


def glass_start(
    n_initial: int = 12,
    seed: int = 0,
    tg_min: float = 800.0,
    working_T: float = 1400.0,
    settings=None,  # noqa: N803
    name: str = "Glass design",
):
    """Start from ``n_initial`` random compositions in the design space, evaluated by the
    model. Raises :class:`ModelNotAvailableError` while no glass model is trained."""
    _glass_predictor()  # fail early, with the reason
    space = glass_space(tg_min, working_T)
    measured = _evaluate_glass(space, random_feasible(space, n_initial, seed))
    return BuiltinStart(space, measured, name=name, builtin="glass", settings=settings)


def _reduce(constraints, fixed: dict[int, float], pos: dict[int, int]):
    """BoTorch constraints with the ``fixed`` columns substituted (``pos``: free column ->
    its index among the free columns)."""
    import torch

    out = []
    for idx, coef, rhs in constraints or []:
        cols = idx.tolist()
        keep = [k for k, j in enumerate(cols) if j in pos]
        rhs = rhs - sum(float(coef[k]) * fixed[j] for k, j in enumerate(cols) if j in fixed)
        if keep:
            out.append((torch.tensor([pos[cols[k]] for k in keep]), coef[keep], rhs))
    return out or None


def random_feasible(space, n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` recipes drawn uniformly (hit-and-run) from the feasible polytope of ``space``
    (each from a random feasible support / categorical choice), repaired to be exact."""
    import torch
    from botorch.utils.sampling import get_polytope_samples

    from core.optimize.acquisition import fixed_features, unit_constraints
    from core.optimize.encoding import DTYPE, Encoding
    from core.optimize.repair import repair

    enc = Encoding(space)
    eq, ineq = unit_constraints(space, enc)
    fixed = fixed_features(space, enc)
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        ff = fixed[int(rng.integers(len(fixed)))]
        free = [j for j in range(enc.d) if j not in ff]
        pos = {j: k for k, j in enumerate(free)}

        bounds = torch.stack(
            [torch.zeros(len(free), dtype=DTYPE), torch.ones(len(free), dtype=DTYPE)]
        )
        u_free = get_polytope_samples(
            1,
            bounds,
            inequality_constraints=_reduce(ineq, ff, pos),
            equality_constraints=_reduce(eq, ff, pos),
            seed=int(rng.integers(2**31)),
            n_burnin=200,
            n_thinning=20,
        )[0]
        u = np.zeros(enc.d)
        for j, v in ff.items():
            u[j] = v
        u[free] = u_free.numpy()
        rows.append(enc.lower + enc.span * u)
    recipes = enc.decode(np.array(rows))
    numeric = recipes[space.numeric_names].to_numpy(dtype=float, copy=True)
    for i in range(n):
        zeros = frozenset(
            name for name, v in zip(space.numeric_names, numeric[i], strict=True) if v == 0.0
        )
        numeric[i] = repair(space, numeric[i], zeros)
    recipes[space.numeric_names] = numeric
    return recipes
