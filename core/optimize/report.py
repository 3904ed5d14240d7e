"""What the recipe page shows about a campaign, built here so the page only lays it out.

Labels of saved campaigns, the campaign's one-line summary, the constraint list, the
suggestions as a :class:`SuggestionsReport` (table, largest constraint deviation, the CSV to
download), the results table to add, the notes under the charts, and the longer fixed
texts. Nothing here imports streamlit; a script gets the same objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from core.exceptions import InvalidInputError
from core.exports import csv_bytes
from core.optimize.campaign import Campaign
from core.optimize.parts import CategoricalVariable, ContinuousVariable, Variable
from core.optimize.search_space import SearchSpace
from core.optimize.tables import infer_variables

CONSTRAINT_KINDS = {
    "mixture": "Mixture",
    "ratio": "Ratio window",
    "linear": "Linear inequality",
    "cardinality": "At most k non-zero",
}
INTRO = (
    "Bayesian optimisation proposes the next recipes to make: a Gaussian-process surrogate "
    "learns from the recipes measured so far, and every suggestion meets the recipe's rules "
    "(batch total, ratio windows, fixed settings). Enter what you measured and ask again."
)
SAVE_NOTE = (
    "Every created campaign, round of suggestions and added result is saved automatically "
    "(Save also keeps a changed configuration); if another session saved this campaign since "
    "you opened it, saving says so instead of overwriting."
)
ROLE_HINT = (
    "A column of labels belongs under *Categorical variables*, a column with one "
    "value under *Fixed variables*."
)
BOUNDS_NOTE = (
    "Suggestions stay within these bounds. An *at most k non-zero* rule needs "
    "its components' lower bound at 0."
)
FIXED_HELP = (
    "The value may vary in your data (e.g. curing age): the model learns its "
    "effect, and every suggestion uses the value you enter."
)
LINEAR_NOTE = (
    "Linear inequalities: one row each, read as coefficient × variable summed "
    ">= the right-hand side (blank = 0; negate every number for <=), e.g. "
    "water 1, cement -0.3, right-hand side 0 for water >= 0.3 × cement."
)
RESULTS_NOTE = (
    "Fill in the measured values of the recipes you made (delete the rows you did "
    "not make), or upload the downloaded CSV with the results filled in."
)
HYPERVOLUME_NOTE = (
    "Several objectives: the hypervolume the measured recipes dominate, as a "
    "fraction of the box between the worst and best measured value of each."
)
NO_TRADEOFF_NOTE = (
    "One objective: there is no trade-off to show. Add a second objective "
    "(e.g. minimise cement) to see the Pareto front."
)


def plural(n: int, word: str) -> str:
    """``"1 round"``, ``"2 rounds"``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def saved_labels(listing: pd.DataFrame) -> dict[str, str]:
    """``{id: "name (n recipes, k rounds)"}`` of :meth:`CampaignStore.list`'s rows."""
    return {
        row.id: f"{row.name} ({row.n_measured} recipes, {plural(row.n_rounds, 'round')})"
        for row in listing.itertuples()
    }


def summary(campaign: Campaign) -> str:
    """The line under the campaign's name: recipes, rounds and objectives."""
    objectives = ", ".join(o.describe() for o in campaign.space.objectives)
    return (
        f"{len(campaign.measured)} measured recipes, {plural(campaign.n_rounds, 'round')} · "
        f"objectives: {objectives}"
    )


def constraints_markdown(space: SearchSpace) -> str:
    """The constraints as a markdown list ("" when there are none)."""
    if not space.constraints:
        return ""
    return (
        "**Constraints** (every suggestion meets them; they are fixed when the campaign "
        "is created)\n"
        + "\n".join(
            f"- {CONSTRAINT_KINDS.get(c.kind, c.kind)}: `{c.describe()}`" for c in space.constraints
        )
    )


def categorical_notes(space: SearchSpace) -> list[str]:
    """One line per categorical variable with its choices."""
    return [
        f"{v.name} (categorical): one of {', '.join(v.choices)}"
        for v in space.variables
        if isinstance(v, CategoricalVariable)
    ]


def continuous_names(space: SearchSpace) -> list[str]:
    return [v.name for v in space.variables if isinstance(v, ContinuousVariable)]


def float_columns(frame: pd.DataFrame) -> list[str]:
    """The float columns of a table (the page shows them with 2 decimals)."""
    return [c for c in frame.columns if pd.api.types.is_float_dtype(frame[c])]


def infer_each(
    table: pd.DataFrame, columns: Sequence[str]
) -> tuple[list[Variable], list[InvalidInputError]]:
    """Continuous variables of ``columns`` one by one: the ones that work, and the error of
    each that does not (a text or constant column), so the rest can be kept."""
    inferred: list[Variable] = []
    problems: list[InvalidInputError] = []
    for column in columns:
        try:
            inferred.extend(infer_variables(table, [column]))
        except InvalidInputError as err:
            problems.append(err)
    return inferred, problems


