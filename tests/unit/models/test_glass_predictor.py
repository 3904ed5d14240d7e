"""The glass predictor facade on the committed weights (trained_models/glass)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core.config import REPO_ROOT
from core.exceptions import DataNotAvailableError, InvalidInputError, ModelNotAvailableError
from core.models.glass import (
    PROPERTIES,
    TIE_WARN_K,
    VISCOSITY_POINTS,
    GlassPredictor,
    load_predictor,
    tie_message,
)
from core.nn.glass import GlassSetConfig, GlassSetNet

MODEL = REPO_ROOT / "trained_models" / "glass"
SODA_LIME = {"SiO2": 75, "Na2O": 15, "CaO": 10}


@pytest.fixture(scope="module")
def model() -> GlassPredictor:
    return load_predictor(MODEL)


def test_card_rebuilds_the_network(model):
    net = GlassSetNet(GlassSetConfig(**model.card["config"]))
    assert sum(p.numel() for p in net.parameters()) == sum(
        p.numel() for p in model.members[0].parameters()
    )
    assert model.card["ensemble_size"] == len(model.members) >= 2
    test = model.card["test_metrics"]
    assert all(test[p]["n"] > 1000 for p in PROPERTIES)
    assert model.card["data"]["sciglass"]["split_fingerprints"]["test"] == "311d48b915c29893"
    assert model.card["summary"].startswith(f"test RMSE: Tg {test['Tg']['rmse']:.1f} K")


def test_predict_one_row_per_input_with_errors(model):
    frame = model.predict([SODA_LIME, "SiO2 70, XyO 30", {"SiO2": 100}, {}])
    assert len(frame) == 4
    for prop in PROPERTIES:
        assert prop in frame and f"{prop}_std" in frame
    assert frame.loc[0, "error"] == "" and frame.loc[2, "error"] == ""
    assert "unknown element symbol 'Xy'" in frame.loc[1, "error"]
    assert "empty" in frame.loc[3, "error"]
    assert np.isnan(frame.loc[1, "Tg"]) and not frame.loc[1, "in_domain"]
    row = frame.loc[0]
    # soda-lime: a sanity band, not a metric
    assert 700 < row["Tg"] < 900 and 1.45 < row["RefractiveIndex"] < 1.6
    assert 5e-6 < row["CTE"] < 15e-6 and row["CTE_ppm_per_K"] == pytest.approx(row["CTE"] * 1e6)
    assert 50 < row["ElasticModulus"] < 100
    assert all(row[f"{p}_std"] >= 0 for p in PROPERTIES)
    assert row["in_domain"]


def test_wt_basis_differs_from_mol(model):
    mol = model.predict([{"SiO2": 75, "PbO": 25}], basis="mol").loc[0]
    wt = model.predict([{"SiO2": 75, "PbO": 25}], basis="wt").loc[0]
    assert "25.00 PbO" in mol["composition"] and "PbO" in wt["composition"]
    assert wt["RefractiveIndex"] < mol["RefractiveIndex"]  # 25 wt% PbO is ~8 mol%


def test_unseen_and_non_oxide_components_are_flagged(model):
    frame = model.predict([{"SiO2": 60, "Na2O": 20, "Cs2MoO4": 20}, {"SiO2": 60, "NaF": 40}])
    assert not frame["in_domain"].any()
    assert "Cs2MoO4: unseen" in frame.loc[0, "domain_message"]
    assert "NaF" in frame.loc[1, "domain_message"]
    assert np.isfinite(frame.loc[0, "Tg"])  # still says something


def test_viscosity_curve_is_monotonic_and_consistent(model):
    curve = model.viscosity(SODA_LIME, np.linspace(700, 1800, 50))
    assert list(curve.columns[:3]) == ["T_K", "log10_viscosity", "log10_viscosity_std"]
    # capped (a member at the ceiling, 10^15 Pa s) only at the cold end, below the strain
    # point; strictly falling everywhere else
    capped = curve["at_ceiling"].to_numpy()
    assert capped[0] and not np.any(capped[1:] & ~capped[:-1])
    assert not capped[curve["T_K"] >= 0.95 * curve["T12"][0]].any()
    assert np.all(np.diff(curve["log10_viscosity"])[~capped[1:]] < 0)
    char = curve.attrs["characteristic"]
    assert list(char["point"]) == list(VISCOSITY_POINTS)
    assert np.all(np.diff(char["T_K"]) > 0)
    assert char.set_index("point").loc["annealing", "T_K"] == pytest.approx(
        curve["T12"][0], rel=0.02
    )
    assert curve["fragility"][0] > 14.97
    with pytest.raises(InvalidInputError, match="temperatures"):
        model.viscosity(SODA_LIME, [-5.0])


def test_viscosity_far_below_the_glass_transition_is_capped_not_extrapolated(model):
    """Regression: on GlassNet's split a test series listed at 334-485 K (60 MnO 40 SiO2, most
    likely degrees C) met one member's MYEGA curve extrapolated 2.5x below its T12 to
    log10 eta = 558, and the ensemble mean followed it. The predictor caps every member at
    LOG10_VISCOSITY_CEILING, so the mean is bounded and flagged as a lower bound."""
    import torch

    from core.nn.glass import LOG10_VISCOSITY_CEILING, myega_log10_viscosity

    temps = [0.4 * 819.0, 1800.0]  # T12 / 2.5 of this soda-lime glass, and a melt
    raw = model.raw_outputs([{"SiO2": 0.75, "Na2O": 0.15, "CaO": 0.10}])
    a, t12, m = (torch.from_numpy(raw[k][:, 0]).double() for k in ("A", "T12", "m"))
    uncapped = myega_log10_viscosity(a, t12, m, torch.tensor(temps[0], dtype=torch.float64))
    assert float(uncapped.max()) > 100  # what the members' curves say there
    curve = model.viscosity(SODA_LIME, temps)
    assert curve["log10_viscosity"].iloc[0] == pytest.approx(LOG10_VISCOSITY_CEILING)
    assert curve["at_ceiling"].tolist() == [True, False]
    assert curve["log10_viscosity"].iloc[1] < 6  # a melt well above its liquidus is runny


def test_report_gives_one_prediction_its_curve_and_the_characteristic_points(model):
    """What the page shows for one formulation, from one call (its speed is measured by
    benchmarks/glass.py, not here: a timed assertion fails on a busy CPU)."""
    out = model.report({"SiO2": 72, "Na2O": 14, "CaO": 9, "MgO": 4, "Al2O3": 1})
    assert len(out.prediction) == 1
    curve, points = out.curve, out.characteristic
    falling = ~curve["at_ceiling"].to_numpy()[1:]  # at the ceiling the curve is flat
    assert np.all(np.diff(curve["log10_viscosity"].to_numpy())[falling] < 0)
    assert np.all(np.diff(curve["log10_viscosity"].to_numpy()) <= 0)
    assert list(points["point"]) == ["strain", "annealing", "softening", "working", "melting"]
    assert np.all(np.diff(points["T_K"].to_numpy()) > 0)  # less viscous = hotter
    # the annealing point (10^12 Pa s) is T12 of the curve
    assert points["T_K"].iloc[1] == pytest.approx(curve["T12"].iloc[0], rel=1e-4)
    row = out.row
    assert row["tie_message"] == tie_message(row["Tg"], row["T12"]) == out.tie_message
    # display values come in display units (CTE in ppm/K) with their std
    shown = dict(out.values)
    assert shown["Thermal expansion (CTE)"].endswith("ppm/K")
    assert " ± " in shown["Glass transition Tg"] and shown["Glass transition Tg"].endswith(" K")
    assert out.neighbours is None and out.measured_viscosity.empty  # not asked for


def test_tie_message_only_when_tg_and_t12_disagree_beyond_the_bound():
    assert tie_message(800.0, 800.0 + TIE_WARN_K) == ""
    assert tie_message(800.0, 800.0 - TIE_WARN_K + 1) == ""
    text = tie_message(800.0, 730.0)
    assert "T12 (730 K)" in text and "Tg shown (800 K)" in text and "differ by 70 K" in text


def test_predict_table_both_layouts(model):
    wide = pd.DataFrame({"name": ["a", "b"], "SiO2": [75, "x"], "Na2O": [25, 5], "note": [1, 2]})
    out = model.predict_table(wide)
    assert list(out["name"]) == ["a", "b"] and "note" in out
    assert out.loc[0, "error"] == "" and "not a number" in out.loc[1, "error"]
    text = pd.DataFrame({"composition": ["SiO2 75, Na2O 25", "Xy 3"]})
    out = model.predict_table(text)
    assert np.isfinite(out.loc[0, "Tg"]) and "Xy" in out.loc[1, "error"]
    with pytest.raises(InvalidInputError, match="cannot find the composition"):
        model.predict_table(pd.DataFrame({"foo": [1], "bar": [2]}))


def test_nearest_without_data_cache_says_how_to_get_it(model, studio_env):
    from core.models import glass

    glass._reference.cache_clear()
    with pytest.raises(DataNotAvailableError, match="prepare"):
        model.nearest(SODA_LIME)
    glass._reference.cache_clear()


def test_std_is_the_member_spread_times_the_cards_calibration(model, tmp_path):
    calibration = model.card["calibration"]
    for p in PROPERTIES:  # fitted on validation, measured on test: close to nominal
        c = calibration[p]
        assert c["n"] > 1000 and 0.6 < c["within_1std"] < 0.78, (p, c)
        assert c["within_2std"] > c["within_1std"] and c["std_scale"] > 0
    raw = model.raw_outputs([{"SiO2": 0.75, "Na2O": 0.15, "CaO": 0.10}])
    summary = model.summarise(raw)
    expected = np.sqrt((summary["raw_std"] * model.std_scale) ** 2 + model.std_floor**2)
    assert np.allclose(summary["std"], expected)
    # the floor: members that agree by chance still leave the scatter between measurements
    assert (model.std_floor > 0).all() and (summary["std"] >= model.std_floor - 1e-12).all()
    assert all(calibration[p]["std_floor"] == model.std_floor[j] for j, p in enumerate(PROPERTIES))
    # a card without calibration (older models) keeps the members' spread
    import shutil

    folder = tmp_path / "glass"
    shutil.copytree(MODEL, folder)
    card = json.loads((folder / "card.json").read_text())
    del card["std_scale"], card["std_floor"]
    (folder / "card.json").write_text(json.dumps(card))
    plain_model = GlassPredictor(folder)
    plain = plain_model.summarise(raw)
    assert np.allclose(plain["std"], summary["raw_std"])
    # the viscosity head: one factor for the band, the MYEGA parameters and the temperatures
    c = calibration["log10_viscosity"]
    assert c["n"] > 1000 and 0.6 < c["within_1std"] < 0.78, c
    assert model.viscosity_std_scale == c["std_scale"] > 0
    scaled, unscaled = model.report(SODA_LIME), plain_model.report(SODA_LIME)
    for frame, column in (
        ("curve", "log10_viscosity_std"),
        ("curve", "T12_std"),
        ("curve", "fragility_std"),
        ("characteristic", "T_K_std"),
    ):
        assert np.allclose(
            getattr(scaled, frame)[column],
            getattr(unscaled, frame)[column] * model.viscosity_std_scale,
        ), column
    assert np.allclose(scaled.curve["log10_viscosity"], unscaled.curve["log10_viscosity"])


def test_missing_model_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ModelNotAvailableError, match="python -m core.train.glass"):
        load_predictor(tmp_path / "nothing")


def test_neighbour_correction_follows_close_agreeing_neighbours_only():
    from core.models.glass import neighbour_correction

    residuals = np.array([[20.0, 20.0, np.nan], [20.0, 20.0, 20.0], [20.0, -20.0, 0.0]])
    dist = np.array([[0.1, 0.2, 0.0], [60.0, 70.0, 80.0], [0.1, 0.1, 0.1]])
    shift = neighbour_correction(dist, residuals, h_molpct=4.0, lam=0.03)
    assert 19.5 < shift[0] < 20.0  # close, agreeing (the unmeasured neighbour is ignored)
    assert abs(shift[1]) < 1e-6  # far: the network alone
    assert abs(shift[2]) < 1e-6  # close but disagreeing: they cancel
    clipped = neighbour_correction(dist[:1], residuals[:1] * 10, 4.0, 0.03, clip=50.0)
    assert 48.0 < clipped[0] <= 50.0


def test_estimate_is_the_network_plus_the_fitted_correction(model, tmp_path):
    import shutil

    fitted = model.card["neighbour_correction"]
    for p in PROPERTIES:  # chosen on validation glasses: never worse than the network there
        assert fitted[p]["val_rmse_corrected"] <= fitted[p]["val_rmse_network"]
    comps = [SODA_LIME, {"SiO2": 0.6, "PbO": 0.4}, {"GeO2": 0.5, "Bi2O3": 0.3, "TeO2": 0.2}]
    est = model.estimate(comps)
    assert np.allclose(est["mean"], est["model_mean"] + est["correction"])
    no_trees = [j for j, p in enumerate(PROPERTIES) if p not in model.trees]
    assert np.allclose(est["model_mean"][:, no_trees], est["network_mean"][:, no_trees])
    assert np.abs(est["correction"]).max() > 0  # soda-lime has close measured neighbours
    # without the residuals file the predictor is the network alone
    folder = tmp_path / "glass"
    shutil.copytree(MODEL, folder, ignore=shutil.ignore_patterns("_members"))
    (folder / "residuals.safetensors").unlink()
    card = json.loads((folder / "card.json").read_text())
    card.get("files", {}).pop("residuals.safetensors", None)  # removed on purpose
    (folder / "card.json").write_text(json.dumps(card))
    plain = GlassPredictor(folder).estimate(comps)
    assert np.allclose(plain["mean"], est["model_mean"]) and not plain["correction"].any()
    report = model.report(SODA_LIME).row
    assert np.isclose(report["Tg"] - report["Tg_correction"], est["model_mean"][0, 0])


def test_trees_blend_into_their_property_only(model, tmp_path):
    """A card's trees enter their property as (1 - w) * networks + w * trees, in card
    units, before the correction; the other properties and the networks are untouched.
    One leaf per tree keeps the trees' output known: baseline + leaf = 0.5 std."""
    import shutil

    from safetensors.numpy import save_file

    from core.models.trees import TreeEnsemble

    folder = tmp_path / "glass"
    shutil.copytree(MODEL, folder, ignore=shutil.ignore_patterns("_members"))
    (folder / "residuals.safetensors").unlink()  # the network (+ trees) alone
    (folder / "trees.safetensors").unlink(missing_ok=True)
    card = json.loads((folder / "card.json").read_text())
    for name in ("residuals.safetensors", "trees.safetensors"):
        card.get("files", {}).pop(name, None)
    leaf = TreeEnsemble(
        feature=np.zeros(1, np.int32),
        threshold=np.zeros(1),
        left=np.zeros(1, np.int64),
        right=np.zeros(1, np.int64),
        value=np.array([0.25]),
        is_leaf=np.ones(1, bool),
        missing_left=np.zeros(1, bool),
        roots=np.zeros(1, np.int64),
        baseline=0.25,
    )
    save_file(leaf.to_arrays("Tg."), str(folder / "trees.safetensors"))
    card["trees"] = {
        "compounds": ["SiO2", "Na2O"],
        "elements": ["Na", "O", "Si"],
        "properties": {"Tg": {"weight": 0.4}},
    }
    (folder / "card.json").write_text(json.dumps(card))
    blended = GlassPredictor(folder)
    comps = [SODA_LIME, {"SiO2": 0.6, "PbO": 0.4}]
    est = blended.estimate(comps)
    scaler = blended.scalers["Tg"]
    tree_tg = 0.5 * scaler["std"] + scaler["mean"]
    if scaler["transform"] == "log":
        tree_tg = np.exp(tree_tg)
    assert np.allclose(est["mean"][:, 0], 0.6 * est["network_mean"][:, 0] + 0.4 * tree_tg)
    assert np.allclose(est["mean"][:, 1:], est["network_mean"][:, 1:])
    assert np.allclose(est["network_mean"], model.estimate(comps)["network_mean"])


