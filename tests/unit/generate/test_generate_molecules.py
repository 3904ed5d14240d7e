import json

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from rdkit import Chem
from safetensors.torch import save_file

from core.chem.descriptors import PROPERTIES
from core.chem.smiles_tokens import SmilesVocab
from core.exceptions import InvalidInputError, ModelNotAvailableError
from core.generate.molecules import MoleculeGenerator, load_generator
from core.nn.smiles_gpt import SmilesGPT, SmilesGPTConfig

VOCAB = SmilesVocab.build(["CCCS(=O)c1ccc2[nH]c(=NC(=O)OC)[nH]c2c1", "Clc1ccc(Br)cc1F", "C#N"])
RANGES = {
    "logp": (-1.0, 4.5),
    "sas": (1.5, 4.5),
    "mw": (250.0, 350.0),
    "qed": (0.4, 0.95),
    "tpsa": (10.0, 120.0),
}
STATS = {k: {"mean": (lo + hi) / 2, "std": (hi - lo) / 4} for k, (lo, hi) in RANGES.items()}


def _generator() -> MoleculeGenerator:
    torch.manual_seed(0)
    model = SmilesGPT(SmilesGPTConfig(vocab_size=len(VOCAB), n_layer=1, n_head=2, n_embd=16))
    return MoleculeGenerator(model, VOCAB, STATS, RANGES, training_smiles=lambda: frozenset())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"conditions": {"logP": 2.0}}, "unknown condition 'logP'"),
        ({"conditions": {"logp": float("nan")}}, "not a finite number"),
        ({"conditions": {"logp": "2"}}, "must be a number"),
        ({"conditions": {"mw": 500.0}}, r"outside the training data's range.*\[250, 350\]"),
        ({"fragment": "c1ccc"}, "not a valid SMILES"),
        ({"fragment": "CC.O"}, "one connected piece"),
        ({"fragment": "FC(F)(F)F"}, "free valence"),
        ({"fragment": "C[Se]C"}, "vocabulary"),
        ({"temperature": 0.0}, "temperature"),
        ({"model": "qm10"}, "unknown generator model"),
        ({"guidance": 0.5}, "guidance"),
        ({"guidance": float("nan")}, "guidance"),
        ({"guidance": 9.0}, r"1 <= guidance <= 8"),
        ({"guidance": "2"}, "guidance"),
        ({"guidance": True}, "guidance"),
    ],
)
def test_bad_requests_are_refused_with_a_reason(kwargs, match):
    with pytest.raises(InvalidInputError, match=match):
        _generator().sample(4, seed=0, **kwargs)


@pytest.mark.parametrize("n", [0, -3, 10**6, 2.5, True])
def test_bad_counts_are_refused(n):
    with pytest.raises(InvalidInputError, match="n must be"):
        _generator().sample(n)


def test_rows_are_valid_unique_canonical_with_errors_and_flags():
    df = _generator().sample(
        3, {"logp": 2.0, "mw": 300.0}, seed=1, fragment="c1ccccc1", max_samples=256
    )
    assert list(df.columns) == [
        "smiles",
        *PROPERTIES,
        "logp_error",
        "mw_error",
        "novel",
        "fragment_matched",
    ]
    assert df["smiles"].is_unique
    for row in df.itertuples():
        assert Chem.MolToSmiles(Chem.MolFromSmiles(row.smiles)) == row.smiles
        assert row.logp_error == pytest.approx(row.logp - 2.0)
        assert row.fragment_matched  # by construction
    assert df.attrs["samples"] <= 256 and 0 <= df.attrs["raw_validity"] <= 1


def test_same_seed_same_molecules():
    a = _generator().sample(2, seed=5, max_samples=128, fragment="c1ccccc1")
    b = _generator().sample(2, seed=5, max_samples=128, fragment="c1ccccc1")
    assert a["smiles"].tolist() == b["smiles"].tolist()


FRAGMENTS = ["c1ccc2[nH]ccc2c1", "O=C(N)c1ccccc1", "C1CCNCC1", "Clc1ccc(Br)cc1", "CC#N"]
TAILS = ["C", "CC(=O)O", "N1CC1", "c1ccccc1", "C(F)C", "S(=O)(=O)N"]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(FRAGMENTS), st.sampled_from(TAILS), st.integers(0, 10_000))
def test_any_completion_of_a_prefix_keeps_the_fragment(fragment, tail, seed):
    query, prompts = _generator().fragment_prefixes(fragment, seed)
    for ids in prompts:
        prefix = VOCAB.decode(ids)
        mol = Chem.MolFromSmiles(prefix + tail)
        assert mol is not None, prefix + tail
        assert mol.HasSubstructMatch(query)


def test_load_generator_from_a_models_folder(studio_env):
    with pytest.raises(ModelNotAvailableError):
        load_generator()
    gen = _generator()
    folder = studio_env["models"] / "smiles_gpt_moses"
    folder.mkdir()
    sd = {k: v.contiguous() for k, v in gen.model.state_dict().items() if k != "lm_head.weight"}
    save_file(sd, str(folder / "model.safetensors"))
    card = {
        "config": gen.model.config.to_dict(),
        "tokenizer": {"vocab": list(VOCAB.tokens)},
        "conditions": {k: {**STATS[k], "range": list(RANGES[k])} for k in PROPERTIES},
    }
    (folder / "card.json").write_text(json.dumps(card))
    loaded = load_generator()
    assert loaded.ranges == RANGES
    with pytest.raises(InvalidInputError, match=r"\[1.5, 4.5\]"):
        loaded.sample(1, {"sas": 9.0})


