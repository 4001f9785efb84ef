"""Gateways: one broker login publishing for many devices (a LoRaWAN/NB-IoT network server)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from api.core.deps import BrokerFilesDep, CityDep, CurrentScope, Operator, SessionDep
from api.core.errors import forbidden, or_404
from api.core.roster import check_area
from api.crud import gateways
from api.models.common import Limit, Offset, Page
from api.models.devices import GatewayLogin
from api.models.gateways import GatewayCreate, GatewayCreated, GatewayPublic
from api.models.tables import Gateway

router = APIRouter(prefix="/gateways", tags=["gateways"])

GatewayPath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{2,63}$", max_length=64)]


def _public(gateway: Gateway, count: int) -> GatewayPublic:
    return GatewayPublic.model_validate(gateway).model_copy(update={"devices": count})


@router.get("")
def list_gateways(
    *, scope: CurrentScope, session: SessionDep, limit: Limit = 100, offset: Offset = 0
) -> Page[GatewayPublic]:
    rows, total = gateways.list_in_scope(session, scope, limit, offset)
    counts = gateways.device_counts(session, [g.id for g in rows])
    return Page(
        items=[_public(g, counts.get(g.id, 0)) for g in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.post("", status_code=status.HTTP_201_CREATED)
def create_gateway(
    *,
    data: GatewayCreate,
    operator: Operator,
    scope: CurrentScope,
    session: SessionDep,
    city: CityDep,
    files: BrokerFilesDep,
) -> GatewayCreated:
    """A gateway login for an area (or for listed devices); the password is shown once."""
    check_area(city, data.township, data.village, ("body",))
    if not scope.covers(data.scope):
        raise forbidden(f"you can only create gateways inside your area ({scope.describe()})")
    gateway, password = gateways.create(session, scope, data)
    synced = files.apply(session)
    return GatewayCreated(
        gateway=_public(gateway, len(data.devices)),
        login=GatewayLogin(client_id=gateway.id, username=gateway.id, password=password),
        broker_synced=synced,
    )


def _gateway_or_404(session: SessionDep, scope: CurrentScope, gateway_id: str) -> Gateway:
    return or_404(gateways.get_in_scope(session, scope, gateway_id), "gateway")


@router.get("/{gateway_id}")
def get_gateway(gateway_id: GatewayPath, scope: CurrentScope, session: SessionDep) -> GatewayPublic:
    gateway = _gateway_or_404(session, scope, gateway_id)
    return _public(gateway, gateways.device_counts(session, [gateway.id]).get(gateway.id, 0))


@router.delete("/{gateway_id}")
def revoke_gateway(
    *,
    gateway_id: GatewayPath,
    operator: Operator,
    scope: CurrentScope,
    session: SessionDep,
    files: BrokerFilesDep,
) -> GatewayPublic:
    """Revoke the gateway's login; the broker stops accepting it at once."""
    gateway = gateways.revoke(session, _gateway_or_404(session, scope, gateway_id))
    files.apply(session)
    return _public(gateway, 0)


@router.post("/{gateway_id}/credentials")
def rotate_gateway_credentials(
    *,
    gateway_id: GatewayPath,
    operator: Operator,
    scope: CurrentScope,
    session: SessionDep,
    files: BrokerFilesDep,
) -> GatewayLogin:
    gateway = _gateway_or_404(session, scope, gateway_id)
    password = gateways.rotate(session, gateway)
    files.apply(session)
    return GatewayLogin(client_id=gateway.id, username=gateway.id, password=password)