def test_nearest_is_batch_independent_and_breaks_ties_by_row():
    """The nearest-neighbour search gives each query the same neighbours alone or in a
    batch of any size, exact duplicates in the index go to the lower row, and a repeated
    call (the domain check after the correction) is answered from the memo."""
    import numpy as np
    from scipy.sparse import csr_matrix

    from core.models.glass import SparseCompositions

    rng = np.random.default_rng(0)
    dense = rng.dirichlet(np.ones(4), 300)
    dense = np.hstack([dense, np.zeros((300, 2))])
    dense[7] = dense[3]  # duplicates: rows 3 and 7, rows 11 and 290
    dense[290] = dense[11]
    m = csr_matrix(dense)
    index = SparseCompositions(m.indptr, m.indices, m.data, dense.shape[1])
    queries = [{c: float(x) for c, x in enumerate(dense[i]) if x} for i in (3, 11, 50)]
    queries.append({0: 0.5, 1: 0.3, -1: 0.2})  # 20 mol% of a component unknown to the index
    d_all, r_all = index.nearest(queries, k=5)
    for i, q in enumerate(queries):
        d_one, r_one = SparseCompositions(m.indptr, m.indices, m.data, 6).nearest([q], k=5)
        np.testing.assert_array_equal(r_one[0], r_all[i])
        np.testing.assert_allclose(d_one[0], d_all[i])
    assert r_all[0][:2].tolist() == [3, 7] and d_all[0][1] < 1e-6  # float32 queries
    assert r_all[1][:2].tolist() == [11, 290]
    assert d_all[3][0] >= 0.1  # the unknown 20 mol% is half of the moved distance
    brute = 0.5 * np.abs(dense - dense[50]).sum(axis=1)
    assert d_all[2][0] < 1e-6 and np.sort(brute)[1] == pytest.approx(d_all[2][1], abs=1e-6)
    d1 = index.nearest_distance(queries)
    np.testing.assert_array_equal(d1, d_all[:, 0])


