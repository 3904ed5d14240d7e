"""What the recipe page shows (core.optimize.report) and the upload form's campaign
(entries.campaign_from_entries): labels, summaries, the suggestions report, the results
table to add, notes. No surrogate is fitted: suggestions are set by hand."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from core.exceptions import InvalidInputError
from core.optimize import (
    Campaign,
    CardinalityConstraint,
    CategoricalVariable,
    ContinuousVariable,
    FixedVariable,
    MixtureConstraint,
    Objective,
    RatioConstraint,
    entries,
)
from core.optimize import report as rep
from core.optimize.search_space import SearchSpace
from core.plots import optimize as plots


@pytest.fixture
def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    a = rng.uniform(10, 60, 12)
    b = rng.uniform(10, 60, 12)
    return pd.DataFrame(
        {
            "a": a,
            "b": b,
            "c": 100 - a - b,
            "age": 28.0,
            "kind": np.where(np.arange(12) % 2 == 0, "X", "Y"),
            "y": a - 0.5 * b,
            "z": a + b,
        }
    )


@pytest.fixture
def campaign(table) -> Campaign:
    return Campaign.from_table(
        table,
        [
            ContinuousVariable("a", 0, 100),
            ContinuousVariable("b", 0, 100),
            ContinuousVariable("c", 0, 100, "kg"),
            FixedVariable("age", 28.0),
            CategoricalVariable("kind", ("X", "Y")),
        ],
        [Objective("y", "maximize"), Objective("z", "target", 40, 80)],
        [MixtureConstraint(("a", "b", "c"), 100), RatioConstraint(("a",), ("b",), 0.1, 10)],
        name="Mix",
    )


def test_plural_and_saved_labels():
    assert rep.plural(1, "round") == "1 round"
    assert rep.plural(0, "round") == "0 rounds"
    listing = pd.DataFrame(
        {"id": ["x1", "x2"], "name": ["A", "B"], "n_measured": [40, 7], "n_rounds": [0, 1]}
    )
    assert rep.saved_labels(listing) == {
        "x1": "A (40 recipes, 0 rounds)",
        "x2": "B (7 recipes, 1 round)",
    }
    assert rep.saved_labels(listing.iloc[:0]) == {}


def test_summary_names_recipes_rounds_and_objectives(campaign):
    assert rep.summary(campaign) == (
        "12 measured recipes, 0 rounds · objectives: maximize y, 40 <= z <= 80"
    )


def test_constraints_markdown_lists_each_rule_by_kind(campaign):
    text = rep.constraints_markdown(campaign.space)
    lines = text.splitlines()
    assert lines[0].startswith("**Constraints** (every suggestion meets them")
    assert lines[1:] == ["- Mixture: `a + b + c = 100`", "- Ratio window: `0.1 <= (a) / (b) <= 10`"]
    bare = SearchSpace((ContinuousVariable("a", 0, 1),), (Objective("y"),), ())
    assert rep.constraints_markdown(bare) == ""


def test_variable_notes_and_names(campaign):
    assert rep.categorical_notes(campaign.space) == ["kind (categorical): one of X, Y"]
    assert rep.continuous_names(campaign.space) == ["a", "b", "c"]


def test_float_columns_skips_ints_and_text():
    frame = pd.DataFrame({"f": [1.5], "i": [2], "s": ["x"], "g": [np.nan]})
    assert rep.float_columns(frame) == ["f", "g"]


def test_infer_each_keeps_the_good_columns_and_names_the_bad(table):
    inferred, problems = rep.infer_each(table, ["a", "kind", "age", "b"])
    assert [v.name for v in inferred] == ["a", "b"]
    assert inferred[0].lower == pytest.approx(table["a"].min())
    assert inferred[0].upper == pytest.approx(table["a"].max())
    assert len(problems) == 2 and all(isinstance(p, InvalidInputError) for p in problems)
    assert "constant" in str(problems[1]) and "'age'" in str(problems[1])
    assert rep.infer_each(table, []) == ([], [])


def test_bounds_rows_round_trip_through_variables_from_entries(table):
    inferred, _ = rep.infer_each(table, ["a", "b"])
    rows = rep.bounds_rows(inferred)
    assert list(rows.columns) == ["variable", "lower", "upper", "unit"]
    assert rows["variable"].tolist() == ["a", "b"] and (rows["unit"] == "").all()
    variables = entries.variables_from_entries(rows, {"age": 28.0}, {"kind": ["X", "Y"]})
    assert variables[:2] == list(inferred)
    assert variables[2:] == [FixedVariable("age", 28.0), CategoricalVariable("kind", ("X", "Y"))]


def test_no_suggestions_no_report(campaign):
    assert rep.suggestions_report(campaign) is None


def test_suggestions_report(campaign):
    campaign.suggestions = pd.DataFrame(
        {
            "a": [30.0, 50.0],
            "b": [30.0, 20.0],
            "c": [40.0, 30.0005],  # the second breaks the mixture total by 5e-4
            "age": [28.0, 28.0],
            "kind": ["X", "Y"],
            "y_mean": [15.0, 40.0],
            "y_std": [1.0, 2.0],
            "z_mean": [60.0, 70.0],
            "z_std": [3.0, 4.0],
        }
    )
    report = rep.suggestions_report(campaign)
    # the suggestions, then the quantities the rules speak of
    assert list(report.table.columns[:9]) == list(campaign.suggestions.columns)
    assert report.table["total of a+b+c"].tolist() == pytest.approx([100.0, 100.0005])
    assert report.table["a / (b)"].tolist() == pytest.approx([1.0, 2.5])
    assert report.worst == pytest.approx(5e-4, rel=1e-6)
    assert report.note.startswith(
        "Every suggestion meets every constraint (largest deviation 5.0e-04)."
    )
    assert report.file_name == "Mix_round1.csv"
    assert report.float_columns[:8] == ("a", "b", "c", "age", "y_mean", "y_std", "z_mean", "z_std")
    export = pd.read_csv(io.StringIO(report.export))
    assert list(export.columns) == [  # the columns to fill in first
        "y", "z", "a", "b", "c", "age", "kind", "y_mean", "y_std", "z_mean", "z_std"
    ]  # fmt: skip
    assert export[["y", "z"]].isna().all().all()  # to be filled in with the measurements
    assert export["z_mean"].tolist() == [60.0, 70.0]
    # the download, filled in, is what add_results takes back
    assert campaign.add_results(export.assign(y=[1.0, 2.0], z=[50.0, 60.0])) == 2
    assert rep.suggestions_report(campaign) is None


def test_file_names_have_no_spaces():
    assert rep.file_stem("Concrete strength (2)") == "Concrete_strength_2"
    assert rep.file_stem("  ../etc/passwd ") == "etc_passwd"
    assert rep.file_stem("???") == "campaign"


def test_results_to_add_prefers_the_upload_and_names_what_is_missing():
    entered, uploaded = pd.DataFrame({"a": [1]}), pd.DataFrame({"a": [2]})
    assert rep.results_to_add(uploaded, entered, "r.csv") is uploaded
    assert rep.results_to_add(None, entered) is entered
    with pytest.raises(InvalidInputError, match="cannot be read") as err:
        rep.results_to_add(None, entered, "bad.csv")
    assert err.value.got == "bad.csv"
    with pytest.raises(InvalidInputError, match="No results to add"):
        rep.results_to_add(None, None)


def test_map_note_names_the_balance_component():
    grid = pd.DataFrame({"mean": [1.0]})
    assert rep.map_note(grid) == (
        "Other variables held at the best measured recipe; faded cells break a constraint. "
        "Dots: measured recipes."
    )
    grid.attrs["balance"] = ["fine_aggregate"]
    assert ", except fine_aggregate, which keeps the mixture total;" in rep.map_note(grid)


def test_campaign_from_entries_builds_the_described_campaign(table):
    bounds = rep.bounds_rows(rep.infer_each(table, ["a", "b", "c"])[0]).assign(lower=0.0)
    rules = entries.constraint_builders(
        mixture=["a", "b", "c"],
        total=100.0,
        cardinality=[(["a", "b", "c"], 2)],
        numeric=["a", "b", "c", "age"],
    )
    campaign = entries.campaign_from_entries(
        table,
        bounds,
        {"age": 28.0},
        {"kind": ["X", "Y"]},
        {"y": ("maximize", None, None), "z": ("target", 40.0, None)},
        rules,
        name="Upload",
    )
    space = campaign.space
    assert campaign.name == "Upload" and len(campaign.measured) == 12
    assert space.names == ["a", "b", "c", "age", "kind"]
    assert space.variable("a").lower == 0.0  # the edited bound
    assert space.variable("a").upper == pytest.approx(table["a"].max())
    assert space.constraints == (
        MixtureConstraint(("a", "b", "c"), 100.0),
        CardinalityConstraint(("a", "b", "c"), 2),
    )
    assert [o.describe() for o in space.objectives] == ["maximize y", "z >= 40"]


def test_campaign_from_entries_raises_the_first_problem_then_the_bad_entry(table):
    bounds = rep.bounds_rows(rep.infer_each(table, ["a", "b"])[0])
    goals = {"y": ("maximize", None, None)}
    _, problems = rep.infer_each(table, ["age"])
    with pytest.raises(InvalidInputError, match="'age' is constant"):
        entries.campaign_from_entries(table, bounds, {}, {}, goals, [], name="x", problems=problems)
    bad = entries.constraint_builders(ratios=[(["a"], ["b"], 0.6, 0.5)])
    with pytest.raises(InvalidInputError, match="^Ratio window 1: "):
        entries.campaign_from_entries(table, bounds, {}, {}, goals, bad, name="x")


def test_pareto_figure_reads_the_round_column_by_default(campaign):
    figure = plots.pareto_figure(campaign.measured, ["y", "z"], campaign.pareto_mask())
    assert [t.name for t in figure.data] == ["dominated", "Pareto-optimal"]
    n_front = int(campaign.pareto_mask().sum())
    assert len(figure.data[1].x) == n_front and len(figure.data[0].x) == 12 - n_front
    assert (figure.data[1].customdata[:, 2] == 0).all()  # round 0
