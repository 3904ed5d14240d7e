"""SMILES tokeniser: the standard regex (Schwaller et al., ACS Cent. Sci. 5, 1572 (2019)).

Bracket atoms (``[nH]``, ``[C@@H]``, ``[N+]``), two-letter elements (``Cl``, ``Br``),
ring-bond digits and ``%nn`` ring bonds are single tokens. The vocabulary is built from
the MOSES training split (canonical and randomised SMILES) and stored in the model card, so a
model always decodes with the vocabulary it was trained with.

Special tokens (ids 0-3): ``<pad>``, ``<bos>`` (canonical SMILES follows), ``<bos_r>``
(a randomised, possibly rooted SMILES follows: the fragment-prompt mode of the generator),
``<eos>``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from core.exceptions import InvalidInputError

SMILES_REGEX = re.compile(
    r"(\[[^\]]+]|Br?|Cl?|N|O|S|P|F|I|b|c|n|o|s|p|\(|\)|\.|=|#|-|\+|\\|/|:|~|@|\?|>|\*|\$|%[0-9]{2}|[0-9])"
)
PAD, BOS, BOS_RANDOM, EOS = "<pad>", "<bos>", "<bos_r>", "<eos>"
SPECIALS: tuple[str, ...] = (PAD, BOS, BOS_RANDOM, EOS)
# Ring bonds a randomised SMILES may need even if canonical training SMILES never do.
_RING_TOKENS = tuple(str(d) for d in range(1, 10)) + tuple(f"%{d}" for d in range(10, 20))


def tokenize(smiles: str) -> list[str]:
    """Split a SMILES into tokens; raises InvalidInputError on characters the regex skips."""
    tokens = SMILES_REGEX.findall(smiles)
    if "".join(tokens) != smiles:
        raise InvalidInputError(
            "SMILES contains characters that are not SMILES tokens",
            got=smiles,
            expected="atoms, bonds, branches and ring-bond digits only",
        )
    return tokens


@dataclass(frozen=True)
class SmilesVocab:
    """Token <-> id map. ``tokens[i]`` is the token of id ``i``; the specials come first."""

    tokens: tuple[str, ...]
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if tuple(self.tokens[: len(SPECIALS)]) != SPECIALS:
            raise ValueError(f"vocabulary must start with {SPECIALS}, got {self.tokens[:4]}")
        if len(set(self.tokens)) != len(self.tokens):
            raise ValueError("vocabulary has duplicate tokens")
        object.__setattr__(self, "_index", {t: i for i, t in enumerate(self.tokens)})

    @classmethod
    def build(cls, smiles: Iterable[str], min_count: int = 1) -> SmilesVocab:
        """Vocabulary of every token seen at least ``min_count`` times, plus ring bonds."""
        counts = Counter(t for s in smiles for t in tokenize(s))
        seen = {t for t, c in counts.items() if c >= min_count} | set(_RING_TOKENS)
        return cls(SPECIALS + tuple(sorted(seen)))

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def pad_id(self) -> int:
        return 0

    @property
    def bos_id(self) -> int:
        return 1

    @property
    def bos_random_id(self) -> int:
        return 2

    @property
    def eos_id(self) -> int:
        return 3

    def __contains__(self, token: str) -> bool:
        return token in self._index

    def encode(self, smiles: str, *, bos: str = BOS, eos: bool = True) -> list[int]:
        """``[bos] + token ids (+ [eos])``; raises InvalidInputError on unknown tokens."""
        ids = [self._index[bos]]
        for tok in tokenize(smiles):
            try:
                ids.append(self._index[tok])
            except KeyError:
                raise InvalidInputError(
                    f"SMILES token {tok!r} is not in the generator's vocabulary",
                    got=smiles,
                    expected=f"tokens seen in MOSES training SMILES ({len(self)} tokens)",
                    fix="use common organic elements (C, N, O, S, F, Cl, Br) and charges",
                ) from None
        if eos:
            ids.append(self.eos_id)
        return ids

    def encode_within(self, smiles: str, max_len: int, *, bos: str = BOS) -> list[int] | None:
        """``encode`` (with ``<eos>``) if every token is known and the sequence fits in
        ``max_len`` positions, else None (a training sample to skip)."""
        toks = tokenize(smiles)
        if len(toks) + 2 > max_len or any(t not in self._index for t in toks):
            return None
        return self.encode(smiles, bos=bos)

    def decode(self, ids: Sequence[int]) -> str:
        """SMILES of a token-id sequence: specials skipped, stops at the first ``<eos>``."""
        out = []
        for i in ids:
            i = int(i)
            if i == self.eos_id:
                break
            if i >= len(SPECIALS):
                out.append(self.tokens[i])
        return "".join(out)