@pytest.mark.parametrize("n_queries", [3, 200])  # 200: the KD-tree path, 3: the scan
def test_nearest_is_exact_against_brute_force(n_queries):
    """Both search paths return the true k nearest rows in ½ Σ|x - y| (the brute-force
    answer, ties by row), for queries on a few compounds against rows that also hold others
    (the part outside the query's compounds counts in full), duplicates included."""
    import numpy as np
    from scipy.sparse import csr_matrix

    from core.models.glass import SparseCompositions

    rng = np.random.default_rng(1)
    n_rows, n_cols = 2000, 10
    dense = rng.dirichlet(np.full(n_cols, 0.3), n_rows).astype(np.float32)
    dense[dense < 0.02] = 0
    dense /= dense.sum(axis=1, keepdims=True)
    dense[100:140] = dense[5]  # a block of 41 identical rows: ties beyond the tree's margin
    m = csr_matrix(dense)
    index = SparseCompositions(m.indptr, m.indices, m.data, n_cols)
    q = np.zeros((n_queries, n_cols))
    q[:, :4] = rng.dirichlet(np.ones(4), n_queries)
    q[0] = dense[5]  # asks for 16 of the 41 duplicates: the lowest rows
    queries = [{c: float(x) for c, x in enumerate(row) if x} for row in q]
    dist, rows = index.nearest(queries, k=16)
    for i, row in enumerate(q):
        brute = np.round(0.5 * np.abs(dense.astype(float) - row).sum(axis=1), 9)
        order = np.lexsort((np.arange(n_rows), brute))[:16]
        np.testing.assert_array_equal(rows[i], order)
        np.testing.assert_allclose(dist[i], brute[order], atol=1e-9)
    assert rows[0].tolist() == [5, *range(100, 115)]


