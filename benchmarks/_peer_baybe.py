"""BayBE campaign server for ``benchmarks/optimization.py --peer baybe`` (JSON lines).

Runs in the peer's own venv (``benchmarks/.venv-peer``), never imports ``core``. Reads one
JSON object per line on stdin and answers one per line on stdout:

- ``{"cmd": "start", "seed", "parameters": [{"name", "lower", "upper"}], "constraints":
  [{"parameters", "coefficients", "operator", "rhs"}], "target", "measurements": [rows]}``:
  a new BayBE ``Campaign`` (default recommender: random until data, then
  ``BotorchRecommender`` with its default GP surrogate and qLogEI), seeded with ``seed``,
  the measurements added. Answers ``{"ok": true, "version"}``. With ``"targets": [{"name",
  "minimize"}]`` (two or more) instead of ``"target"``: a ``ParetoObjective`` over them
  (BayBE's multi-objective mode: a GP per target, qLogNEHVI).
- ``{"cmd": "ping"}``: ``{"version"}`` (once the imports are done).
- ``{"cmd": "recommend", "q"}``: ``{"recommendations": [rows], "seconds"}``.
- ``{"cmd": "add", "measurements": [rows]}``: ``{"ok": true}``.
- ``{"cmd": "quit"}``.

Errors are answered as ``{"error": "..."}`` (the driver raises them).
"""

from __future__ import annotations

import json
import sys
import time
import traceback
import warnings


def main() -> None:
    import pandas as pd
    import torch

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    import baybe
    from baybe import Campaign
    from baybe.constraints import ContinuousLinearConstraint
    from baybe.parameters import NumericalContinuousParameter
    from baybe.searchspace import SearchSpace
    from baybe.settings import active_settings
    from baybe.targets import NumericalTarget

    active_settings.cache_directory = None  # no disk cache shared between runs
    campaign = None
    out = sys.stdout
    sys.stdout = sys.stderr  # library prints must not corrupt the protocol
    for line in sys.stdin:
        if not line.strip():
            continue
        msg = json.loads(line)
        try:
            if msg["cmd"] == "quit":
                break
            if msg["cmd"] == "ping":
                reply = {"version": baybe.__version__}
            elif msg["cmd"] == "start":
                active_settings.random_seed = int(msg["seed"])
                params = [
                    NumericalContinuousParameter(p["name"], (p["lower"], p["upper"]))
                    for p in msg["parameters"]
                ]
                constraints = [
                    ContinuousLinearConstraint(
                        parameters=c["parameters"],
                        operator=c["operator"],
                        coefficients=c["coefficients"],
                        rhs=c["rhs"],
                    )
                    for c in msg["constraints"]
                ]
                space = SearchSpace.from_product(params, constraints)
                if "targets" in msg:
                    from baybe.objectives import ParetoObjective

                    objective = ParetoObjective(
                        [NumericalTarget(t["name"], minimize=t["minimize"]) for t in msg["targets"]]
                    )
                else:
                    objective = NumericalTarget(msg["target"])
                campaign = Campaign(space, objective)
                campaign.add_measurements(pd.DataFrame(msg["measurements"]))
                reply = {"ok": True, "version": baybe.__version__}
            elif msg["cmd"] == "recommend":
                t0 = time.perf_counter()
                recs = campaign.recommend(int(msg["q"]))
                reply = {
                    "recommendations": recs.astype(float).to_dict(orient="records"),
                    "seconds": time.perf_counter() - t0,
                }
            elif msg["cmd"] == "add":
                campaign.add_measurements(pd.DataFrame(msg["measurements"]))
                reply = {"ok": True}
            else:
                reply = {"error": f"unknown command {msg['cmd']!r}"}
        except Exception:  # noqa: BLE001 - reported to the driver
            reply = {"error": traceback.format_exc()}
        out.write(json.dumps(reply) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
