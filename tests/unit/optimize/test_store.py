"""CampaignStore: JSON round trip through SQLAlchemy, rename/delete, and optimistic locking
between two stores (two sessions) on one SQLite file."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest

from core.exceptions import InvalidInputError
from core.optimize import (
    Campaign,
    CampaignConflictError,
    CampaignNotFoundError,
    CampaignStore,
    CategoricalVariable,
    ContinuousVariable,
    Objective,
)


def small_campaign(name: str = "c") -> Campaign:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.uniform(0, 1, 6), "kind": ["p", "q"] * 3, "y": rng.normal(size=6)})
    return Campaign.from_table(
        df,
        [ContinuousVariable("a", 0, 1), CategoricalVariable("kind", ("p", "q"))],
        [Objective("y", "target", low=0.0, high=0.5)],
        name=name,
    )


@pytest.fixture
def url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'campaigns.sqlite'}"


def test_round_trip_list_rename_delete(url):
    store = CampaignStore(url)
    campaign = small_campaign("first")
    campaign.add_results(pd.DataFrame({"a": [0.5], "kind": ["q"], "y": [0.2]}))
    cid = store.save(campaign)
    again = CampaignStore(url).load(cid)  # a new store = the app after a restart
    pd.testing.assert_frame_equal(again.measured, campaign.measured)
    assert again.space == campaign.space and again.n_rounds == 1 and again.version == 1
    listing = store.list()
    assert listing.loc[0, "name"] == "first" and listing.loc[0, "n_measured"] == 7
    assert store.rename(cid, "renamed") == 2
    assert store.load(cid).name == "renamed"
    with pytest.raises(InvalidInputError, match="exists already"):
        store.save(small_campaign("renamed"))
    store.delete(cid)
    assert store.list().empty
    with pytest.raises(CampaignNotFoundError):
        store.load(cid)


def test_default_url_is_the_sqlite_file_in_the_cache(studio_env, monkeypatch):
    monkeypatch.delenv("MDS_DATABASE_URL", raising=False)
    store = CampaignStore()
    assert store.url.endswith("studio.sqlite") and str(studio_env["cache"]) in store.url
    monkeypatch.setenv("MDS_DATABASE_URL", f"sqlite:///{studio_env['cache']}/other.sqlite")
    assert CampaignStore().url.endswith("other.sqlite")


def test_stale_save_is_a_conflict_not_an_overwrite(url):
    cid = CampaignStore(url).save(small_campaign())
    mine, theirs = CampaignStore(url).load(cid), CampaignStore(url).load(cid)
    theirs.add_results(pd.DataFrame({"a": [0.1], "kind": ["p"], "y": [0.3]}))
    CampaignStore(url).save(theirs)
    mine.add_results(pd.DataFrame({"a": [0.9], "kind": ["p"], "y": [0.4]}))
    with pytest.raises(CampaignConflictError, match="another session"):
        CampaignStore(url).save(mine)
    assert len(CampaignStore(url).load(cid).measured) == 7  # their round survived


def test_two_sessions_in_threads_lose_no_round(url):
    """Two stores on one SQLite file, each adding rounds with load -> add -> save and
    retrying on conflicts: every round of both ends up stored, none overwritten."""
    cid = CampaignStore(url).save(small_campaign())
    errors: list[BaseException] = []

    def session(label: str) -> None:
        store = CampaignStore(url)
        try:
            for i in range(5):
                while True:
                    campaign = store.load(cid)
                    campaign.add_results(
                        pd.DataFrame({"a": [0.5], "kind": [label], "y": [float(i)]})
                    )
                    try:
                        store.save(campaign)
                        break
                    except CampaignConflictError:
                        continue
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=session, args=(k,)) for k in ("p", "q")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    final = CampaignStore(url).load(cid)
    assert len(final.measured) == 6 + 10 and final.n_rounds == 10
    assert final.version == 11


@pytest.mark.parametrize(
    ("bad_url", "match"),
    [
        ("not a url", "not a valid database URL"),
        ("nosuchdb://x/y", "driver that is not installed"),
    ],
)
def test_a_malformed_or_unknown_database_url_is_a_clear_error(bad_url, match):
    from core.optimize import StoreUnavailableError

    with pytest.raises(StoreUnavailableError, match=match):
        CampaignStore(bad_url)


def test_an_unopenable_database_file_is_a_clear_error(tmp_path):
    from core.optimize import StoreUnavailableError

    folder = tmp_path / "a_folder"
    folder.mkdir()  # a directory where the database file should be
    with pytest.raises(StoreUnavailableError, match="cannot be used.*unable to open"):
        CampaignStore(f"sqlite:///{folder}")


def test_a_read_only_database_refuses_saves_with_a_clear_error(tmp_path):
    """Issue #22 item 12: a read-only database raised raw SQLAlchemy errors."""
    from core.optimize import StoreUnavailableError

    path = tmp_path / "ro.sqlite"
    writable = CampaignStore(f"sqlite:///{path}")
    writable.save(small_campaign("first"))
    read_only = CampaignStore(f"sqlite:///file:{path}?mode=ro&uri=true")
    assert read_only.list()["name"].tolist() == ["first"]  # reading still works
    with pytest.raises(StoreUnavailableError, match="readonly"):
        read_only.save(small_campaign("second"))


def test_a_password_in_the_url_is_not_shown():
    from core.optimize.store import _masked

    assert "secret" not in _masked("postgresql://me:secret@db.example/x")
