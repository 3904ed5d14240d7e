"""Campaign persistence through SQLAlchemy 2 (SQLite by default, any URL via
``MDS_DATABASE_URL``).

One table, ``campaigns``: id, unique name, JSON payload (never pickle), an integer
``version`` and timestamps. Every write is one transaction. Saves are optimistic: an update
only succeeds ``WHERE version = <the version this campaign was loaded with>``, so when two
sessions edit the same campaign, the later save raises :class:`CampaignConflictError`
instead of silently overwriting the other session's rounds.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import uuid
from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import (
    DateTime,
    Integer,
    String,
    Text,
    create_engine,
    event,
    func,
    select,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, NoSuchModuleError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from core.exceptions import InvalidInputError, StudioError
from core.optimize.campaign import Campaign


class CampaignNotFoundError(StudioError, LookupError):
    """No stored campaign has this id (deleted by another session?)."""


class CampaignConflictError(StudioError, RuntimeError):
    """The stored campaign changed since this copy was loaded (another session saved it)."""


class StoreUnavailableError(StudioError, RuntimeError):
    """The campaign database cannot be used (bad URL, missing driver, unreadable or
    read-only file, server down); the message says which and how to fix it."""


def _masked(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a URL that does not even parse is shown as typed
        return url


@contextlib.contextmanager
def _database_errors(url: str):
    """Turn the database layer's errors into :class:`StoreUnavailableError`."""
    where = f"campaign database {_masked(url)!r}"
    try:
        yield
    except (IntegrityError, StudioError):
        raise  # a taken name, a missing campaign: the caller says so
    except (NoSuchModuleError, ModuleNotFoundError) as err:
        raise StoreUnavailableError(
            f"The {where} needs a database driver that is not installed ({err}). How to "
            "fix: PostgreSQL works with postgresql+psycopg:// (psycopg is installed); for "
            "other databases install their SQLAlchemy driver."
        ) from None
    except ArgumentError as err:
        raise StoreUnavailableError(
            f"The {where} is not a valid database URL ({err}). How to fix: set "
            "MDS_DATABASE_URL to a SQLAlchemy URL such as sqlite:////path/studio.sqlite or "
            "postgresql+psycopg://user@host/db, or unset it for the built-in SQLite file."
        ) from None
    except DBAPIError as err:
        reason = str(err.orig or err).strip().splitlines()[0]
        raise StoreUnavailableError(
            f"The {where} cannot be used: {reason}. How to fix: check that the file's folder "
            "exists and is writable (SQLite) or that the server is running and reachable, "
            "or unset MDS_DATABASE_URL for the built-in SQLite file. Campaigns on screen are "
            "kept; save again once the database works."
        ) from None


def _guarded(method):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with _database_errors(self.url):
            return method(self, *args, **kwargs)

    return wrapper


class _Base(DeclarativeBase):
    pass


class _Row(_Base):
    __tablename__ = "campaigns"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    payload: Mapped[str] = mapped_column(Text, nullable=False)
    n_measured: Mapped[int] = mapped_column(Integer, nullable=False)
    n_rounds: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)


_ENGINES: dict[str, object] = {}
_LOCK = threading.Lock()


