"""core.chem.molecules: SMILES parsing with RDKit's reasons, conformers, structure files."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from rdkit import Chem
from rdkit.Chem import AllChem

from core.chem.molecules import (
    canonical_smiles,
    elements,
    embed_conformer,
    embed_conformers,
    heavy_atom_count,
    mol_from_file,
    parse_smiles,
)
from core.exceptions import InvalidInputError


def _ethanol_3d() -> Chem.Mol:
    mol = Chem.AddHs(Chem.MolFromSmiles("CCO"))
    AllChem.EmbedMolecule(mol, randomSeed=7)
    return mol


# --- parse_smiles: good input -------------------------------------------------------


@pytest.mark.parametrize("text", ["CCO", "  OCC\n", "C(O)C", "[CH3][CH2][OH]"])
def test_ethanol_in_any_spelling_gives_the_same_canonical_smiles(text: str) -> None:
    mol = parse_smiles(text)
    assert canonical_smiles(mol) == "CCO"
    assert heavy_atom_count(mol) == 3
    assert elements(mol) == {"C", "O"}


def test_elements_outside_a_models_domain_are_not_parse_errors() -> None:
    assert elements(parse_smiles("F[Si](F)(F)F")) == {"F", "Si"}
    assert elements(parse_smiles("Brc1ccccc1")) == {"Br", "C"}


def test_largest_fragment_returns_acetate() -> None:
    mol = parse_smiles("CC(=O)[O-].[Na+]", largest_fragment=True)
    assert canonical_smiles(mol) == "CC(=O)[O-]"


# --- parse_smiles: bad input --------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_smiles_is_rejected(text: str) -> None:
    with pytest.raises(InvalidInputError, match="empty"):
        parse_smiles(text)


@pytest.mark.parametrize("value", [None, 42, b"CCO"])
def test_non_string_smiles_is_rejected(value: object) -> None:
    with pytest.raises(InvalidInputError, match="must be text"):
        parse_smiles(value)  # type: ignore[arg-type]


def test_too_long_smiles_is_rejected_before_parsing() -> None:
    with pytest.raises(InvalidInputError, match="too long"):
        parse_smiles("C" * 1001)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("C1CC", "unclosed ring"),
        ("CC(C", "extra open parentheses"),
        ("C==C", "syntax error"),
        ("CN(C)(C)(C)C", "Explicit valence for atom # 1 N, 5, is greater than permitted"),
        ("c1cccc1", "Can't kekulize mol"),
    ],
)
def test_invalid_smiles_carries_rdkits_reason(text: str, reason: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_smiles(text)
    assert reason in str(info.value)
    assert text in str(info.value)
    assert info.value.entry == text


def test_invalid_smiles_prints_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    for text in ["C1CC", "CN(C)(C)(C)C", "c1cccc1"]:
        with pytest.raises(InvalidInputError):
            parse_smiles(text)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_salt_is_rejected_naming_fragments_and_the_largest() -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_smiles("CC(=O)[O-].[Na+]")
    message = str(info.value)
    assert "2 fragments" in message
    assert "[Na+]" in message and "largest is CC(=O)[O-]" in message
    assert info.value.suggestion == "CC(=O)[O-]"


def test_smiles_followed_by_a_name_is_rejected_with_the_smiles_as_suggestion() -> None:
    with pytest.raises(InvalidInputError, match="followed by other text") as info:
        parse_smiles("CCO ethanol")
    assert "ethanol" in str(info.value)
    assert info.value.suggestion == "CCO"


def test_too_many_heavy_atoms() -> None:
    with pytest.raises(InvalidInputError, match="11 heavy atoms"):
        parse_smiles("C" * 11, max_heavy_atoms=10)
    assert heavy_atom_count(parse_smiles("C" * 10, max_heavy_atoms=10)) == 10


def test_parallel_parsing_keeps_each_reason_with_its_smiles() -> None:
    cases = {"C1CC": "unclosed ring", "CN(C)(C)(C)C": "Explicit valence", "CC(C": "parentheses"}
    failures: list[str] = []

    def work(text: str, reason: str) -> None:
        for _ in range(30):
            try:
                parse_smiles(text)
            except InvalidInputError as err:
                if reason not in str(err):
                    failures.append(str(err))

    threads = [threading.Thread(target=work, args=item) for item in cases.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


# --- embed_conformer ---------------------------------------------------------------


def test_conformer_is_deterministic_and_has_hydrogens() -> None:
    first = embed_conformer(parse_smiles("OC(=O)c1ccccc1O"))
    second = embed_conformer(parse_smiles("OC(=O)c1ccccc1O"))
    assert first.GetNumConformers() == 1
    assert first.GetNumAtoms() == 16  # salicylic acid C7H6O3
    np.testing.assert_array_equal(
        first.GetConformer().GetPositions(), second.GetConformer().GetPositions()
    )
    assert first.GetConformer().Is3D()


def test_conformer_seed_changes_coordinates_and_input_is_untouched() -> None:
    mol = parse_smiles("CCCCO")
    a = embed_conformer(mol, seed=1, optimize=False).GetConformer().GetPositions()
    b = embed_conformer(mol, seed=2, optimize=False).GetConformer().GetPositions()
    assert not np.allclose(a, b)
    assert mol.GetNumConformers() == 0 and mol.GetNumAtoms() == 5


def test_conformer_without_mmff_parameters_falls_back() -> None:
    mol = embed_conformer(parse_smiles("C[Se]C"))  # Se: no MMFF94 parameters, UFF has them
    assert mol.GetNumConformers() == 1


def test_empty_molecule_cannot_be_embedded() -> None:
    with pytest.raises(InvalidInputError, match="3D coordinates"):
        embed_conformer(Chem.Mol())


# --- mol_from_file -----------------------------------------------------------------


def test_sdf_keeps_coordinates_and_hydrogens() -> None:
    mol = _ethanol_3d()
    block = Chem.MolToMolBlock(mol)
    sdf = f"{block}$$$$\n{block}$$$$\n"
    mols = mol_from_file(sdf.encode(), "two.sdf")
    assert len(mols) == 2
    assert mols[0].GetNumAtoms() == 9
    np.testing.assert_allclose(
        mols[1].GetConformer().GetPositions(), mol.GetConformer().GetPositions(), atol=1e-4
    )


def test_mol_file_reads_one_structure() -> None:
    [mol] = mol_from_file(Chem.MolToMolBlock(_ethanol_3d()), "ethanol.MOL")
    assert canonical_smiles(mol) == "CCO"


def test_xyz_perceives_bonds_and_reads_every_frame() -> None:
    xyz = Chem.MolToXYZBlock(_ethanol_3d())
    mols = mol_from_file(xyz + "\n" + xyz, "traj.xyz")
    assert [canonical_smiles(m) for m in mols] == ["CCO", "CCO"]
    assert mols[0].GetNumAtoms() == 9


def test_xyz_that_is_not_neutral_names_the_record() -> None:
    lines = Chem.MolToXYZBlock(_ethanol_3d()).splitlines()
    radical = "\n".join(["8", "missing one H", *lines[2:10]])
    good = "\n".join(lines)
    with pytest.raises(InvalidInputError, match="record 2") as info:
        mol_from_file(f"{good}\n{radical}\n", "bad.xyz")
    assert "neutral" in str(info.value)
    assert info.value.entry == "record 2"


def test_truncated_xyz_is_rejected() -> None:
    with pytest.raises(InvalidInputError, match="record 1.*announces 5 atoms"):
        mol_from_file("5\ncomment\nC 0 0 0\n", "short.xyz")


def test_broken_sdf_record_is_named() -> None:
    block = Chem.MolToMolBlock(_ethanol_3d())
    broken = block.replace("  9  8", "  9  9", 1)  # claims one bond more than listed
    with pytest.raises(InvalidInputError, match="record 2"):
        mol_from_file(f"{block}$$$$\n{broken}$$$$\n", "mixed.sdf")


@pytest.mark.parametrize(
    ("data", "filename", "match"),
    [
        (b"", "empty.sdf", "empty"),
        ("   \n", "blank.xyz", "empty"),
        (b"CCO", "mol.pdb", "unsupported"),
        (b"CCO", "noext", "unsupported"),
        (b"\x00\x01\x02", "binary.sdf", "binary"),
    ],
)
def test_bad_files_are_rejected(data: bytes | str, filename: str, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        mol_from_file(data, filename)


def test_threaded_embedding_matches_one_by_one_and_keeps_failures_in_place(
    capfd: pytest.CaptureFixture[str],
) -> None:
    smiles = ["OC(=O)c1ccccc1O", "C[Se]C", "CC(C)(C)c1ccccc1", "N#CC1CC1", "OCC(F)(F)F"] * 6
    mols = [parse_smiles(s) for s in smiles]
    mols.insert(7, Chem.Mol())  # cannot be embedded
    embedded = embed_conformers(mols, threads=2)
    assert len(embedded) == len(mols)
    assert isinstance(embedded[7], InvalidInputError)
    for mol, got in zip(mols, embedded, strict=True):
        if mol.GetNumAtoms() == 0:
            continue
        expected = embed_conformer(mol).GetConformer().GetPositions()
        assert np.array_equal(got.GetConformer().GetPositions(), expected)
    assert capfd.readouterr().err == ""  # RDKit's warnings stay silenced on worker threads


def _numbered_methanes(n: int) -> list[Chem.Mol]:
    mols = []
    for i in range(n):
        mol = Chem.MolFromSmiles("C")
        mol.SetIntProp("i", i)
        mols.append(mol)
    return mols


def test_a_slow_molecule_holds_up_one_thread_not_the_batch(monkeypatch) -> None:
    """Regression: molecules were embedded in slices of 8 x threads and each slice waited
    for its slowest molecule, so one strained cage for which ETKDG exhausts its attempts
    (about a second) left the other thread idle. Now the free thread keeps taking
    molecules while the slow one runs."""
    import threading

    from core.chem import molecules as chem

    others_done = threading.Event()
    done: list[int] = []

    def fake_embed(mol, seed, optimize, budget=None):
        index = mol.GetIntProp("i")
        if index == 0:  # the slow one: finishes only after all the others
            assert others_done.wait(10), "the other thread stopped while molecule 0 ran"
        else:
            done.append(index)
            if len(done) == 59:
                others_done.set()
        return mol

    monkeypatch.setattr(chem, "_embed", fake_embed)
    out = chem.embed_conformers(_numbered_methanes(60), threads=2, hold_seconds=0.01)
    assert [m.GetIntProp("i") for m in out] == list(range(60))
    assert sorted(done) == list(range(1, 60))


def test_batch_embedding_lets_other_sessions_take_the_rdkit_lock(monkeypatch) -> None:
    import threading
    import time

    from core.chem import molecules as chem

    batch_started, batch_over = threading.Event(), threading.Event()
    got_lock_during_batch = threading.Event()

    def fake_embed(mol, seed, optimize, budget=None):
        batch_started.set()
        time.sleep(0.005)
        return mol

    def other_session() -> None:
        assert batch_started.wait(10)
        while not batch_over.is_set():
            with chem._quiet_rdkit():
                if not batch_over.is_set():
                    got_lock_during_batch.set()
                    return
            time.sleep(0.001)

    monkeypatch.setattr(chem, "_embed", fake_embed)
    helper = threading.Thread(target=other_session)
    helper.start()
    out = chem.embed_conformers(_numbered_methanes(200), threads=2, hold_seconds=0.02)
    batch_over.set()
    helper.join()
    assert len(out) == 200
    assert got_lock_during_batch.is_set()


@pytest.mark.parametrize("text", ["CCΩ", "ΩCC", "C\u200bC", "СС"])  # the last is Cyrillic
def test_non_ascii_characters_are_refused_not_dropped(text):
    with pytest.raises(InvalidInputError, match="U\\+"):
        parse_smiles(text)


def test_embed_budget_keeps_the_full_recipe_where_it_suffices_and_marks_what_it_cuts() -> None:
    """A molecule the budget does not cut gets the full recipe's coordinates, bit for bit
    (same seed, same attempts, a converged optimisation) and is marked 'etkdg'; a force
    field stopped by the budget is marked 'etkdg-budget'."""
    from core.chem.molecules import EmbedBudget, embed_conformers

    mols = [parse_smiles(s) for s in ("CC(C)(C)c1ccc(cc1)C(=O)N", "C12C3C4C1C5C2C3C45", "CCO")]
    full = embed_conformers(mols, threads=1)
    budget = embed_conformers(mols, threads=1, budget=EmbedBudget())
    for a, b in zip(full, budget, strict=True):
        assert a.GetProp("_conformer") == b.GetProp("_conformer") == "etkdg"
        np.testing.assert_array_equal(
            a.GetConformer().GetPositions(), b.GetConformer().GetPositions()
        )
    cut = embed_conformers(mols[:1], threads=1, budget=EmbedBudget(attempts=5, mmff_iters=1))[0]
    assert cut.GetProp("_conformer") == "etkdg-budget"
    assert not np.allclose(cut.GetConformer().GetPositions(), full[0].GetConformer().GetPositions())