def test_uniqueness_counts_every_valid_sample_not_only_the_rows_returned(monkeypatch):
    gen = _generator()
    texts = ["CCO", "CCO", "CCN", "CCC", "C(", "CCN"]  # 5 valid, 3 distinct, 1 invalid

    def fake_generate(prompt, *args, **kwargs):
        seqs = [VOCAB.encode(texts[i % len(texts)]) for i in range(prompt.shape[0])]
        width = max(map(len, seqs))
        return torch.tensor([s + [VOCAB.pad_id] * (width - len(s)) for s in seqs])

    monkeypatch.setattr(gen.model, "generate", fake_generate)
    df = gen.sample(1, seed=0, max_samples=60)
    assert len(df) == 1
    assert df.attrs["samples"] == 60
    assert df.attrs["raw_validity"] == pytest.approx(50 / 60)
    assert df.attrs["raw_uniqueness"] == pytest.approx(3 / 50)


class _FakeQM9:
    """Stands in for qm9_painn: a value per molecule from its heavy-atom count."""

    def predict(self, smiles, progress=None):
        import pandas as pd

        rows = []
        for s in smiles:
            n = Chem.MolFromSmiles(s).GetNumHeavyAtoms()
            row = {"smiles": s, "error": None, "domain_message": "" if n <= 9 else "too big"}
            for k in ("homo", "lumo", "gap", "mu"):
                row[k], row[f"{k}_std"] = float(n), 0.1
            rows.append(row)
        return pd.DataFrame(rows)


def test_qm9_conditions_are_scored_by_the_qm9_model():
    torch.manual_seed(0)
    props = ("homo", "lumo", "gap", "mu")
    cfg = SmilesGPTConfig(vocab_size=len(VOCAB), n_cond=4, n_layer=1, n_head=2, n_embd=16)
    ranges = {"homo": (-9.0, -4.0), "lumo": (-3.0, 3.0), "gap": (2.0, 11.0), "mu": (0.0, 8.0)}
    stats = {k: {"mean": (lo + hi) / 2, "std": (hi - lo) / 4} for k, (lo, hi) in ranges.items()}
    gen = MoleculeGenerator(
        SmilesGPT(cfg),
        VOCAB,
        stats,
        ranges,
        {"dataset": "qm9"},
        training_smiles=lambda: frozenset(),
        properties=props,
    )
    gen._predictor = _FakeQM9()
    with pytest.raises(InvalidInputError, match="one of homo, lumo, gap, mu"):
        gen.sample(2, {"logp": 1.0})
    with pytest.raises(InvalidInputError, match="outside the training data's range"):
        gen.sample(2, {"gap": 20.0})
    report = gen.report(6, {"gap": 6.0}, seed=0)
    df = report.molecules
    assert len(df) > 0
    heavy = [Chem.MolFromSmiles(s).GetNumHeavyAtoms() for s in df["smiles"]]
    assert df["gap"].tolist() == [float(n) for n in heavy]
    assert df["gap_error"].tolist() == pytest.approx([n - 6.0 for n in heavy])
    assert {"homo_std", "mu", "qm9_domain"} <= set(df.columns)
    table = report.metrics_table().set_index("metric")
    assert "QM9 model" in table.loc["MAD gap", "meaning"]
    assert "QM9 training split" in table.loc["novelty", "meaning"]


def test_guidance_reaches_the_sampler_only_for_conditioned_requests(monkeypatch):
    gen = _generator()
    seen = []
    plain = gen.model.generate

    def spy(*args, **kwargs):
        seen.append(kwargs["guidance"])
        return plain(*args, **kwargs)

    monkeypatch.setattr(gen.model, "generate", spy)
    df = gen.sample(3, {"logp": 2.0}, seed=0, max_samples=64, guidance=2.5)
    assert set(seen) == {2.5} and df.attrs["guidance"] == 2.5
    seen.clear()
    df = gen.sample(3, {"logp": 2.0}, seed=0, max_samples=64)  # the model's default
    assert set(seen) == {gen.default_guidance} and df.attrs["guidance"] == gen.default_guidance
    report = gen.report(3, {"logp": 2.0}, seed=0, guidance=3.0)
    assert report.guidance == 3.0
    assert "3" in report.metrics_table().set_index("metric").loc["guidance", "value"]
    df = gen.sample(3, seed=0, max_samples=64, guidance=4.0)  # nothing to guide towards
    assert df.attrs["guidance"] == 1.0
    assert "guidance" not in set(gen.report(3, seed=0).metrics_table()["metric"])


def test_spread_shares_rows_over_every_prompt_and_continues_the_rotation():
    from core.generate.molecules import _spread

    prompts = [[1], [2, 3], [4]]
    assert _spread(prompts, 7) == [([1], 3), ([2, 3], 2), ([4], 2)]
    assert _spread(prompts, 2, start=2) == [([1], 1), ([4], 1)]  # prompt 2 first, then 0
    assert _spread(prompts, 1, start=4) == [([2, 3], 1)]
    for rows in range(10):
        assert sum(c for _, c in _spread(prompts, rows, start=rows)) == rows


def test_a_fragment_grows_from_every_prefix_in_one_batch(monkeypatch):
    gen = _generator()
    _, prefixes = gen.fragment_prefixes("c1ccccc1C", seed=0)
    assert len(prefixes) > 1
    prompts_seen = []
    plain = gen.model.generate

    def spy(idx, *args, **kwargs):
        prompts_seen.append(tuple(idx[0].tolist()))
        return plain(idx, *args, **kwargs)

    monkeypatch.setattr(gen.model, "generate", spy)
    gen.sample(4, seed=0, fragment="c1ccccc1C", max_samples=64)
    assert set(prompts_seen[: len(prefixes)]) == {tuple(p) for p in prefixes}
