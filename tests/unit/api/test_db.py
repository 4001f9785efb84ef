"""The registry database: created once, and refused when made by another schema version."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import update

from api.core.db import SCHEMA_VERSION, Database, SchemaMismatch
from api.models.tables import SchemaVersion


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
