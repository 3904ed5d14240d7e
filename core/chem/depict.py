"""Molecule pictures for the pages: 2D SVG (optionally coloured by per-atom values) and the
3D block a viewer needs. Plain RDKit; no streamlit.
"""

from __future__ import annotations

from collections.abc import Mapping

from rdkit import Chem
from rdkit.Chem import rdDepictor
from rdkit.Chem.Draw import rdMolDraw2D


def svg_2d(
    mol: Chem.Mol,
    atom_values: Mapping[int, float] | None = None,
    size: tuple[int, int] = (420, 320),
    legend: str = "",
) -> str:
    """SVG of ``mol`` without explicit hydrogens. ``atom_values`` (atom index -> value, e.g.
    per-atom contributions) colour atoms blue (negative) to red (positive), scaled to the
    largest magnitude, and label each atom with its value."""
    mol = Chem.Mol(mol)
    mol.RemoveAllConformers()
    mol = Chem.RemoveHs(mol, sanitize=False)
    rdDepictor.SetPreferCoordGen(True)
    rdDepictor.Compute2DCoords(mol)
    drawer = rdMolDraw2D.MolDraw2DSVG(*size)
    options = drawer.drawOptions()
    options.addStereoAnnotation = True
    highlight, colours, radii = [], {}, {}
    if atom_values:
        scale = max(abs(v) for v in atom_values.values()) or 1.0
        for idx, value in atom_values.items():
            if idx >= mol.GetNumAtoms():
                continue
            t = max(-1.0, min(1.0, value / scale))
            colours[idx] = (1.0, 1 - t, 1 - t) if t >= 0 else (1 + t, 1 + t, 1.0)
            radii[idx] = 0.3 + 0.25 * abs(t)
            highlight.append(idx)
            mol.GetAtomWithIdx(idx).SetProp("atomNote", f"{value:+.2f}")
    rdMolDraw2D.PrepareAndDrawMolecule(
        drawer,
        mol,
        legend=legend,
        highlightAtoms=highlight,
        highlightAtomColors=colours,
        highlightAtomRadii=radii,
        highlightBonds=[],
    )
    drawer.FinishDrawing()
    return drawer.GetDrawingText()


def molblock_3d(mol_with_conformer: Chem.Mol) -> str:
    """MDL mol block (with hydrogens and 3D coordinates) for a 3D viewer. The title line
    is cleared: a name from an uploaded file never reaches the viewer's HTML."""
    mol = Chem.Mol(mol_with_conformer)
    mol.SetProp("_Name", "")
    return Chem.MolToMolBlock(mol)


def heavy_atom_values(explanation) -> dict[int, float]:
    """Fold per-atom contributions (a table from ``MoleculePredictor.explain``) onto heavy
    atoms: each hydrogen's contribution is added to the atom it is bonded to."""
    folded = explanation.groupby("heavy_atom")["contribution"].sum()
    return {int(k): float(v) for k, v in folded.items()}


def grid_svg(
    smiles: list[str],
    legends: list[str] | None = None,
    highlight: Chem.Mol | str | None = None,
    per_row: int = 4,
    size: tuple[int, int] = (240, 200),
) -> str:
    """SVG grid of 2D depictions of ``smiles`` (unparsable ones are left out), with the
    atoms and bonds matching ``highlight`` (a query such as a fragment, or its SMILES)
    coloured."""
    if isinstance(highlight, str):
        highlight = Chem.MolFromSmiles(highlight) if highlight else None
    from rdkit import rdBase
    from rdkit.Chem import Draw

    mols, labels, atoms, bonds = [], [], [], []
    for i, smi in enumerate(smiles):
        with rdBase.BlockLogs():
            mol = Chem.MolFromSmiles(smi)
        if mol is None:
            continue
        rdDepictor.SetPreferCoordGen(True)
        rdDepictor.Compute2DCoords(mol)
        match = mol.GetSubstructMatch(highlight) if highlight is not None else ()
        match_bonds = []
        if match and highlight is not None:
            for b in highlight.GetBonds():
                bond = mol.GetBondBetweenAtoms(match[b.GetBeginAtomIdx()], match[b.GetEndAtomIdx()])
                if bond is not None:
                    match_bonds.append(bond.GetIdx())
        mols.append(mol)
        labels.append(legends[i] if legends else "")
        atoms.append(list(match))
        bonds.append(match_bonds)
    if not mols:
        return ""
    return Draw.MolsToGridImage(
        mols,
        molsPerRow=max(1, min(per_row, len(mols))),
        subImgSize=size,
        legends=labels,
        highlightAtomLists=atoms,
        highlightBondLists=bonds,
        useSVG=True,
    )
