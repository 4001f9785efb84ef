"""Additive schema migrations, applied in order from the version a database records.

``create_all`` makes every table that is missing, so a new table needs no step here; a new
column on an existing table does. Steps only add (nullable columns), which both SQLite and
PostgreSQL do in place with the same SQL, and each checks first whether its column is already
there, so a step interrupted half-way (or raced by a second replica starting) finishes cleanly.
The first change that is not additive is the moment to bring in Alembic (docs/decisions.md).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Connection, inspect, text

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AddColumn:
    table: str
    column: str
    ddl_type: str  # portable SQL type, e.g. VARCHAR(32)

    def apply(self, conn: Connection) -> bool:
        """Add the column unless it exists; True when it was added."""
        existing = {c["name"] for c in inspect(conn).get_columns(self.table)}
        if self.column in existing:
            return False
        conn.execute(text(f"ALTER TABLE {self.table} ADD COLUMN {self.column} {self.ddl_type}"))
        return True


# version → the steps that lead to it from the version before.
MIGRATIONS: dict[int, tuple[AddColumn, ...]] = {
    2: (
        AddColumn("users", "phone", "VARCHAR(32)"),
        AddColumn("users", "email", "VARCHAR(254)"),
        AddColumn("users", "dingtalk_webhook", "VARCHAR(1000)"),
        AddColumn("users", "dingtalk_secret", "VARCHAR(200)"),
        AddColumn("users", "wecom_webhook", "VARCHAR(1000)"),
    ),
}


def migrate(conn: Connection, from_version: int, to_version: int) -> list[str]:
    """Apply the steps after ``from_version`` up to ``to_version``; what was done, for the log."""
    done: list[str] = []
    for version in range(from_version + 1, to_version + 1):
        done.extend(
            f"v{version}: {step.table}.{step.column} added"
            for step in MIGRATIONS.get(version, ())
            if step.apply(conn)
        )
    for line in done:
        log.info("schema migration %s", line)
    return done
