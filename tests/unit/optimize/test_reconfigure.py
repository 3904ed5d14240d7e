"""Campaign.reconfigure, the hypervolume history and the entry parsers of the page."""

import numpy as np
import pandas as pd
import pytest

from core.exceptions import InvalidInputError
from core.optimize import Campaign, ContinuousVariable, FixedVariable, Objective, entries
from core.optimize.campaign import dominated_hypervolume


@pytest.fixture
def campaign():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.uniform(0, 1, 12), "b": rng.uniform(0, 1, 12)})
    df["y"] = df["a"] - df["b"]
    df["z"] = df["a"] + df["b"]
    return Campaign.from_table(
        df,
        [ContinuousVariable("a", 0, 1), ContinuousVariable("b", 0, 1)],
        [Objective("y", "maximize"), Objective("z", "minimize")],
        [],
        name="t",
    )


def test_reconfigure_keeps_data_and_changes_bounds_and_objectives(campaign):
    campaign.store_id, campaign.version = "abc", 3
    new = campaign.reconfigure(
        {"a": (0.0, 2.0), "b": (0.5, 0.5)},
        [
            {"objective": "y", "direction": "target", "low": 0.1, "high": float("nan")},
            {"objective": "z", "direction": "minimize", "low": None, "high": None},
        ],
    )
    assert new.space.variable("a").upper == 2.0
    assert isinstance(new.space.variable("b"), FixedVariable)
    assert new.space.objectives[0].direction == "target" and new.space.objectives[0].high is None
    assert len(new.measured) == len(campaign.measured)
    assert (new.store_id, new.version) == ("abc", 3)


def test_reconfigure_names_bad_entries(campaign):
    with pytest.raises(InvalidInputError, match="Unknown variable"):
        campaign.reconfigure({"nope": (0, 1)})
    with pytest.raises(InvalidInputError, match="a bound is not a finite number"):
        campaign.reconfigure({"a": ("x", 1)})
    with pytest.raises(InvalidInputError, match="stay the campaign's own"):
        campaign.reconfigure(objectives=[{"objective": "z"}, {"objective": "y"}])


def test_hypervolume_history_grows_and_is_a_fraction(campaign):
    history = campaign.best_so_far()
    assert "hypervolume" in history and 0 < history["hypervolume"].iloc[-1] <= 1


def test_dominated_hypervolume_exact_values():
    assert dominated_hypervolume(np.array([[1.0, 1.0]])) == pytest.approx(1.0)
    assert dominated_hypervolume(np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])) == (
        pytest.approx(0.25)
    )


def test_linear_rows_skip_empty_rows_and_name_the_bad_one():
    rows = [
        {"a": 1.0, "b": -0.3, entries.RHS: 0.0, entries.LABEL: "a >= 0.3 b"},
        {"a": float("nan"), "b": float("nan"), entries.RHS: float("nan"), entries.LABEL: None},
        {"a": 0.0, "b": 0.0, entries.RHS: 1.0, entries.LABEL: None},
    ]
    builders = entries.linear_builders(rows, ["a", "b"])
    assert len(builders) == 2
    assert builders[0]().describe() == "a >= 0.3 b"
    with pytest.raises(InvalidInputError, match="^Linear inequality 3: "):
        builders[1]()


def test_fixed_default_and_choices():
    df = pd.DataFrame({"age": [7, 28, 28, None], "kind": [" A", "B", "A", None]})
    assert entries.fixed_default(df, "age") == 28.0
    assert entries.fixed_default(df.assign(age="x"), "age") == 0.0
    assert entries.category_choices(df, "kind") == ["A", "B"]
