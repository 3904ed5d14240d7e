"""Several browser sessions at once: latency of each page's main action for N = 1, 2, 4.

    .venv/bin/python benchmarks/load.py [--sessions 1,2,4] [--actions molecule,glass,...]

Each session is a Streamlit ``AppTest`` of ``app.py`` (the navigation, the shared sidebar
and the per-request thread bound of the real server) switched to one page, run in its own
thread of this one process: as in ``streamlit run``, the sessions share the process, its
cached models and the background job queue (:mod:`core.jobs`). For every action, one
warm-up session loads the models, then N sessions start together; each one's wall time
from its click to the result on its page is recorded.

Actions (each page's main action, on the shipped models and real data):

- ``molecule``: predict the QM9 properties of aspirin on the molecule page.
- ``glass``: predict a soda-lime-silica formulation on the glass page.
- ``recipe``: create the concrete campaign from 30 random mixes and get 4 suggestions (a
  round in the background queue; the session waits for it as the page does).
- ``glass-design``: the glass inverse-design page's default goals.

Printed and written to ``benchmarks/results/load_table.txt``: per action and N, the median,
90th percentile and worst latency, and the worst relative to one session alone (issue #22:
two simultaneous sessions should each finish within about 2x of one alone).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

import _path  # noqa: F401  (repo root on sys.path)

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
APP = str(HERE.parent / "app.py")
WAIT_S = 1800


def _run(at):
    at.run()
    if at.exception:
        raise RuntimeError([e.value for e in at.exception])
    return at


def _page(name: str):
    from streamlit.testing.v1 import AppTest

    at = _run(AppTest.from_file(APP, default_timeout=WAIT_S))
    at.switch_page(f"app_pages/{name}.py")
    return _run(at)


def molecule() -> float:
    at = _page("1_Molecule_properties")
    at.text_input(key="mol_smiles").set_value("CC(=O)Oc1ccccc1C(=O)O")
    at.button(key="mol_predict").click()
    t0 = time.perf_counter()
    _run(at)
    assert any("HOMO" in str(df.value) for df in at.dataframe) or at.metric
    return time.perf_counter() - t0


def glass() -> float:
    from streamlit.testing.v1 import AppTest

    t0 = time.perf_counter()
    at = _run(AppTest.from_file(APP, default_timeout=WAIT_S))
    at.switch_page("app_pages/2_Glass_properties.py")
    _run(at)  # the default formulation is predicted on the first run
    assert at.metric
    return time.perf_counter() - t0


def recipe() -> float:
    at = _page("4_Recipe_optimisation")
    at.number_input(key="concrete_n").set_value(30)
    at.button(key="create_builtin").click()
    _run(at)
    at.button(key="suggest").click()
    t0 = time.perf_counter()
    _run(at)
    job = at.session_state["recipe_round_job"]
    assert job.wait(WAIT_S) and job.status().state == "done", job.status()
    _run(at)
    return time.perf_counter() - t0


def glass_design() -> float:
    at = _page("7_Glass_design")
    at.button(key="design_run").click()
    t0 = time.perf_counter()
    _run(at)
    job = at.session_state["glass_design_job"]
    assert job.wait(WAIT_S) and job.status().state == "done", job.status()
    _run(at)
    return time.perf_counter() - t0


ACTIONS = {"molecule": molecule, "glass": glass, "recipe": recipe, "glass-design": glass_design}


def together(action, n: int) -> list[float]:
    """Start ``n`` sessions of ``action`` at once; their latencies (s)."""
    out: list[float] = [0.0] * n
    errors: list[BaseException] = []
    barrier = threading.Barrier(n)

    def session(i: int) -> None:
        barrier.wait()
        try:
            out[i] = action()
        except BaseException as err:  # noqa: BLE001 (reported after the join)
            errors.append(err)

    threads = [threading.Thread(target=session, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", default="1,2,4")
    parser.add_argument("--actions", default=",".join(ACTIONS))
    args = parser.parse_args()
    os.environ.setdefault(
        "MDS_DATABASE_URL", f"sqlite:///{Path(tempfile.mkdtemp()) / 'load.sqlite'}"
    )
    from core.jobs import job_threads, job_workers, request_threads
    from core.provenance import git_version

    counts = [int(n) for n in args.sessions.split(",")]
    lines = [
        f"Simultaneous sessions (AppTest of app.py in threads of one process), commit "
        f"{git_version()}, {os.cpu_count()} CPUs; request threads {request_threads()}, "
        f"job workers {job_workers()} x {job_threads()} thread(s); latency in s",
        "| action | sessions | median | p90 | worst | worst / one alone |",
        "|---|---|---|---|---|---|",
    ]
    for name in args.actions.split(","):
        action = ACTIONS[name]
        action()  # warm-up: models and caches loaded once, as on a running server
        alone = None
        for n in counts:
            lat = sorted(together(action, n))
            p90 = lat[min(len(lat) - 1, int(round(0.9 * (len(lat) - 1))))]
            alone = alone or statistics.median(lat)
            row = (
                f"| {name} | {n} | {statistics.median(lat):.1f} | {p90:.1f} | {lat[-1]:.1f} | "
                f"{lat[-1] / alone:.1f}x |"
            )
            print(row, flush=True)
            lines.append(row)
    table = "\n".join(lines)
    print(table)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "load_table.txt").write_text(table + "\n")


if __name__ == "__main__":
    main()
