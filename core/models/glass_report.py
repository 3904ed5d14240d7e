"""What the glass page shows, as frozen report objects built from the predictor's numbers.

:class:`GlassReport` is one formulation's result (values with units, domain note, the
measured-neighbour note, the viscosity curve and its characteristic points, the nearest
measured glasses); :func:`card_tables` turns the model card into display-ready tables and
sentences. A page lays these out and computes nothing; a script gets the same objects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core import properties
from core.data import sciglass as sciglass_data
from core.exceptions import InvalidInputError
from core.properties import LOG10_VISCOSITY_CEILING

PROPERTIES = sciglass_data.PROPERTIES
UNCERTAINTY_NOTE = (
    "± combines the spread (standard deviation) of the ensemble members with a per-property "
    "floor (the scatter the members do not see, e.g. between papers), fitted so that about "
    "68 % of held-out errors fall within it (model card: uncertainty calibration); the "
    "viscosity band, T12, fragility and characteristic temperatures use one factor fitted on "
    "measured viscosity points."
)
SCIGLASS_NOTE = (
    "Distance: mol% that would have to change to turn one composition into the other. "
    "SciGlass data: ODbL 1.0, © 2019 EPAM Systems."
)


@dataclass(frozen=True)
class GlassReport:
    """One formulation's result, ready to lay out.

    Attributes:
        composition: normalised mole fractions ``{formula: x}``.
        prediction: the one-row :meth:`GlassPredictor.predict`-style frame (card units).
        curve: the MYEGA curve, a row per temperature (``T_K``, ``log10_viscosity``, std).
        characteristic: strain ... melting points (``point``, ``log10_viscosity``, ``T_K``).
        values: ``(label, "value ± std unit")`` per property, display units.
        domain_level: ``"ok"``, ``"note"`` (in domain, with a remark) or ``"outside"``.
        domain_text: the sentence to show at that level.
        correction_note: how far the measured neighbours moved the values ("" if negligible).
        curve_note: fragility, T12 and log10 eta_inf with their std, and the band's coverage.
        tie_message: T12 / Tg disagreement note ("" when they agree within 50 K).
        characteristic_table: display table of the characteristic points (K and °C).
        neighbours: display table of the nearest measured glasses (None: no data cache).
        measured_viscosity: measured points of the nearest glasses with viscosity, with a
            ``glass`` label column (empty without the data cache or when not asked for).
        neighbours_note: why the neighbours are missing ("" when present).
    """

    composition: dict[str, float]
    prediction: pd.DataFrame
    curve: pd.DataFrame
    characteristic: pd.DataFrame
    values: tuple[tuple[str, str], ...]
    domain_level: str
    domain_text: str
    correction_note: str
    curve_note: str
    tie_message: str
    characteristic_table: pd.DataFrame
    neighbours: pd.DataFrame | None = None
    measured_viscosity: pd.DataFrame = field(default_factory=pd.DataFrame)
    neighbours_note: str = ""

    @property
    def row(self) -> pd.Series:
        return self.prediction.iloc[0]


def domain_text(row: Mapping) -> tuple[str, str]:
    """(level, sentence) of a prediction row's applicability-domain check."""
    if not row["in_domain"]:
        return "outside", str(row["domain_message"])
    if row["domain_message"]:
        return "note", str(row["domain_message"])
    return "ok", (
        "In the training domain: the nearest training glass differs by "
        f"{row['nearest_distance_molpct']:.1f} mol%."
    )


def correction_note(row: Mapping) -> str:
    """Which values the measured-neighbour correction moved by at least 0.1 std."""
    moved = []
    for p in PROPERTIES:
        c, s = float(row[f"{p}_correction"]), float(row[f"{p}_std"])
        if abs(c) >= 0.1 * s:
            prop = properties.GLASS[p]
            amount = properties.format_value_std(p, abs(c))
            moved.append(f"{prop.label.split(' (')[0]} {'+' if c >= 0 else '−'}{amount}")
    if not moved:
        return ""
    return (
        "Measured SciGlass glasses close to this one moved the model's values by: "
        + "; ".join(moved)
        + " (model card: measured-neighbour correction)."
    )