def _engine(url: str):
    """One engine per URL and process (SQLite: WAL journal, 30 s busy timeout)."""
    with _LOCK:
        if url not in _ENGINES:
            sqlite = url.startswith("sqlite")
            target = make_url(url)
            if target.drivername in ("postgresql", "postgres"):  # psycopg 3 is the pinned driver
                target = target.set(drivername="postgresql+psycopg")
            engine = create_engine(
                target, connect_args={"timeout": 30, "check_same_thread": False} if sqlite else {}
            )
            if sqlite:

                @event.listens_for(engine, "connect")
                def _pragmas(conn, _record):  # noqa: ANN001
                    cur = conn.cursor()
                    cur.execute("PRAGMA journal_mode=WAL")
                    cur.execute("PRAGMA busy_timeout=30000")
                    cur.close()

            _Base.metadata.create_all(engine)
            _ENGINES[url] = engine
        return _ENGINES[url]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class CampaignStore:
    """List, open, save, rename and delete campaigns at ``url`` (default
    :func:`core.config.database_url`)."""

    def __init__(self, url: str | None = None) -> None:
        from core.config import database_url

        self.url = url or database_url()
        if url is None and self.url.startswith("sqlite:///"):
            from pathlib import Path

            Path(self.url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        with _database_errors(self.url):
            self._engine = _engine(self.url)

    @_guarded
    def save(self, campaign: Campaign) -> str:
        """Insert (first save) or update the campaign; returns its id and bumps
        ``campaign.version``. Raises :class:`CampaignConflictError` if someone else saved it
        since it was loaded, :class:`InvalidInputError` if the name is taken."""
        payload = campaign.to_json()
        now = _now()
        values = dict(
            name=campaign.name,
            payload=payload,
            n_measured=len(campaign.measured),
            n_rounds=campaign.n_rounds,
            updated_at=now,
        )
        try:
            with Session(self._engine) as session, session.begin():
                if campaign.store_id is None:
                    new_id = uuid.uuid4().hex
                    session.add(_Row(id=new_id, version=1, created_at=now, **values))
                    session.flush()
                    campaign.store_id, campaign.version = new_id, 1
                    return new_id
                result = session.execute(
                    update(_Row)
                    .where(_Row.id == campaign.store_id, _Row.version == campaign.version)
                    .values(version=_Row.version + 1, **values)
                )
                if result.rowcount != 1:
                    stored = session.scalar(
                        select(_Row.version).where(_Row.id == campaign.store_id)
                    )
                    if stored is None:
                        raise CampaignNotFoundError(
                            f"Campaign {campaign.name!r} was deleted (by another session?); "
                            "save it under a new name with save_as."
                        )
                    raise CampaignConflictError(
                        f"Campaign {campaign.name!r} was changed by another session since you "
                        f"opened it (stored version {stored}, yours {campaign.version}). "
                        "Reload it and apply your changes again."
                    )
                campaign.version += 1
                return campaign.store_id
        except IntegrityError:
            raise self._name_taken(campaign.name) from None

    @_guarded
    def autosave(self, campaign: Campaign) -> str:
        """:meth:`save`, and on a campaign's first save a free name if its own is taken
        ("Concrete strength (2)"): the app saves every created campaign, every round of
        suggestions and every result without asking, so nothing lives only in a session."""
        if campaign.store_id is None:
            saved = self.list()
            taken = set(saved["name"]) if len(saved) else set()
            base, k = campaign.name, 2
            while campaign.name in taken:
                campaign.name, k = f"{base} ({k})", k + 1
        return self.save(campaign)

    def save_as(self, campaign: Campaign, name: str) -> str:
        """Save a copy under a new name (a new id)."""
        campaign.name, campaign.store_id, campaign.version = name, None, 0
        return self.save(campaign)

    @_guarded
    def load(self, campaign_id: str) -> Campaign:
        with Session(self._engine) as session:
            row = session.get(_Row, campaign_id)
            if row is None:
                raise CampaignNotFoundError(f"No stored campaign with id {campaign_id!r}")
            campaign = Campaign.from_json(row.payload)
            campaign.name, campaign.store_id, campaign.version = row.name, row.id, row.version
            return campaign

    @_guarded
    def list(self) -> pd.DataFrame:
        """id, name, measured rows, rounds, version, created/updated (newest first)."""
        cols = ["id", "name", "n_measured", "n_rounds", "version", "created_at", "updated_at"]
        with Session(self._engine) as session:
            rows = session.execute(
                select(*(getattr(_Row, c) for c in cols)).order_by(_Row.updated_at.desc())
            ).all()
        return pd.DataFrame([tuple(r) for r in rows], columns=cols)

    @_guarded
    def rename(self, campaign_id: str, name: str) -> int:
        """Rename; returns the new version (open copies must be reloaded before saving)."""
        name = str(name).strip()
        if not name:
            raise InvalidInputError(
                "A campaign name cannot be empty",
                got=repr(name),
                expected="a non-empty name",
                fix="type a name",
            )
        try:
            with Session(self._engine) as session, session.begin():
                row = session.get(_Row, campaign_id)
                if row is None:
                    raise CampaignNotFoundError(f"No stored campaign with id {campaign_id!r}")
                campaign = Campaign.from_json(row.payload)
                campaign.name = name
                row.name, row.payload = name, campaign.to_json()
                row.version += 1
                row.updated_at = _now()
                session.flush()
                return row.version
        except IntegrityError:
            raise self._name_taken(name) from None

    @_guarded
    def delete(self, campaign_id: str) -> None:
        with Session(self._engine) as session, session.begin():
            row = session.get(_Row, campaign_id)
            if row is None:
                raise CampaignNotFoundError(f"No stored campaign with id {campaign_id!r}")
            session.delete(row)

    @_guarded
    def count(self) -> int:
        with Session(self._engine) as session:
            return int(session.scalar(select(func.count()).select_from(_Row)) or 0)

    def _name_taken(self, name: str) -> InvalidInputError:
        return InvalidInputError(
            "A campaign with this name exists already",
            got=name,
            expected="a new name",
            fix="pick another name, or open the existing campaign",
        )
