import random

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.data._split import assign_splits, fingerprint


def test_fractions_close_to_requested():
    keys = pd.Series([f"mol-{i}" for i in range(20_000)])
    counts = assign_splits(keys, seed=1).value_counts(normalize=True)
    assert counts["train"] == pytest.approx(0.8, abs=0.01)
    assert counts["val"] == pytest.approx(0.1, abs=0.01)
    assert counts["test"] == pytest.approx(0.1, abs=0.01)


def test_depends_on_seed_not_on_order():
    keys = pd.Series([f"k{i}" for i in range(1000)])
    a = assign_splits(keys, seed=7)
    shuffled = keys.sample(frac=1.0, random_state=0)
    b = assign_splits(shuffled, seed=7).reindex(keys.index)
    assert (a == b).all()
    assert (assign_splits(keys, seed=8) != a).any()


def test_equal_keys_share_a_split():
    keys = pd.Series(["x", "y", "x", "z", "y", "x"] * 50)
    split = assign_splits(keys, seed=3)
    assert split.groupby(keys).nunique().max() == 1


def test_rejects_fractions_not_summing_to_one():
    with pytest.raises(ValueError, match="sum to 1"):
        assign_splits(pd.Series(["a"]), seed=0, fractions=(0.5, 0.2, 0.2))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=30))
def test_fingerprint_is_order_independent(keys):
    assert fingerprint(keys) == fingerprint(list(reversed(keys)))
    assert fingerprint(random.Random(0).sample(keys, len(keys))) == fingerprint(keys)