def curve_note(curve: pd.DataFrame, coverage: float | None) -> str:
    first = curve.iloc[0]
    band = "Band: ± 2 std" + (
        f" (it holds {coverage:.0%} of the measured held-out test points; model card)."
        if coverage is not None
        else "."
    )
    capped = curve[curve["at_ceiling"]]
    ceiling = (
        f" At and below {capped['T_K'].max():.0f} K a member's curve is held at "
        f"10^{LOG10_VISCOSITY_CEILING:g} Pa s (the end of what viscometers measure; far below "
        "T12 a glass is not the equilibrium liquid that MYEGA describes): there the curve is a "
        "lower bound."
        if len(capped)
        else ""
    )
    return (
        f"Fragility **m = {first['fragility']:.1f} ± {first['fragility_std']:.1f}**, "
        f"T12 = **{first['T12']:.0f} ± {first['T12_std']:.0f} K**, "
        f"log10 η∞ = {first['A']:.2f} ± {first['A_std']:.2f} (Pa s). {band}{ceiling}"
    )


def characteristic_table(characteristic: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Point": characteristic["point"],
            "log10 η (Pa s)": characteristic["log10_viscosity"].round(1),
            "T (K)": characteristic["T_K"].round(0),
            "± (K)": characteristic["T_K_std"].round(0),
            "T (°C)": (characteristic["T_K"] - 273.15).round(0),
        }
    )


def neighbours_table(near: pd.DataFrame) -> pd.DataFrame:
    """Nearest measured glasses for display: composition, distance, then the measured
    values in display units (CTE in ppm/K like the predictions); no internal keys."""
    out = pd.DataFrame(
        {
            "composition (mol%)": near["composition"],
            "distance (mol%)": near["distance_molpct"].round(2),
        }
    )
    for p in PROPERTIES:
        prop = properties.GLASS[p]
        out[prop.title] = pd.to_numeric(near[p], errors="coerce") * prop.scale
    out["viscosity points"] = near["viscosity_points"].astype(int)
    out["split"] = near["split"]
    return out


def values(row: Mapping) -> tuple[tuple[str, str], ...]:
    return tuple(
        (properties.GLASS[p].label, properties.format_value_std(p, row[p], row[f"{p}_std"]))
        for p in PROPERTIES
    )