@pytest.mark.parametrize(
    ("temperatures", "match"),
    [
        (["abc"], "not a number.*'abc'"),
        ([1000, "hot"], "not a number.*'hot'"),
        ("1200 K", "not a number"),
        ([float("nan")], "finite and in range.*nan"),
        ([-5.0], "finite and in range.*-5"),
        ([1e9, 2e9], r"finite and in range.*1e\+09 \(and 1 more\)"),
        ([], "wrong number"),
    ],
)
def test_viscosity_temperatures_are_checked_with_a_clear_message(temperatures, match):
    from core.models.glass import _temperatures

    with pytest.raises(InvalidInputError, match=match):
        _temperatures(temperatures)


def test_viscosity_temperatures_accept_numbers_and_numeric_text():
    from core.models.glass import _temperatures

    assert _temperatures(1200).tolist() == [1200.0]
    assert _temperatures(["1000", 1100.5]).tolist() == [1000.0, 1100.5]


def test_a_single_composition_is_one_glass_not_its_keys(model):
    one = model.predict({"SiO2": 75, "Na2O": 25})
    assert len(one) == 1 and one["error"].iloc[0] == ""
    assert len(model.predict("SiO2 75, Na2O 25")) == 1


def test_concurrent_batches_with_new_compounds_leave_the_shared_model_intact(model):
    """Issue #22 item 8: four concurrent batches bringing compounds the model had not seen
    raised IndexError and afterwards TiO2 got another compound's descriptors. Now each
    thread gets what a lone call gives, and the shared table does not grow."""
    from concurrent.futures import ThreadPoolExecutor

    unseen = ("Pm2O3", "Tc2O7", "Ac2O3", "RaO", "Np2O3", "Pu2O3")  # not in SciGlass
    assert all(model.descriptors.row(f) is None for f in unseen)
    base = model.predict([{"SiO2": 70, "Na2O": 20, "TiO2": 10}])
    size = len(model.descriptors)
    batches = [
        [{"SiO2": 70, "Na2O": 20, f: 10} for f in ("TiO2", *unseen[i % 3 :])] for i in range(8)
    ]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(model.predict, batches))
    for batch, frame in zip(batches, results, strict=True):
        assert (frame["error"] == "").all()
        alone = model.predict(batch)  # the same batch by itself
        np.testing.assert_allclose(frame["Tg"], alone["Tg"], rtol=1e-6)
        np.testing.assert_allclose(frame.iloc[0]["Tg"], base.iloc[0]["Tg"], rtol=1e-6)
    assert len(model.descriptors) == size
    np.testing.assert_allclose(model.predict(batches[0][:1])["Tg"], base["Tg"], rtol=1e-6)


