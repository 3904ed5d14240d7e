import pytest
import torch

from core.nn.smiles_gpt import SmilesGPT, SmilesGPTConfig, _sample


def _model(**kw) -> SmilesGPT:
    torch.manual_seed(0)
    return SmilesGPT(
        SmilesGPTConfig(
            vocab_size=20, n_cond=3, block_size=24, n_layer=2, n_head=2, n_embd=16, **kw
        )
    ).eval()


def _inputs(B=3, T=10):
    g = torch.Generator().manual_seed(1)
    idx = torch.randint(4, 20, (B, T), generator=g)
    cond = torch.randn(B, 3, generator=g)
    mask = torch.tensor([[True, False, True], [False, False, False], [True, True, True]])[:B]
    return idx, cond, mask


def test_shapes_and_cache_layout():
    m = _model()
    idx, cond, mask = _inputs()
    logits, cache = m(idx, cond, mask)
    assert logits.shape == (3, 10, 20)
    assert len(cache) == 2 and cache[0][0].shape == (3, 2, 13, 8)  # 3 condition slots + 10


def test_reset_parameters_is_deterministic_and_weights_are_tied():
    a, b = _model(), _model()
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=False))
    assert a.lm_head.weight is a.wte.weight


@pytest.mark.parametrize("split", [1, 4, 9])
def test_cached_and_uncached_logits_are_identical(split):
    m = _model()
    idx, cond, mask = _inputs()
    full, _ = m(idx, cond, mask)
    first, cache = m(idx[:, :split], cond, mask)  # prefill: causally masked
    steps = [first]
    for t in range(split, idx.shape[1]):
        logit, cache = m(idx[:, t : t + 1], past=cache)
        steps.append(logit)
    torch.testing.assert_close(torch.cat(steps, 1), full, atol=1e-5, rtol=1e-5)
    # a multi-token chunk after the cache uses the bottom-right aligned causal mask
    first, cache = m(idx[:, :split], cond, mask)
    rest, _ = m(idx[:, split:], past=cache)
    torch.testing.assert_close(torch.cat([first, rest], 1), full, atol=1e-5, rtol=1e-5)


def test_future_tokens_do_not_leak_into_the_past():
    m = _model()
    idx, cond, mask = _inputs()
    changed = idx.clone()
    changed[:, 6:] = 4
    a, _ = m(idx, cond, mask)
    b, _ = m(changed, cond, mask)
    torch.testing.assert_close(a[:, :6], b[:, :6])


def test_absent_conditions_ignore_their_values():
    m = _model()
    idx, cond, mask = _inputs()
    other = cond.clone()
    other[~mask] = 123.0
    torch.testing.assert_close(m(idx, cond, mask)[0], m(idx, other, mask)[0])
    assert not torch.allclose(m(idx, cond, mask)[0], m(idx, cond + 1, mask)[0])


def test_generate_is_seeded_and_cache_does_not_change_samples():
    m = _model()
    idx, cond, mask = _inputs()
    kw = dict(max_new_tokens=30, eos_id=3, top_k=8, top_p=0.9)
    g = lambda: torch.Generator().manual_seed(7)  # noqa: E731
    a = m.generate(idx[:, :2], cond, mask, generator=g(), **kw)
    b = m.generate(idx[:, :2], cond, mask, generator=g(), **kw)
    c = m.generate(idx[:, :2], cond, mask, generator=g(), use_cache=False, **kw)
    assert torch.equal(a, b) and torch.equal(a, c)
    assert a.shape[1] <= 24 - 3
    for row in a.tolist():  # after <eos> only padding
        if 3 in row:
            assert all(t == 0 for t in row[row.index(3) + 1 :])


def test_top_k_and_top_p_restrict_the_support():
    logits = torch.tensor([[5.0, 4.0, 1.0, 0.0, -1.0]]).repeat(200, 1)
    g = torch.Generator().manual_seed(0)
    assert set(_sample(logits, 1.0, 2, None, g).tolist()) <= {0, 1}
    assert set(_sample(logits, 1.0, None, 0.5, g).tolist()) == {0}
    assert set(_sample(logits, 0.0, None, None, g).tolist()) == {0}


def test_block_size_is_enforced():
    m = _model()
    with pytest.raises(ValueError, match="block_size"):
        m(torch.zeros(1, 22, dtype=torch.long), torch.zeros(1, 3), torch.zeros(1, 3, dtype=bool))


def test_finished_sequences_leave_the_batch_without_changing_any_sequence():
    m = _model()
    idx, cond, mask = _inputs()
    B = idx.shape[0]
    prompt = idx[:, :2]
    # greedy decoding needs no random numbers: each row decoded alone is the reference
    eos = int(m(prompt, cond, mask)[0][0, -1].argmax())  # row 0 ends at once
    batch_sizes = []
    hook = m.register_forward_pre_hook(lambda mod, args: batch_sizes.append(args[0].shape[0]))
    out = m.generate(prompt, cond, mask, max_new_tokens=30, eos_id=eos, temperature=0.0)
    hook.remove()
    assert min(batch_sizes) < B  # finished rows were dropped
    for i in range(B):
        alone = m.generate(
            prompt[i : i + 1],
            cond[i : i + 1],
            mask[i : i + 1],
            max_new_tokens=30,
            eos_id=eos,
            temperature=0.0,
        )
        row = out[i, : alone.shape[1]]
        assert torch.equal(row, alone[0])
        assert (out[i, alone.shape[1] :] == 0).all()


def test_guidance_one_is_the_plain_sampler_and_guided_cache_matches_no_cache():
    m = _model()
    with torch.no_grad():  # conditions that matter (the initial ones barely move the logits)
        m.cond_value.mul_(100)
    idx, cond, mask = _inputs()
    kw = dict(max_new_tokens=30, eos_id=3, top_k=8)
    g = lambda: torch.Generator().manual_seed(11)  # noqa: E731
    plain = m.generate(idx[:, :2], cond, mask, generator=g(), **kw)
    assert torch.equal(plain, m.generate(idx[:, :2], cond, mask, generator=g(), guidance=1.0, **kw))
    a = m.generate(idx[:, :2], cond, mask, generator=g(), guidance=2.5, **kw)
    b = m.generate(idx[:, :2], cond, mask, generator=g(), guidance=2.5, use_cache=False, **kw)
    assert torch.equal(a, b)
    assert not torch.equal(a, plain)  # the guided logits differ, so do the samples


def test_guided_greedy_decoding_follows_the_guided_logits():
    # reference: recompute l_none + w (l_cond - l_none) by hand for every step of one row
    m = _model()
    idx, cond, mask = _inputs()
    prompt, w = idx[2:3, :2], 3.0
    out = m.generate(
        prompt, cond[2:3], mask[2:3], max_new_tokens=8, eos_id=99, temperature=0.0, guidance=w
    )
    seq = prompt
    none = torch.zeros_like(mask[2:3])
    for _ in range(out.shape[1] - prompt.shape[1]):
        lc = m(seq, cond[2:3], mask[2:3])[0][:, -1]
        ln = m(seq, cond[2:3], none)[0][:, -1]
        seq = torch.cat([seq, (ln + w * (lc - ln)).argmax(-1, keepdim=True)], dim=1)
    assert torch.equal(out, seq)
    # a row without any condition is not guided: same as the plain sampler
    bare = m.generate(prompt, cond[2:3], none, max_new_tokens=8, eos_id=99, temperature=0.0)
    assert torch.equal(
        bare,
        m.generate(
            prompt, cond[2:3], none, max_new_tokens=8, eos_id=99, temperature=0.0, guidance=w
        ),
    )
