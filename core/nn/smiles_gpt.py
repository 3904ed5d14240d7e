"""A decoder-only transformer over SMILES tokens with any-subset property conditioning.

GPT-2 blocks as in nanoGPT (Karpathy, https://github.com/karpathy/nanoGPT; Radford et al.
2019), conditioned as in LLamol (Dobberstein et al., J. Cheminform. 16, 73 (2024)) with
three changes of design:

- **Conditions, any subset.** Each of ``n_cond`` standardised properties (the generator
  uses logP, SAS, MW, QED, TPSA) is one token at a fixed slot in front of the SMILES:
  ``value * w_p + e_p`` (a learned vector and a learned type embedding per property) when
  given, ``a_p + e_p`` (a learned "absent" vector) when not. Training drops conditions at
  random *per sample* (LLamol drops them per batch), so one model serves every subset,
  including none.
- **Fragment prompts by construction.** Training mixes canonical SMILES (after ``<bos>``)
  with randomised SMILES (after ``<bos_r>``), so in the ``<bos_r>`` mode every SMILES prefix
  of a molecule is in-distribution. To keep a fragment, the sampler writes a complete SMILES
  of the fragment that ends at an atom with a free valence (rooted/random atom order) after
  ``<bos_r>`` and lets the model continue it: the output contains the fragment by
  construction whenever it parses (the facade confirms with a substructure match).
- **A correct KV cache.** The prompt prefill is causally masked like training, so cached
  and uncached sampling give the same logits (LLamol's prefill runs unmasked).

Sequence layout (length ``n_cond + T``): ``[c_1 .. c_P, <bos|bos_r>, s_1, .., s_n, <eos>]``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn


@dataclass
class SmilesGPTConfig:
    """Hyper-parameters; saved in the card so a model rebuilds with ``SmilesGPT(cfg)``."""

    vocab_size: int = 41
    n_cond: int = 5
    block_size: int = 64  # condition slots + token positions
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


KVCache = list[tuple[Tensor, Tensor]]


class SmilesGPT(nn.Module):
    r"""Conditional decoder-only transformer over SMILES tokens.

    Args:
        config: the :class:`SmilesGPTConfig` (vocabulary size, condition slots, block size,
            layers, heads, width, dropout).
    """

    def __init__(self, config: SmilesGPTConfig) -> None:
        super().__init__()
        if config.n_embd % config.n_head:
            raise ValueError(f"n_embd {config.n_embd} must be a multiple of n_head {config.n_head}")
        self.config = config
        C, P = config.n_embd, config.n_cond
        self.wte = nn.Embedding(config.vocab_size, C)
        self.wpe = nn.Embedding(config.block_size, C)
        self.cond_value = nn.Parameter(torch.empty(P, C))  # w_p
        self.cond_type = nn.Parameter(torch.empty(P, C))  # e_p
        self.cond_absent = nn.Parameter(torch.empty(P, C))  # a_p
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(_Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(C)
        self.lm_head = nn.Linear(C, config.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # weight tying (nanoGPT, Press & Wolf 2017)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, std=0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                nn.init.normal_(module.weight, std=0.02)
            elif isinstance(module, nn.LayerNorm):
                module.reset_parameters()
        for name, p in self.named_parameters():  # GPT-2 scaled init of residual projections
            if name.endswith("proj.weight"):
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * self.config.n_layer))
        for p in (self.cond_value, self.cond_type, self.cond_absent):
            nn.init.normal_(p, std=0.02)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def condition_tokens(self, cond: Tensor, cond_mask: Tensor) -> Tensor:
        """Embeddings of the condition slots.

        Args:
            cond: (B, P) standardised values (anything where ``cond_mask`` is False).
            cond_mask: (B, P) bool, True where the condition is given.

        Returns:
            (B, P, C)
        """
        value = torch.nan_to_num(cond, nan=0.0).unsqueeze(-1) * self.cond_value  # (B, P, C)
        given = torch.where(cond_mask.unsqueeze(-1), value, self.cond_absent)
        return given + self.cond_type

    def forward(
        self,
        idx: Tensor,
        cond: Tensor | None = None,
        cond_mask: Tensor | None = None,
        past: KVCache | None = None,
    ) -> tuple[Tensor, KVCache]:
        """Logits of the next token at every token position.

        Args:
            idx: (B, T) token ids.
            cond, cond_mask: (B, P) conditions and their mask; needed when ``past`` is None
                (the condition slots are prepended), ignored otherwise.
            past: KV cache from a previous call (its length includes the condition slots).

        Returns:
            ``(logits, cache)``: logits (B, T, vocab_size) for the token positions only,
            and the updated cache (one ``(k, v)`` of shape (B, n_head, T_total, hs) per layer).
        """
        B, T = idx.shape
        x = self.wte(idx)
        if past is None:
            if cond is None or cond_mask is None:
                raise ValueError("cond and cond_mask are required when there is no cache")
            x = torch.cat([self.condition_tokens(cond, cond_mask), x], dim=1)
            start = 0
        else:
            start = past[0][0].shape[2]
        T_total = x.shape[1]
        if start + T_total > self.config.block_size:
            raise ValueError(
                f"sequence of {start + T_total} positions exceeds "
                f"block_size {self.config.block_size}"
            )
        pos = torch.arange(start, start + T_total, device=idx.device)
        x = self.drop(x + self.wpe(pos))
        cache: KVCache = []
        for i, block in enumerate(self.blocks):
            x, kv = block(x, None if past is None else past[i])
            cache.append(kv)
        x = self.ln_f(x[:, -T:])
        return self.lm_head(x), cache

    def loss(self, idx: Tensor, cond: Tensor, cond_mask: Tensor, pad_id: int = 0) -> Tensor:
        """Mean next-token cross-entropy over non-pad targets. idx: (B, T) from <bos> on."""
        logits, _ = self(idx[:, :-1], cond, cond_mask)
        target = idx[:, 1:]
        return F.cross_entropy(
            logits.reshape(-1, logits.size(-1)), target.reshape(-1), ignore_index=pad_id
        )

    @torch.no_grad()
    def generate(
        self,
        prompt: Tensor,
        cond: Tensor,
        cond_mask: Tensor,
        *,
        max_new_tokens: int,
        eos_id: int,
        pad_id: int = 0,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        generator: torch.Generator | None = None,
        use_cache: bool = True,
        guidance: float = 1.0,
    ) -> Tensor:
        """Sample continuations of ``prompt`` (B, T0) until ``<eos>`` or the block fills.

        Returns (B, T0 + n) token ids; positions after a sequence's ``<eos>`` hold ``pad_id``.
        Finished sequences leave the batch (their rows of the cache are dropped), so a batch
        costs what its sequences need rather than ``B`` times the longest one.

        ``guidance`` w != 1 samples with classifier-free guidance (Ho & Salimans 2022; for
        autoregressive language models Sanchez et al. 2023; with randomly masked molecular
        properties as here, STGG+, Jolicoeur-Martineau et al. 2024): the next-token logits are
        ``l_none + w * (l_cond - l_none)``, where ``l_none`` comes from the same sequence with
        every condition slot absent, which the model learned because training drops all
        conditions at random. w > 1 follows the conditions more closely at some cost in
        diversity and validity; each step then costs two rows of the network per sequence.
        Rows without any given condition are sampled unguided either way.
        """
        max_new = min(max_new_tokens, self.config.block_size - self.config.n_cond - prompt.shape[1])
        B, T0 = prompt.shape
        guided = guidance != 1.0 and bool(cond_mask.any())
        seq = prompt.new_full((B, T0 + max(max_new, 0)), pad_id)
        seq[:, :T0] = prompt
        rows = torch.arange(B, device=prompt.device)  # the batch's sequences (rows of seq)
        live = torch.ones(B, dtype=torch.bool, device=prompt.device)  # not finished yet

        def step_logits(tokens: Tensor, past, rows: Tensor) -> tuple[Tensor, KVCache]:
            """Last-position logits of ``rows``; with guidance the cache holds the
            conditioned rows first and their condition-free twins after them."""
            if not guided:
                if past is None:
                    out, cache = self(tokens, cond[rows], cond_mask[rows])
                else:
                    out, cache = self(tokens, past=past)
                return out[:, -1], cache
            both = torch.cat([tokens, tokens])
            if past is None:
                c, m = cond[rows], cond_mask[rows]
                out, cache = self(both, torch.cat([c, c]), torch.cat([m, torch.zeros_like(m)]))
            else:
                out, cache = self(both, past=past)
            lc, ln = out[:, -1].chunk(2)
            return ln + guidance * (lc - ln), cache

        logits, cache = step_logits(prompt, None, rows)
        n = 0
        for step in range(max_new):
            nxt = _sample(logits, temperature, top_k, top_p, generator)
            seq[rows[live], T0 + step] = nxt[live]
            n = step + 1
            live &= nxt != eos_id
            n_live = int(live.sum())
            if n_live == 0 or T0 + n >= self.config.block_size - self.config.n_cond:
                break
            if 8 * (len(live) - n_live) >= len(live):  # drop finished rows (>= 1/8 of them)
                rows, nxt = rows[live], nxt[live]
                if use_cache:
                    keep = torch.cat([live, live]) if guided else live
                    cache = [(k[keep], v[keep]) for k, v in cache]
                live = live[live]
            if use_cache:
                logits, cache = step_logits(nxt[:, None], cache, rows)
            else:
                logits, _ = step_logits(seq[rows, : T0 + n], None, rows)
        return seq[:, : T0 + n]


def _sample(
    logits: Tensor,
    temperature: float,
    top_k: int | None,
    top_p: float | None,
    generator: torch.Generator | None,
) -> Tensor:
    """One token per row from (B, V) logits: temperature, then top-k, then nucleus (top-p)."""
    if temperature <= 0:
        return logits.argmax(-1)
    logits = logits / temperature
    if top_k is not None and top_k < logits.size(-1):
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and top_p < 1.0:
        sorted_logits, order = torch.sort(logits, descending=True, dim=-1)
        cum = sorted_logits.softmax(-1).cumsum(-1)
        drop = cum - sorted_logits.softmax(-1) > top_p  # keep the smallest set reaching top_p
        sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
        logits = torch.full_like(logits, float("-inf")).scatter(-1, order, sorted_logits)
    probs = logits.softmax(-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


class _Block(nn.Module):
    def __init__(self, config: SmilesGPTConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd)
        self.attn = _CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd)
        self.mlp = _MLP(config)

    def forward(self, x: Tensor, past: tuple[Tensor, Tensor] | None):
        a, kv = self.attn(self.ln_1(x), past)
        x = x + a
        return x + self.mlp(self.ln_2(x)), kv


class _CausalSelfAttention(nn.Module):
    def __init__(self, config: SmilesGPTConfig) -> None:
        super().__init__()
        self.n_head = config.n_head
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd)
        self.dropout = config.dropout
        self.resid_drop = nn.Dropout(config.dropout)

    def forward(self, x: Tensor, past: tuple[Tensor, Tensor] | None):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        if past is not None:  # (B, nh, T_past + T, hs)
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        Tk = k.shape[2]
        drop = self.dropout if self.training else 0.0
        if Tk == T:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=drop, is_causal=True)
        elif T == 1:  # one new token sees every cached position: no mask
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=drop)
        else:  # queries are the last T of Tk positions: causal mask aligned bottom-right
            mask = torch.ones(T, Tk, dtype=torch.bool, device=x.device).tril(diagonal=Tk - T)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=drop)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_drop(self.c_proj(y)), (k, v)


class _MLP(nn.Module):
    def __init__(self, config: SmilesGPTConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd)
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd)
        self.drop = nn.Dropout(config.dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.drop(self.c_proj(F.gelu(self.c_fc(x))))
