"""Train the glass property + MYEGA viscosity ensemble: ``python -m core.train.glass``.

Subcommands (``python -m core.train.glass --help``): ``train`` (the members, then
``assemble``), ``assemble`` (members -> one model folder with domain files, the
measured-neighbour correction, test metrics and the uncertainty calibration),
``fit-trees`` (gradient-boosted trees blended into some properties, then the stages after
them), ``fit-correction`` and ``calibrate`` (refit those stages of a shipped model). Modules:
:mod:`.data` (filters, splits, padded sets), :mod:`.fit` (one member's training),
:mod:`.evaluate` (held-out metrics), :mod:`.trees`, :mod:`.correction`, :mod:`.calibration`,
:mod:`.assemble`.

Writes ``trained_models/glass/``:

* ``model.safetensors``: the weights of every ensemble member (keys ``member<i>.<param>``),
* ``card.json``: config (rebuild with ``GlassSetNet(GlassSetConfig(**card["config"]))``),
  target scalers, data provenance, split, test metrics, date, git commit,
* ``elements.json`` / ``descriptors.json``: element data (from mendeleev) and the compound
  descriptor table with its scaler,
* ``domain.json`` + ``knn_index.safetensors``: how many training glasses hold each compound
  and the training compositions (sparse) for the applicability domain,
* ``trees.safetensors`` (with ``--trees``): gradient-boosted trees as flat node arrays
  (:class:`core.models.trees.TreeEnsemble`), blend weights on the card's ``trees``,
* ``test_predictions.parquet``: held-out test glasses, measured vs predicted (model card).

Oxide-glass filter: every component of the glass with a non-zero fraction contains oxygen,
has at least one other element and no halogen (F, Cl, Br, I); this drops fluoride,
chloride and chalcogenide glasses and pure-element entries. Targets must be physical
(nD > 1, Abbe > 0, CTE > 0, E > 0). Splits are the fixed SciGlass splits (train: fit,
val: early stopping, test: the reported metrics only).

Members are trained with seeds ``seed, seed+1, ...`` (``--jobs`` processes, one torch thread
each); the same seed and arguments give the same weights on the same machine.

``train --tg-network 1`` adds to each member a network trained on Tg alone (same seed, viscosity
and tie losses off, ``--tg-epochs``), which gives the reported Tg (see
:class:`core.nn.glass.GlassSetConfig`). ``--joint-from DIR`` takes the joint networks from a
model trained with the same recipe (same seeds) instead of training them again.
``--trees Tg`` (an assembly step: the networks do not change) fits scikit-learn
histogram gradient boosting on the training glasses' composition features and blends it
with the networks' mean by a weight chosen on validation glasses (:mod:`.trees`).
"""
