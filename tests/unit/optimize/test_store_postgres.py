"""The campaign store on a real PostgreSQL server (issue #22: "any SQLAlchemy URL" is a
fact, not a claim). A throw-away server is started from Debian's postgresql package on a
free loopback port and a socket in a temporary folder, and stopped after."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.optimize import CampaignStore, StoreUnavailableError


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else None


def _as_postgres(args: list[str]) -> list[str]:
    """initdb refuses to run as root: run the server tools as the package's user."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


@pytest.fixture(scope="module")
def postgres_url(missing) -> Iterator[str]:
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    if not initdb or not pg_ctl or (os.geteuid() == 0 and not shutil.which("runuser")):
        missing("PostgreSQL server binaries are missing: apt-get install postgresql")
    # not under pytest's base folder: that one is private to root, the server runs as postgres
    folder = Path(tempfile.mkdtemp(prefix="studio-pg-"))
    data = folder / "data"
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    subprocess.run(
        _as_postgres([initdb, "-D", str(data), "-U", "studio", "--auth=trust", "-E", "UTF8"]),
        check=True,
        capture_output=True,
        timeout=300,
    )
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1"
    subprocess.run(
        _as_postgres([pg_ctl, "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w"])
        + ["-t", "300", "start"],
        check=True,
        capture_output=True,
        timeout=360,
    )
    try:
        yield f"postgresql://studio@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_postgres([pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"]),
            check=False,
            capture_output=True,
            timeout=120,
        )
        shutil.rmtree(folder, ignore_errors=True)


def _campaign(name: str):
    import numpy as np
    import pandas as pd

    from core.optimize import Campaign, ContinuousVariable, Objective

    df = pd.DataFrame({"a": np.linspace(0, 1, 5), "y": np.arange(5.0)})
    return Campaign.from_table(df, [ContinuousVariable("a", 0, 1)], [Objective("y")], name=name)


def test_round_trip_conflict_and_names_on_postgres(postgres_url):
    from core.exceptions import InvalidInputError
    from core.optimize import CampaignConflictError

    store = CampaignStore(postgres_url)
    campaign = _campaign("pg first")
    cid = store.save(campaign)
    again = store.load(cid)
    assert again.measured.equals(campaign.measured) and again.name == "pg first"
    assert store.list()["name"].tolist() == ["pg first"]
    stale = store.load(cid)
    store.save(again)  # version 2
    with pytest.raises(CampaignConflictError):
        store.save(stale)
    with pytest.raises(InvalidInputError, match="exists already"):
        store.save(_campaign("pg first"))
    store.delete(cid)
    assert store.count() == 0


def test_a_postgres_server_that_is_down_is_a_clear_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once the socket closes
    with pytest.raises(StoreUnavailableError, match="cannot be used"):
        CampaignStore(f"postgresql://studio@127.0.0.1:{port}/postgres")
