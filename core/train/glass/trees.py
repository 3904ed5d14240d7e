"""Gradient-boosted trees beside the network ensemble, blended with a weight fitted on
validation glasses.

Trees on composition features (compound fractions, fraction-weighted descriptor statistics,
atom fractions: :func:`core.models.trees.composition_features`) make other errors than the
set networks; the property's prediction becomes ``(1 - w) * networks + w * trees`` with ``w``
on the grid :data:`BLEND_GRID` that minimises the validation RMSE (0: the trees did not help,
and they are not shipped). Runs before the measured-neighbour correction, which is then
refitted on the blend's residuals. Test glasses are not looked at.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np

from core.featurizers.composition import DescriptorTable
from core.train.glass.data import GlassData, compositions, data_for

logger = logging.getLogger(__name__)

TREES_FILE = "trees.safetensors"
TREE_PARAMS = {  # scikit-learn HistGradientBoostingRegressor
    "max_iter": 3000,
    "learning_rate": 0.05,
    "max_leaf_nodes": 63,
    "min_samples_leaf": 10,
    "l2_regularization": 1.0,
    "early_stopping": False,
}
BLEND_GRID = tuple(round(0.05 * i, 2) for i in range(21))


def tree_properties(text: str) -> tuple[str, ...]:
    """``TrainConfig.trees`` ("Tg,CTE") -> property names, checked."""
    from core.exceptions import InvalidInputError
    from core.models.glass import PROPERTIES

    names = tuple(p.strip() for p in text.split(",") if p.strip())
    unknown = [p for p in names if p not in PROPERTIES]
    if unknown:
        raise InvalidInputError(
            "Unknown property for trees",
            got=", ".join(unknown),
            expected="some of " + ", ".join(PROPERTIES),
        )
    return names


def training_vocabulary(data: GlassData, descriptors: DescriptorTable) -> tuple[list, list]:
    """Compounds present in training glasses and the elements they contain."""
    from core.chem.composition import parse_formula

    train = data.split == "train"
    used = np.unique(data.index[train][data.fraction[train] > 0])
    compounds = [descriptors.formulas[i] for i in used]
    elements = sorted({e for c in compounds for e in parse_formula(c)})
    return compounds, elements


def fit_trees(
    folder: Path,
    data: GlassData | None = None,
    descriptors: DescriptorTable | None = None,
    properties: tuple[str, ...] = ("Tg",),
    seed: int = 0,
    params: dict | None = None,
) -> dict:
    """Fit trees for ``properties`` on the training glasses of the model in ``folder`` and
    their blend weights on the validation glasses; writes :data:`TREES_FILE` and the card's
    ``trees`` (feature vocabulary, parameters, per property the weight and validation RMSE of
    the networks alone and of the blend). A property whose best weight is 0 gets no trees."""
    from safetensors.numpy import save_file
    from sklearn.ensemble import HistGradientBoostingRegressor

    from core.models.glass import PROPERTIES, GlassPredictor, standardised_to_units
    from core.models.integrity import forget_checksums
    from core.models.trees import TreeEnsemble, composition_features
    from core.provenance import git_version

    forget_checksums(folder)  # this step rewrites model files
    data, descriptors = data_for(folder, data, descriptors)
    (folder / TREES_FILE).unlink(missing_ok=True)
    card = json.loads((folder / "card.json").read_text())
    card.pop("trees", None)
    (folder / "card.json").write_text(json.dumps(card, indent=2))
    params = {**TREE_PARAMS, **(params or {}), "random_state": seed}
    compounds, elements = training_vocabulary(data, descriptors)
    predictor = GlassPredictor(folder)

    def features(rows: np.ndarray) -> np.ndarray:
        comps = compositions(data, descriptors, rows)
        return composition_features(comps, compounds, elements, predictor.descriptors)

    train = np.flatnonzero(data.split == "train")
    val = np.flatnonzero(data.split == "val")
    x_train, x_val = features(train), features(val)
    val_networks = predictor.estimate(compositions(data, descriptors, val))["network_mean"]
    arrays: dict[str, np.ndarray] = {}
    fitted: dict[str, dict] = {}
    for p in properties:
        j = PROPERTIES.index(p)
        scaler = data.scalers[p]
        y = data.targets[train, j]  # standardised (log first where the scaler says)
        ok = np.isfinite(y)
        t0 = time.monotonic()
        model = HistGradientBoostingRegressor(**params).fit(x_train[ok], y[ok])
        trees = TreeEnsemble.from_sklearn(model)
        minutes = (time.monotonic() - t0) / 60
        yv = data.raw_targets[val, j]
        okv = np.isfinite(yv)
        t = standardised_to_units(trees.predict(x_val[okv]), scaler)
        net = val_networks[okv, j]

        def rmse(pred, truth=yv[okv]):
            return float(np.sqrt(np.mean((truth - pred) ** 2)))

        scores = {w: rmse((1 - w) * net + w * t) for w in BLEND_GRID}
        best = min(scores, key=scores.get)
        fitted[p] = {
            "weight": best,
            "val_rmse_networks": scores[0.0],
            "val_rmse_trees": rmse(t),
            "val_rmse_blend": scores[best],
            "n_trees": trees.n_trees,
            "n_train": int(ok.sum()),
            "n_val": int(okv.sum()),
            "fit_minutes": round(minutes, 2),
        }
        logger.info("trees %s: %s", p, json.dumps(fitted[p]))
        if best > 0:
            arrays.update(trees.to_arrays(f"{p}."))
    card = json.loads((folder / "card.json").read_text())
    card["trees"] = {
        "method": "scikit-learn HistGradientBoostingRegressor on the training glasses "
        "(standardised target), blended with the network ensemble's mean as "
        "(1 - weight) * networks + weight * trees; weight on a 0.05 grid minimising the "
        "validation RMSE, before the measured-neighbour correction",
        "params": params,
        "compounds": compounds,
        "elements": elements,
        "properties": fitted,
        "code_version": git_version(),
    }
    (folder / "card.json").write_text(json.dumps(card, indent=2))
    if arrays:
        save_file(arrays, str(folder / TREES_FILE))
    return fitted


def record_trees_recipe(folder: Path, trees: str) -> None:
    """After ``fit-trees`` on an assembled model: its card's recipe and assemble command name
    the trees, so that the card rebuilds the model it describes."""
    card = json.loads((folder / "card.json").read_text())
    card["train_config"]["trees"] = trees
    steps = card.get("reproduce", [])
    if steps and " assemble " in steps[-1]:
        head = steps[-1].split(" --trees ")[0]
        steps[-1] = f"{head} --trees {trees}" if trees else head
    (folder / "card.json").write_text(json.dumps(card, indent=2))
