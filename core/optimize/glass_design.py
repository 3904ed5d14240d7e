"""Glass inverse design in one step: property goals -> ranked compositions from the glass model.

"I need nD 1.52-1.53, Tg >= 820 K, liquidus as low as possible, no PbO" becomes a
:class:`GlassDesignRequest` (oxide ranges, property windows, one property to minimise or
maximise) and :func:`design_glasses` returns a :class:`GlassDesignReport`: the best
compositions the model finds, each with its predictions and their ensemble std, the
probability that every window is met, and the model's applicability-domain verdict.

**Search** (a direct optimiser over the model, no campaign): the glass model evaluates
thousands of compositions per second on a CPU, so an evolutionary search is both cheaper
and more thorough than a GP surrogate of it. Generation 0 is ``population`` compositions
drawn uniformly from the design space (oxide bounds, mole fractions summing to 1: hit-and-run
over the polytope, :func:`uniform_compositions`). The ensemble screens every composition;
the most promising are re-estimated with the measured-neighbour correction the glass page
applies, and those values decide. Each generation keeps
the ``elite`` best and adds children: Gaussian steps in mole fraction around elite parents,
projected back onto the design space exactly (:func:`project`), and
blends of two parents (feasible by convexity). ``generations`` rounds, seeded.

**Ranking**: each window counts as the probability, under the prediction's normal
uncertainty, that the property lies in it; their product is ``P(all goals)``. Candidates
with ``P >= 0.5`` come first, ordered by the objective (the predicted value, minimised or
maximised); the rest follow by ``P``. The final list drops near duplicates (less than
``min_distance_molpct`` mol% apart) and puts compositions inside the model's domain before
those outside it; every row says which.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core import properties
from core.exceptions import InvalidInputError
from core.progress import Progress

DESIGN_PROPERTIES = ("Tg", "Tliquidus", "RefractiveIndex", "AbbeNumber", "CTE", "ElasticModulus")
MAX_OXIDES = 15
PASS_PROBABILITY = 0.5


@dataclass(frozen=True)
class PropertyWindow:
    """``low <= property <= high`` in the property's display unit (CTE in ppm/K); one side
    may be ``None``."""

    property: str
    low: float | None = None
    high: float | None = None

    def __post_init__(self) -> None:
        _known(self.property)
        for side in (self.low, self.high):
            if side is not None and not (isinstance(side, int | float) and math.isfinite(side)):
                raise InvalidInputError(
                    f"The window of {self.property} needs numbers",
                    got=repr(side),
                    expected="a finite number or nothing",
                    fix="e.g. 1.52",
                    entry=self.property,
                )
        if self.low is None and self.high is None:
            raise InvalidInputError(
                f"The window of {self.property} is empty",
                got="no lower and no upper limit",
                expected="at least one limit",
                fix="give 'at least' and/or 'at most'",
                entry=self.property,
            )
        if self.low is not None and self.high is not None and self.low > self.high:
            raise InvalidInputError(
                f"The window of {self.property} is upside down",
                got=f"at least {self.low:g}, at most {self.high:g}",
                expected="at least <= at most",
                fix="swap the two limits",
                entry=self.property,
            )

    def describe(self) -> str:
        p = properties.GLASS[self.property]
        unit = f" {p.display_unit}" if p.display_unit else ""
        name = p.label
        if self.high is None:
            return f"{name} ≥ {self.low:g}{unit}"
        if self.low is None:
            return f"{name} ≤ {self.high:g}{unit}"
        return f"{self.low:g} ≤ {name} ≤ {self.high:g}{unit}"


@dataclass(frozen=True)
class GlassDesignRequest:
    """What to design. ``oxides``: formula -> (min, max) mole fraction (an oxide left out
    is excluded, e.g. no PbO); ``windows``: property goals; ``objective``: a property to
    ``"minimize"`` or ``"maximize"`` (or None)."""

    oxides: Mapping[str, tuple[float, float]]
    windows: tuple[PropertyWindow, ...] = ()
    objective: tuple[str, str] | None = None
    n_results: int = 10
    population: int = 2000
    generations: int = 6
    elite: int = 64
    min_distance_molpct: float = 2.0
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.oxides, Mapping) or len(self.oxides) < 2:
            raise InvalidInputError(
                "A glass design needs at least two oxides",
                got=repr(list(self.oxides) if isinstance(self.oxides, Mapping) else self.oxides),
                expected="two or more oxides with their mole-fraction ranges",
                fix="e.g. SiO2 0.6-0.8 and Na2O 0-0.2",
            )
        if len(self.oxides) > MAX_OXIDES:
            raise InvalidInputError(
                "Too many oxides for one design",
                got=len(self.oxides),
                expected=f"at most {MAX_OXIDES}",
                fix="leave out the oxides you do not need",
            )
        from core.chem.composition import parse_composition
        from core.featurizers.composition import is_oxide_compound

        low_sum = high_sum = 0.0
        for oxide, bounds in self.oxides.items():
            try:
                parse_composition({oxide: 1.0})
            except InvalidInputError as err:
                raise InvalidInputError(
                    f"Unknown oxide {oxide!r}",
                    got=oxide,
                    expected="a chemical formula such as SiO2 or Na2O",
                    fix="check the spelling",
                    entry=oxide,
                ) from err
            if not is_oxide_compound(oxide):
                raise InvalidInputError(
                    f"{oxide} is not an oxide",
                    got=oxide,
                    expected="an oxygen-bearing, halogen-free compound",
                    fix="the glass model covers oxide glasses only",
                    entry=oxide,
                )
            lo, hi = (float(b) for b in bounds)
            if not (0.0 <= lo <= hi <= 1.0) or not (math.isfinite(lo) and math.isfinite(hi)):
                raise InvalidInputError(
                    f"The range of {oxide} is not a mole-fraction range",
                    got=f"{lo:g}-{hi:g}",
                    expected="0 <= min <= max <= 1",
                    fix="e.g. 0-0.2",
                    entry=oxide,
                )
            low_sum, high_sum = low_sum + lo, high_sum + hi
        if low_sum > 1.0 + 1e-9 or high_sum < 1.0 - 1e-9:
            raise InvalidInputError(
                "No composition fits these ranges",
                got=f"the minima add to {low_sum:.3g}, the maxima to {high_sum:.3g}",
                expected="minima adding to at most 1 and maxima to at least 1",
                fix="lower some minima or raise some maxima",
            )
        names = [w.property for w in self.windows]
        if len(set(names)) != len(names):
            raise InvalidInputError(
                "A property has two windows",
                got=", ".join(names),
                expected="one window per property",
                fix="merge them into one",
            )
        if self.objective is not None:
            prop, direction = self.objective
            _known(prop)
            if direction not in ("minimize", "maximize"):
                raise InvalidInputError(
                    "The objective must be minimised or maximised",
                    got=direction,
                    expected="minimize or maximize",
                    fix="pick one",
                )
        if not self.windows and self.objective is None:
            raise InvalidInputError(
                "Nothing to design for",
                got="no property window and no objective",
                expected="at least one goal",
                fix="add a property window or pick a property to minimise or maximise",
            )
        if not 1 <= int(self.n_results) <= 50:
            raise InvalidInputError(
                "Number of results out of range",
                got=self.n_results,
                expected="1..50",
                fix="e.g. 10",
            )


@dataclass(frozen=True)
class GlassDesignReport:
    """Ranked candidates (``table``: composition text, one column per oxide in mol%, each
    property with ``_std`` in display units, ``P(all goals)``, ``in_domain``,
    ``domain_message``), the goals as text, how many compositions were evaluated and a note."""

    table: pd.DataFrame
    goals: tuple[str, ...]
    evaluated: int
    cpu_s: float
    note: str


def _known(prop: str) -> None:
    if prop not in DESIGN_PROPERTIES:
        raise InvalidInputError(
            f"Unknown glass property {prop!r}",
            got=prop,
            expected=", ".join(DESIGN_PROPERTIES),
            fix="pick one of the model's properties",
            entry=prop,
        )


def project(y: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Each row of ``y`` moved the least (Euclidean) onto ``{x: sum(x) = 1, lo <= x <= hi}``:
    ``x = clip(y - t, lo, hi)`` with the shift ``t`` that makes the row sum to 1 (the sum
    falls monotonically in ``t``; bisection to machine precision, all rows at once)."""
    y = np.atleast_2d(np.asarray(y, dtype=float))
    a = (y - hi).min(axis=1, keepdims=True)  # sum at t=a is sum(hi) >= 1
    b = (y - lo).max(axis=1, keepdims=True)  # sum at t=b is sum(lo) <= 1
    for _ in range(100):
        t = (a + b) / 2
        over = np.clip(y - t, lo, hi).sum(axis=1, keepdims=True) > 1.0
        a, b = np.where(over, t, a), np.where(over, b, t)
    x = np.clip(y - (a + b) / 2, lo, hi)
    # the last 1e-16: on the largest component that has room
    resid = 1.0 - x.sum(axis=1)
    j = np.argmax(np.where(resid[:, None] > 0, hi - x, x - lo), axis=1)
    x[np.arange(len(x)), j] += resid
    return x


