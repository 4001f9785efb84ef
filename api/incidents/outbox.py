"""Line-protocol points waiting for InfluxDB: added in the caller's transaction, sent later.

A transition commits whether InfluxDB is up or not; the scheduler sends what waits, oldest
first, and deletes what InfluxDB took. While InfluxDB is down the rows wait (the scheduler logs
once per outage and retries with backoff). A batch InfluxDB refuses as bad data is retried line
by line so one bad line cannot hold the others back; refused lines are logged and dropped.
"""

from __future__ import annotations

import logging

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from api.models.incident_tables import InfluxOutbox
from influxv1 import DatabaseNotFound, InfluxClient, WriteRejected

log = logging.getLogger(__name__)

BATCH = 5000


def enqueue(session: Session, line: str) -> None:
    session.add(InfluxOutbox(line=line))


def pending(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(InfluxOutbox)) or 0


def flush(sessions: sessionmaker[Session], client: InfluxClient) -> int:
    """Send up to one batch; the number of rows done. InfluxDB's retryable errors propagate."""
    with sessions() as session:
        rows = session.execute(
            select(InfluxOutbox.id, InfluxOutbox.line).order_by(InfluxOutbox.id).limit(BATCH)
        ).all()
    if not rows:
        return 0
    body = "\n".join(line for _, line in rows).encode()
    try:
        _write(client, body)
    except WriteRejected:
        for row_id, line in rows:
            try:
                _write(client, line.encode())
            except WriteRejected as exc:
                # InfluxDB's refusal text says what is wrong; a traceback would add nothing.
                log.error("InfluxDB refused incident point %d, dropped: %s (%s)", row_id, exc, line)  # noqa: TRY400
    with sessions() as session:
        session.execute(delete(InfluxOutbox).where(InfluxOutbox.id.in_([r for r, _ in rows])))
        session.commit()
    return len(rows)


def _write(client: InfluxClient, body: bytes) -> None:
    try:
        client.write(body, precision="ns")
    except DatabaseNotFound:
        # A fresh InfluxDB: the incident points may arrive before the ingester's first write.
        client.create_database()
        client.write(body, precision="ns")
