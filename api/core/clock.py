"""The API's clock: every time on the incident side (raised, due, on duty, KPI period) comes
from here, never from ``datetime.now`` directly.

In production it is the system clock. In development an offset kept in the database moves it
forward (``POST /dev/clock``), so a test or a demo jumps past an acknowledgement timeout
instead of waiting ten minutes. Every API process reads the same row, so two replicas and their
schedulers agree on the time; each rereads it at most every ``refresh_s``.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from api.models.incident_tables import DevClock

MAX_ADVANCE_S = 366 * 86_400


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class OffsetClock:
    """The wall clock plus an offset stored in ``dev_clock`` (development only)."""

    def __init__(self, sessions: sessionmaker[Session], refresh_s: float = 0.5) -> None:
        self._sessions = sessions
        self._refresh_s = refresh_s
        self._lock = threading.Lock()
        self._offset_s = 0.0
        self._read_at = float("-inf")

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset_s())

    def offset_s(self) -> float:
        with self._lock:
            if time.monotonic() - self._read_at >= self._refresh_s:
                with self._sessions() as session:
                    stored = session.scalar(select(DevClock.offset_s).where(DevClock.id == 1))
                self._offset_s = float(stored or 0.0)
                self._read_at = time.monotonic()
            return self._offset_s

    def advance(self, seconds: float) -> float:
        """Move the clock forward (never back: due times and audit order rely on it)."""
        if not 0 <= seconds <= MAX_ADVANCE_S:
            raise ValueError(f"advance between 0 and {MAX_ADVANCE_S} seconds")
        with self._lock, self._sessions() as session:
            if not self._add(session, seconds):
                try:
                    session.add(DevClock(id=1, offset_s=seconds))
                    session.commit()
                except IntegrityError:  # another replica made the row first: add to it
                    session.rollback()
                    self._add(session, seconds)
            stored = session.scalar(select(DevClock.offset_s).where(DevClock.id == 1))
            self._offset_s = float(stored or 0.0)
            self._read_at = time.monotonic()
            return self._offset_s

    @staticmethod
    def _add(session: Session, seconds: float) -> bool:
        # One atomic UPDATE, so two replicas advancing at once add up instead of racing.
        result = session.execute(
            update(DevClock).where(DevClock.id == 1).values(offset_s=DevClock.offset_s + seconds)
        )
        session.commit()
        return bool(getattr(result, "rowcount", 0))
