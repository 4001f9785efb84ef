"""Stream tickets: short-lived, for the stream only, never a bearer token and vice versa."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from api.console import tickets
from api.console.tickets import TICKET_TTL_S, TicketError
from api.core.principal import Principal, Role
from api.core.scope import Scope
from api.core.security import TokenError, issue_token, read_token

KEY, ISSUER = "k" * 48, "tianqu-api"
CAPTAIN = Principal("user", 7, "dongzhan-captain", Role.CAPTAIN, Scope.of("yuanqiao", "dongzhan"))


def test_a_ticket_names_its_holder_and_version() -> None:
    ticket, expires = tickets.issue(CAPTAIN, 3, key=KEY, issuer=ISSUER)
    claims = tickets.read(ticket, key=KEY, issuer=ISSUER)
    assert (claims.kind, claims.id, claims.version) == ("user", 7, 3)
    assert (
        timedelta(seconds=TICKET_TTL_S - 2)
        < expires - datetime.now(UTC)
        <= timedelta(seconds=TICKET_TTL_S)
    )


def test_a_ticket_expires_after_a_minute() -> None:
    past = datetime.now(UTC) - timedelta(seconds=TICKET_TTL_S + 5)
    ticket, _ = tickets.issue(CAPTAIN, 1, key=KEY, issuer=ISSUER, now=past)
    with pytest.raises(TicketError, match="expired"):
        tickets.read(ticket, key=KEY, issuer=ISSUER)


def test_a_ticket_is_not_a_bearer_token_and_a_bearer_token_is_not_a_ticket() -> None:
    ticket, _ = tickets.issue(CAPTAIN, 1, key=KEY, issuer=ISSUER)
    with pytest.raises(TokenError):
        read_token(ticket, key=KEY, issuer=ISSUER)
    token, _ = issue_token(7, 1, key=KEY, ttl_s=3600, issuer=ISSUER)
    with pytest.raises(TicketError):
        tickets.read(token, key=KEY, issuer=ISSUER)


def test_a_forged_or_foreign_ticket_is_refused() -> None:
    ticket, _ = tickets.issue(CAPTAIN, 1, key=KEY, issuer=ISSUER)
    with pytest.raises(TicketError):
        tickets.read(ticket, key="x" * 48, issuer=ISSUER)
    with pytest.raises(TicketError):
        tickets.read(ticket, key=KEY, issuer="someone-else")
    now = int(datetime.now(UTC).timestamp())
    other = jwt.encode({"sub": "7", "knd": "user", "ver": 1, "iat": now, "exp": now + 60,
                        "iss": ISSUER, "aud": tickets.AUDIENCE, "typ": "access"}, KEY,
                       algorithm="HS256")  # fmt: skip
    with pytest.raises(TicketError, match="not a stream ticket"):
        tickets.read(other, key=KEY, issuer=ISSUER)
    unsigned = jwt.encode({"sub": "7"}, "", algorithm="none")
    with pytest.raises(TicketError):
        tickets.read(unsigned, key=KEY, issuer=ISSUER)
