"""What the molecule page shows, as a frozen report built from the predictor's numbers.

:class:`MoleculeReport` is one molecule's result (built by
:meth:`core.models.molecules.MoleculePredictor.report`): the prediction row, the embedded
molecule it was made from, the property table, the domain note, the closest training
molecules with the similarity note, and the per-atom explanation of one property. The
helpers here shape tables and sentences from plain rows and cards; a page lays them out and
computes nothing, a script gets the same objects. No torch, no streamlit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from core import properties as registry
from core.properties import format_with_std

# Below this Tanimoto similarity to the closest training molecule the page warns: the few
# QM9 test molecules that far out have about twice the typical HOMO/gap error and four
# times the U0 error (card: error_by_similarity).
LOW_SIMILARITY = 0.4
PROPERTY_COLUMNS = ["property", "value", "± (1 std)", "unit", "key"]
# Short column labels of the neighbours' DFT values (card units added by the page).
NEIGHBOUR_SHORT = {
    "homo": "HOMO",
    "lumo": "LUMO",
    "gap": "gap",
    "mu": "μ",
    "alpha": "α",
    "u0": "U0",
}
UNCERTAINTY_NOTE = (
    "DFT level of QM9 (B3LYP/6-31G(2df,p)) on an RDKit ETKDG + MMFF conformer; "
    "± combines the spread of the ensemble members with a per-property floor (the "
    "error the members' spread does not see), fitted so that about 68 % of held-out "
    "errors fall within it (model card: calibration)."
)
EXPLANATION_NOTE = (
    "Red atoms raise the value, blue atoms lower it (hydrogens folded onto their heavy "
    "atom; per-element reference energies left out)."
)


@dataclass(frozen=True)
class MoleculeReport:
    """One molecule's result, ready to lay out.

    Attributes:
        input: the SMILES as entered.
        row: the :meth:`MoleculePredictor.predict`-style row (card units, ``<prop>_std``,
            ``in_domain``, ``domain_message``, ``error``).
        mol: the embedded molecule the prediction was made from (explicit hydrogens and the
            ETKDG + MMFF conformer); None when the SMILES failed.
        properties: display table (:data:`PROPERTY_COLUMNS`), one row per property.
        error: why the SMILES could not be predicted ("" when it was).
        domain_text: the out-of-domain warning ("" inside QM9's domain).
        molblock: the 3D mol block for a viewer ("" on error).
        neighbours: the closest QM9 training molecules with their DFT values (None without
            the data cache or on error).
        neighbours_note: why the neighbours are missing ("" when present).
        similarity_level: ``"ok"`` (show as a note), ``"low"`` (warn) or ``""`` (no neighbours).
        similarity_text: the sentence about the closest training molecule.
        explained: the property of :attr:`explanation` (None: not asked for).
        explanation: per-atom contributions (:meth:`MoleculePredictor.explain` columns).
        explanation_svg: the 2D drawing coloured by the contributions ("" when not asked).
        geometry: the model input of :attr:`mol`, kept to explain another property without
            embedding the molecule again.
        from_structure: the geometry came from an uploaded file, not from the SMILES;
            :attr:`input` is then the record's name.
    """

    input: str
    row: pd.Series
    mol: Any = None
    properties: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=PROPERTY_COLUMNS))
    error: str = ""
    domain_text: str = ""
    molblock: str = ""
    neighbours: pd.DataFrame | None = None
    neighbours_note: str = ""
    similarity_level: str = ""
    similarity_text: str = ""
    explained: str | None = None
    explanation: pd.DataFrame | None = None
    explanation_svg: str = ""
    geometry: Any = field(default=None, repr=False, compare=False)
    from_structure: bool = False

    @property
    def smiles(self) -> str:
        """The canonical SMILES ("" on error)."""
        return str(self.row["smiles"])

    @property
    def title(self) -> str:
        """What the result is called on the page: the canonical SMILES, or an uploaded
        record's name with its SMILES (``trifluoroethanol (OCC(F)(F)F)``)."""
        if self.from_structure and self.input != self.smiles:
            return f"{self.input} ({self.smiles})"
        return self.smiles


DFT_COLUMN = "QM9 DFT"


def properties_table(
    row: Mapping,
    names: Sequence[str],
    units: Mapping[str, str],
    dft: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """One row per property: label, value and ± (1 std) as text, each value to the decimal
    place of its std (:func:`core.properties.format_with_std`), the card unit, the key. A
    property the predictor withheld (no value for a molecule it could read) says so. When
    the molecule is itself a QM9 molecule, ``dft`` holds its DFT values and a column
    :data:`DFT_COLUMN` shows them beside the prediction (same decimals)."""
    records = []
    for name in names:
        value, std = format_with_std(row[name], row[f"{name}_std"])
        if not value and not row.get("error") and "withheld" in str(row.get("domain_message")):
            value, std = "withheld", "see the note above"
        label = registry.QM9[name].label if name in registry.QM9 else name
        record = {"property": label, "value": value, "± (1 std)": std, "unit": units[name]}
        if dft:
            reference = dft.get(name)
            shown = "" if reference is None else format_with_std(reference, row[f"{name}_std"])[0]
            record[DFT_COLUMN] = shown
        records.append({**record, "key": name})
    columns = PROPERTY_COLUMNS[:-1] + ([DFT_COLUMN] if dft else []) + ["key"]
    return pd.DataFrame(records, columns=columns)


def domain_text(row: Mapping) -> str:
    """The warning for a molecule outside QM9's domain ("" inside)."""
    message = row["domain_message"]
    return f"Outside the training domain: {message}." if message else ""


def error_at_similarity(card: dict, similarity: float) -> tuple[str, dict] | None:
    """The card's test MAE per property for molecules as similar to the training set as
    this one: (bin label, {property: MAE, "count": n}), or None if the card has no such
    breakdown (models evaluated before it existed)."""
    bins = card.get("error_by_similarity") or {}
    for label, row in bins.items():
        lo, _, hi = label.removeprefix(">= ").partition("-")
        if float(lo) <= similarity and (not hi or similarity < float(hi)):
            return label, row
    return None


def similarity_note(
    row: Mapping,
    neighbours: pd.DataFrame,
    card: dict,
    units: Mapping[str, str],
    dft: Mapping | None = None,
) -> tuple[str, str]:
    """(level, sentence) about the closest training molecule (``neighbours``' first row).

    The molecule itself in training: its QM9 number and prediction minus DFT for HOMO and
    the gap (level ``"ok"``). Otherwise its Tanimoto similarity and the card's test MAE at
    that similarity; level ``"low"`` (a warning that starts "Few similar molecules in
    training.") below :data:`LOW_SIMILARITY`, else ``"ok"``.
    """
    best = neighbours.iloc[0]
    if best["same_molecule"]:
        errors = ", ".join(
            f"{registry.QM9[p].label} {row[p] - best[p]:+.3g} {units[p]}" for p in ("homo", "gap")
        )
        return "ok", (
            f"This molecule is in QM9's training set (QM9 #{best['qm9_index']}): its DFT values "
            f"stand beside the prediction and in the first row below. Prediction minus DFT: "
            f"{errors}."
        )
    text = f"The most similar training molecule has Tanimoto similarity {best['similarity']:.2f} "
    text += "(ECFP4; 1 = same fingerprint)."
    if dft:  # a QM9 molecule the model did not train on (val or test split)
        text = (
            f"This molecule is in QM9 (#{dft['qm9_index']}, {dft['split']} split) but not among "
            "the training molecules: its DFT values stand beside the prediction, a check of the "
            "model on a molecule it has not seen. " + text
        )
    found = error_at_similarity(card, float(best["similarity"]))
    if found is not None:
        label, mae = found
        text += (
            f" Held-out test molecules with similarity {label} ({mae['count']:,} of them) "
            f"had MAE HOMO {1000 * mae['homo']:.0f} meV, gap {1000 * mae['gap']:.0f} meV, "
            f"μ {mae['mu']:.2f} D (model card: error by similarity)."
        )
    if best["similarity"] < LOW_SIMILARITY:
        return "low", "Few similar molecules in training. " + text
    return "ok", text


def card_summary(card: dict) -> str:
    """The model card's first paragraph (markdown): architecture, ensemble, data, test set,
    code version and date."""
    data = card["data"]
    return (
        f"**{card['architecture']}**, {card['ensemble_size']} member(s), trained on the "
        f"QM9 training split ({data['split_sizes']['train']:,} molecules, "
        f"`{data['package']}=={data['version']}`), "
        f"tested on {card['test_molecules']:,} held-out molecules. "
        f"Code version `{card['version']}`, {card['date'][:10]}."
    )


def labelled_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """A prediction table with headers a person reads: ``homo`` -> ``HOMO (eV)``,
    ``homo_std`` -> ``HOMO ± (eV)``, ``domain_message`` -> ``domain note``; other columns
    (the user's own, ``smiles``, ``error``) keep their names. Values are unchanged."""
    from core.properties import QM9

    names = {"in_domain": "in domain", "domain_message": "domain note"}
    for key, prop in QM9.items():
        unit = f" ({prop.display_unit})" if prop.display_unit else ""
        names[key] = f"{prop.label}{unit}"
        names[f"{key}_std"] = f"{prop.label} ±{unit}"
    return frame.rename(columns={c: names[c] for c in frame.columns if c in names})
