"""Stream tickets: how a browser's ``EventSource`` authenticates ``GET /incidents/stream``.

``EventSource`` cannot send an ``Authorization`` header, and a bearer token in a URL would live
for hours in browser history and proxy logs. So a caller exchanges its token (or API key) at
``POST /incidents/stream/ticket`` for a ticket that

- lives ``TICKET_TTL_S`` (60 s) — long enough to open the stream, useless soon after;
- opens the stream and nothing else: its ``typ`` is ``stream`` and its audience
  ``tianqu-incident-stream``, and ``read_token`` refuses anything but ``typ: access``, so it
  is never a bearer token;
- names the caller and, for a person, the token version: a password change or deactivation
  refuses it, exactly like the bearer token it came from.

The stream re-checks the caller every ``RECHECK_S`` while open and ends when the account
changed, so the ticket's short life does not become a long-lived session.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import jwt
from sqlalchemy.orm import Session

from api.core.principal import Principal, Role
from api.core.scope import Scope
from api.core.security import ALGORITHM
from api.models.tables import ApiKey, User

TICKET_TTL_S = 60
AUDIENCE = "tianqu-incident-stream"


class TicketError(ValueError):
    """The ticket is expired, malformed, wrongly signed or for someone no longer valid."""


@dataclass(frozen=True, slots=True)
class TicketClaims:
    kind: Literal["user", "api_key"]
    id: int
    version: int


def issue(
    principal: Principal, version: int, *, key: str, issuer: str, now: datetime | None = None
) -> tuple[str, datetime]:
    issued = now or datetime.now(UTC)
    expires = issued + timedelta(seconds=TICKET_TTL_S)
    claims = {
        "sub": str(principal.id),
        "knd": principal.kind,
        "ver": version,
        "iat": int(issued.timestamp()),
        "exp": int(expires.timestamp()),
        "iss": issuer,
        "aud": AUDIENCE,
        "typ": "stream",
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM), expires


def read(ticket: str, *, key: str, issuer: str) -> TicketClaims:
    try:
        claims = jwt.decode(
            ticket,
            key,
            algorithms=[ALGORITHM],
            issuer=issuer,
            audience=AUDIENCE,
            options={"require": ["sub", "exp", "iat", "iss", "aud", "ver", "knd", "typ"]},
        )
    except jwt.ExpiredSignatureError:
        raise TicketError("the stream ticket has expired; ask for a new one") from None
    except jwt.PyJWTError as exc:
        raise TicketError(f"the stream ticket is not valid: {exc}") from None
    kind = claims["knd"]
    if claims["typ"] != "stream" or kind not in ("user", "api_key"):
        raise TicketError("not a stream ticket")
    try:
        return TicketClaims(kind, int(claims["sub"]), int(claims["ver"]))
    except (TypeError, ValueError):
        raise TicketError("the stream ticket's subject is not valid") from None


def version_of(session: Session, principal: Principal) -> int:
    """What a ticket pins: a person's token version (API keys have none: 0)."""
    if principal.kind == "user":
        user = session.get(User, principal.id)
        return user.token_version if user is not None else -1
    return 0


def principal_of(
    session: Session, claims: TicketClaims, now: datetime | None = None
) -> Principal | None:
    """The caller behind a ticket as it is now; None when it may no longer read. Checked when
    the stream opens and again while it is open (a changed area or role ends the stream)."""
    if claims.kind == "user":
        user = session.get(User, claims.id)
        if user is None or not user.active or user.token_version != claims.version:
            return None
        scope = Scope.of(user.township, user.village)
        return Principal("user", user.id, user.username, Role(user.role), scope)
    key = session.get(ApiKey, claims.id)
    moment = now or datetime.now(UTC)
    if key is None or key.revoked_at is not None:
        return None
    if key.expires_at is not None and key.expires_at <= moment:
        return None
    return Principal(
        "api_key", key.id, key.name, Role(key.role), Scope.of(key.township, key.village)
    )
