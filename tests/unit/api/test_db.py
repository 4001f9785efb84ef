"""The registry database: created once, and refused when made by another schema version."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import MetaData, Table, create_engine, inspect, select, text, update

from api.core.db import SCHEMA_VERSION, Database, SchemaMismatch
from api.models.tables import SchemaVersion, User


def test_init_is_idempotent_and_records_the_version(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'nested' / 'api.db'}")
    database.init()
    database.init()
    with database.session() as session:
        assert [r.version for r in session.query(SchemaVersion)] == [SCHEMA_VERSION]
    assert database.ping()
    database.close()


def test_a_database_of_another_version_is_refused(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'api.db'}")
    database.init()
    with database.session() as session:
        session.execute(update(SchemaVersion).values(version=SCHEMA_VERSION + 1))
        session.commit()
    with pytest.raises(SchemaMismatch, match="migrate it"):
        database.init()
    database.close()


def test_a_version_1_database_gains_the_contact_columns_and_keeps_its_people(
    tmp_path: Path,
) -> None:
    """The additive migration: users made before contacts existed are still there after it."""
    url = f"sqlite:///{tmp_path / 'api.db'}"
    added = {"phone", "email", "dingtalk_webhook", "dingtalk_secret", "wecom_webhook"}
    old = MetaData()
    Table("users", old, *(c._copy() for c in User.__table__.columns if c.name not in added))
    Table("schema_version", old, *(c._copy() for c in SchemaVersion.__table__.columns))
    engine = create_engine(url)
    old.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (id, username, display_name, password_hash, role, level, "
                "active, token_version, created_at) VALUES (1, 'old', 'Old', 'x', 'admin', "
                "'district', 1, 0, '2026-01-01 00:00:00.000000')"
            )
        )
        conn.execute(
            text("INSERT INTO schema_version (id, version, applied_at) VALUES (1, 1, '2026-01-01')")
        )
    engine.dispose()

    database = Database(url)
    database.init()
    database.init()  # and again: nothing left to do
    with database.session() as session:
        assert session.scalar(select(SchemaVersion.version)) == SCHEMA_VERSION
        user = session.get(User, 1)
        assert user is not None
        assert (user.username, user.phone, user.email) == ("old", None, None)
        user.phone = "13800000000"
        session.commit()
    assert added <= {c["name"] for c in inspect(database.engine).get_columns("users")}
    database.close()
