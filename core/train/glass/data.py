"""SciGlass glasses for training: the oxide filter, target transforms, splits (with a peer's
test keys), viscosity-series filter and padded set tensors."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from core.featurizers.composition import DescriptorTable, ElementTable, is_oxide_compound
from core.nn.glass import PROPERTY_NAMES

NAME = "glass"
# Transform of each property before standardising (log for positive, skewed quantities).
TRANSFORMS = {
    "Tg": "identity",
    "Tliquidus": "identity",
    "RefractiveIndex": "identity",
    "AbbeNumber": "log",
    "CTE": "log",
    "ElasticModulus": "log",
}
VALID = {
    "RefractiveIndex": (1.0, np.inf),
    "AbbeNumber": (0.0, np.inf),
    "CTE": (0.0, np.inf),
    "ElasticModulus": (0.0, np.inf),
    "Tg": (0.0, np.inf),
    "Tliquidus": (0.0, np.inf),
}
RARE_COMPOUND_GLASSES = 30  # a compound in fewer training glasses than this is "rare"
FORMERS = ("SiO2", "B2O3", "P2O5", "GeO2", "TeO2", "V2O5", "Bi2O3", "Al2O3", "PbO")


@dataclass
class TrainConfig:
    seed: int = 0
    members: int = 4
    jobs: int = 2
    epochs: int = 60
    batch_size: int = 256
    max_points: int = 8
    lr: float = 2e-3
    weight_decay: float = 1e-5
    visc_weight: float = 1.0
    offset_weight: float = 0.1
    patience: int = 10
    max_minutes_per_member: float = 0.0  # > 0: stop a member after this long (not reproducible)
    hidden: int = 64
    n_layers: int = 1
    # n > 0: each member also gets n Tg networks (GlassSetConfig.tg_network; the first from
    # the member's seed, the k-th from seed + 1000 k), trained on Tg alone (no viscosity or
    # tie loss) for tg_epochs epochs; the reported Tg is their mean
    tg_network: int = 0
    tg_epochs: int = 100
    # comma-separated properties (e.g. "Tg") that also get gradient-boosted trees, blended
    # with the networks by a weight fitted on validation (core.train.glass.trees); an
    # assembly step: the networks are the same with or without it
    trees: str = ""
    # a model folder trained with this recipe (same seeds): its joint networks are reused
    # instead of trained again (the same seed gives the same weights on the same machine)
    joint_from: str = ""
    # a JSON file {"keys": [...]} of glass keys that form the test split instead of the fixed
    # SciGlass one (e.g. a peer's own test set, benchmarks/glass.py --glassnet-split); the
    # other test glasses join training, the validation split is kept
    test_keys: str = ""


# ----------------------------------------------------------------------------- data
@dataclass
class GlassData:
    """Glasses (property table ∪ viscosity table) as padded set tensors, per split."""

    compounds: list[str]
    index: np.ndarray  # (G, K) rows of the descriptor table
    fraction: np.ndarray  # (G, K)
    targets: np.ndarray  # (G, P) standardised, NaN where missing
    raw_targets: np.ndarray  # (G, P) card units, NaN where missing
    split: np.ndarray  # (G,) "train" / "val" / "test"
    key: np.ndarray  # (G,)
    visc_glass: np.ndarray  # (V,) glass row of each viscosity point
    visc_T: np.ndarray  # (V,) K
    visc_log_eta: np.ndarray  # (V,) log10 Pa s
    visc_ptr: np.ndarray  # (G + 1,) points of glass g are visc_*[ptr[g]:ptr[g + 1]]
    scalers: dict
    viscosity_filter: dict = field(default_factory=dict)  # what load_data dropped and why


def _padded(matrix: np.ndarray, column_index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.nonzero(matrix)
    counts = np.bincount(rows, minlength=len(matrix))
    k = max(int(counts.max()), 1)
    index = np.zeros((len(matrix), k), dtype=np.int64)
    fraction = np.zeros((len(matrix), k), dtype=np.float32)
    # order by descending fraction inside each row, so truncation-free and stable
    vals = matrix[rows, cols]
    order = np.lexsort((-vals, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.arange(len(rows)) - starts[rows]
    index[rows, pos] = column_index[cols]
    fraction[rows, pos] = vals
    fraction /= np.maximum(fraction.sum(axis=1, keepdims=True), 1e-12)
    return index, fraction


def oxide_mask(frame: pd.DataFrame, compounds: list[str]) -> np.ndarray:
    """Rows whose non-zero components are all oxide compounds (see module docstring)."""
    bad = [c for c in compounds if not is_oxide_compound(c)]
    return ~(frame[bad].to_numpy() > 0).any(axis=1) if bad else np.ones(len(frame), bool)


VISCOSITY_TG_TOLERANCE = 150.0  # K; see inconsistent_viscosity_series
VISCOSITY_FILTER = (
    "training and validation viscosity series dropped where the glass also has a measured Tg "
    "and the temperature of 10^12 Pa s from its own points (log10 eta 9-14, Arrhenius fit) "
    "differs from that Tg by more than {tol:.0f} K (by definition they agree within tens of "
    "kelvin; e.g. temperatures in degrees C filed as K, 273 K low); test "
    "points are all kept"
)


def inconsistent_viscosity_series(
    visc: pd.DataFrame, tg: pd.Series, tolerance: float = VISCOSITY_TG_TOLERANCE
) -> pd.DataFrame:
    """Viscosity series that contradict the same glass's measured Tg.

    ``visc``: points (``key``, ``temperature`` K, ``log_viscosity``); ``tg``: measured Tg
    (K) by key. For every key with a Tg and at least two points with log10 eta in [9, 14],
    log10 eta = a / T + b is fitted and T12 = a / (12 - b) compared with Tg. Returns the
    keys whose |T12 - Tg| exceeds ``tolerance`` with both temperatures (key, T12, Tg)."""
    near = visc[visc["log_viscosity"].between(9.0, 14.0) & visc["key"].isin(tg.index)]
    rows = []
    for key, g in near.groupby("key", sort=True):
        x = 1.0 / g["temperature"].to_numpy(dtype=np.float64)
        y = g["log_viscosity"].to_numpy(dtype=np.float64)
        if len(g) < 2 or np.ptp(x) == 0:
            continue
        a, b = np.polyfit(x, y, 1)
        if a <= 0 or b >= 12:  # not a viscosity that falls with temperature
            continue
        t12 = a / (12.0 - b)
        if abs(t12 - float(tg[key])) > tolerance:
            rows.append((key, t12, float(tg[key])))
    return pd.DataFrame(rows, columns=["key", "T12_points", "Tg"])


def test_viscosity_outliers(data: GlassData) -> np.ndarray:
    """Keys of test glasses whose viscosity series contradicts their own measured Tg
    (:func:`inconsistent_viscosity_series`, the check the training series get)."""
    pts = np.flatnonzero(data.split[data.visc_glass] == "test")
    visc = pd.DataFrame(
        {
            "key": data.key[data.visc_glass[pts]],
            "temperature": data.visc_T[pts].astype(np.float64),
            "log_viscosity": data.visc_log_eta[pts].astype(np.float64),
        }
    )
    tg_col = PROPERTY_NAMES.index("Tg")
    has_tg = np.isfinite(data.raw_targets[:, tg_col])
    tg = pd.Series(data.raw_targets[has_tg, tg_col], index=data.key[has_tg])
    return inconsistent_viscosity_series(visc, tg)["key"].to_numpy()


def resplit(frame: pd.DataFrame, test_keys: set[str]) -> pd.DataFrame:
    """The glasses in ``test_keys`` become the test split, the other test glasses training."""
    in_test = frame["key"].isin(test_keys).to_numpy()
    split = frame["split"].to_numpy()
    frame = frame.copy()
    frame["split"] = np.where(in_test, "test", np.where(split == "val", "val", "train"))
    return frame


def load_data(
    descriptors: DescriptorTable | None = None, test_keys: str = ""
) -> tuple[GlassData, DescriptorTable]:
    """Oxide glasses of SciGlass as set tensors; ``test_keys``: see :class:`TrainConfig`."""
    from core.data import sciglass, sciglass_viscosity

    props = sciglass.load()
    comp_cols = sciglass.compound_columns(props)
    props = props[oxide_mask(props, comp_cols)].reset_index(drop=True)
    visc = sciglass_viscosity.load()
    vcols = sciglass.compound_columns(visc)
    visc = visc[oxide_mask(visc, vcols)].reset_index(drop=True)
    if test_keys:
        keys = set(json.loads(Path(test_keys).read_text())["keys"])
        props, visc = resplit(props, keys), resplit(visc, keys)
    visc = visc[np.isfinite(visc["temperature"]) & np.isfinite(visc["log_viscosity"])]
    visc = visc[visc["temperature"] > 0].reset_index(drop=True)
    tg = props.set_index("key")["Tg"]
    lo, hi = VALID["Tg"]
    tg = tg[(tg > lo) & (tg < hi)]
    bad = inconsistent_viscosity_series(visc[visc["split"] != "test"], tg)
    dropped = visc["key"].isin(bad["key"])
    viscosity_filter = {
        "rule": VISCOSITY_FILTER.format(tol=VISCOSITY_TG_TOLERANCE),
        "series_dropped": int(len(bad)),
        "points_dropped": int(dropped.sum()),
        "of_them_about_273_K_low": int(((bad["T12_points"] - bad["Tg"]).between(-330, -220)).sum()),
    }
    visc = visc[~dropped].reset_index(drop=True)

    used = sorted(
        {c for c in comp_cols if (props[c] > 0).any()} | {c for c in vcols if (visc[c] > 0).any()}
    )
    if descriptors is None:
        descriptors = DescriptorTable.build(used, ElementTable.from_mendeleev())
    col_index = np.array([descriptors.index_of(c) for c in used])

    # Viscosity-only glasses (key not in the property table) join the glass list.
    vglass = visc.drop_duplicates("key").set_index("key")
    extra = vglass.loc[~vglass.index.isin(props["key"])].reset_index()
    glasses = pd.concat([props[["key", "split"]], extra[["key", "split"]]], ignore_index=True)
    matrix = np.zeros((len(glasses), len(used)), dtype=np.float64)
    pcols = [c for c in used if c in props.columns]
    matrix[: len(props), [used.index(c) for c in pcols]] = props[pcols].to_numpy()
    ecols = [c for c in used if c in extra.columns]
    matrix[len(props) :, [used.index(c) for c in ecols]] = extra[ecols].to_numpy()
    index, fraction = _padded(matrix, col_index)

    raw = np.full((len(glasses), len(PROPERTY_NAMES)), np.nan)
    for j, p in enumerate(PROPERTY_NAMES):
        values = props[p].to_numpy(dtype=np.float64)
        lo, hi = VALID[p]
        raw[: len(props), j] = np.where((values > lo) & (values < hi), values, np.nan)
    train = glasses["split"].to_numpy() == "train"
    scalers, targets = {}, np.full_like(raw, np.nan)
    for j, p in enumerate(PROPERTY_NAMES):
        t = np.log(raw[:, j]) if TRANSFORMS[p] == "log" else raw[:, j]
        mu, sd = np.nanmean(t[train]), np.nanstd(t[train])
        scalers[p] = {"transform": TRANSFORMS[p], "mean": float(mu), "std": float(sd)}
        targets[:, j] = (t - mu) / sd
    key_to_row = pd.Series(np.arange(len(glasses)), index=glasses["key"].to_numpy())
    visc_glass = key_to_row.loc[visc["key"].to_numpy()].to_numpy()
    order = np.argsort(visc_glass, kind="stable")
    visc = visc.iloc[order]
    visc_glass = visc_glass[order]
    visc_ptr = np.searchsorted(visc_glass, np.arange(len(glasses) + 1))
    data = GlassData(
        compounds=used,
        index=index,
        fraction=fraction,
        targets=targets.astype(np.float32),
        raw_targets=raw,
        split=glasses["split"].to_numpy(),
        key=glasses["key"].to_numpy(),
        visc_glass=visc_glass,
        visc_T=visc["temperature"].to_numpy(dtype=np.float32),
        visc_log_eta=visc["log_viscosity"].to_numpy(dtype=np.float32),
        visc_ptr=visc_ptr,
        scalers=scalers,
        viscosity_filter=viscosity_filter,
    )
    return data, descriptors


# ------------------------------------------------------------------------- training


def compositions(data: GlassData, descriptors: DescriptorTable, rows: np.ndarray) -> list[dict]:
    out = []
    for r in rows:
        nz = data.fraction[r] > 0
        out.append(
            {
                descriptors.formulas[i]: float(x)
                for i, x in zip(data.index[r][nz], data.fraction[r][nz], strict=True)
            }
        )
    return out


def data_for(folder: Path, data, descriptors):
    if data is None or descriptors is None:
        elements = ElementTable.from_json(folder / "elements.json")
        descriptors = DescriptorTable.from_json(folder / "descriptors.json", elements)
        card = json.loads((folder / "card.json").read_text())
        data, descriptors = load_data(descriptors, card["train_config"].get("test_keys", ""))
    return data, descriptors