def test_batch_reads_nan_text_as_an_error_and_blank_as_none(model):
    from core.models.glass_report import read_batch_csv

    table = read_batch_csv(b"name,SiO2,Na2O,CaO\nA,75,25,\nB,70,nan,10\n", "b.csv")
    out = model.predict_table(table)
    assert out.loc[0, "error"] == ""  # blank CaO: none of it
    assert "NaN" in out.loc[1, "error"] and "Na2O" in out.loc[1, "error"]


def test_batch_with_a_lowercase_component_column_is_refused(model):
    table = pd.DataFrame({"sio2": [75.0], "Na2O": [25.0]})
    with pytest.raises(InvalidInputError, match="rename the column 'sio2' to 'SiO2'"):
        model.predict_table(table)


def test_batch_keeps_user_columns_that_collide_with_the_prediction(model):
    """Issue #22 item 5: a user column called 'error' or a measured 'Tg' gave duplicate
    column names and crashed the page."""
    table = pd.DataFrame({"SiO2": [75.0], "Na2O": [25.0], "Tg": [760.0], "error": ["none"]})
    out = model.predict_table(table)
    assert out.columns.is_unique
    assert out.loc[0, "Tg (yours)"] == 760.0 and out.loc[0, "error (yours)"] == "none"
    assert out.loc[0, "error"] == "" and 600 < out.loc[0, "Tg"] < 900
