"""The live incident feed behind ``GET /incidents/stream``.

Every step of every incident writes an ``incident_audit`` row in the step's transaction — in
this process or any other replica, by a captain, the intake or the escalation timer. One
poller per API process reads the rows after the last it saw (``POLL_S``), loads each incident
once as the API shows it, serialises one event per row, and hands it to every open stream
whose scope contains the incident's area (``Scope.contains``, the check ``GET
/incidents/{id}`` makes). A stream never sees an event of another area because the event is
never put into its queue.

Ids from a sequence can commit out of order on PostgreSQL (SQLite has one writer): each poll
looks back ``LOOKBACK_IDS`` below the highest id seen and skips ids already delivered, so a
late commit within that window is still delivered once.

The poller runs while at least one stream is open. A stream whose queue fills up (a client
that stopped reading) is told to reload and ended; it comes back with a fresh snapshot.

Streams never end on their own, so uvicorn's graceful shutdown would wait for them forever:
the feed chains itself in front of the process's SIGTERM/SIGINT handler (uvicorn's) and, on
the signal, ends every stream with a ``bye`` before passing the signal on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.core.scope import Scope
from api.crud import incidents as crud
from api.models.incident_tables import Incident, IncidentAudit
from city.rules import RuleBook

log = logging.getLogger(__name__)

POLL_S = 1.0
LOOKBACK_IDS = 200
BATCH = 1000
QUEUE_SIZE = 1000


def event_data(action: str, audit: dict[str, Any], incident: dict[str, Any], version: int) -> str:
    """One stream event's JSON: the audit entry's essentials and the incident as the API shows
    it, with its row version (the console ignores an event older than what it holds)."""
    return json.dumps(
        {**audit, "action": action, "version": version, "incident": incident},
        ensure_ascii=False,
        separators=(",", ":"),
    )


@dataclass(frozen=True, slots=True)
class FeedEvent:
    audit_id: int
    township: str
    village: str | None
    data: str  # serialised once, shared by every stream that may see it


@dataclass(eq=False)
class Subscription:
    scope: Scope
    queue: asyncio.Queue[FeedEvent | None] = field(
        default_factory=lambda: asyncio.Queue(QUEUE_SIZE)
    )
    overflowed: bool = False


class IncidentFeed:
    def __init__(
        self, sessions: sessionmaker[Session], rules: RuleBook, poll_s: float = POLL_S
    ) -> None:
        self._sessions = sessions
        self._rules = rules
        self._poll_s = poll_s
        self._subscribers: set[Subscription] = set()
        self._task: asyncio.Task[None] | None = None
        self._last_id = 0
        self._seen: set[int] = set()
        self._closing = False
        self._hooked = False
        self._starting = asyncio.Lock()  # two first streams at once must not start two pollers

    @property
    def closing(self) -> bool:
        return self._closing

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    async def subscribe(self, scope: Scope) -> Subscription:
        """Events of the scope from now on; take the snapshot after this, never before."""
        if self._closing:
            sub = Subscription(scope)
            sub.queue.put_nowait(None)
            return sub
        async with self._starting:
            if self._task is None or self._task.done():
                self._last_id = await asyncio.to_thread(self._max_id)
                self._seen.clear()
                self._task = asyncio.create_task(self._run(), name="incident feed")
                self._hook_signals()
            return self.listen(scope)

    def listen(self, scope: Scope) -> Subscription:
        """A queue for the scope's events, filled by ``publish`` (``subscribe`` also polls)."""
        sub = Subscription(scope)
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subscribers.discard(sub)

    def close(self) -> None:
        """End every stream now (the process is stopping)."""
        self._closing = True
        for sub in list(self._subscribers):
            _drain(sub.queue)
            sub.queue.put_nowait(None)
        self._subscribers.clear()
        if self._task is not None:
            self._task.cancel()

    # --- the poller ---------------------------------------------------------------------------

    async def _run(self) -> None:
        while self._subscribers and not self._closing:
            await asyncio.sleep(self._poll_s)
            try:
                events = await asyncio.to_thread(self.poll)
            except Exception:  # a database hiccup must not end the feed; the next poll retries
                log.exception("incident feed: poll failed")
                continue
            self.publish(events)

    def publish(self, events: list[FeedEvent]) -> None:
        for event in events:
            for sub in list(self._subscribers):
                if sub.overflowed or not sub.scope.contains(event.township, event.village):
                    continue
                try:
                    sub.queue.put_nowait(event)
                except asyncio.QueueFull:
                    sub.overflowed = True  # the stream tells its client to reload, then ends

    def _max_id(self) -> int:
        with self._sessions() as session:
            return int(session.scalar(select(func.max(IncidentAudit.id))) or 0)

    def poll(self) -> list[FeedEvent]:
        """New audit entries since the last poll, as events (blocking: run in a thread)."""
        with self._sessions() as session:
            rows = [
                row
                for row in session.execute(
                    select(
                        IncidentAudit.id,
                        IncidentAudit.incident_id,
                        IncidentAudit.action,
                        IncidentAudit.at,
                        IncidentAudit.actor_name,
                    )
                    .where(IncidentAudit.id > self._last_id - LOOKBACK_IDS)
                    .order_by(IncidentAudit.id)
                    .limit(BATCH)
                )
                if row.id not in self._seen
            ]
            if not rows:
                return []
            found = list(
                session.scalars(
                    select(Incident).where(Incident.id.in_({r.incident_id for r in rows}))
                )
            )
            shown = {
                p.id: (p.model_dump(mode="json"), i)
                for p, i in zip(crud.public(session, self._rules, found), found, strict=True)
            }
        events = []
        for row in rows:
            self._seen.add(row.id)
            if row.incident_id not in shown:
                continue
            public, incident = shown[row.incident_id]
            audit = {"audit_id": row.id, "at": row.at.isoformat(), "actor_name": row.actor_name}
            data = event_data(row.action, audit, public, incident.version)
            events.append(FeedEvent(row.id, incident.township, incident.village, data))
        self._last_id = max(self._last_id, rows[-1].id)
        self._seen = {i for i in self._seen if i > self._last_id - LOOKBACK_IDS}
        return events

    # --- stopping with the process ------------------------------------------------------------

    def _hook_signals(self) -> None:
        """Chain in front of the server's SIGTERM/SIGINT handlers (once, main thread only)."""
        if self._hooked or threading.current_thread() is not threading.main_thread():
            return
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous = signal.getsignal(signum)
            if callable(previous):
                signal.signal(signum, _chained(loop, self.close, previous))
        self._hooked = True


def _chained(
    loop: asyncio.AbstractEventLoop,
    close: Callable[[], None],
    previous: Callable[[int, FrameType | None], Any],
) -> Callable[[int, FrameType | None], None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is already closed: nothing to end
            loop.call_soon_threadsafe(close)
        previous(signum, frame)

    return handler


def _drain(queue: asyncio.Queue[FeedEvent | None]) -> None:
    while not queue.empty():
        queue.get_nowait()