def bounds_rows(variables: Sequence[ContinuousVariable]) -> pd.DataFrame:
    """The editable bounds of inferred variables (``variable``, ``lower``, ``upper``,
    ``unit``): the table :func:`core.optimize.entries.variables_from_entries` reads back."""
    return pd.DataFrame(
        [{"variable": v.name, "lower": v.lower, "upper": v.upper, "unit": ""} for v in variables]
    )


@dataclass(frozen=True)
class SuggestionsReport:
    """The open round of suggestions, ready to lay out.

    Attributes:
        table: the suggested recipes with ``<objective>_mean`` / ``<objective>_std``, then
            the quantities their constraints speak of (:func:`derived_quantities`).
        worst: the largest constraint deviation over all suggestions (raw units).
        note: the sentence under the table.
        export: the CSV to download: the results template (an empty column per measured
            objective) followed by the predictions.
        file_name: ``<campaign>_round<next round>.csv`` (no spaces or odd characters).
        float_columns: the table's float columns.
    """

    table: pd.DataFrame
    worst: float
    note: str
    export: str
    file_name: str
    float_columns: tuple[str, ...]


def suggestions_report(campaign: Campaign) -> SuggestionsReport | None:
    """The campaign's open suggestions as a report (None when there are none)."""
    suggestions = campaign.suggestions
    if suggestions is None:
        return None
    worst = float(campaign.space.violations(suggestions).to_numpy().max())
    template = campaign.results_template()
    export = pd.concat([template, suggestions.drop(columns=campaign.space.names)], axis=1)
    table = pd.concat([suggestions, derived_quantities(campaign.space, suggestions)], axis=1)
    return SuggestionsReport(
        table=table,
        worst=worst,
        note=(
            f"Every suggestion meets every constraint (largest deviation {worst:.1e}). "
            "Columns `_mean`/`_std`: the surrogate's prediction and its uncertainty."
        ),
        export=csv_bytes(export).decode(),
        file_name=f"{file_stem(campaign.name)}_round{campaign.n_rounds + 1}.csv",
        float_columns=tuple(float_columns(suggestions)),
    )


def derived_quantities(space, recipes: pd.DataFrame) -> pd.DataFrame:
    """The quantities the campaign's rules are written in, per recipe: each ratio window's
    ratio (``water / (cement+blast_furnace_slag+fly_ash)``) and each mixture's total, so a
    suggestion can be checked at a glance."""
    from core.optimize.parts import MixtureConstraint, RatioConstraint

    out = {}
    for c in space.constraints:
        if isinstance(c, RatioConstraint):
            num = recipes[list(c.numerator)].sum(axis=1)
            den = recipes[list(c.denominator)].sum(axis=1)
            label = f"{'+'.join(c.numerator)} / ({'+'.join(c.denominator)})"
            out[label] = (num / den.where(den != 0)).round(4)
        elif isinstance(c, MixtureConstraint):
            out[f"total of {'+'.join(c.components)}"] = recipes[list(c.components)].sum(axis=1)
    return pd.DataFrame(out, index=recipes.index)


def file_stem(name: str) -> str:
    """A campaign name as a file name: letters, digits, ``-`` and ``_`` only."""
    import re

    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", name.strip()).strip("_")
    return stem or "campaign"


def results_to_add(
    uploaded: pd.DataFrame | None, entered: pd.DataFrame | None, upload_name: str | None = None
) -> pd.DataFrame:
    """The results table to add: the uploaded file when there is one, else the edited one.

    Raises:
        InvalidInputError: a file was uploaded (``upload_name``) but could not be read
            (``uploaded`` is None), or there is nothing to add.
    """
    if upload_name is not None and uploaded is None:
        raise InvalidInputError(
            "The uploaded file cannot be read",
            got=upload_name,
            expected="a CSV table of recipes with their measured results",
            fix="see the message above the button, fix the file and upload it again",
        )
    table = uploaded if uploaded is not None else entered
    if table is None:
        raise InvalidInputError(
            "No results to add",
            got="nothing entered",
            expected="a results table",
            fix="get suggestions first or upload a CSV",
        )
    return table


def map_note(grid: pd.DataFrame) -> str:
    """The sentence under a :meth:`Campaign.prediction_map`: what the other variables are
    held at, which ones keep a mixture total, what faded cells and dots are."""
    balance = grid.attrs.get("balance", [])
    return (
        "Other variables held at the best measured recipe"
        + (f", except {', '.join(balance)}, which keeps the mixture total" if balance else "")
        + "; faded cells break a constraint. Dots: measured recipes."
    )
