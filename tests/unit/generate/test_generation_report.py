import math

import pandas as pd
import pytest
from rdkit import Chem

from core.chem.depict import grid_svg
from core.generate.molecules import GenerationReport


def _report() -> GenerationReport:
    df = pd.DataFrame(
        {
            "smiles": ["CCO", "Oc1ccccc1", "CC(=O)Nc1ccccc1"],
            "logp": [-0.0014, 1.39, 1.68],
            "sas": [1.98, 1.0, 1.2],
            "mw": [46.07, 94.11, 135.17],
            "qed": [0.41, 0.54, 0.58],
            "tpsa": [20.2, 20.2, 29.1],
            "logp_error": [-1.0014, 0.39, 0.68],
            "novel": [False, True, True],
            "fragment_matched": [False, True, True],
        }
    )
    df.attrs.update(samples=10, raw_validity=0.4, raw_uniqueness=0.75)
    return GenerationReport(df, requested=5, conditions={"logp": 1.0}, fragment="c1ccccc1")


def test_batch_metrics_come_from_the_rows():
    r = _report()
    assert r.novelty == pytest.approx(2 / 3)
    assert r.fragment_rate == pytest.approx(2 / 3)
    assert r.mad() == {"logp": pytest.approx((1.0014 + 0.39 + 0.68) / 3)}
    table = r.metrics_table().set_index("metric")["value"]
    assert table["molecules returned"] == "3 of 5"
    assert table["validity (raw)"] == "40.0%"
    assert table["fragment kept"] == "66.7%"
    assert table["MAD logp"] == "0.69"


def test_unknown_novelty_is_not_reported_as_zero():
    r = _report()
    r.molecules["novel"] = None
    assert math.isnan(r.novelty)
    assert "novelty" not in set(r.metrics_table()["metric"])


def test_sdf_round_trips_molecules_and_values():
    r = _report()
    supplier = Chem.SDMolSupplier()
    supplier.SetData(r.to_sdf().decode())
    mols = [m for m in supplier]
    assert [Chem.MolToSmiles(m) for m in mols] == r.molecules["smiles"].tolist()
    assert float(mols[1].GetProp("logp_error")) == pytest.approx(0.39)
    assert mols[0].GetProp("novel") == "False"
    csv = pd.read_csv(pd.io.common.BytesIO(r.to_csv()))
    assert csv["smiles"].tolist() == r.molecules["smiles"].tolist()


def test_grid_highlights_the_fragment_and_skips_bad_smiles():
    smiles, legends = ["c1ccccc1O", "not a smiles", "CCO"], ["a", "b", "c"]
    plain = grid_svg(smiles, legends)
    marked = grid_svg(smiles, legends, highlight=Chem.MolFromSmiles("c1ccccc1"))
    assert "#FF7F7F" in marked and "#FF7F7F" not in plain  # RDKit's highlight colour
    assert grid_svg(["nonsense"]) == ""


def test_view_sorts_by_distance_to_target_and_filters():
    r = _report()
    assert r.view(sort_by="logp")["smiles"].tolist() == ["Oc1ccccc1", "CC(=O)Nc1ccccc1", "CCO"]
    assert r.view(sort_by="mw", descending=True)["mw"].tolist() == [135.17, 94.11, 46.07]
    assert r.view(fragment_only=True, novel_only=True)["smiles"].tolist() == [
        "Oc1ccccc1",
        "CC(=O)Nc1ccccc1",
    ]


class _FakeQM9:
    def predict(self, smiles, progress=None):
        n = len(smiles)
        return pd.DataFrame(
            {
                **{c: [float(i) for i in range(n)] for c in GenerationReport.QM9_COLUMNS},
                "domain_message": ["", "11 heavy atoms (QM9: up to 9)", ""][:n],
                "error": ["", "", "could not generate 3D coordinates"][:n],
            }
        )


def test_qm9_scores_join_row_by_row_with_domain_and_errors():
    r = _report().score_qm9(_FakeQM9())
    df = r.molecules
    assert df["gap"].tolist() == [0.0, 1.0, 2.0]
    assert df["qm9_domain"].tolist() == [
        "",
        "11 heavy atoms (QM9: up to 9)",
        "could not generate 3D coordinates",
    ]
    assert df.attrs["samples"] == 10  # batch provenance kept
    table = r.metrics_table().set_index("metric")["value"]
    assert table["inside the QM9 domain"] == "33.3%"
    assert "gap" not in _report().molecules  # the original report is unchanged
