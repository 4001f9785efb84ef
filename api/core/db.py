"""The database: one engine per process, sessions per request, a schema version check.

``create_all`` builds the tables and a ``schema_version`` row records what it built. An older
database is brought up to date by the additive steps of :mod:`api.core.migrations`; a database
made by a newer version is refused with a clear message instead of failing later on a missing
column.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from api.core.migrations import migrate
from api.models import incident_tables  # noqa: F401 - registers the incident tables with Base
from api.models.tables import Base, SchemaVersion
from api.notify import tables as notify_tables  # noqa: F401 - registers the outbox tables

# 2: people's contacts for notifications (users.phone, email, dingtalk_webhook, dingtalk_secret,
#    wecom_webhook); new tables: incidents, audit, timers, silences, duty roster, outboxes.
SCHEMA_VERSION = 2


class SchemaMismatch(RuntimeError):
    pass


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str) -> Engine:
    engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def init_db(engine: Engine) -> None:
    """Create missing tables, migrate an older schema; refuse a newer one."""
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        row = session.scalar(select(SchemaVersion))
        if row is None:
            session.add(SchemaVersion(id=1, version=SCHEMA_VERSION))
            session.commit()
        elif row.version > SCHEMA_VERSION:
            raise SchemaMismatch(
                f"the database has schema version {row.version}, newer than this API's "
                f"{SCHEMA_VERSION}; run the newer API, migrate it, or point "
                "TIANQU_API_DATABASE_URL elsewhere"
            )
        elif row.version < SCHEMA_VERSION:
            migrate(session.connection(), row.version, SCHEMA_VERSION)
            row.version = SCHEMA_VERSION
            session.commit()


class Database:
    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def init(self) -> None:
        init_db(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.sessions() as session:
            yield session

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except Exception:  # noqa: BLE001 - readiness reports any failure as "not ready"
            return False
        return True

    def close(self) -> None:
        self.engine.dispose()
