"""Alert events in: from the rule evaluator (``/alerts/events``) and from Grafana's webhook
contact point (``/alerts/grafana``). Both need an API key allowed to report alerts (role
``service``: ``python -m api service-key alerting``); events outside the key's area are
ignored. Each event is answered created, deduplicated, cleared, silenced or ignored.
"""

from __future__ import annotations

import time
from collections import Counter

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.core.config import Settings
from api.core.deps import CurrentScope, IncidentsDep, Reporter, SessionDep, SettingsDep
from api.core.errors import invalid_many, unauthorized
from api.core.principal import Principal
from api.core.scope import Scope
from api.incidents import grafana, intake
from api.incidents.audit import Actor
from api.incidents.context import IncidentContext
from api.models.alerts import AlertBatch, EventResult, IntakeAnswer
from city.alerts import AlertEvent

router = APIRouter(prefix="/alerts", tags=["alerts"])


def _take_all(
    session: Session,
    ctx: IncidentContext,
    events: list[AlertEvent],
    reporter: Principal,
    scope: Scope,
) -> IntakeAnswer:
    results = []
    for index, event in enumerate(events):
        actor = Actor(
            "grafana" if event.source == "grafana" else "alerting",
            reporter.id,
            reporter.name,
            scope.level.value,
        )
        outcome = intake.take(session, ctx, event, actor, scope)
        results.append(
            EventResult(
                index=index,
                fingerprint=event.fingerprint,
                status=outcome.status,
                incident_id=outcome.incident_id,
                silence_id=outcome.silence_id,
                reason=outcome.reason,
            )
        )
    return IntakeAnswer(results=results, counts=dict(Counter(r.status for r in results)))


@router.post("/events")
def report_events(
    *,
    batch: AlertBatch,
    reporter: Reporter,
    scope: CurrentScope,
    session: SessionDep,
    ctx: IncidentsDep,
) -> IntakeAnswer:
    """Up to 500 AlertEvents (``city/alerts.py``), handled in order; one answer per event."""
    return _take_all(session, ctx, batch.events, reporter, scope)


_GRAFANA_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": "Grafana's unified-alerting webhook body; alerts carry the "
                    "labels rule_id, grade, township (and village, device, kind)",
                    "properties": {"alerts": {"type": "array", "items": {"type": "object"}}},
                }
            }
        },
    }
}


def _check_signature(settings: Settings, request: Request, body: bytes) -> None:
    if settings.grafana_webhook_secret is None:
        return
    problem = grafana.signature_problem(
        settings.grafana_webhook_secret.get_secret_value(),
        body,
        signature=request.headers.get(settings.grafana_signature_header),
        timestamp=request.headers.get(settings.grafana_timestamp_header),
        # The wall clock: replay protection must not follow the development clock.
        now_s=time.time(),
        max_age_s=settings.grafana_signature_max_age_s,
    )
    if problem is not None:
        raise unauthorized(problem)


@router.post("/grafana", openapi_extra=_GRAFANA_BODY)
async def grafana_webhook(
    *,
    request: Request,
    reporter: Reporter,
    scope: CurrentScope,
    session: SessionDep,
    ctx: IncidentsDep,
    settings: SettingsDep,
) -> IntakeAnswer:
    """Grafana's webhook contact point (send the service key as ``Authorization: Bearer``).

    With ``TIANQU_API_GRAFANA_WEBHOOK_SECRET`` set, the body must be signed (HMAC-SHA256 in
    ``X-Grafana-Alerting-Signature``); a missing or wrong signature is a 401.
    """
    body = await request.body()
    _check_signature(settings, request, body)
    now_ms = int(ctx.clock.now().timestamp() * 1000)
    try:
        events = grafana.parse(body, now_ms)
    except grafana.GrafanaPayloadError as exc:
        raise invalid_many(exc.errors) from None
    return await run_in_threadpool(_take_all, session, ctx, events, reporter, scope)
