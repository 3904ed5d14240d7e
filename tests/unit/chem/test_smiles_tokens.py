import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rdkit import Chem

from core.chem.smiles_tokens import BOS_RANDOM, SPECIALS, SmilesVocab, tokenize
from core.exceptions import InvalidInputError

MOSES_LIKE = [
    "CCCS(=O)c1ccc2[nH]c(=NC(=O)OC)[nH]c2c1",
    "CC(C)(C)C(=O)C(Oc1ccc(Cl)cc1)n1ccnc1",
    "Cc1c(Cl)cccc1Nc1ncccc1C(=O)OCC(O)CO",
    "O=C(N1CCC(CC1)c1ccccc1Br)C1CC1",
    "C1CC2CCC1C2",
]


def test_multi_character_tokens_are_single():
    assert tokenize("c1ccc2[nH]ccc2c1Cl") == [
        "c",
        "1",
        "c",
        "c",
        "c",
        "2",
        "[nH]",
        "c",
        "c",
        "c",
        "2",
        "c",
        "1",
        "Cl",
    ]
    assert tokenize("C%12CC%12Br") == ["C", "%12", "C", "C", "%12", "Br"]
    assert tokenize("[C@@H](N)[N+](=O)[O-]")[0] == "[C@@H]"


def test_untokenisable_text_is_refused():
    with pytest.raises(InvalidInputError, match="not SMILES tokens"):
        tokenize("CC X")


def test_vocab_specials_first_and_ring_bonds_included():
    vocab = SmilesVocab.build(MOSES_LIKE)
    assert vocab.tokens[: len(SPECIALS)] == SPECIALS
    assert (vocab.pad_id, vocab.bos_id, vocab.bos_random_id, vocab.eos_id) == (0, 1, 2, 3)
    assert "%15" in vocab and "9" in vocab and "[nH]" in vocab and "Br" in vocab


@pytest.mark.parametrize("smi", MOSES_LIKE)
def test_encode_decode_round_trip(smi):
    vocab = SmilesVocab.build(MOSES_LIKE)
    ids = vocab.encode(smi)
    assert ids[0] == vocab.bos_id and ids[-1] == vocab.eos_id
    assert vocab.decode(ids) == smi
    assert vocab.encode(smi, bos=BOS_RANDOM, eos=False)[0] == vocab.bos_random_id


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(MOSES_LIKE), st.integers(0, 2**31 - 1))
def test_randomised_smiles_round_trip_to_the_same_molecule(smi, seed):
    vocab = SmilesVocab.build(MOSES_LIKE)
    mol = Chem.MolFromSmiles(smi)
    rand = Chem.MolToRandomSmilesVect(mol, 1, randomSeed=seed)[0]
    decoded = vocab.decode(vocab.encode(rand))
    assert decoded == rand
    assert Chem.MolToSmiles(Chem.MolFromSmiles(decoded)) == Chem.MolToSmiles(mol)


def test_decode_stops_at_eos_and_skips_specials():
    vocab = SmilesVocab.build(["CCO"])
    ids = [vocab.bos_id] + vocab.encode("CCO", eos=True)[1:] + vocab.encode("C")[1:]
    assert vocab.decode(ids) == "CCO"


def test_unknown_token_is_a_domain_error():
    vocab = SmilesVocab.build(["CCO"])
    with pytest.raises(InvalidInputError, match="vocabulary"):
        vocab.encode("CC[Se]C")


def test_bad_vocabularies_cannot_be_built():
    with pytest.raises(ValueError):
        SmilesVocab(("C", "N"))
    with pytest.raises(ValueError):
        SmilesVocab(SPECIALS + ("C", "C"))


def test_encode_within_skips_what_does_not_fit():
    vocab = SmilesVocab.build(["CCO", "c1ccccc1"])
    assert vocab.encode_within("CCO", 5) == vocab.encode("CCO")  # 3 tokens + bos + eos
    assert vocab.encode_within("CCO", 4) is None
    assert vocab.encode_within("CCCl", 10) is None  # Cl is not in the vocabulary
    assert vocab.encode_within("c1ccccc1", 10, bos="<bos_r>")[0] == vocab.bos_random_id
