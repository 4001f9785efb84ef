"""Log in (OAuth2 password form → JWT) and ask who you are."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from api.core.deps import CurrentPrincipal, CurrentScope, LimiterDep, SessionDep, SettingsDep
from api.core.errors import unauthorized
from api.core.security import issue_token
from api.crud import users
from api.models.auth import Token
from api.models.users import Me

router = APIRouter(prefix="/auth", tags=["auth"])

LoginForm = Annotated[OAuth2PasswordRequestForm, Depends()]


@router.post("/login", responses={401: {"description": "wrong username or password"}})
def login(
    *,
    request: Request,
    form: LoginForm,
    session: SessionDep,
    settings: SettingsDep,
    limiter: LimiterDep,
) -> Token:
    """Exchange a username and password for an access token (``Authorization: Bearer …``)."""
    client = request.client.host if request.client else "unknown"
    limiter.check(limiter.per_login, f"login:{client}:{form.username[:64]}")
    user = users.authenticate(session, form.username[:64], form.password[:256])
    if user is None:
        raise unauthorized("wrong username or password")
    token, expires = issue_token(
        user.id,
        user.token_version,
        key=settings.signing_key(),
        ttl_s=settings.token_ttl_s,
        issuer=settings.jwt_issuer,
    )
    return Token(access_token=token, expires_at=expires)


@router.get("/me")
def me(principal: CurrentPrincipal, scope: CurrentScope) -> Me:
    """The caller: person or API key, role, and the area it sees."""
    return Me(
        kind=principal.kind,
        id=principal.id,
        name=principal.name,
        role=principal.role,
        level=scope.level,
        township=scope.township,
        village=scope.village,
    )
