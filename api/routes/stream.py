"""Incidents live: ``GET /incidents/stream`` (server-sent events), opened with a stream ticket.

A browser's ``EventSource`` cannot send ``Authorization``, so the caller first exchanges its
bearer token or API key at ``POST /incidents/stream/ticket`` (scoped like every route) for a
ticket valid 60 s, and opens ``/incidents/stream?ticket=…`` (``api/console/tickets.py``). The
stream is scoped exactly like ``GET /incidents``: its snapshot is the caller's open incidents
and its events are those of incidents inside the caller's area (``api/console/feed.py``);
nothing else is ever written to it.

Events (``event:`` name, ``data:`` JSON):

- ``hello``     ``{now, level, township, village, heartbeat_s}``: the server's clock (the
  development clock may be ahead of the wall clock: count down from it), who is listening;
- ``snapshot``  ``{items: [{version, incident}], total, limit}``: the open incidents, gravest
  and newest first, as ``GET /incidents?open=true`` shows them (with ``snapshot=true``);
- ``incident``  ``{audit_id, action, at, actor_name, version, incident}`` for every step,
  escalation, reminder or repeat (``id:`` is the audit id); ``version`` orders snapshots of
  one incident — an event older than what the client holds is stale;
- ``clock``     ``{now}`` every ``HEARTBEAT_S`` (keeps proxies from closing an idle stream);
- ``reset``     the client fell behind: reload (reconnect for a new snapshot);
- ``bye``       ``{reason}``: ``renew`` (after ``STREAM_MAX_S``, reconnect with a new ticket),
  ``account`` (the caller changed: log in again), ``stopping`` (the API is stopping), ``done``
  (``follow=false``).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from fastapi.security import APIKeyQuery

from api.console import tickets
from api.console.feed import IncidentFeed
from api.console.tickets import TicketClaims, TicketError
from api.core.db import Database
from api.core.deps import (
    CurrentPrincipal,
    CurrentScope,
    IncidentsDep,
    LimiterDep,
    SessionDep,
    SettingsDep,
)
from api.core.errors import unauthorized
from api.core.principal import Principal
from api.core.scope import Scope
from api.crud import incidents as crud
from api.crud.incidents import IncidentFilter
from api.incidents.context import IncidentContext
from api.models.common import ResponseModel

router = APIRouter(prefix="/incidents", tags=["incidents"])

HEARTBEAT_S = 15.0
RECHECK_S = 30.0
STREAM_MAX_S = 900.0
SNAPSHOT_LIMIT = 500
RETRY_MS = 3000

_ticket = APIKeyQuery(
    name="ticket",
    scheme_name="StreamTicket",
    description="a stream ticket from POST /incidents/stream/ticket (valid 60 s)",
    auto_error=False,
)


class StreamTicket(ResponseModel):
    ticket: str
    expires_at: datetime
    url: str


@dataclass(frozen=True, slots=True)
class StreamCaller:
    principal: Principal
    claims: TicketClaims


def _database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def _feed(request: Request) -> IncidentFeed:
    feed: IncidentFeed = request.app.state.incident_feed
    return feed


def stream_caller(
    request: Request,
    settings: SettingsDep,
    limiter: LimiterDep,
    ticket: Annotated[str | None, Depends(_ticket)],
) -> StreamCaller:
    """The caller behind a stream ticket, re-read from the registry, rate limited like any."""
    if not ticket:
        raise unauthorized("no stream ticket: POST /incidents/stream/ticket with your token")
    try:
        claims = tickets.read(ticket, key=settings.signing_key(), issuer=settings.jwt_issuer)
    except TicketError as exc:
        raise unauthorized(str(exc)) from None
    # Its own short session: a yield dependency's session would stay open as long as the stream.
    with _database(request).session() as session:
        principal = tickets.principal_of(session, claims)
    if principal is None:
        raise unauthorized("the account behind this ticket is no longer valid; log in again")
    limiter.check(limiter.per_caller, principal.rate_key)
    return StreamCaller(principal, claims)


StreamCallerDep = Annotated[StreamCaller, Depends(stream_caller)]


def stream_scope(caller: StreamCallerDep) -> Scope:
    """The stream's ``CurrentScope``: the ticket holder's area (the scoping matrix knows it)."""
    return caller.principal.scope


StreamScope = Annotated[Scope, Depends(stream_scope)]


@router.post("/stream/ticket")
def stream_ticket(
    *, principal: CurrentPrincipal, scope: CurrentScope, session: SessionDep, settings: SettingsDep
) -> StreamTicket:
    """A ticket that opens ``GET /incidents/stream`` within 60 s, for your area only."""
    del scope  # the stream re-reads the caller's area from the registry when it opens
    ticket, expires = tickets.issue(
        principal,
        tickets.version_of(session, principal),
        key=settings.signing_key(),
        issuer=settings.jwt_issuer,
    )
    return StreamTicket(ticket=ticket, expires_at=expires, url=f"/incidents/stream?ticket={ticket}")


def _sse(event: str, data: Any, event_id: int | None = None) -> str:
    body = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {body}\n\n"


def _snapshot(database: Database, ctx: IncidentContext, scope: Scope) -> str:
    with database.session() as session:
        rows, total = crud.list_in_scope(
            session, scope, IncidentFilter(open=True), SNAPSHOT_LIMIT, 0
        )
        shown = crud.public(session, ctx.rules, rows)
    items = [
        {"version": row.version, "incident": public.model_dump(mode="json")}
        for row, public in zip(rows, shown, strict=True)
    ]
    return json.dumps({"items": items, "total": total, "limit": SNAPSHOT_LIMIT}, ensure_ascii=False)


def _still(database: Database, caller: StreamCaller) -> bool:
    with database.session() as session:
        return tickets.principal_of(session, caller.claims) == caller.principal


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "server-sent events: hello, snapshot, incident, clock, reset, bye",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        401: {"description": "no ticket, or an expired or invalid one"},
    },
)
async def stream(
    *,
    request: Request,
    scope: StreamScope,
    caller: StreamCallerDep,
    ctx: IncidentsDep,
    snapshot: Annotated[bool, Query(description="start with the open incidents")] = True,
    follow: Annotated[bool, Query(description="false: hello and snapshot, then end")] = True,
) -> StreamingResponse:
    """Your area's incidents as they change, as server-sent events (see the module's list)."""
    feed, database = _feed(request), _database(request)

    async def clock_now() -> str:
        now: datetime = await asyncio.to_thread(ctx.clock.now)
        return now.isoformat()

    async def events() -> AsyncIterator[str]:
        # Subscribed before the snapshot is read: a step in between arrives (perhaps twice,
        # told apart by version), none is lost.
        sub = await feed.subscribe(scope) if follow else None
        try:
            hello = {"now": await clock_now(), "level": scope.level.value,
                     "township": scope.township, "village": scope.village,
                     "heartbeat_s": HEARTBEAT_S}  # fmt: skip
            yield f"retry: {RETRY_MS}\n" + _sse("hello", hello)
            if snapshot:
                yield _sse("snapshot", await asyncio.to_thread(_snapshot, database, ctx, scope))
            if sub is None:
                yield _sse("bye", {"reason": "done"})
                return
            started = checked = time.monotonic()
            while True:
                if sub.overflowed:
                    yield _sse("reset", {"reason": "behind"})
                    return
                try:
                    event = await asyncio.wait_for(sub.queue.get(), timeout=HEARTBEAT_S)
                except TimeoutError:
                    yield _sse("clock", {"now": await clock_now()})
                else:
                    if event is None:
                        yield _sse("bye", {"reason": "stopping"})
                        return
                    yield _sse("incident", event.data, event.audit_id)
                if time.monotonic() - checked >= RECHECK_S:
                    checked = time.monotonic()
                    if not await asyncio.to_thread(_still, database, caller):
                        yield _sse("bye", {"reason": "account"})
                        return
                if time.monotonic() - started >= STREAM_MAX_S:
                    yield _sse("bye", {"reason": "renew"})
                    return
        finally:
            if sub is not None:
                feed.unsubscribe(sub)

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)
