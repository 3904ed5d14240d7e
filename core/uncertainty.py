"""Calibrated uncertainty of ensemble predictions: the std model fitted on held-out rows at
training time and applied by the predictors at inference (no torch)."""

from __future__ import annotations

import numpy as np


def fit_std_scale(abs_error: np.ndarray, std: np.ndarray, coverage: float = 0.6827) -> np.ndarray:
    """Per-column factor s so that ``|error| <= s * std`` for ``coverage`` of the rows
    (quantile matching on held-out rows: robust to the heavy tails of a few-member ensemble
    std). NaN rows (missing targets) are ignored; a column without rows gets 1."""
    z = abs_error / np.maximum(std, 1e-12)
    out = np.ones(z.shape[1])
    for k in range(z.shape[1]):
        col = z[:, k][np.isfinite(z[:, k])]
        if len(col):
            out[k] = np.quantile(col, coverage)
    return out


def fit_std_model(
    abs_error: np.ndarray, std: np.ndarray, coverage: float = 0.6827
) -> tuple[np.ndarray, np.ndarray]:
    """Per-column ``(scale, floor)`` for ``sigma = sqrt((scale * std)^2 + floor^2)``.

    A few-member ensemble can agree by chance (std near 0) on a molecule it gets wrong;
    the floor is the error the ensemble spread does not see. Both are fitted on held-out
    rows by Gaussian likelihood, then multiplied by one common factor so ``coverage`` of
    the rows fall within 1 sigma (quantile matching, as :func:`fit_std_scale`). NaN rows
    are ignored; a column without rows gets (1, 0).
    """
    from scipy.optimize import minimize

    scale, floor = np.ones(abs_error.shape[1]), np.zeros(abs_error.shape[1])
    for k in range(abs_error.shape[1]):
        ok = np.isfinite(abs_error[:, k]) & np.isfinite(std[:, k])
        e, s = abs_error[ok, k], std[ok, k]
        if not len(e):
            continue
        ref = max(float(np.median(e)), 1e-12)  # work in units of the typical error

        def nll(log_ab, e=e / ref, s=s / ref):
            var = (np.exp(log_ab[0]) * s) ** 2 + np.exp(log_ab[1]) ** 2
            return float(np.mean(0.5 * np.log(var) + 0.5 * e**2 / var))

        best = minimize(nll, x0=np.log([1.0, 0.5]), method="Nelder-Mead").x
        a, b = np.exp(best[0]), np.exp(best[1]) * ref
        sigma = np.sqrt((a * s) ** 2 + b**2)
        factor = float(np.quantile(e / sigma, coverage))
        scale[k], floor[k] = a * factor, b * factor
    return scale, floor


def apply_std_model(std: np.ndarray, scale: np.ndarray, floor: np.ndarray) -> np.ndarray:
    """``sqrt((scale * std)^2 + floor^2)``, column-wise (see :func:`fit_std_model`)."""
    return np.sqrt((np.asarray(scale) * std) ** 2 + np.asarray(floor) ** 2)


def coverage(abs_error: np.ndarray, std: np.ndarray) -> dict[str, float]:
    """Share of finite rows with ``|error|`` within 1 and within 2 std (and their count)."""
    ok = np.isfinite(abs_error) & np.isfinite(std)
    e, s = abs_error[ok], std[ok]
    if not len(e):
        return {"n": 0}
    return {
        "n": int(len(e)),
        "within_1std": float((e <= s).mean()),
        "within_2std": float((e <= 2 * s).mean()),
    }
