"""Notifications to incident staff: what was sent to whom, over which channel, and how it went.

Scoped like every route: a caller sees the deliveries of incidents in their area only.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.core.deps import CurrentScope, SessionDep
from api.core.errors import or_404
from api.models.common import Limit, Offset, Page
from api.notify.models import ChannelName
from api.notify.queries import (
    NotificationDetail,
    NotificationPublic,
    Status,
    get_notification,
    list_notifications,
)

router = APIRouter(prefix="/notifications", tags=["notifications"])


@router.get("")
def list_deliveries(
    *,
    scope: CurrentScope,
    session: SessionDep,
    incident_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    status: Status | None = None,
    channel: ChannelName | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[NotificationPublic]:
    """Deliveries in your area, newest first; filter by incident, status and channel."""
    return list_notifications(
        session, scope, incident_id=incident_id, status=status, channel=channel,
        limit=limit, offset=offset,
    )  # fmt: skip


@router.get("/{notification_id}")
def show_delivery(
    *,
    notification_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    scope: CurrentScope,
    session: SessionDep,
) -> NotificationDetail:
    """One delivery with every attempt (time, outcome, error, latency)."""
    return or_404(get_notification(session, scope, notification_id), "notification")