def uniform_compositions(lo: np.ndarray, hi: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` compositions uniform over ``{sum = 1, lo <= x <= hi}`` (one hit-and-run chain,
    BoTorch's polytope sampler)."""
    import torch
    from botorch.utils.sampling import get_polytope_samples

    d = len(lo)
    bounds = torch.tensor(np.stack([lo, hi]), dtype=torch.float64)
    equality = [(torch.arange(d), torch.ones(d, dtype=torch.float64), 1.0)]
    x = get_polytope_samples(
        n, bounds, equality_constraints=equality, seed=seed, n_burnin=500, n_thinning=10
    ).numpy()
    return project(x, lo, hi)


def _normal_cdf(z: np.ndarray) -> np.ndarray:
    from scipy.special import ndtr

    return ndtr(z)


def _probability(request: GlassDesignRequest, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """P(every window met) per row, ``mean``/``std`` (n, properties) in display units."""
    p = np.ones(len(mean))
    for w in request.windows:
        j = DESIGN_PROPERTIES.index(w.property)
        s = np.maximum(std[:, j], 1e-12)
        upper = 1.0 if w.high is None else _normal_cdf((w.high - mean[:, j]) / s)
        lower = 0.0 if w.low is None else _normal_cdf((w.low - mean[:, j]) / s)
        p *= np.clip(upper - lower, 0.0, 1.0)
    return p


def _rank_key(request: GlassDesignRequest, mean: np.ndarray, prob: np.ndarray) -> np.ndarray:
    """Sort key, smaller is better: passing candidates by objective, then the rest by P."""
    if request.objective is None:
        return -prob
    j = DESIGN_PROPERTIES.index(request.objective[0])
    value = mean[:, j] if request.objective[1] == "minimize" else -mean[:, j]
    scale = np.nanstd(value) + 1e-12
    passing = prob >= PASS_PROBABILITY
    # passing rows: objective (standardised, in [-inf, +inf]) shifted below every failing row
    return np.where(passing, value / scale - 1e6, -prob)


def design_glasses(
    request: GlassDesignRequest, predictor=None, progress: Progress | None = None
) -> GlassDesignReport:
    """Search the design space with the glass model; see the module docstring."""
    from core.optimize.builtins import _glass_predictor

    progress = progress or Progress()
    cpu0 = time.process_time()
    predictor = predictor or _glass_predictor()
    names = list(request.oxides)
    scales = np.array([properties.GLASS[p].scale for p in DESIGN_PROPERTIES])
    lo = np.array([float(request.oxides[n][0]) for n in names])
    hi = np.array([float(request.oxides[n][1]) for n in names])
    rng = np.random.default_rng(request.seed)

    def evaluate(x: np.ndarray, corrected: bool):
        """(mean, std) in display units; ``corrected``: with the measured-neighbour
        correction the app shows (a k-NN search over SciGlass, ~2 ms a composition), else
        the ensemble alone (~0.2 ms)."""
        comps = [{n: float(v) for n, v in zip(names, row, strict=True) if v > 0} for row in x]
        if corrected:
            est = predictor.estimate(comps)
        else:
            est = predictor.summarise(predictor.raw_outputs(comps))
        return est["mean"] * scales, est["std"] * scales

    pool_x = np.zeros((0, len(names)))
    pool_mean = np.zeros((0, len(DESIGN_PROPERTIES)))
    pool_std = np.zeros((0, len(DESIGN_PROPERTIES)))
    x = uniform_compositions(lo, hi, request.population, request.seed)
    evaluated = 0
    archive = []  # every corrected estimate: the final list picks distinct ones from all
    for generation in range(request.generations + 1):
        with progress.stage("search", generation, request.generations + 1):
            # the ensemble screens every new composition; the most promising 4 x elite are
            # re-estimated with the neighbour correction before they compete for the elite
            mean, std = evaluate(x, corrected=False)
            evaluated += len(x)
            key = _rank_key(request, mean, _probability(request, mean, std))
            best = np.argsort(key, kind="stable")[: 4 * request.elite]
            x = x[best]
            mean, std = evaluate(x, corrected=True)
            archive.append((x, mean, std))
            pool_x = np.vstack([pool_x, x])
            pool_mean, pool_std = np.vstack([pool_mean, mean]), np.vstack([pool_std, std])
            key = _rank_key(request, pool_mean, _probability(request, pool_mean, pool_std))
            order = np.argsort(key, kind="stable")[: request.elite]
            pool_x, pool_mean, pool_std = pool_x[order], pool_mean[order], pool_std[order]
            if generation == request.generations:
                break
            n_child = request.population // 2
            parents = pool_x[rng.integers(len(pool_x), size=n_child)]
            step = 0.03 * (0.6**generation)  # mole fraction, shrinking
            children = parents + rng.normal(0, step, parents.shape) * (hi > lo)
            children = project(children, lo, hi)
            a = pool_x[rng.integers(len(pool_x), size=n_child)]
            b = pool_x[rng.integers(len(pool_x), size=n_child)]
            t = rng.uniform(0, 1, (n_child, 1))
            x = np.vstack([children, t * a + (1 - t) * b])
    with progress.stage("rank"):
        table = _table(
            request, predictor, names, *(np.vstack(a) for a in zip(*archive, strict=True))
        )
    goals = tuple(w.describe() for w in request.windows)
    if request.objective is not None:
        goals += (f"{request.objective[1]} {properties.GLASS[request.objective[0]].label}",)
    passing = int((table["P(all goals)"] >= PASS_PROBABILITY).sum()) if len(table) else 0
    note = (
        f"{evaluated:,} compositions evaluated by the glass model in {request.generations} "
        f"generations; {passing} of the {len(table)} shown meet every goal with probability "
        f">= {PASS_PROBABILITY:.0%} under the model's uncertainty. Predictions, not "
        "measurements: melt and measure before relying on one."
    )
    return GlassDesignReport(table, goals, evaluated, time.process_time() - cpu0, note)


def _table(request, predictor, names, x, mean, std) -> pd.DataFrame:
    """The ranked, de-duplicated candidates with domain verdicts."""
    prob = _probability(request, mean, std)
    order = np.argsort(_rank_key(request, mean, prob), kind="stable")
    keep: list[int] = []
    for i in order:
        if all(
            50 * np.abs(x[i] - x[k]).sum() >= request.min_distance_molpct for k in keep
        ):  # half the L1 distance, in mol%
            keep.append(int(i))
        if len(keep) >= 3 * request.n_results:
            break
    x, mean, std, prob = x[keep], mean[keep], std[keep], prob[keep]
    comps = [{n: float(v) for n, v in zip(names, row, strict=True) if v > 0} for row in x]
    domain = predictor.domain(comps) if comps else pd.DataFrame()
    rows = []
    for i, comp in enumerate(comps):
        row = {
            "composition": " · ".join(
                f"{100 * v:.1f} {n}" for n, v in sorted(comp.items(), key=lambda kv: -kv[1])
            ),
            **{f"{n} (mol%)": round(100 * float(x[i, j]), 2) for j, n in enumerate(names)},
        }
        for j, p in enumerate(DESIGN_PROPERTIES):
            row[p] = float(mean[i, j])
            row[f"{p}_std"] = float(std[i, j])
        row["P(all goals)"] = float(prob[i])
        row["in_domain"] = bool(domain["in_domain"].iloc[i])
        row["domain_message"] = str(domain["domain_message"].iloc[i])
        rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    # inside the model's domain first (stable: keeps the ranking within each group)
    table = table.sort_values("in_domain", ascending=False, kind="stable")
    return table.head(request.n_results).reset_index(drop=True)


# ------------------------------------------------------------------------ page entries
OXIDE_COLUMNS = ("oxide", "min mol%", "max mol%")
WINDOW_COLUMNS = ("property", "at least", "at most")
GLASS_PAGE = "Glass_properties"  # the glass page's URL path (app_pages/2_Glass_properties.py)


def property_labels() -> dict[str, str]:
    """Display title (label with unit) -> property key, for the page's pickers."""
    return {properties.GLASS[p].title: p for p in DESIGN_PROPERTIES}


def default_oxide_rows() -> pd.DataFrame:
    from core.optimize.builtins import GLASS_OXIDES

    return pd.DataFrame(
        [(o, 100 * lo, 100 * hi) for o, (lo, hi) in GLASS_OXIDES.items()], columns=OXIDE_COLUMNS
    )


def default_window_rows() -> pd.DataFrame:
    titles = {p: t for t, p in property_labels().items()}
    return pd.DataFrame(
        [(titles["RefractiveIndex"], 1.52, 1.53), (titles["Tg"], 820.0, None)],
        columns=WINDOW_COLUMNS,
    )


def _cell(value) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InvalidInputError(
            "A limit is not a number", got=repr(value), expected="a number", fix="e.g. 1.52"
        ) from None


def request_from_entries(
    oxide_rows: pd.DataFrame,
    window_rows: pd.DataFrame,
    objective: str | None,
    direction: str,
    n_results: int = 10,
) -> GlassDesignRequest:
    """The page's tables (oxides with min/max mol%, property windows in display units) and
    objective title -> a checked :class:`GlassDesignRequest`; blank rows are skipped."""
    labels = property_labels()
    oxides: dict[str, tuple[float, float]] = {}
    for row in oxide_rows.to_dict("records"):
        name = str(row.get("oxide") or "").strip()
        if not name or name.lower() == "nan":
            continue
        lo, hi = _cell(row.get("min mol%")), _cell(row.get("max mol%"))
        if name in oxides:
            raise InvalidInputError(
                f"{name} is listed twice",
                got=name,
                expected="each oxide once",
                fix="merge the rows",
            )
        oxides[name] = ((lo or 0.0) / 100, (100.0 if hi is None else hi) / 100)
    windows = []
    for row in window_rows.to_dict("records"):
        title = row.get("property")
        if title is None or (isinstance(title, float) and math.isnan(title)) or title == "":
            continue
        if title not in labels:
            raise InvalidInputError(
                "Unknown property in the goals",
                got=repr(title),
                expected=", ".join(labels),
                fix="pick a property from the list",
            )
        windows.append(
            PropertyWindow(labels[title], _cell(row.get("at least")), _cell(row.get("at most")))
        )
    target = None if not objective else (labels.get(objective, objective), direction)
    return GlassDesignRequest(oxides, tuple(windows), target, n_results=int(n_results))


def glass_page_link(table: pd.DataFrame) -> pd.Series:
    """Per candidate, the glass page's URL with the composition (mol%) filled in."""
    from urllib.parse import quote

    cols = [c for c in table.columns if c.endswith(" (mol%)")]

    def link(row) -> str:
        parts = [f"{c.removesuffix(' (mol%)')} {row[c]:g}" for c in cols if row[c] > 0]
        return f"{GLASS_PAGE}?composition={quote(', '.join(parts))}"

    return table.apply(link, axis=1) if len(table) else pd.Series(dtype=str)


def display_table(report: GlassDesignReport) -> pd.DataFrame:
    """The report's candidates as the page shows them: composition, P(all goals), in the
    model's domain, each property as ``value ± std`` with its unit in the header, the
    domain note and the glass-page link."""
    t = report.table
    if t.empty:
        return t
    out = pd.DataFrame({"composition (mol%)": t["composition"]})
    out["P(all goals)"] = t["P(all goals)"].round(2)  # the verdicts first: visible at once
    out["in model domain"] = t["in_domain"].map({True: "yes", False: "no"})
    for p in DESIGN_PROPERTIES:
        prop = properties.GLASS[p]
        out[prop.title] = [
            properties.format_value_std(p, v / prop.scale, s / prop.scale, unit=False)
            for v, s in zip(t[p], t[f"{p}_std"], strict=True)
        ]
    out["domain note"] = t["domain_message"]
    out["glass page"] = glass_page_link(t)
    return out
