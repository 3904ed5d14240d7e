"""Gradient-boosted trees as arrays (core.models.trees): same predictions as scikit-learn,
through a safetensors round trip, and composition features that do not depend on order."""

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file
from sklearn.ensemble import HistGradientBoostingRegressor

from core.featurizers.composition import DescriptorTable, ElementTable
from core.models.glass import standardised_to_units
from core.models.trees import TreeEnsemble, composition_features


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 5))
    y = np.sin(2 * x[:, 0]) + x[:, 1] * x[:, 2] + 0.1 * rng.normal(size=600)
    model = HistGradientBoostingRegressor(max_iter=60, max_leaf_nodes=15, random_state=0)
    return model.fit(x, y), rng.normal(size=(257, 5))


def test_arrays_predict_as_sklearn(fitted, tmp_path):
    model, x = fitted
    trees = TreeEnsemble.from_sklearn(model)
    assert trees.n_trees == model.n_iter_
    np.testing.assert_allclose(trees.predict(x, chunk=100), model.predict(x), atol=1e-9)
    save_file(trees.to_arrays("Tg."), str(tmp_path / "t.safetensors"))
    again = TreeEnsemble.from_arrays(load_file(str(tmp_path / "t.safetensors")), "Tg.")
    np.testing.assert_allclose(again.predict(x), model.predict(x), atol=1e-9)


def test_missing_values_follow_the_fitted_side(fitted):
    model, x = fitted
    x = x.copy()
    x[::3, 0] = np.nan
    trees = TreeEnsemble.from_sklearn(model)
    np.testing.assert_allclose(trees.predict(x), model.predict(x), atol=1e-9)


def test_units_undo_the_log_scaler(fitted):
    model, x = fitted
    trees = TreeEnsemble.from_sklearn(model)
    scaler = {"mean": 1.0, "std": 0.5, "transform": "log"}
    np.testing.assert_allclose(
        standardised_to_units(trees.predict(x), scaler), np.exp(model.predict(x) * 0.5 + 1.0)
    )


def test_composition_features():
    from core.models.glass import load_predictor

    folder = load_predictor().folder
    elements = ElementTable.from_json(folder / "elements.json")
    table = DescriptorTable.from_json(folder / "descriptors.json", elements)
    a = {"SiO2": 0.75, "Na2O": 0.25}
    b = {"Na2O": 0.25, "SiO2": 0.75}
    unknown = {"SiO2": 0.75, "Na2O": 0.20, "Tm2O3": 0.05}  # not in the compound list
    f = composition_features([a, b, unknown], ["SiO2", "Na2O"], ["Na", "O", "Si"], table)
    assert f.shape == (3, 2 + 2 * table.raw.shape[1] + 3)
    np.testing.assert_array_equal(f[0], f[1])  # order does not matter, to the bit
    assert f[0, :2].tolist() == [0.75, 0.25]
    # atom fractions: 0.75 SiO2 + 0.25 Na2O = 0.5 Na, 0.75 Si, 1.75 O of 3 atoms
    np.testing.assert_allclose(f[0, -3:], [0.5 / 3, 1.75 / 3, 0.75 / 3])
    assert f[2, :2].tolist() == [0.75, 0.20]
    assert np.isfinite(f[2]).all() and not np.allclose(f[2], f[0])
    # one compound: no spread of descriptors
    pure = composition_features([{"SiO2": 1.0}], ["SiO2"], ["O", "Si"], table)
    n = table.raw.shape[1]
    np.testing.assert_allclose(pure[0, 1 + n : 1 + 2 * n], 0.0, atol=1e-6)


def test_composition_features_do_not_depend_on_the_amounts_basis():
    """Percent or fractions: the same glass, the same features (the networks normalise too)."""
    from core.models.glass import load_predictor

    folder = load_predictor().folder
    elements = ElementTable.from_json(folder / "elements.json")
    table = DescriptorTable.from_json(folder / "descriptors.json", elements)
    args = (["SiO2", "Na2O", "CaO"], ["Ca", "Na", "O", "Si"], table)
    percent = composition_features([{"SiO2": 75, "Na2O": 15, "CaO": 10}], *args)
    fraction = composition_features([{"SiO2": 0.75, "Na2O": 0.15, "CaO": 0.10}], *args)
    np.testing.assert_array_equal(percent, fraction)
    # a stored glass (float32 fractions, sum 1 +- 1e-7) and the same one typed in: the same
    # features, so the trees take the same branches (their thresholds sit on such values)
    stored = {k: float(np.float32(v)) for k, v in {"SiO2": 0.65, "Na2O": 0.3, "CaO": 0.05}.items()}
    typed = {"SiO2": 65.0, "Na2O": 30.0, "CaO": 5.0}
    assert stored["SiO2"] != 0.65
    np.testing.assert_array_equal(
        composition_features([stored], *args), composition_features([typed], *args)
    )