def comparison_table(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Side-by-side predictions (display units) of saved formulations."""
    shown = pd.DataFrame({"formulation": names, "composition": frame["composition"]})
    for p in PROPERTIES:
        shown[properties.GLASS[p].title] = [
            properties.format_value_std(p, r[p], r[f"{p}_std"], unit=False)
            for _, r in frame.iterrows()
        ]
    shown["in domain"] = frame["in_domain"].to_numpy()
    return shown


# ------------------------------------------------------------------------- model card
def _sig(value: float, digits: int = 4) -> float:
    """``value`` rounded to ``digits`` significant figures (numeric, for sortable tables)."""
    value = float(value)
    if value == 0 or not np.isfinite(value):
        return value
    return round(value, digits - 1 - int(np.floor(np.log10(abs(value)))))


def _fmt(value: object, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    return f"{float(value):.{digits}g}"


@dataclass(frozen=True)
class GlassCardTables:
    """The glass model card as sentences and display tables: numbers rounded to what they
    mean; columns that can have gaps hold text with "–" for them (never ``None`` cells)."""

    summary: str
    viscosity_filter: str
    metrics: pd.DataFrame
    calibration_method: str
    calibration: pd.DataFrame
    correction_method: str
    correction: pd.DataFrame
    trees_method: str
    trees: pd.DataFrame
    tie: str
    nkas: str
    by_group: dict[str, pd.DataFrame]
    domain: str


def card_tables(card: Mapping) -> GlassCardTables:
    """Display-ready tables of the glass card (``trained_models/glass/card.json``)."""
    data = card["data"]["sciglass"]
    seeds = ", ".join(str(s) for s in card.get("seeds", []))
    summary = (
        f"**{card['model']}**, {card['ensemble_size']} members (seeds {seeds}), trained "
        f"{str(card['date'])[:10]} (commit `{card['git_commit']}`) on SciGlass "
        f"({data['package']}=={data['version']}, {data['licence']}). "
        f"Filter: {card['filter']}. Split: {card['split']}. Glasses: "
        f"{_counts(card['n_glasses'])}; viscosity points: {_counts(card['n_viscosity_points'])}."
    )
    vf = card.get("viscosity_filter") or {}
    vf_text = (
        f"Viscosity data check: {vf['rule']}. Dropped {vf['series_dropped']} series "
        f"({vf['points_dropped']} points), {vf['of_them_about_273_K_low']} of them about "
        "273 K low."
        if vf
        else ""
    )
    rows = []
    for p in PROPERTIES:
        m, prop = card["test_metrics"][p], properties.GLASS[p]
        rows.append(
            {
                "property": prop.label,
                "unit": prop.display_unit or "–",
                "test glasses": int(m["n"]),
                "RMSE": _sig(m["rmse"] * prop.scale),
                "MAE": _sig(m["mae"] * prop.scale),
                "R²": _sig(m["r2"], 3),
            }
        )
    for key, label in (
        ("log10_viscosity", "Viscosity (MYEGA curve), all test points"),
        ("log10_viscosity_consistent", "Viscosity, series consistent with their own Tg"),
    ):
        v = card["test_metrics"].get(key)
        if v:
            rows.append(
                {
                    "property": label,
                    "unit": "log10 Pa s",
                    "test glasses": int(v["glasses"]),
                    "RMSE": _sig(v["rmse"]),
                    "MAE": _sig(v["mae"]),
                    "R²": _sig(v["r2"], 3),
                }
            )
    calibration = pd.DataFrame(
        [
            {
                "property": properties.GLASS[p].label
                if p in properties.GLASS
                else "Viscosity (log10 η at measured points)",
                "std factor": round(c["std_scale"], 3),
                "std floor": (
                    properties.format_value_std(p, c["std_floor"])
                    if p in properties.GLASS and c.get("std_floor") is not None
                    else "–"
                ),
                "within 1 std": round(c["within_1std"], 3),
                "within 2 std": round(c["within_2std"], 3),
                "within 1 std (unscaled)": round(c["raw_within_1std"], 3),
                "within 2 std (unscaled)": round(c["raw_within_2std"], 3),
                "test glasses (viscosity: points)": int(c["n"]),
            }
            for p, c in (card.get("calibration") or {}).items()
        ]
    )
    correction = pd.DataFrame(
        [
            {
                "property": properties.GLASS[p].label,
                "neighbours k": int(c["k"]),
                "width h (mol%)": _sig(c["h_molpct"], 3),
                "shrinkage λ": _sig(c["lambda"], 3),
                "validation RMSE, before": _sig(c["val_rmse_network"] * properties.GLASS[p].scale),
                "validation RMSE, corrected": _sig(
                    c["val_rmse_corrected"] * properties.GLASS[p].scale
                ),
                "unit": properties.GLASS[p].display_unit or "–",
            }
            for p, c in (card.get("neighbour_correction") or {}).items()
        ]
    )
    trees_card = card.get("trees") or {}
    trees = pd.DataFrame(
        [
            {
                "property": properties.GLASS[p].label,
                "trees": int(c["n_trees"]) if c["weight"] > 0 else 0,
                "blend weight": c["weight"],
                "validation RMSE, networks": _sig(
                    c["val_rmse_networks"] * properties.GLASS[p].scale
                ),
                "validation RMSE, trees": _sig(c["val_rmse_trees"] * properties.GLASS[p].scale),
                "validation RMSE, blend": _sig(c["val_rmse_blend"] * properties.GLASS[p].scale),
                "unit": properties.GLASS[p].display_unit or "–",
            }
            for p, c in trees_card.get("properties", {}).items()
        ]
    )
    by_group = {}
    for group, title in (("n_components", "number of components"), ("family", "glass family")):
        group_rows = []
        for name, metrics in card.get("test_metrics_by_group", {}).get(group, {}).items():
            row = {title: name}
            for p in PROPERTIES:
                m = metrics[p]
                row[f"{p} (n)"] = _fmt(m["n"])
                row[f"{p} RMSE ({properties.GLASS[p].display_unit or '–'})"] = (
                    _fmt(m["rmse"] * properties.GLASS[p].scale) if m["n"] else "–"
                )
            group_rows.append(row)
        by_group[title] = pd.DataFrame(group_rows)
    nkas = card["test_metrics"].get("Tg_NKAS", {})
    dom = card["domain"]
    return GlassCardTables(
        summary=summary,
        viscosity_filter=vf_text,
        metrics=pd.DataFrame(rows),
        calibration_method=card.get("calibration_method", ""),
        calibration=calibration,
        correction_method=card.get("neighbour_correction_method", ""),
        correction=correction,
        trees_method=trees_card.get("method", ""),
        trees=trees,
        tie=_tie_text(card["tg_t12_agreement"], bool(card.get("neighbour_correction"))),
        nkas=(
            f"Tg on Na2O-K2O-Al2O3-SiO2 test glasses: RMSE {nkas['rmse']:.1f} K "
            f"({nkas['n']} glasses)."
            if nkas.get("n")
            else ""
        ),
        by_group=by_group,
        domain=(
            f"Applicability domain: a component in fewer than {dom['rare_threshold']} training "
            f"glasses is rare; a composition is flagged when more than "
            f"{100 * dom['max_rare_share']:.0f} mol% is rare or unseen, a component is not an "
            f"oxide, or the nearest of the {dom['knn_glasses']:,} training glasses differs by "
            f"more than {dom['distance_threshold_molpct']:.1f} mol% (95th percentile over "
            "validation glasses)."
        ),
    )


def _counts(value: object) -> str:
    """``{"train": 108941, ...}`` -> ``"train 108,941, val ..."`` (a plain number as is)."""
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {_fmt(v)}" for k, v in value.items())
    return _fmt(value)


def _tie_text(tie: Mapping, corrected: bool) -> str:
    if tie.get("tg_network"):
        return (
            "**Tg and T12.** Tg comes from "
            + (
                f"the mean of {int(tie['tg_network'])} networks per member"
                if int(tie["tg_network"]) > 1
                else "a network"
            )
            + " trained on Tg alone (every task a network "
            "shares with Tg, the viscosity above all, cost Tg accuracy). The viscosity curve "
            "comes from the joint property + viscosity network, whose T12 (10^12 Pa s) is its "
            f"own Tg plus a bounded offset (on average {tie['mean_abs_T12_minus_joint_Tg_K']:.1f}"
            " K apart). Forcing T12 onto the better Tg made held-out viscosity worse, so the "
            f"two are reported, not forced together: on the {tie['n_test_glasses']:,} test "
            f"glasses T12 and the Tg shown differ by {tie['mean_abs_T12_minus_Tg_pred_K']:.1f} K"
            f" on average, by more than 50 K for "
            f"{tie['share_abs_T12_minus_Tg_pred_over_50_K']:.1%} of them (the result then says "
            f"so). RMSE against measured Tg: Tg shown {tie['rmse_Tg_pred_vs_measured_Tg_K']:.1f}"
            f" K, the joint network's Tg {tie['rmse_joint_Tg_vs_measured_Tg_K']:.1f} K, T12 "
            f"{tie['rmse_T12_vs_measured_Tg_K']:.1f} K."
        )
    gap = tie.get("mean_abs_T12_minus_network_Tg_K", tie["mean_abs_T12_minus_Tg_pred_K"])
    most = tie.get("max_abs_T12_minus_network_Tg_K", tie["max_abs_T12_minus_Tg_pred_K"])
    return (
        f"**Tg and T12.** T12 (10^12 Pa s) of the viscosity head is the network's Tg plus a "
        f"bounded offset: on the {tie['n_test_glasses']:,} test glasses they differ by "
        f"{gap:.1f} K on average (at most {most:.1f} K)"
        + (
            f"; the Tg shown, with the measured-neighbour correction, differs from T12 by "
            f"{tie['mean_abs_T12_minus_Tg_pred_K']:.1f} K on average"
            if corrected
            else ""
        )
        + f". RMSE against measured Tg: Tg {tie['rmse_Tg_pred_vs_measured_Tg_K']:.1f} K, "
        f"T12 {tie['rmse_T12_vs_measured_Tg_K']:.1f} K."
    )


def composition_table(composition: Mapping[str, float]) -> pd.DataFrame:
    """The normalised composition in mol% and wt% (for display beside the editor)."""
    from core.chem.composition import to_mass_fractions

    mass = to_mass_fractions(dict(composition))
    return pd.DataFrame(
        {
            "component": list(composition),
            "mol%": [100 * x for x in composition.values()],
            "wt%": [100 * mass[f] for f in composition],
        }
    )


def editor_rows(amounts: Mapping[str, float]) -> pd.DataFrame:
    """The formulation editor's table: one row per component with its amount."""
    return pd.DataFrame(
        {"component": list(amounts), "amount": [float(v) for v in amounts.values()]}
    )


def comparison_curves(
    reports: Sequence[GlassReport], names: Sequence[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The viscosity curves and characteristic points of several reports in one table
    each, labelled by ``formulation`` (for one chart of all of them)."""
    pairs = list(zip(reports, names, strict=True))
    curves = pd.concat([r.curve.assign(formulation=n) for r, n in pairs])
    points = pd.concat([r.characteristic.assign(formulation=n) for r, n in pairs])
    return curves, points


def batch_template() -> pd.DataFrame:
    """An example batch CSV: one column per component, amounts, and a name column."""
    return pd.DataFrame(
        {
            "name": ["window glass", "silica"],
            "SiO2": [72.6, 100],
            "Na2O": [13.9, 0],
            "CaO": [8.4, 0],
            "MgO": [3.9, 0],
        }
    )


def read_batch_csv(data: bytes, filename: str = "upload.csv") -> pd.DataFrame:
    """An uploaded batch CSV as a table, or :class:`InvalidInputError` saying why not.

    An empty cell is empty (a component column's blank means none of it); text such as
    ``nan`` or ``n/a`` stays text, so the row reports it instead of reading it as 0. A
    column named twice is refused (pandas would call the second ``SiO2.1``, a phantom
    compound)."""
    import csv
    import io

    from core.config import GLASS_BATCH_MAX_ROWS, check_upload_size

    check_upload_size(data, "glass_batch", filename)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    if "\x00" in text:
        raise InvalidInputError(
            f"{filename!r} is a binary file, not a CSV table",
            expected="comma-separated text with a header row",
            fix="export the sheet as CSV (UTF-8)",
        )
    try:
        header = next(csv.reader(io.StringIO(text, newline="")), [])
    except csv.Error as err:
        raise InvalidInputError(
            f"Cannot read {filename!r} as CSV: {err}",
            expected="comma-separated text with a header row",
            fix="export the sheet as CSV (UTF-8)",
        ) from None
    seen: set[str] = set()
    for name in (h.strip() for h in header):
        if name and name in seen:
            raise InvalidInputError(
                f"column {name!r} appears twice in {filename!r}",
                got=", ".join(h.strip() for h in header[:12]),
                expected="each column once",
                fix=f"add the two {name} columns up, or rename one",
            )
        seen.add(name)
    try:
        table = pd.read_csv(
            io.StringIO(text), keep_default_na=False, na_values=[""], nrows=GLASS_BATCH_MAX_ROWS + 1
        )
        if len(table) > GLASS_BATCH_MAX_ROWS:
            raise InvalidInputError(
                f"{filename!r} has more than {GLASS_BATCH_MAX_ROWS:,} rows",
                expected=f"at most {GLASS_BATCH_MAX_ROWS:,} glasses per upload",
                fix="split the file, or screen it with python -m core.screen glasses IN OUT",
            )
        return table
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise InvalidInputError(
            f"Cannot read {filename!r} as CSV: {str(err).strip().splitlines()[0]}",
            expected="comma-separated text with a header row",
            fix="export the sheet as CSV (UTF-8)",
        ) from None


def total_note(amounts, basis: str) -> str:
    """What the page says when the entered amounts do not add up to 100 (percent) or 1
    (fractions): they are scaled, and the user should know ("" when they add up)."""
    total = float(sum(float(a) for a in amounts if a == a))  # NaN rows are ignored
    unit = "wt%" if basis == "wt" else "mol%"
    if total <= 0 or abs(total - 100) <= 0.5 or abs(total - 1) <= 0.005:
        return ""
    return (
        f"The amounts add up to {total:g}, not 100: they are scaled to 100 {unit} "
        "(the normalised composition is beside the table)."
    )
