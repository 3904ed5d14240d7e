"""Campaign tables: uploads and results are checked column by column; the loop grows rounds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from core.exceptions import InvalidInputError
from core.optimize import (
    Campaign,
    ContinuousVariable,
    FixedVariable,
    MixtureConstraint,
    Objective,
    RecommenderSettings,
    SearchSpace,
)

FAST = RecommenderSettings(num_restarts=2, raw_samples=32, mc_samples=32, maxiter=30)


def table(n=12, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.uniform(0, 1, n)
    b = rng.uniform(0, 1, n)
    return pd.DataFrame(
        {
            "a": a,
            "b": b,
            "c": 1 - a / 2 - b / 2,
            "y": -((a - 0.6) ** 2) - (b - 0.3) ** 2,
            "z": a + b,
        }
    )


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.assign(a=["x"] + list(d.a[1:])), "not numeric"),
        (lambda d: d.assign(y=[np.nan] + list(d.y[1:])), "missing values"),
        (lambda d: d.assign(a=1.0), "constant"),
        (lambda d: d.assign(y=2.0), "constant"),
        (lambda d: d.head(2), "too few rows"),
        (lambda d: d.drop(columns=["y"]), "lacks column"),
        (lambda d: pd.concat([d] * 9000, ignore_index=True), "too large"),
    ],
)
def test_bad_uploads_say_what_is_wrong(mutate, message):
    with pytest.raises(InvalidInputError, match=message) as info:
        Campaign.from_table(mutate(table()), ["a", "b"], ["y"])
    assert "How to fix" in str(info.value)


def test_non_numeric_message_names_rows():
    df = table()
    df["b"] = df["b"].astype(object)
    df.loc[4, "b"] = "12 kg"
    with pytest.raises(InvalidInputError, match=r"rows 5") as info:
        Campaign.from_table(df, ["a", "b"], ["y"])
    assert "12 kg" in str(info.value)


def test_loop_recommend_add_results_and_json_round_trip():
    df = table(14)
    campaign = Campaign.from_table(
        df,
        [ContinuousVariable("a", 0, 1), ContinuousVariable("b", 0, 1), FixedVariable("c", 0.5)],
        [Objective("y"), Objective("z", "minimize")],
        name="two objectives",
        settings=FAST,
    )
    suggestions = campaign.recommend(2)
    assert list(suggestions.columns) == ["a", "b", "c", "y_mean", "y_std", "z_mean", "z_std"]
    assert (suggestions["c"] == 0.5).all()
    assert campaign.space.is_feasible(suggestions).all()
    results = campaign.results_template()
    assert results[["y", "z"]].isna().all().all()
    with pytest.raises(InvalidInputError, match="missing values"):
        campaign.add_results(results)
    results["y"] = [-0.1, -0.2]
    results["z"] = results["a"] + results["b"]
    assert campaign.add_results(results.drop(columns=["c"])) == 2  # fixed column optional
    assert campaign.n_rounds == 1 and len(campaign.measured) == 16
    best = campaign.best_so_far()
    assert list(best["round"]) == [0, 1] and best["experiments"].tolist() == [14, 16]
    assert campaign.pareto_mask().any()
    again = Campaign.from_json(campaign.to_json())
    pd.testing.assert_frame_equal(again.measured, campaign.measured)
    assert again.space == campaign.space and again.settings == FAST


def test_results_with_unknown_labels_or_text_are_rejected():
    campaign = Campaign.from_table(table(), ["a", "b"], ["y"], settings=FAST)
    bad = pd.DataFrame({"a": [0.1], "b": ["lots"], "y": [1.0]})
    with pytest.raises(InvalidInputError, match="'b'.*not numeric"):
        campaign.add_results(bad)
    assert campaign.n_rounds == 0 and len(campaign.measured) == 12


def test_parity_and_map_have_the_documented_columns():
    df = table(12)
    campaign = Campaign.from_table(
        df,
        [
            ContinuousVariable("a", 0, 1),
            ContinuousVariable("b", 0, 1),
            ContinuousVariable("c", 0, 1),
        ],
        ["y"],
        [MixtureConstraint(("a", "b", "c"), 1.2)],
        settings=FAST,
    )
    loo = campaign.parity()
    assert list(loo.columns) == ["y", "y_loo_mean", "y_loo_std"] and len(loo) == 12
    assert np.corrcoef(loo["y"], loo["y_loo_mean"])[0, 1] > 0.5
    grid = campaign.prediction_map("a", "b", n=5)
    assert len(grid) == 25 and {"mean", "std", "feasible"} <= set(grid.columns)
    assert grid.attrs["balance"] == ["c"]  # c fills the mixture up to 1.2
    assert np.allclose(grid[["a", "b", "c"]].sum(axis=1), 1.2)
    assert grid["feasible"].any() and not grid["feasible"].all()  # c within [0, 1] or not
    with pytest.raises(InvalidInputError, match="two different"):
        campaign.prediction_map("a", "a")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "empty"),
        (b"\xff\xfe\x00binary", "not UTF-8"),
        (b"a\n1\n2\n", "fewer than two columns"),
        (b"a,b\n" + b"1,2\n" * 10, None),
        (b"a;b\n1;2\n3;4\n", None),
    ],
)
def test_csv_upload_reader(raw, message):
    from core.optimize.tables import read_csv_upload

    if message is None:
        assert list(read_csv_upload(raw).columns) == ["a", "b"]
    else:
        with pytest.raises(InvalidInputError, match=message):
            read_csv_upload(raw)
    with pytest.raises(InvalidInputError, match="too large"):
        read_csv_upload(b"a,b\n" + b"1,2\n" * 100, max_bytes=50)


@pytest.mark.parametrize("kernel", ["matern-gamma", "botorch"])
def test_surrogate_predicts_held_out_recipes(kernel):
    """Each kernel's GP, fitted on 40 recipes of a smooth 3-variable response, predicts 40
    unseen recipes far better than their mean (R^2 > 0.8), with honest error bars."""
    from core.optimize import encoding, surrogate

    rng = np.random.default_rng(0)
    space = SearchSpace(
        tuple(ContinuousVariable(n, 0.0, 1.0) for n in ("a", "b", "c")), (Objective("y"),)
    )

    def response(x):
        return np.sin(3 * x[:, 0]) + (x[:, 1] - 0.5) ** 2 * 4 - x[:, 2]

    x_train, x_test = rng.random((40, 3)), rng.random((40, 3))
    train = pd.DataFrame(x_train, columns=["a", "b", "c"]).assign(y=response(x_train))
    test = pd.DataFrame(x_test, columns=["a", "b", "c"])
    enc = encoding.Encoding(space, train)
    model = surrogate.fit_models(space, train, enc, kernel=kernel)
    pred = surrogate.predict(space, model, enc, test)
    truth = response(x_test)
    resid = truth - pred["y_mean"].to_numpy()
    r2 = 1 - (resid**2).sum() / ((truth - truth.mean()) ** 2).sum()
    assert r2 > 0.8, r2
    z = np.abs(resid) / pred["y_std"].to_numpy()
    assert np.median(z) < 2.0, np.median(z)


def test_noisy_ei_baseline_is_judged_at_the_fixed_settings():
    # Recipes measured at several ages (as in the Yeh data); the campaign makes 28-day
    # recipes. The incumbent must be each known recipe *at 28 days*, not a 91-day result
    # that no suggestion can reach at 28 days.
    from core.optimize.acquisition import baseline_inputs, build_acquisition
    from core.optimize.encoding import Encoding
    from core.optimize.surrogate import fit_models

    rng = np.random.default_rng(0)
    n = 16
    a = rng.uniform(0, 1, n)
    age = rng.choice([7.0, 28.0, 91.0], n)
    measured = pd.DataFrame({"a": a, "age": age, "y": a + np.log(age)})
    space = SearchSpace(
        (ContinuousVariable("a", 0, 1), FixedVariable("age", 28.0)),
        (Objective("y", "maximize"),),
    )
    enc = Encoding(space, measured)
    x = baseline_inputs(space, enc, measured)
    assert np.all(x[:, enc.columns.index("age")] == 28.0)
    assert np.array_equal(x[:, enc.columns.index("a")], a)
    model = fit_models(space, measured, enc)
    acqf = build_acquisition(space, model, enc, measured, FAST)
    assert torch.all(acqf.X_baseline[:, enc.columns.index("age")] == 28.0)


def test_cached_predictive_covariance_is_the_exact_posterior():
    # exact_gp() turns on gpytorch's cached predictive covariance for speed; under Cholesky
    # it must give the same joint posterior (and gradients) as the plain exact path.
    import gpytorch

    from core.optimize.encoding import Encoding
    from core.optimize.surrogate import exact_gp, fit_models

    measured = table(n=40, seed=3)
    space = SearchSpace(
        (ContinuousVariable("a", 0, 1), ContinuousVariable("b", 0, 1)),
        (Objective("y", "maximize"),),
    )
    enc = Encoding(space, measured)
    model = fit_models(space, measured, enc)
    x = torch.rand(3, 5, enc.d, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    results = []
    for cached in (True, False):
        xg = x.clone().requires_grad_(True)
        with exact_gp(), gpytorch.settings.fast_pred_var(cached):
            post = model.posterior(xg)
            cov, mean = post.mvn.covariance_matrix, post.mean
        (cov.sum() + mean.sum()).backward()
        results.append((mean.detach(), cov.detach(), xg.grad))
    for fast, plain in zip(*results, strict=True):
        assert torch.allclose(fast, plain, rtol=1e-8, atol=1e-10)


def test_shared_rows_gp_is_the_plain_gp_posterior(monkeypatch):
    # SharedRowsGP evaluates rows common to every batch once and gathers each batch's joint
    # posterior from theirs; means, covariances, noisy-EI values and gradients must be the
    # plain SingleTaskGP's (same weights), with pending points and a baseline as in a round.
    import copy

    from botorch.acquisition.logei import qLogNoisyExpectedImprovement
    from botorch.models import SingleTaskGP
    from botorch.sampling import SobolQMCNormalSampler

    from core.optimize import shared_rows as module
    from core.optimize.encoding import Encoding
    from core.optimize.shared_rows import SharedRowsGP, shared_rows
    from core.optimize.surrogate import exact_gp, fit_models

    splits = []

    def spy(x):
        splits.append(shared_rows(x))
        return splits[-1]

    monkeypatch.setattr(module, "shared_rows", spy)
    measured = table(n=module.MIN_TRAIN_POINTS + 20, seed=4)
    space = SearchSpace(
        (ContinuousVariable("a", 0, 1), ContinuousVariable("b", 0, 1)),
        (Objective("y", "maximize"),),
    )
    enc = Encoding(space, measured)
    model = fit_models(space, measured, enc)
    assert isinstance(model, SharedRowsGP)
    plain = copy.deepcopy(model)
    plain.__class__ = SingleTaskGP

    g = torch.Generator().manual_seed(0)
    common = torch.rand(3, enc.d, dtype=torch.float64, generator=g)
    own = torch.rand(4, 2, enc.d, dtype=torch.float64, generator=g)
    # rows 0 and 2 common to all four batches, rows 1 and 3 their own
    x = torch.stack([common[0].expand(4, -1), own[:, 0], common[1].expand(4, -1), own[:, 1]], 1)
    union, index = shared_rows(x)
    assert len(union) == 2 + 4 * 2
    assert torch.equal(union[index], x)
    assert shared_rows(x[:1]) is None and shared_rows(x[0]) is None

    with exact_gp():
        a, b = model.posterior(x), plain.posterior(x)
        assert torch.allclose(a.mean, b.mean, rtol=1e-9, atol=1e-12)
        assert torch.allclose(
            a.mvn.covariance_matrix, b.mvn.covariance_matrix, rtol=1e-8, atol=1e-10
        )
        baseline = torch.tensor(enc.encode(measured.iloc[:6]), dtype=torch.float64)
        out = []
        for m in (model, plain):
            acqf = qLogNoisyExpectedImprovement(
                m,
                X_baseline=baseline,
                sampler=SobolQMCNormalSampler(torch.Size([128]), seed=0),
                prune_baseline=False,
            )
            acqf.set_X_pending(common[2:])
            xg = own[:, :1].clone().requires_grad_(True)
            values = acqf(xg)
            values.sum().backward()
            out.append((values.detach(), xg.grad))
    (va, ga), (vb, gb) = out
    assert torch.allclose(va, vb, rtol=1e-9, atol=1e-10)
    assert torch.allclose(ga, gb, rtol=1e-7, atol=1e-9)
    assert any(split is not None for split in splits)  # the shared path did run
    assert float(ga.abs().max()) > 0


def test_several_objectives_share_one_batched_gp_equal_to_separate_gps():
    # Objectives measured on the same recipes get one batched GP (independent outputs);
    # each output must be the GP fitted to that objective alone (hyper-parameters, joint
    # posterior, predictions and leave-one-out).
    from core.optimize.encoding import Encoding
    from core.optimize.surrogate import exact_gp, fit_models, loo_predictions, per_objective

    measured = table(n=30, seed=6)
    objectives = (Objective("y", "maximize"), Objective("z", "minimize"))
    variables = (ContinuousVariable("a", 0, 1), ContinuousVariable("b", 0, 1))
    space = SearchSpace(variables, objectives)
    enc = Encoding(space, measured)
    model = fit_models(space, measured, enc)
    assert model.num_outputs == 2
    x = torch.rand(4, 3, enc.d, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    for o, part in zip(objectives, per_objective(model), strict=True):
        alone = fit_models(SearchSpace(variables, (o,)), measured, enc)
        for name in ("covar_module.base_kernel.lengthscale", "likelihood.noise"):
            a, b = (
                m.get_parameter(name.replace(".noise", ".noise_covar.raw_noise"))
                if name.endswith("noise")
                else m.covar_module.base_kernel.lengthscale
                for m in (part, alone)
            )
            assert torch.allclose(a, b, rtol=1e-4), name
        with exact_gp(), torch.no_grad():
            p, q = part.posterior(x), alone.posterior(x)
        assert torch.allclose(p.mean, q.mean, rtol=1e-4, atol=1e-6)
        assert torch.allclose(
            p.mvn.covariance_matrix, q.mvn.covariance_matrix, rtol=1e-3, atol=1e-6
        )
        loo = loo_predictions(SearchSpace(variables, (o,)), measured, model=alone)
        both = loo_predictions(space, measured, model=model)
        assert np.allclose(both[f"{o.name}_loo_mean"], loo[f"{o.name}_loo_mean"], rtol=1e-4)
    with exact_gp(), torch.no_grad():
        joint = model.posterior(x)
    assert joint.mean.shape == (4, 3, 2)


def test_noisy_ei_baseline_keeps_the_likely_incumbents():
    # The baseline is cut to the recipes that hold 99 % of the probability of being the
    # best; the cut must keep that mass (checked with independent samples), keep the
    # recipe the GP rates best, drop recipes that are never the best, and leave noisy EI
    # of new candidates almost unchanged.
    from botorch.acquisition.logei import qLogNoisyExpectedImprovement
    from botorch.acquisition.objective import GenericMCObjective
    from botorch.sampling import SobolQMCNormalSampler

    from core.optimize.acquisition import likely_incumbents
    from core.optimize.encoding import Encoding
    from core.optimize.surrogate import exact_gp, fit_models

    rng = np.random.default_rng(5)
    measured = table(n=80, seed=5)
    measured["y"] += rng.normal(0, 0.05, len(measured))  # several plausible incumbents
    space = SearchSpace(
        (ContinuousVariable("a", 0, 1), ContinuousVariable("b", 0, 1)),
        (Objective("y", "maximize"),),
    )
    enc = Encoding(space, measured)
    model = fit_models(space, measured, enc)
    x_base = torch.tensor(enc.encode(measured), dtype=torch.float64)
    objective = GenericMCObjective(lambda s, X=None: s[..., 0])
    with exact_gp():
        kept = likely_incumbents(model, x_base, objective, seed=0, mass=0.99)
        everything = likely_incumbents(model, x_base, objective, seed=0, mass=1.0)
        with torch.no_grad():
            post = model.posterior(x_base)
            draws = SobolQMCNormalSampler(torch.Size([4096]), seed=123)(post)[..., 0]
    assert 1 < len(kept) < len(everything) < len(x_base)
    best = draws.argmax(-1)
    is_kept = (x_base[best].unsqueeze(1) == kept.unsqueeze(0)).all(-1).any(-1)
    assert is_kept.double().mean() > 0.98
    assert any(torch.equal(r, x_base[post.mean[:, 0].argmax()]) for r in kept)

    # candidates around the optimum (0.6, 0.3), where noisy EI is not negligible
    g = torch.Generator().manual_seed(1)
    candidates = (torch.tensor([0.45, 0.15]) + 0.3 * torch.rand(16, 1, 2, generator=g)).double()
    values = []
    for baseline in (kept, x_base):
        sampler = SobolQMCNormalSampler(torch.Size([2048]), seed=0)
        acqf = qLogNoisyExpectedImprovement(
            model, X_baseline=baseline, sampler=sampler, objective=objective, prune_baseline=False
        )
        with exact_gp(), torch.no_grad():
            values.append(acqf(candidates).exp())
    pruned, full = values
    assert torch.all(pruned >= 0)
    assert float(full.max()) > 0
    assert torch.allclose(pruned, full, rtol=0.1, atol=0.02 * float(full.max()))


def test_hypervolume_baseline_keeps_the_likely_pareto_front():
    # Several objectives: the qLogNEHVI baseline is cut to the recipes that hold 99 % of the
    # posterior's Pareto-front memberships. The cut must keep that share (independent
    # samples), drop recipes that are never on the front, and leave the acquisition of new
    # candidates almost unchanged.
    from botorch.acquisition.multi_objective.logei import (
        qLogNoisyExpectedHypervolumeImprovement,
    )
    from botorch.acquisition.multi_objective.objective import IdentityMCMultiOutputObjective
    from botorch.sampling import SobolQMCNormalSampler
    from botorch.utils.multi_objective.pareto import is_non_dominated

    from core.optimize.acquisition import likely_front, reference_point, scores
    from core.optimize.encoding import Encoding
    from core.optimize.surrogate import exact_gp, fit_models

    rng = np.random.default_rng(7)
    measured = table(n=60, seed=7)
    measured["y"] += rng.normal(0, 0.02, len(measured))
    measured["z"] = -measured["z"]  # both maximised: a trade-off between y and -(a + b)
    space = SearchSpace(
        (ContinuousVariable("a", 0, 1), ContinuousVariable("b", 0, 1)),
        (Objective("y", "maximize"), Objective("z", "maximize")),
    )
    enc = Encoding(space, measured)
    model = fit_models(space, measured, enc)
    x_base = torch.tensor(enc.encode(measured), dtype=torch.float64)
    objective = IdentityMCMultiOutputObjective()
    with exact_gp():
        kept = likely_front(model, x_base, objective, seed=0, mass=0.99)
        with torch.no_grad():
            draws = SobolQMCNormalSampler(torch.Size([2048]), seed=123)(model.posterior(x_base))
    assert 1 < len(kept) < len(x_base)
    on_front = is_non_dominated(draws)  # (samples, n)
    is_kept = (x_base.unsqueeze(1) == kept.unsqueeze(0)).all(-1).any(-1)  # (n,)
    assert on_front[:, is_kept].sum() / on_front.sum() > 0.98
    assert not on_front[:, ~is_kept].any(0).all()  # some dropped recipes are never on it

    g = torch.Generator().manual_seed(1)
    candidates = torch.rand(12, 1, 2, generator=g).double()
    ref = reference_point(scores(space, measured))
    values = []
    for baseline, prune in ((kept, False), (x_base, True)):
        acqf = qLogNoisyExpectedHypervolumeImprovement(
            model,
            ref_point=ref,
            X_baseline=baseline,
            sampler=SobolQMCNormalSampler(torch.Size([256]), seed=0),
            objective=objective,
            prune_baseline=prune,
        )
        with exact_gp(), torch.no_grad():
            values.append(acqf(candidates).exp())
    pruned, full = values
    scale = float(full.max())
    assert scale > 0
    assert float((pruned - full).abs().max()) < 0.05 * scale
