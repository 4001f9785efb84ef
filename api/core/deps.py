"""Dependencies, declared once as ``Annotated`` aliases; routes never spell ``Depends`` raw.

``CurrentScope`` is the area-scope dependency every non-public route takes (a test walks the
route table and fails for a route without it). It resolves the caller (token or API key),
counts the request against the caller's rate limit and yields the caller's ``Scope``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core.clock import Clock, OffsetClock
from api.core.config import Settings
from api.core.db import Database
from api.core.errors import forbidden, unauthorized
from api.core.principal import Permission, Principal, Role
from api.core.ratelimit import RateLimiter
from api.core.scope import Scope
from api.core.security import TokenError, api_secret_matches, read_token, split_api_key
from api.incidents.context import IncidentContext
from api.incidents.scheduler import Scheduler
from api.models.tables import ApiKey, User
from api.mqtt.brokerfiles import BrokerFiles
from api.readings.store import ReadingsStore
from city.topology import City


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _session(request: Request) -> Iterator[Session]:
    database: Database = request.app.state.database
    with database.session() as session:
        yield session


def _city(request: Request) -> City:
    city: City = request.app.state.city
    return city


def _readings(request: Request) -> ReadingsStore:
    store: ReadingsStore = request.app.state.readings
    return store


def _broker_files(request: Request) -> BrokerFiles:
    files: BrokerFiles = request.app.state.broker_files
    return files


def _limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.limiter
    return limiter


def _incidents(request: Request) -> IncidentContext:
    ctx: IncidentContext = request.app.state.incidents
    return ctx


def _clock(request: Request) -> Clock:
    clock: Clock = request.app.state.incidents.clock
    return clock


def _dev_clock(request: Request) -> OffsetClock | None:
    """The movable clock, or None outside development."""
    clock = request.app.state.incidents.clock
    return clock if isinstance(clock, OffsetClock) else None


def _scheduler(request: Request) -> Scheduler:
    scheduler: Scheduler = request.app.state.scheduler
    return scheduler


SettingsDep = Annotated[Settings, Depends(_settings)]
SessionDep = Annotated[Session, Depends(_session)]
CityDep = Annotated[City, Depends(_city)]
ReadingsDep = Annotated[ReadingsStore, Depends(_readings)]
BrokerFilesDep = Annotated[BrokerFiles, Depends(_broker_files)]
LimiterDep = Annotated[RateLimiter, Depends(_limiter)]
IncidentsDep = Annotated[IncidentContext, Depends(_incidents)]
ClockDep = Annotated[Clock, Depends(_clock)]
DevClockDep = Annotated[OffsetClock | None, Depends(_dev_clock)]
SchedulerDep = Annotated[Scheduler, Depends(_scheduler)]

_bearer = OAuth2PasswordBearer(tokenUrl="/auth/login", auto_error=False)
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False)


def _user_principal(session: Session, settings: Settings, token: str) -> Principal:
    try:
        claims = read_token(token, key=settings.signing_key(), issuer=settings.jwt_issuer)
    except TokenError as exc:
        raise unauthorized(str(exc)) from None
    user = session.get(User, claims.user_id)
    if user is None or not user.active or user.token_version != claims.version:
        raise unauthorized("the token is no longer valid; log in again")
    return Principal(
        "user", user.id, user.username, Role(user.role), Scope.of(user.township, user.village)
    )


def _key_principal(session: Session, token: str) -> Principal:
    parts = split_api_key(token)
    if parts is None:
        raise unauthorized("malformed API key")
    prefix, secret = parts
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if key is None or not api_secret_matches(secret, key.secret_hash):
        raise unauthorized("unknown API key")
    now = datetime.now(UTC)
    if key.revoked_at is not None or (key.expires_at is not None and key.expires_at <= now):
        raise unauthorized("the API key is revoked or expired")
    return Principal(
        "api_key", key.id, key.name, Role(key.role), Scope.of(key.township, key.village)
    )


def current_principal(
    session: SessionDep,
    settings: SettingsDep,
    limiter: LimiterDep,
    bearer: Annotated[str | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key)],
) -> Principal:
    if api_key:
        principal = _key_principal(session, api_key)
    elif bearer and split_api_key(bearer) is not None:
        principal = _key_principal(session, bearer)  # Grafana sends keys as bearer tokens
    elif bearer:
        principal = _user_principal(session, settings, bearer)
    else:
        raise unauthorized("not authenticated: log in at /auth/login or send X-API-Key")
    limiter.check(limiter.per_caller, principal.rate_key)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def current_scope(principal: CurrentPrincipal) -> Scope:
    return principal.scope


CurrentScope = Annotated[Scope, Depends(current_scope)]


def _require(permission: Permission) -> Callable[[Principal], Principal]:
    def check(principal: CurrentPrincipal) -> Principal:
        if not principal.can(permission):
            raise forbidden(
                f"the {principal.role} role may not {permission.value.replace('_', ' ')}"
            )
        return principal

    return check


Operator = Annotated[Principal, Depends(_require(Permission.OPERATE))]
AccessAdmin = Annotated[Principal, Depends(_require(Permission.MANAGE_ACCESS))]
Reporter = Annotated[Principal, Depends(_require(Permission.REPORT_ALERTS))]
