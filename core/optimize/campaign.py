"""Campaigns: a search space, the measured recipes, and the rounds of suggestions.

Typical loop (the page does the same)::

    campaign = Campaign.from_builtin("concrete")
    batch = campaign.recommend(4)          # recipes + predicted mean/std per objective
    ...make them, measure...
    campaign.add_results(measured_batch)   # a new round
    CampaignStore().save(campaign)
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from core.exceptions import InvalidInputError
from core.jobs import Job, heavy_jobs
from core.optimize import acquisition, surrogate
from core.optimize import recommender as _rec
from core.optimize.builtins import builtin_start
from core.optimize.encoding import Encoding
from core.optimize.parts import (
    CategoricalVariable,
    Constraint,
    ContinuousVariable,
    FixedVariable,
    MixtureConstraint,
    Objective,
    Variable,
)
from core.optimize.recommender import RecommenderSettings
from core.optimize.search_space import ROUND, SearchSpace
from core.optimize.tables import check_table, infer_variables
from core.progress import Progress

SCHEMA = 1


class Campaign:
    """A search space plus the measured table (with a ``round`` column: 0 = starting data).

    The space and settings are immutable; the measured table only grows through
    :meth:`add_results`, which validates every row. ``store_id``/``version`` are set by
    :class:`~core.optimize.store.CampaignStore`.
    """

    def __init__(
        self,
        space: SearchSpace,
        measured: pd.DataFrame,
        *,
        name: str = "Untitled campaign",
        settings: RecommenderSettings | None = None,
        builtin: str | None = None,
        suggestions: pd.DataFrame | None = None,
        rounds: pd.Series | Sequence[int] | None = None,
    ) -> None:
        if not isinstance(space, SearchSpace):
            raise InvalidInputError(
                "A campaign needs a SearchSpace",
                got=type(space).__name__,
                expected="SearchSpace",
                fix="build one from variables, objectives and constraints",
            )
        self.space = space
        table = check_table(measured, space, what="The measured table", fill_fixed=True)
        if rounds is None:
            rounds = measured[ROUND] if ROUND in measured.columns else np.zeros(len(table))
        table[ROUND] = np.asarray(rounds, dtype=int)
        self._measured = table
        self.name = str(name).strip() or "Untitled campaign"
        self.settings = settings or RecommenderSettings()
        self.builtin = builtin
        self.suggestions = suggestions
        self.store_id: str | None = None
        self.version = 0
        self._model = None  # (encoding, fitted surrogate) of the current measured table

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_table(
        cls,
        df: pd.DataFrame,
        variables: Sequence[Variable | str],
        objectives: Sequence[Objective | str],
        constraints: Sequence[Constraint] = (),
        *,
        name: str = "Untitled campaign",
        settings: RecommenderSettings | None = None,
    ) -> Campaign:
        """A campaign over your own measured table.

        ``variables`` are variable objects or column names (continuous, bounded by the
        column's observed range); ``objectives`` are objects or column names (maximised).
        """
        if not isinstance(df, pd.DataFrame):
            raise InvalidInputError(
                "The table is not a DataFrame",
                got=type(df).__name__,
                expected="a pandas DataFrame",
                fix="read it with pandas",
            )
        if isinstance(variables, str) or isinstance(objectives, str):
            raise InvalidInputError(
                "Variables and objectives must be lists",
                got=repr(variables if isinstance(variables, str) else objectives),
                expected="a list of names or objects",
                fix="wrap in [...]",
            )
        named = [v for v in variables if isinstance(v, str)]
        inferred = {v.name: v for v in infer_variables(df, named)} if named else {}
        variables = tuple(inferred[v] if isinstance(v, str) else v for v in variables)
        objectives = tuple(Objective(o) if isinstance(o, str) else o for o in objectives)
        space = SearchSpace(variables, objectives, tuple(constraints))
        campaign = cls(space, df, name=name, settings=settings)
        for o in space.measured_objectives:
            if campaign.measured[o.name].nunique() < 2:
                raise InvalidInputError(
                    f"Objective column {o.name!r} is constant",
                    got=f"every row = {campaign.measured[o.name].iloc[0]:g}",
                    expected="measured values that differ",
                    fix="pick another column",
                    entry=o.name,
                )
        return campaign

    @classmethod
    def from_builtin(cls, name: str, **options: Any) -> Campaign:
        """``"concrete"`` (Yeh data) or ``"glass"`` (glass property model); see
        :mod:`core.optimize.builtins` for the options."""
        start = builtin_start(name, **options)
        return cls(
            start.space,
            start.measured,
            name=start.name,
            builtin=start.builtin,
            settings=start.settings,
        )

    # ------------------------------------------------------------------ the loop
    @property
    def measured(self) -> pd.DataFrame:
        return self._measured.copy()

    @property
    def n_rounds(self) -> int:
        return int(self._measured[ROUND].max()) if len(self._measured) else 0

    def recommend(self, q: int = 4, progress: Progress | None = None) -> pd.DataFrame:
        """``q`` recipes to make next, each meeting every constraint, with predicted
        ``<objective>_mean`` / ``<objective>_std``; also kept as :attr:`suggestions`.

        ``progress`` times the stages, reports them and can cancel the round
        (:class:`~core.progress.Cancelled`; the campaign is then unchanged,
        the fitted surrogate is kept for the next try)."""
        progress = progress or Progress()
        measured = self._measured.drop(columns=[ROUND])
        model = None
        if len(measured) <= self.settings.max_train_points:
            with progress.stage("fit"):
                model = self.surrogate()[1]
        out = _rec.recommend(self.space, measured, q, self.settings, model=model, progress=progress)
        self.suggestions = out
        return out.copy()

    def recommend_in_background(self, q: int = 4) -> Job:
        """Queue :meth:`recommend` in the app's bounded background queue
        (:func:`core.jobs.heavy_jobs`); the returned :class:`~core.jobs.Job` shows the
        stage and can be cancelled. Its result is the suggestions (also kept as
        :attr:`suggestions`); leave the campaign alone until it has finished."""
        return heavy_jobs().submit(
            lambda progress: self.recommend(q, progress=progress),
            f"{q} suggestions for {self.name!r}",
            owner=self,
        )

    def results_template(self) -> pd.DataFrame:
        """The last suggestions with an empty column per measured objective to fill in
        (those first)."""
        if self.suggestions is None:
            raise InvalidInputError(
                "There are no suggestions yet",
                got="none",
                expected="a round of suggestions",
                fix="run recommend first",
            )
        out = pd.DataFrame(
            {o.name: np.nan for o in self.space.measured_objectives},
            index=self.suggestions.index,
        )  # the columns to fill in first: visible without scrolling
        return pd.concat([out, self.suggestions[self.space.names]], axis=1)

    def add_results(self, df: pd.DataFrame) -> int:
        """Append measured recipes as the next round; returns how many rows were added.

        ``df`` needs every variable (fixed ones may be left out) and every measured
        objective; other columns (e.g. predicted ``_mean``/``_std``) are ignored.
        """
        rows = check_table(df, self.space, what="The results", min_rows=1, fill_fixed=True)
        rows[ROUND] = self.n_rounds + 1
        self._measured = pd.concat([self._measured, rows], ignore_index=True)
        self.suggestions = None
        self._model = None
        return len(rows)

    # ------------------------------------------------------------------ analysis
    def scores(self) -> np.ndarray:
        return acquisition.scores(self.space, self._measured)

    def best_so_far(self) -> pd.DataFrame:
        """Per round: experiments so far and the best value of each objective so far (for a
        target window, the smallest distance to the window). With several objectives also
        ``hypervolume``: the volume the measured recipes dominate, as a fraction of the box
        between the worst and the best value of every objective over all measured recipes
        (1 = one recipe is best in everything; it only grows from round to round)."""
        rows = []
        s = self.scores()
        several = len(self.space.objectives) > 1
        if several:
            lo, hi = s.min(axis=0), s.max(axis=0)
            span = np.where(hi > lo, hi - lo, 1.0)
            unit = (s - lo) / span  # every objective in [0, 1], maximised
        for r in range(self.n_rounds + 1):
            mask = (self._measured[ROUND] <= r).to_numpy()
            if not mask.any():
                continue
            row: dict[str, float] = {"round": r, "experiments": int(mask.sum())}
            for j, o in enumerate(self.space.objectives):
                best = s[mask, j].max()
                label = f"best {o.name}" if o.direction != "target" else f"{o.name} distance"
                row[label] = -best if o.direction in ("minimize", "target") else best
            if several:
                row["hypervolume"] = dominated_hypervolume(unit[mask])
            rows.append(row)
        return pd.DataFrame(rows)

    def reconfigure(
        self,
        bounds: Mapping[str, tuple[float, float]] | None = None,
        objectives: Sequence[Mapping[str, Any]] | None = None,
    ) -> Campaign:
        """A new campaign with changed bounds and/or objectives; measured recipes, rounds,
        constraints, settings and the store identity carry over.

        Args:
            bounds: ``{variable: (lower, upper)}`` for numeric variables; lower == upper
                makes the variable fixed at that value (and a fixed one with lower < upper
                continuous again). Variables not named keep theirs.
            objectives: ``[{"objective": name, "direction": ..., "low": ..., "high": ...}]``
                in the campaign's order; ``None``/NaN bounds are open.

        Raises:
            InvalidInputError: an unknown name, bad bounds or a bad direction (the message
                names the entry).
        """
        bounds = dict(bounds or {})
        unknown = [n for n in bounds if n not in self.space.names]
        if unknown:
            raise InvalidInputError(
                "Unknown variable in the bounds",
                got=", ".join(map(str, unknown)),
                expected=f"one of {list(self.space.names)}",
                fix="edit the bounds of the campaign's own variables",
            )
        variables: list[Variable] = []
        for v in self.space.variables:
            if isinstance(v, CategoricalVariable) or v.name not in bounds:
                variables.append(v)
                continue
            lo, hi = (_number(x, f"{v.name} bound") for x in bounds[v.name])
            unit = getattr(v, "unit", "")
            variables.append(
                FixedVariable(v.name, lo, unit)
                if lo == hi
                else ContinuousVariable(v.name, lo, hi, unit)
            )
        objs = list(self.space.objectives)
        if objectives is not None:
            rows = list(objectives)
            if [r.get("objective") for r in rows] != [o.name for o in objs]:
                raise InvalidInputError(
                    "The objectives must stay the campaign's own, in order",
                    got=str([r.get("objective") for r in rows]),
                    expected=str([o.name for o in objs]),
                    fix="change directions and windows, not the objectives themselves",
                )
            objs = [
                Objective(
                    o.name,
                    r.get("direction", o.direction),
                    _open(r.get("low")),
                    _open(r.get("high")),
                    o.unit,
                )
                for r, o in zip(rows, objs, strict=True)
            ]
        space = SearchSpace(tuple(variables), tuple(objs), self.space.constraints)
        new = Campaign(
            space,
            self.measured,
            name=self.name,
            settings=self.settings,
            builtin=self.builtin,
            rounds=self.measured[ROUND],
        )
        new.store_id, new.version = self.store_id, self.version
        return new

    def pareto_mask(self) -> np.ndarray:
        """Which measured recipes are not dominated in every objective at once."""
        s = self.scores()
        dominated = np.zeros(len(s), dtype=bool)
        for i in range(len(s)):
            better_eq = (s >= s[i]).all(axis=1) & (s > s[i]).any(axis=1)
            dominated[i] = better_eq.any()
        return ~dominated

    def best_recipe(self) -> pd.Series:
        """The measured recipe with the best first objective score."""
        return self._measured.iloc[int(np.argmax(self.scores()[:, 0]))]

    def surrogate(self):
        """``(encoding, model)`` fitted to the measured table (cached until it changes)."""
        if self._model is None:
            measured = self._measured.drop(columns=[ROUND])
            enc = Encoding(self.space, measured)
            self._model = (
                enc,
                surrogate.fit_models(
                    self.space,
                    measured,
                    enc,
                    self.settings.seed,
                    self.settings.max_fit_points,
                    self.settings.kernel,
                ),
            )
        return self._model

    def predict(self, recipes: pd.DataFrame) -> pd.DataFrame:
        """Predicted mean/std per objective for any recipes (same columns as suggestions)."""
        enc, model = self.surrogate()
        return surrogate.predict(self.space, model, enc, recipes)

    def parity(self) -> pd.DataFrame:
        """Leave-one-out predictions at the measured recipes (surrogate parity)."""
        return surrogate.loo_predictions(
            self.space, self._measured.drop(columns=[ROUND]), model=self.surrogate()[1]
        )

    def prediction_map(
        self,
        x_name: str,
        y_name: str,
        objective: str | None = None,
        n: int = 30,
        around: pd.Series | None = None,
    ) -> pd.DataFrame:
        """Predicted ``objective`` on an n x n grid over two continuous variables, the
        others held at ``around`` (default: the best measured recipe) except a balance
        component per mixture (listed in ``grid.attrs["balance"]``) that keeps the total;
        column ``feasible`` says whether the grid recipe meets every constraint."""
        for v in (x_name, y_name):
            var = self.space.variable(v) if v in self.space.names else None
            if not isinstance(var, ContinuousVariable):
                raise InvalidInputError(
                    f"{v!r} is not a continuous variable",
                    got=v,
                    expected="two different continuous variables",
                    fix="pick continuous variables for the map axes",
                )
        if x_name == y_name:
            raise InvalidInputError(
                "The map needs two different variables",
                got=x_name,
                expected="two different variables",
                fix="pick another",
            )
        names = [o.name for o in self.space.measured_objectives]
        objective = objective or names[0]
        if objective not in names:
            raise InvalidInputError(
                "Unknown objective for the map",
                got=objective,
                expected=f"one of {names}",
                fix="pick one of these",
            )
        around = self.best_recipe() if around is None else around
        xv, yv = self.space.variable(x_name), self.space.variable(y_name)
        gx, gy = np.meshgrid(np.linspace(xv.lower, xv.upper, n), np.linspace(yv.lower, yv.upper, n))
        grid = pd.DataFrame({v: [around[v]] * (n * n) for v in self.space.names})
        grid[x_name], grid[y_name] = gx.ravel(), gy.ravel()
        # A mixture touching the axes is kept by a balance component (the widest-ranging
        # other member, e.g. an aggregate that fills up the cubic metre).
        balance = []
        for c in self.space.constraints:
            if isinstance(c, MixtureConstraint) and {x_name, y_name} & set(c.components):
                others = [
                    m
                    for m in c.components
                    if m not in (x_name, y_name)
                    and isinstance(self.space.variable(m), ContinuousVariable)
                ]
                if others:
                    b = max(
                        others,
                        key=lambda m: self.space.variable(m).upper - self.space.variable(m).lower,
                    )
                    rest = [m for m in c.components if m != b]
                    grid[b] = c.total - grid[rest].sum(axis=1)
                    balance.append(b)
        pred = self.predict(grid)
        grid["mean"] = pred[f"{objective}_mean"].to_numpy()
        grid["std"] = pred[f"{objective}_std"].to_numpy()
        grid["feasible"] = self.space.is_feasible(grid, tol=1e-3).to_numpy()
        grid.attrs["balance"] = balance
        return grid

    # ------------------------------------------------------------------ (de)serialising
    def to_json(self) -> str:
        def records(df: pd.DataFrame | None):
            if df is None:
                return None
            return {
                "columns": list(df.columns),
                "rows": [
                    [
                        None
                        if isinstance(v, float) and not math.isfinite(v)
                        else (v.item() if hasattr(v, "item") else v)
                        for v in row
                    ]
                    for row in df.itertuples(index=False)
                ],
            }

        return json.dumps(
            {
                "schema": SCHEMA,
                "name": self.name,
                "builtin": self.builtin,
                "space": self.space.to_dict(),
                "settings": vars(self.settings) if hasattr(self.settings, "__dict__") else {},
                "measured": records(self._measured),
                "suggestions": records(self.suggestions),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Campaign:
        try:
            data = json.loads(text)
        except (TypeError, ValueError) as err:
            raise InvalidInputError(
                "The stored campaign is not valid JSON",
                got=str(err),
                expected="a campaign saved by this studio",
                fix="delete it and create it again",
            ) from None
        if data.get("schema") != SCHEMA:
            raise InvalidInputError(
                "Unknown campaign format",
                got=data.get("schema"),
                expected=f"schema {SCHEMA}",
                fix="recreate the campaign",
            )
        space = SearchSpace.from_dict(data["space"])

        def frame(rec):
            if rec is None:
                return None
            return pd.DataFrame(rec["rows"], columns=rec["columns"]).astype(
                {c: float for c in rec["columns"] if c not in _categoricals(space) and c != ROUND}
            )

        measured = frame(data["measured"])
        return cls(
            space,
            measured,
            name=data["name"],
            builtin=data.get("builtin"),
            settings=RecommenderSettings(**data.get("settings", {})),
            suggestions=frame(data.get("suggestions")),
            rounds=measured[ROUND],
        )

    def __repr__(self) -> str:
        return (
            f"Campaign({self.name!r}, {len(self.space.variables)} variables, "
            f"{len(self._measured)} measured, {self.n_rounds} rounds)"
        )


def _categoricals(space: SearchSpace) -> set[str]:
    return {v.name for v in space.variables if isinstance(v, CategoricalVariable)}


def dominated_hypervolume(points: np.ndarray) -> float:
    """Hypervolume dominated by ``points`` (n, d; maximised, each objective in [0, 1])
    above the reference point 0, by BoTorch's exact algorithm."""
    import torch
    from botorch.utils.multi_objective.hypervolume import Hypervolume
    from botorch.utils.multi_objective.pareto import is_non_dominated

    y = torch.as_tensor(np.asarray(points, dtype=np.float64))
    if y.numel() == 0:
        return 0.0
    front = y[is_non_dominated(y)]
    return float(Hypervolume(torch.zeros(y.shape[1], dtype=y.dtype)).compute(front))


def _open(value: object) -> float | None:
    """A window bound from a table cell: blank/None/NaN -> open."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    try:
        return None if pd.isna(value) else float(value)
    except (TypeError, ValueError):
        raise InvalidInputError(
            "An objective window bound is not a number",
            got=repr(value),
            expected="a number, or blank for no limit",
            fix="type a number or clear the cell",
        ) from None


def _number(value: object, what: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        x = math.nan
    if not math.isfinite(x):
        raise InvalidInputError(
            f"{what} is not a finite number",
            got=repr(value),
            expected="a number",
            fix="type a number in the bounds table",
        )
    return x
