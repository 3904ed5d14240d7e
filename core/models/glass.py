"""Glass predictor: composition -> six properties and the MYEGA viscosity curve.

``load_predictor()`` reads ``trained_models/glass/`` (written by ``python -m
core.train.glass``): an ensemble of :class:`core.nn.glass.GlassSetNet` members, the compound
descriptor table, target scalers and the applicability-domain data. Each prediction carries
the ensemble standard deviation and a domain check:

* the share of the composition (mole fraction) in components that are unseen or rare
  (fewer than ``rare_threshold`` training glasses) in training,
* the distance to the nearest training glass, as the mole percent that would have to move
  to turn one composition into the other (half the L1 distance of the mole-fraction
  vectors), compared with the 95th percentile of that distance over the validation glasses.

Units (as the card): Tg, Tliquidus K; RefractiveIndex (nD) and AbbeNumber dimensionless;
CTE 1/K (``CTE_ppm_per_K`` also given); ElasticModulus GPa; log10 viscosity in Pa s.

Data licence: the training compositions (``knn_index.safetensors``) and the test-set table
(``test_predictions.parquet``) are derived from SciGlass, ODbL 1.0, (c) 2019 EPAM Systems.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from core import config, properties
from core.chem.composition import parse_composition, parse_composition_rows
from core.data import sciglass as sciglass_data
from core.exceptions import DataNotAvailableError, InvalidInputError, ModelNotAvailableError
from core.featurizers.composition import DescriptorTable, ElementTable, encode, is_oxide_compound
from core.models.glass_report import GlassReport
from core.models.integrity import checked_model
from core.models.trees import TreeEnsemble, composition_features
from core.nn.glass import GlassSetConfig, GlassSetNet, predicted_log10_viscosity, temperature_at
from core.properties import LOG10_VISCOSITY_CEILING
from core.uncertainty import apply_std_model

NAME = "glass"
PROPERTIES = sciglass_data.PROPERTIES
UNITS = {p: sciglass_data.UNITS[p] for p in PROPERTIES}
LABELS = {p: properties.GLASS[p].label for p in PROPERTIES}
# Characteristic viscosity points, log10(eta / Pa s).
VISCOSITY_POINTS = {
    "strain": 13.5,
    "annealing": 12.0,
    "softening": 6.6,
    "working": 3.0,
    "melting": 1.0,
}
MAX_TEMPERATURES = 2000
# A viscosity curve is asked for between these (K): below, no glass flows; above, no
# oxide melt is measured (SciGlass viscosity data span about 300-2,900 K)
TEMPERATURE_RANGE_K = (1.0, 10_000.0)


def _folder(path: Path | str | None) -> Path:
    folder = Path(path) if path is not None else config.models_dir() / NAME
    needed = ("card.json", "model.safetensors", "descriptors.json", "elements.json")
    missing = [f for f in needed if not (folder / f).is_file()]
    if missing:
        raise ModelNotAvailableError(
            f"The glass model is missing in {folder} ({', '.join(missing)}); "
            "train it with `python -m core.train.glass train`."
        )
    return folder


def standardised_to_units(z: np.ndarray, scaler: Mapping) -> np.ndarray:
    """A standardised target (``scaler``: the card's ``mean``, ``std`` and ``transform``,
    "log" or "identity") in card units."""
    t = z * scaler["std"] + scaler["mean"]
    return np.exp(t) if scaler["transform"] == "log" else t


class GlassPredictor:
    """An ensemble of glass set networks plus scalers and the applicability domain."""

    def __init__(self, folder: Path | str | None = None) -> None:
        self.folder = folder = _folder(folder)
        with checked_model(folder) as card:  # damaged files: one ModelFileError
            self._load(folder, card)

    def _load(self, folder: Path, card: dict) -> None:
        from safetensors.torch import load_file

        self.card = card
        self.config = GlassSetConfig(**self.card["config"])
        self.scalers = self.card["scalers"]
        # Ensemble std times a per-property factor fitted on validation glasses (card
        # "calibration"); 1 for a card written before calibration existed.
        scale = self.card.get("std_scale", {})
        self.std_scale = np.array([float(scale.get(p, 1.0)) for p in PROPERTIES])
        floor = self.card.get("std_floor", {})  # the error the members' spread cannot see
        self.std_floor = np.array([float(floor.get(p, 0.0)) for p in PROPERTIES])
        # one factor for the viscosity head (curve band, MYEGA parameters, temperatures)
        self.viscosity_std_scale = float(scale.get("log10_viscosity", 1.0))
        elements = ElementTable.from_json(folder / "elements.json")
        self.descriptors = DescriptorTable.from_json(folder / "descriptors.json", elements)
        state = load_file(str(folder / "model.safetensors"))
        self.members: list[GlassSetNet] = []
        for i in range(int(self.card["ensemble_size"])):
            prefix = f"member{i}."
            model = GlassSetNet(self.config)
            model.load_state_dict(
                {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
            )
            model.eval()
            self.members.append(model)
        domain = json.loads((folder / "domain.json").read_text())
        self.compound_counts: dict[str, int] = domain["compound_counts"]
        self.rare_threshold = int(domain["rare_threshold"])
        self.distance_threshold = float(domain["distance_threshold_molpct"])
        self.max_rare_share = float(domain["max_rare_share"])
        index = load_file(str(folder / "knn_index.safetensors"))
        self._knn_vocab = {c: i for i, c in enumerate(domain["knn_compounds"])}
        self._knn = SparseCompositions(
            index["indptr"].numpy(),
            index["indices"].numpy(),
            index["data"].numpy().astype(np.float32),
            len(self._knn_vocab),
        )
        self._desc_cache: tuple[int, torch.Tensor] | None = None
        # gradient-boosted trees blended into some properties (card "trees"; absent: none)
        self.trees: dict[str, TreeEnsemble] = {}
        self.tree_weights: dict[str, float] = {}
        trees_card = self.card.get("trees") or {}
        if (folder / "trees.safetensors").exists() and trees_card:
            from safetensors.numpy import load_file as load_arrays

            arrays = load_arrays(str(folder / "trees.safetensors"))
            for p, c in trees_card["properties"].items():
                if float(c["weight"]) > 0:
                    self.trees[p] = TreeEnsemble.from_arrays(arrays, f"{p}.")
                    self.tree_weights[p] = float(c["weight"])
            self._tree_vocabulary = (trees_card["compounds"], trees_card["elements"])
        # measured-neighbour correction (card "neighbour_correction"; absent: network only)
        self.correction: dict[str, dict] = {}
        self._residuals: np.ndarray | None = None
        if (folder / "residuals.safetensors").exists() and self.card.get("neighbour_correction"):
            self._residuals = load_file(str(folder / "residuals.safetensors"))["residuals"].numpy()
            self.correction = {
                p: c for p, c in self.card["neighbour_correction"].items() if c.get("k", 0) > 0
            }

    # ------------------------------------------------------------------ internals
    def _desc(self, extra: np.ndarray) -> torch.Tensor:
        """The shipped compounds' scaled descriptors (computed once), followed by those of
        this request's compounds the table lacks (``extra``, see :func:`encode`)."""
        if self._desc_cache is None:
            self._desc_cache = (len(self.descriptors), torch.from_numpy(self.descriptors.scaled()))
        shipped = self._desc_cache[1]
        if not len(extra):
            return shipped
        return torch.cat([shipped, torch.from_numpy(self.descriptors.scale(extra))])

    @torch.no_grad()
    def raw_outputs(self, compositions: Sequence[Mapping[str, float]]) -> dict[str, np.ndarray]:
        """Per-member outputs: ``properties`` (M, B, P) standardised; ``A``, ``T12``, ``m``
        and ``Tg_joint`` (M, B), the Tg (K) that T12 is tied to (the joint network's; the
        reported Tg comes from the Tg networks when the model has them). Compositions are
        mole-fraction mappings (already normalised)."""
        index, fraction, extra = encode(compositions, self.descriptors)
        desc = self._desc(extra)
        outs = {"properties": [], "A": [], "T12": [], "m": [], "Tg_joint": []}
        idx, frac = torch.from_numpy(index), torch.from_numpy(fraction)
        for model in self.members:
            chunks = [
                model(desc, idx[i : i + 4096], frac[i : i + 4096]) for i in range(0, len(idx), 4096)
            ]
            for k in outs:
                outs[k].append(torch.cat([c[k] for c in chunks]).numpy())
        return {k: np.stack(v) for k, v in outs.items()}

    def to_units(self, standardised: np.ndarray) -> np.ndarray:
        """(..., P) standardised outputs -> card units."""
        out = np.empty_like(standardised, dtype=np.float64)
        for j, p in enumerate(PROPERTIES):
            out[..., j] = standardised_to_units(standardised[..., j], self.scalers[p])
        return out

    def summarise(self, raw: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Ensemble mean (in the standardised space, then to units) and std (units):
        ``sqrt((std_scale * spread)^2 + std_floor^2)`` with the card's per-property factors
        (``raw_std``: the members' spread alone)."""
        mean = self.to_units(raw["properties"].mean(axis=0))
        raw_std = self.to_units(raw["properties"]).std(axis=0)
        std = apply_std_model(raw_std, self.std_scale, self.std_floor)
        return {"mean": mean, "std": std, "raw_std": raw_std}

    def neighbours(
        self, compositions: Sequence[Mapping[str, float]], k: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Distances (mol%, (Q, k)) to and rows of the ``k`` nearest training glasses."""
        queries = [{self._knn_vocab.get(f, -1): x for f, x in c.items()} for c in compositions]
        dist, rows = self._knn.nearest(queries, k)
        return 100 * dist, rows

    def estimate(self, compositions: Sequence[Mapping[str, float]]) -> dict[str, np.ndarray]:
        """Predictions for normalised compositions as the app shows them: ``mean`` (card
        units) = ``model_mean`` + the measured-neighbour correction (``correction``, zero
        for properties without one), where ``model_mean`` is the ensemble mean
        (``network_mean``) blended with the card's gradient-boosted trees for the
        properties that have them (card ``trees``); ``std`` / ``raw_std`` as in
        :meth:`summarise`; ``raw``: the members' outputs (viscosity head included)."""
        raw = self.raw_outputs(compositions)
        summary = self.summarise(raw)
        model_mean = summary["mean"].copy()
        if self.trees and len(compositions):
            x = composition_features(compositions, *self._tree_vocabulary, self.descriptors)
            for p, trees in self.trees.items():
                j, w = PROPERTIES.index(p), self.tree_weights[p]
                t = standardised_to_units(trees.predict(x), self.scalers[p])
                model_mean[:, j] = (1 - w) * model_mean[:, j] + w * t
        shift = np.zeros_like(summary["mean"])
        if self.correction and self._residuals is not None and len(compositions):
            dist, rows = self.neighbours(
                compositions, max(c["k"] for c in self.correction.values())
            )
            for j, p in enumerate(PROPERTIES):
                c = self.correction.get(p)
                if c:
                    k = int(c["k"])
                    shift[:, j] = neighbour_correction(
                        dist[:, :k],
                        self._residuals[rows[:, :k], j],
                        c["h_molpct"],
                        c["lambda"],
                        c.get("clip"),
                    )
        return {
            **summary,
            "network_mean": summary["mean"],
            "model_mean": model_mean,
            "mean": model_mean + shift,
            "correction": shift,
            "raw": raw,
        }

    # ------------------------------------------------------------------- public API
    def parse(self, composition: object, basis: str = "mol") -> dict[str, float]:
        """Normalised mole fractions (see :func:`core.chem.composition.parse_composition`)."""
        return parse_composition(composition, basis)

    def predict(self, compositions: Sequence[object], basis: str = "mol") -> pd.DataFrame:
        """One row per input: properties (card units), ``<prop>_std``, domain and ``error``.

        Args:
            compositions: mappings ``{formula: amount}`` (or text such as
                ``"SiO2 75, Na2O 15, CaO 10"``), amounts in ``basis`` (any scale).
            basis: ``"mol"`` or ``"wt"``.

        A single mapping or text is one composition (not a list of its keys or letters).
        """
        if isinstance(compositions, str | Mapping):
            compositions = [compositions]
        parsed: list[dict[str, float] | InvalidInputError] = []
        for comp in compositions:
            try:
                parsed.append(parse_composition(comp, basis))
            except InvalidInputError as err:
                parsed.append(err)
        return self._predict_parsed(parsed)

    def _predict_parsed(
        self, parsed: Sequence[dict[str, float] | InvalidInputError]
    ) -> pd.DataFrame:
        """:meth:`predict`'s table from compositions already read (or their errors)."""
        errors = [str(p) if isinstance(p, InvalidInputError) else "" for p in parsed]
        parsed = [None if isinstance(p, InvalidInputError) else p for p in parsed]
        ok = [i for i, p in enumerate(parsed) if p is not None]
        columns = [
            "composition",
            *PROPERTIES,
            *(f"{p}_std" for p in PROPERTIES),
            "CTE_ppm_per_K",
            "CTE_ppm_per_K_std",
            "T12",
            "fragility",
            "in_domain",
            "rare_share",
            "nearest_distance_molpct",
            "domain_message",
            "error",
        ]
        frame = pd.DataFrame(index=range(len(parsed)), columns=columns)
        frame["error"] = errors
        frame["in_domain"] = False
        frame["composition"] = [
            " · ".join(f"{100 * x:.2f} {f}" for f, x in p.items()) if p else "" for p in parsed
        ]
        if ok:
            comps = [parsed[i] for i in ok]
            summary = self.estimate(comps)
            raw = summary["raw"]
            for j, p in enumerate(PROPERTIES):
                frame.loc[ok, p] = summary["mean"][:, j]
                frame.loc[ok, f"{p}_std"] = summary["std"][:, j]
            frame.loc[ok, "T12"] = raw["T12"].mean(axis=0)
            frame.loc[ok, "fragility"] = raw["m"].mean(axis=0)
            domain = self.domain(comps)
            for col in ("in_domain", "rare_share", "nearest_distance_molpct", "domain_message"):
                frame.loc[ok, col] = domain[col].to_numpy()
        frame["CTE_ppm_per_K"] = pd.to_numeric(frame["CTE"]) * 1e6
        frame["CTE_ppm_per_K_std"] = pd.to_numeric(frame["CTE_std"]) * 1e6
        numeric = [
            c for c in columns if c not in ("composition", "in_domain", "domain_message", "error")
        ]
        frame[numeric] = frame[numeric].apply(pd.to_numeric)
        frame["in_domain"] = frame["in_domain"].astype(bool)
        frame["domain_message"] = frame["domain_message"].fillna("")
        return frame

    def viscosity(
        self, composition: object, temperatures_K: Sequence[float] | None = None, basis: str = "mol"
    ) -> pd.DataFrame:
        """MYEGA curve of one composition: a row per temperature.

        Columns: ``T_K``, ``log10_viscosity`` (ensemble mean, Pa s), ``log10_viscosity_std``
        (member spread), ``at_ceiling`` (a member's curve is capped at
        :data:`~core.properties.LOG10_VISCOSITY_CEILING` there, so the mean is a lower bound),
        and constant columns ``A`` (log10 eta_inf), ``T12``, ``fragility`` with their ``_std``.
        ``DataFrame.attrs["characteristic"]`` holds the strain, annealing, softening, working
        and melting temperatures (:meth:`characteristic`).
        Default temperatures: 200 points from 0.8 T12 to the melting point + 100 K.
        """
        comp = parse_composition(composition, basis)
        raw = self.raw_outputs([comp])
        a, t12, m = (torch.from_numpy(raw[k][:, 0]).double() for k in ("A", "T12", "m"))
        if temperatures_K is None:
            t_melt = float(np.nanmax(temperature_at(a, t12, m, VISCOSITY_POINTS["melting"])))
            temperatures_K = np.linspace(0.8 * float(t12.mean()), t_melt + 100.0, 200)
        temps = _temperatures(temperatures_K)
        curves = predicted_log10_viscosity(
            a[:, None], t12[:, None], m[:, None], torch.from_numpy(temps)[None, :]
        ).numpy()  # (M, T)
        frame = _curve_frame(temps, curves, a, t12, m, self.viscosity_std_scale)
        frame.attrs["characteristic"] = self._characteristic(a, t12, m, self.viscosity_std_scale)
        return frame

    def report(
        self,
        composition: object,
        basis: str = "mol",
        n_points: int = 200,
        neighbours: int = 0,
    ) -> GlassReport:
        """Everything the page shows for one formulation, from one forward pass.

        Args:
            composition: mapping or text, amounts in ``basis``.
            neighbours: also look up this many nearest measured SciGlass glasses (and the
                measured viscosity points of the nearest glasses that have some); needs the
                data cache: without it the report says so in ``neighbours_note``.

        Raises:
            InvalidInputError: the composition cannot be read (message says why).
        """
        from core.models import glass_report as gr

        comp = parse_composition(composition, basis)
        summary = self.estimate([comp])
        raw = summary["raw"]
        row = {"composition": " · ".join(f"{100 * x:.2f} {f}" for f, x in comp.items())}
        for j, p in enumerate(PROPERTIES):
            row[p], row[f"{p}_std"] = summary["mean"][0, j], summary["std"][0, j]
            row[f"{p}_correction"] = summary["correction"][0, j]  # measured neighbours' part
        row["CTE_ppm_per_K"], row["CTE_ppm_per_K_std"] = row["CTE"] * 1e6, row["CTE_std"] * 1e6
        row["T12"], row["fragility"] = float(raw["T12"].mean()), float(raw["m"].mean())
        row["tie_message"] = tie_message(row["Tg"], row["T12"])
        row.update(self.domain([comp]).iloc[0].to_dict())
        row["error"] = ""
        a, t12, m = (torch.from_numpy(raw[k][:, 0]).double() for k in ("A", "T12", "m"))
        characteristic = self._characteristic(a, t12, m, self.viscosity_std_scale)
        lo = float(characteristic["T_K"].iloc[0]) - 40.0
        hi = float(characteristic["T_K"].iloc[-1]) + 100.0
        temps = torch.linspace(max(lo, 1.0), hi, n_points, dtype=torch.float64)
        curves = predicted_log10_viscosity(
            a[:, None], t12[:, None], m[:, None], temps[None, :]
        ).numpy()
        curve = _curve_frame(temps.numpy(), curves, a, t12, m, self.viscosity_std_scale)
        coverage = self.card.get("calibration", {}).get("log10_viscosity", {}).get("within_2std")
        level, text = gr.domain_text(row)
        near_table, measured, note = None, pd.DataFrame(), ""
        if neighbours > 0:
            try:
                near_table = gr.neighbours_table(self.nearest(comp, k=neighbours))
                near_visc = self.nearest(comp, k=neighbours, with_viscosity=True)
                measured = self.measured_viscosity(near_visc["key"].tolist())
                names = {
                    k: f"{d:.1f} mol% away: {c[:60]}"
                    for k, d, c in zip(
                        near_visc["key"],
                        near_visc["distance_molpct"],
                        near_visc["composition"],
                        strict=True,
                    )
                }
                measured = measured.assign(glass=measured["key"].map(names))
            except DataNotAvailableError as err:
                note = f"{err} The predictions above do not need it."
        return GlassReport(
            composition=comp,
            prediction=pd.DataFrame([row]),
            curve=curve,
            characteristic=characteristic,
            values=gr.values(row),
            domain_level=level,
            domain_text=text,
            correction_note=gr.correction_note(row),
            curve_note=gr.curve_note(curve, coverage),
            tie_message=row["tie_message"],
            characteristic_table=gr.characteristic_table(characteristic),
            neighbours=near_table,
            measured_viscosity=measured,
            neighbours_note=note,
        )

    def predict_table(self, table: pd.DataFrame, basis: str = "mol") -> pd.DataFrame:
        """Predictions for an uploaded table, one row per table row, with an ``error`` column.

        Accepted layouts: a ``composition`` column of text (``"SiO2 75, Na2O 25"``), or one
        numeric column per component named by its formula (``SiO2``, ``Na2O``, ...). Other
        columns (e.g. a name) are kept in front of the predictions.

        Raises:
            InvalidInputError: neither layout is recognised (the message lists the columns).
        """
        if not isinstance(table, pd.DataFrame) or table.empty:
            raise InvalidInputError(
                "the table is empty",
                expected="one row per glass",
                fix="upload a CSV with data rows",
            )
        text_col = next((c for c in table.columns if str(c).strip().lower() == "composition"), None)
        if text_col is not None:
            comps = [("" if pd.isna(v) else str(v)) for v in table[text_col]]
            keep = [c for c in table.columns if c != text_col]
        else:
            formula_cols = [c for c in table.columns if _is_component_column(c)]
            known = {f.lower(): f for f in self.descriptors.formulas}
            miscased = [
                c
                for c in table.columns
                if c not in formula_cols and known.get(str(c).strip().lower()) is not None
            ]
            if miscased:  # 'sio2' was ignored: 100 % Na2O predicted
                c = miscased[0]
                right = known[str(c).strip().lower()]
                raise InvalidInputError(
                    f"column {str(c)!r} looks like the component {right}, in other capitals",
                    got=f"columns {[str(x) for x in table.columns][:12]}",
                    expected="component columns named by their formula, with its capitals",
                    fix=f"rename the column {str(c)!r} to {right!r}",
                )
            if not formula_cols:
                raise InvalidInputError(
                    "cannot find the composition in the table",
                    got=f"columns {[str(c) for c in table.columns][:12]}",
                    expected="a 'composition' text column, or one column per component "
                    "named by its formula (SiO2, Na2O, ...)",
                    fix="rename the columns, e.g. 'SiO2', 'Na2O', 'CaO'",
                )
            keep = [c for c in table.columns if c not in formula_cols]
        if text_col is not None:
            result = self.predict(comps, basis)
        else:
            amounts = table[formula_cols]
            result = self._predict_parsed(parse_composition_rows(amounts, formula_cols, basis))
        # the user's own columns come first; one the prediction also has (a measured Tg,
        # an 'error' column) is kept as '<name> (yours)' beside nothing else of its name
        own = table[keep].reset_index(drop=True)
        own.columns = [f"{c} (yours)" if c in result.columns else c for c in own.columns]
        return pd.concat([own, result], axis=1)

    def characteristic(self, composition: object, basis: str = "mol") -> pd.DataFrame:
        """Strain, annealing, softening, working and melting temperatures (K, ± std)."""
        comp = parse_composition(composition, basis)
        raw = self.raw_outputs([comp])
        a, t12, m = (torch.from_numpy(raw[k][:, 0]).double() for k in ("A", "T12", "m"))
        return self._characteristic(a, t12, m, self.viscosity_std_scale)

    @staticmethod
    def _characteristic(a, t12, m, std_scale: float = 1.0) -> pd.DataFrame:
        rows = []
        for name, level in VISCOSITY_POINTS.items():
            t = temperature_at(a, t12, m, level)
            rows.append(
                {
                    "point": name,
                    "log10_viscosity": level,
                    "T_K": float(t.mean()),
                    "T_K_std": float(t.std()) * std_scale,
                }
            )
        return pd.DataFrame(rows)

    def domain(self, compositions: Sequence[Mapping[str, float]]) -> pd.DataFrame:
        """Applicability domain of normalised compositions (see module docstring)."""
        rows = []
        dist = self._knn.nearest_distance(
            [{self._knn_vocab.get(f, -1): x for f, x in c.items()} for c in compositions]
        )
        oxide: dict[str, bool] = {}  # per formula, asked once per call
        for comp, d in zip(compositions, dist, strict=True):
            rare = {
                f: self.compound_counts.get(f, 0)
                for f in comp
                if self.compound_counts.get(f, 0) < self.rare_threshold
            }
            for f in comp:
                if f not in oxide:
                    oxide[f] = is_oxide_compound(f)
            non_oxide = [f for f in comp if not oxide[f]]
            share = float(sum(comp[f] for f in rare))
            messages = []
            if rare:
                parts = [
                    f"{f}: {'unseen' if n == 0 else f'{n} training glasses'}"
                    for f, n in rare.items()
                ]
                messages.append(
                    f"{100 * share:.1f} mol% of the composition is in components rare or unseen "
                    f"in training ({'; '.join(parts)})"
                )
            if non_oxide:
                messages.append(
                    f"{', '.join(non_oxide)} lie outside the oxide-glass family the model was "
                    "trained on (oxygen-bearing, halogen-free components)"
                )
            far = d * 100 > self.distance_threshold
            if far:
                messages.append(
                    f"the nearest training glass differs by {100 * d:.1f} mol% (95% of held-out "
                    f"glasses are within {self.distance_threshold:.1f} mol%)"
                )
            ok = share <= self.max_rare_share and not far and not non_oxide
            text = ("Outside the training domain: " if not ok else "Note: ") + "; ".join(messages)
            rows.append(
                {
                    "in_domain": ok,
                    "rare_share": share,
                    "nearest_distance_molpct": 100 * d,
                    "domain_message": text + "." if messages else "",
                }
            )
        return pd.DataFrame(rows)

    def nearest(
        self, composition: object, k: int = 5, basis: str = "mol", with_viscosity: bool = False
    ) -> pd.DataFrame:
        """The ``k`` measured SciGlass glasses closest to ``composition`` (any split).

        Needs the local data cache (``python -m core.data prepare sciglass
        sciglass_viscosity``); raises :class:`core.exceptions.DataNotAvailableError` with
        that hint otherwise. Columns: ``distance_molpct``, ``composition``, the six
        properties, ``viscosity_points``, ``split``, ``key``. ``with_viscosity``: only
        glasses with measured viscosity points.
        """
        comp = parse_composition(composition, basis)
        ref = _reference()
        vocab = ref["vocab"]
        query = [{vocab.get(f, -1): x for f, x in comp.items()}]
        if with_viscosity:
            dist, sub = ref["visc_index"].nearest(query, k)
            rows = ref["visc_rows"][sub]
        else:
            dist, rows = ref["index"].nearest(query, k)
        table = ref["table"].iloc[rows[0]].copy()
        table.insert(0, "distance_molpct", 100 * dist[0])
        text = []
        for r in rows[0]:
            row = ref["matrix"][int(r)]
            pairs = sorted(zip(row.data, row.indices, strict=True), reverse=True)
            text.append(
                " · ".join(f"{100 * x:.1f} {ref['compounds'][c]}" for x, c in pairs if x >= 5e-4)
            )
        table.insert(1, "composition", text)
        return table.reset_index(drop=True)

    def test_predictions(self) -> pd.DataFrame:
        """Measured vs predicted properties of the held-out test glasses (model card)."""
        return pd.read_parquet(self.folder / "test_predictions.parquet")

    def test_viscosity(self) -> pd.DataFrame:
        """Held-out viscosity points: measured vs ensemble-mean MYEGA curve (model card)."""
        return pd.read_parquet(self.folder / "test_viscosity.parquet")

    def measured_viscosity(self, keys: Sequence[str]) -> pd.DataFrame:
        """Measured viscosity points (``key``, ``T_K``, ``log10_viscosity``) of glasses."""
        visc = _reference()["viscosity"]
        return visc[visc["key"].isin(list(keys))].reset_index(drop=True)


def _is_component_column(name: object) -> bool:
    from core.chem.composition import parse_formula

    try:
        parse_formula(str(name).strip())
    except InvalidInputError:
        return False
    return True


class SparseCompositions:
    """Mole-fraction vectors in CSR form with exact nearest-neighbour search in mol%-moved
    distance d(x, y) = ½ Σ|x_i - y_i| (0: identical, 1: nothing in common).

    For a query whose components lie in a set S, the distance to a row b is
    ½ (Σ_{i in S} |x_i - b_i| + (Σ_i b_i - Σ_{i in S} b_i) + u), u the query's share of
    components the index does not know: an L1 distance in |S| + 1 dimensions (b's part outside
    S as one coordinate, 0 for the query). Batches whose components span at most
    :attr:`TREE_DIMS` compounds (a composition grid, a formulator's library) are answered by a
    KD-tree (``scipy.spatial.cKDTree``, p=1) over that projection, built once per S and kept;
    other queries by an exact scan of every row. Ties go to the lower row, so the answer does
    not depend on the batch or the path."""

    MEMO_K = 16  # neighbours computed per query and kept for the next call on the same ones
    TREE_DIMS = 12  # most compounds a KD-tree projection spans
    TREE_MIN_QUERIES = 64  # fewer queries than this are scanned unless a tree is kept
    TREE_MARGIN = 4  # neighbours fetched beyond k to see ties at the k-th
    TREES_KEPT = 4
    DECIMALS = 9  # distances equal to this many decimals are ties

    def __init__(self, indptr, indices, data, n_columns: int) -> None:
        from scipy.sparse import csr_matrix

        self.matrix = csr_matrix((data, indices, indptr), shape=(len(indptr) - 1, n_columns))
        self._csc = self.matrix.tocsc()
        self.row_sum = np.asarray(self.matrix.astype(np.float64).sum(axis=1)).ravel()
        self._trees: dict[tuple[int, ...], object] = {}

    def _projection(self, cols: tuple[int, ...]) -> np.ndarray:
        """(rows, len(cols) + 1): each row's amounts of ``cols``, then the rest of it."""
        inside = self._csc[:, list(cols)].toarray().astype(np.float64)
        rest = np.clip(self.row_sum - inside.sum(axis=1), 0.0, None)
        return np.hstack([inside, rest[:, None]])

    def _tree(self, cols: tuple[int, ...]):
        from scipy.spatial import cKDTree

        tree = self._trees.pop(cols, None)
        if tree is None:
            tree = cKDTree(self._projection(cols))
            while len(self._trees) >= self.TREES_KEPT:
                self._trees.pop(next(iter(self._trees)))
        self._trees[cols] = tree  # most recently used last
        return tree

    def _scan(self, cols: tuple[int, ...], points: np.ndarray, unknown: np.ndarray, k: int):
        """Exact search over every row (ties at the k-th included, then broken by row)."""
        proj = self._projection(cols)
        dists = np.empty((len(points), k))
        rows = np.empty((len(points), k), dtype=np.int64)
        for j, (x, u) in enumerate(zip(points, unknown, strict=True)):
            d = np.round(0.5 * (np.abs(proj - x).sum(axis=1) + u), self.DECIMALS)
            kth = d[np.argpartition(d, k - 1)[k - 1]]
            cand = np.flatnonzero(d <= kth)
            order = cand[np.lexsort((cand, d[cand]))][:k]
            dists[j], rows[j] = d[order], order
        return dists, rows

    def _search(self, cols: tuple[int, ...], points, unknown, k: int, use_tree: bool):
        n_rows = self.matrix.shape[0]
        kk = min(k + self.TREE_MARGIN, n_rows)
        if not use_tree or kk <= k:
            return self._scan(cols, points, unknown, k)
        d, idx = self._tree(cols).query(points, k=kk, p=1)
        d = np.round(0.5 * (d + unknown[:, None]), self.DECIMALS)
        order = np.lexsort((idx, d), axis=-1)
        d, idx = np.take_along_axis(d, order, -1), np.take_along_axis(idx, order, -1)
        dists, rows = d[:, :k].copy(), idx[:, :k].copy()
        # rows whose k-th distance is shared beyond what the tree returned: scan them
        spill = np.flatnonzero(d[:, -1] <= d[:, k - 1])
        if len(spill):
            dists[spill], rows[spill] = self._scan(cols, points[spill], unknown[spill], k)
        return dists, rows

    def nearest(self, queries: Sequence[Mapping[int, float]], k: int = 1):
        """(distances (Q, k), rows (Q, k)); query keys are columns, -1 = not in the index."""
        key = tuple(tuple(sorted(q.items())) for q in queries)
        memo = getattr(self, "_memo", None)
        if memo is not None and memo[0] == key and memo[1] >= k:
            # the same queries again (a prediction asks for the correction's neighbours,
            # then for the domain's nearest distance)
            return memo[2][:, :k], memo[3][:, :k]
        k_asked = k
        k = min(max(k, self.MEMO_K), self.matrix.shape[0])
        n = len(queries)
        dists, rows = np.empty((n, k)), np.empty((n, k), dtype=np.int64)
        unknown = np.array([sum(x for c, x in q.items() if c < 0) for q in queries], float)
        supports = [tuple(sorted(c for c, x in q.items() if c >= 0 and x)) for q in queries]
        union = tuple(sorted(set().union(*supports))) if supports else ()
        if len(union) <= self.TREE_DIMS:
            groups = {union: np.arange(n)}
        else:
            by_support: dict[tuple[int, ...], list[int]] = {}
            for i, s in enumerate(supports):
                by_support.setdefault(s, []).append(i)
            groups = {s: np.asarray(i) for s, i in by_support.items()}
        for cols, members in groups.items():
            points = np.zeros((len(members), len(cols) + 1))
            where = {c: j for j, c in enumerate(cols)}
            for r, i in enumerate(members):
                for c, x in queries[i].items():
                    if c >= 0 and x:
                        points[r, where[c]] += x
            use_tree = len(cols) <= self.TREE_DIMS and (
                len(members) >= self.TREE_MIN_QUERIES or cols in self._trees
            )
            dists[members], rows[members] = self._search(
                cols, points, unknown[members], k, use_tree
            )
        self._memo = (key, k, dists, rows)
        return dists[:, :k_asked], rows[:, :k_asked]

    def nearest_distance(self, queries: Sequence[Mapping[int, float]]) -> np.ndarray:
        return self.nearest(queries, 1)[0][:, 0]


TIE_WARN_K = 50.0  # the bound on T12 - Tg inside the joint network


def tie_message(tg: float, t12: float) -> str:
    """A note for the user when the Tg shown and the viscosity curve's T12 disagree by more
    than :data:`TIE_WARN_K` ("" otherwise)."""
    if abs(t12 - tg) <= TIE_WARN_K:
        return ""
    return (
        f"The viscosity curve's T12 ({t12:.0f} K) and the Tg shown ({tg:.0f} K) differ by "
        f"{abs(t12 - tg):.0f} K. They come from two estimates (Tg from the networks trained on "
        "Tg alone and the measured neighbours, the curve from the property + viscosity "
        "network) that disagree "
        "on this glass: trust the low-temperature end of the curve less."
    )


def neighbour_correction(
    dist_molpct: np.ndarray,
    residuals: np.ndarray,
    h_molpct: float,
    lam: float,
    clip: float | None = None,
) -> np.ndarray:
    """Kernel-weighted, shrunk mean of the neighbours' residuals, per query row.

    ``dist_molpct`` (Q, k) and ``residuals`` (Q, k; NaN: property not measured for that
    neighbour) -> (Q,) ``sum w r / (lam + sum w)`` with ``w = exp(-(d / h)^2)``: close,
    agreeing neighbours move the prediction almost all the way, far or missing ones not at
    all. Residuals are first clipped to ``±clip`` (None: not clipped), so one mislabelled
    neighbour cannot drag a prediction by hundreds of kelvin."""
    r = residuals if clip is None else np.clip(residuals, -clip, clip)
    w = np.exp(-((dist_molpct / h_molpct) ** 2)) * np.isfinite(r)
    return (w * np.nan_to_num(r)).sum(axis=1) / (lam + w.sum(axis=1))


@functools.cache
def _reference() -> dict:
    """Measured SciGlass glasses (all splits, any family) from the data cache."""
    from scipy.sparse import coo_matrix, vstack

    from core.data import sciglass, sciglass_viscosity

    props = sciglass.load()
    visc = sciglass_viscosity.load()
    counts = visc.groupby("key").size()
    # glasses with viscosity points only join the measured property glasses
    extra = visc.drop_duplicates("key")
    extra = extra[~extra["key"].isin(props["key"])].reset_index(drop=True)
    comps = sciglass.compound_columns(props)
    comps += [c for c in sciglass.compound_columns(visc) if c not in comps]
    vocab = {c: i for i, c in enumerate(comps)}

    def sparse_rows(frame: pd.DataFrame):  # column by column: no dense (rows x 600) copy
        rows, cols, vals = [], [], []
        for c in sciglass.compound_columns(frame):
            x = frame[c].to_numpy(dtype=np.float64)
            nz = np.flatnonzero(x > 0)
            rows.append(nz)
            cols.append(np.full(len(nz), vocab[c]))
            vals.append(x[nz])
        shape = (len(frame), len(comps))
        data = (
            np.concatenate(vals).astype(np.float32),
            (np.concatenate(rows), np.concatenate(cols)),
        )
        return coo_matrix(data, shape=shape).tocsr()

    sparse = vstack([sparse_rows(props), sparse_rows(extra)]).tocsr()
    sparse.sort_indices()
    index = SparseCompositions(sparse.indptr, sparse.indices, sparse.data, len(comps))
    props = pd.concat(
        [props[["key", "split", *PROPERTIES]], extra[["key", "split"]]], ignore_index=True
    )
    table = props[["key", "split", *PROPERTIES]].copy()
    table["viscosity_points"] = counts.reindex(props["key"]).fillna(0).astype(int).to_numpy()
    viscosity = visc[["key", "temperature", "log_viscosity"]].rename(
        columns={"temperature": "T_K", "log_viscosity": "log10_viscosity"}
    )
    visc_rows = np.flatnonzero(table["viscosity_points"].to_numpy() > 0)
    vsub = sparse[visc_rows]
    visc_index = SparseCompositions(vsub.indptr, vsub.indices, vsub.data, len(comps))
    return {
        "index": index,
        "vocab": vocab,
        "table": table,
        "visc_index": visc_index,
        "visc_rows": visc_rows,
        "viscosity": viscosity,
        "compounds": comps,
        "matrix": sparse,
    }


@functools.cache
def _cached(folder: str) -> GlassPredictor:
    return GlassPredictor(folder)


def _temperatures(values) -> np.ndarray:
    """``values`` as a 1-D array of temperatures in K, or :class:`InvalidInputError` saying
    which value is wrong: not a number, not finite, out of range, or too many."""
    lo, hi = TEMPERATURE_RANGE_K
    expected = f"1 to {MAX_TEMPERATURES} temperatures in K, each between {lo:g} and {hi:g}"
    fix = "give temperatures in kelvin (°C + 273.15)"
    if isinstance(values, str | bytes) or np.isscalar(values):
        values = [values]
    try:
        temps = np.asarray(values, dtype=np.float64).ravel()
    except OverflowError:
        raise InvalidInputError(
            "a temperature is absurdly large",
            got="a number with hundreds of digits",
            expected=expected,
            fix=fix,
        ) from None
    except (TypeError, ValueError):
        bad = next(
            (v for v in np.ravel(np.asarray(values, dtype=object)) if not _is_number(v)), values
        )
        raise InvalidInputError(
            "a temperature is not a number", got=repr(bad), expected=expected, fix=fix
        ) from None
    if temps.size == 0 or temps.size > MAX_TEMPERATURES:
        raise InvalidInputError(
            "wrong number of temperatures", got=f"{temps.size} values", expected=expected, fix=fix
        )
    bad = temps[~np.isfinite(temps) | (temps < lo) | (temps > hi)]
    if bad.size:
        raise InvalidInputError(
            "temperatures must be finite and in range",
            got=f"{bad[0]:g}" + (f" (and {bad.size - 1} more)" if bad.size > 1 else ""),
            expected=expected,
            fix=fix,
        )
    return temps


def _is_number(value) -> bool:
    try:
        float(value)
    except (TypeError, ValueError, OverflowError):
        return False
    return True


def load_predictor(folder: Path | str | None = None) -> GlassPredictor:
    """The glass predictor from ``trained_models/glass`` (or ``folder``); cached per folder.

    Raises:
        ModelNotAvailableError: the folder lacks the weights or the card.
    """
    return _cached(str(_folder(folder)))


def _curve_frame(temps, curves, a, t12, m, std_scale: float = 1.0) -> pd.DataFrame:
    """Ensemble mean/std of a viscosity curve (members x temperatures) and of the MYEGA
    parameters (one value per member), one row per temperature. Every std is the members'
    spread times the card's viscosity factor ``std_scale`` (fitted on validation points
    for log10 eta; applied to the parameters and temperatures as a first-order estimate)."""
    return pd.DataFrame(
        {
            "T_K": temps,
            "log10_viscosity": curves.mean(axis=0),
            "log10_viscosity_std": curves.std(axis=0) * std_scale,
            # a member reached the ceiling: the mean is a lower bound there
            "at_ceiling": (curves >= LOG10_VISCOSITY_CEILING).any(axis=0),
            "A": float(a.mean()),
            "A_std": float(a.std(unbiased=False)) * std_scale,
            "T12": float(t12.mean()),
            "T12_std": float(t12.std(unbiased=False)) * std_scale,
            "fragility": float(m.mean()),
            "fragility_std": float(m.std(unbiased=False)) * std_scale,
        }
    )
