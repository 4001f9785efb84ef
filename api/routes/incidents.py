"""Incidents through the closed loop: list, detail with the audit trail, and each step.

Everything is scoped: an incident outside the caller's area is 404 (like a missing one) for
reading and for every step. A step the loop does not allow now is 409 naming the current
state; a step the caller's level may not take is 403; a version conflict (someone else, or
the escalation timer, changed it first) is 409 asking to reload.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Protocol

from fastapi import APIRouter, HTTPException, Path, Query
from sqlalchemy.orm import Session

from api.core.deps import (
    CityDep,
    CurrentScope,
    IncidentsDep,
    Operator,
    SessionDep,
)
from api.core.errors import invalid, or_404
from api.core.scope import Scope
from api.crud import incidents
from api.crud.incidents import IncidentFilter
from api.incidents import loop
from api.incidents.audit import Actor
from api.incidents.context import IncidentContext
from api.incidents.loop import Refused, Step
from api.models.common import AreaId, Limit, Offset, Page, RequestModel
from api.models.incident_tables import Incident
from api.models.incidents import (
    AcknowledgeBody,
    AuditEntryPublic,
    DispatchBody,
    IncidentDetail,
    IncidentPublic,
    NoteBody,
    ReopenBody,
    StepBody,
)
from city.alerts import RuleId
from city.grades import Grade, Level
from city.incidents import Action, State

router = APIRouter(prefix="/incidents", tags=["incidents"])

IncidentId = Annotated[int, Path(ge=1, le=2**31 - 1)]
DeviceQuery = Annotated[str | None, Query(pattern=r"^[a-z0-9][a-z0-9_-]{2,63}$")]


@router.get("")
def list_incidents(
    *,
    scope: CurrentScope,
    session: SessionDep,
    ctx: IncidentsDep,
    city: CityDep,
    township: Annotated[AreaId | None, Query()] = None,
    village: Annotated[AreaId | None, Query()] = None,
    state: State | None = None,
    grade: Grade | None = None,
    level: Level | None = None,
    open: Annotated[bool | None, Query(description="true: not yet closed")] = None,
    rule_id: Annotated[RuleId | None, Query()] = None,
    device_id: DeviceQuery = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[IncidentPublic]:
    """Incidents in your area, gravest first, then newest."""
    if village is not None and township is None:
        found = city.village(village)
        township = found[0].id if found else "-"
    narrowed = scope.narrow(township, village)
    if narrowed is None:
        return Page(items=[], total=0, limit=limit, offset=offset)
    f = IncidentFilter(state=state, grade=grade, level=level, open=open, rule_id=rule_id,
                       device_id=device_id)  # fmt: skip
    rows, total = incidents.list_in_scope(session, narrowed, f, limit, offset)
    return Page(
        items=incidents.public(session, ctx.rules, rows),
        total=total,
        limit=limit,
        offset=offset,
    )


def _detail(session: Session, ctx: IncidentContext, incident: Incident) -> IncidentDetail:
    [public] = incidents.public(session, ctx.rules, [incident])
    trail = [AuditEntryPublic.of(e) for e in incidents.audit_trail(session, incident.id)]
    return IncidentDetail(**public.model_dump(), audit=trail)


def _incident_or_404(session: Session, scope: Scope, incident_id: int) -> Incident:
    return or_404(incidents.get_in_scope(session, scope, incident_id), "incident")


@router.get("/{incident_id}")
def get_incident(
    *, incident_id: IncidentId, scope: CurrentScope, session: SessionDep, ctx: IncidentsDep
) -> IncidentDetail:
    """One incident with its audit trail, oldest entry first."""
    return _detail(session, ctx, _incident_or_404(session, scope, incident_id))


def _step(
    *,
    session: Session,
    ctx: IncidentContext,
    scope: Scope,
    actor: Actor,
    incident_id: int,
    step: Step,
) -> IncidentDetail:
    incident = _incident_or_404(session, scope, incident_id)
    try:
        loop.take(session, ctx, incident, step, actor)
    except Refused as exc:
        raise HTTPException(exc.status, exc.message) from None
    session.commit()
    return _detail(session, ctx, incident)


@router.post("/{incident_id}/dispatch")
def dispatch(
    *,
    incident_id: IncidentId,
    data: DispatchBody,
    operator: Operator,
    scope: CurrentScope,
    session: SessionDep,
    ctx: IncidentsDep,
) -> IncidentDetail:
    """派遣: to a person (who must see the incident) and/or a team; the case clock starts."""
    incident = _incident_or_404(session, scope, incident_id)
    assignee = None
    if data.assignee_user_id is not None:
        assignee = incidents.handler_for(session, incident, data.assignee_user_id)
        if assignee is None:
            raise invalid(
                ("body", "assignee_user_id"),
                f"user {data.assignee_user_id} cannot take this incident: not found, inactive, "
                "not a captain, or outside the incident's area",
            )
    step = Step(Action.DISPATCH, data.comment, assignee=assignee, team=data.team)
    return _step(
        session=session,
        ctx=ctx,
        scope=scope,
        actor=Actor.of(operator),
        incident_id=incident_id,
        step=step,
    )


class _Commented(Protocol):
    @property
    def comment(self) -> str | None: ...


def _step_route(
    action: Action, body: type[RequestModel], doc: str
) -> Callable[..., IncidentDetail]:
    """A closed-loop step that only needs a comment: one endpoint shape, one body model each."""

    def endpoint(
        *,
        incident_id: IncidentId,
        data: _Commented,
        operator: Operator,
        scope: CurrentScope,
        session: SessionDep,
        ctx: IncidentsDep,
    ) -> IncidentDetail:
        return _step(
            session=session,
            ctx=ctx,
            scope=scope,
            actor=Actor.of(operator),
            incident_id=incident_id,
            step=Step(action, data.comment),
        )

    endpoint.__annotations__["data"] = body  # FastAPI reads the request body's model from here
    endpoint.__doc__ = doc
    endpoint.__name__ = endpoint.__qualname__ = f"{action.value}_incident"
    return endpoint


_COMMENT_STEPS: tuple[tuple[Action, str, type[RequestModel], str], ...] = (
    (
        Action.ACKNOWLEDGE,
        "acknowledge",
        AcknowledgeBody,
        "立案: the captain on duty takes it (a comment is required); escalation stops.",
    ),
    (
        Action.NOTE,
        "notes",
        NoteBody,
        "A note on the audit trail; on a dispatched incident it marks handling as under way.",
    ),
    (Action.RESOLVE, "resolve", StepBody, "反馈: the handler reports it dealt with."),
    (
        Action.VERIFY,
        "verify",
        StepBody,
        "核查: checked on site by someone other than the resolver (409 otherwise).",
    ),
    (
        Action.CLOSE,
        "close",
        StepBody,
        "结案: a captain at the holding level (or above) closes the verified incident.",
    ),
    (
        Action.REOPEN,
        "reopen",
        ReopenBody,
        "Back to 立案 from resolved, verified or closed (a reason is required).",
    ),
)
for _action, _path, _body, _doc in _COMMENT_STEPS:
    router.post(f"/{{incident_id}}/{_path}")(_step_route(_action, _body, _doc))
