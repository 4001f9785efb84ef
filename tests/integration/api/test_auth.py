"""Identity: tokens, API keys and roles, through the real app and registry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from api.core.security import issue_token
from tests.integration.api.conftest import PASSWORD, World

pytestmark = pytest.mark.integration


def _token(world: World, **overrides: object) -> str:
    now = datetime.now(UTC)
    claims = {"sub": "1", "ver": 0, "iat": int(now.timestamp()),
              "exp": int((now + timedelta(hours=1)).timestamp()), "iss": "tianqu-api",
              "typ": "access", **overrides}  # fmt: skip
    return jwt.encode(claims, world.settings.signing_key(), algorithm="HS256")


def _me(world: World, token: str) -> tuple[int, str]:
    response = world.client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
    return response.status_code, response.text


def test_a_valid_token_identifies_the_caller(world: World) -> None:
    status, body = _me(world, _token(world))
    assert status == 200, body
    assert '"name":"district"' in body


@pytest.mark.parametrize(
    ("label", "make"),
    [
        ("expired", lambda w: _token(w, exp=int(datetime.now(UTC).timestamp()) - 10)),
        ("wrongly signed", lambda w: jwt.encode({"sub": "1", "ver": 0}, "another-key" * 4)),
        ("alg none", lambda w: jwt.encode({"sub": "1"}, None, algorithm="none")),
        ("malformed", lambda w: "not.a.token"),
        ("garbage", lambda w: "%%%" * 10),
        ("other issuer", lambda w: _token(w, iss="someone-else")),
        ("no version", lambda w: _token(w, ver=None)),
        ("unknown user", lambda w: _token(w, sub="999999")),
        ("stale version", lambda w: _token(w, ver=7)),
        ("a refresh token", lambda w: _token(w, typ="refresh")),
    ],
)
def test_bad_tokens_are_401(world: World, label: str, make: object) -> None:
    assert callable(make)
    status, body = _me(world, make(world))
    assert status == 401, f"{label}: {body}"


def test_no_credentials_is_401_with_a_challenge(world: World) -> None:
    response = world.client.get("/devices")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_wrong_password_is_401_and_says_nothing_more(world: World) -> None:
    wrong = world.client.post("/auth/login", data={"username": "district", "password": "nope"})
    nobody = world.client.post("/auth/login", data={"username": "nobody", "password": "nope"})
    assert wrong.status_code == nobody.status_code == 401
    assert wrong.json() == nobody.json()


def test_a_password_change_ends_old_tokens(fresh_world: World) -> None:
    w = fresh_world
    old = w.tokens["village-a"]
    me = w.get("village-a", "/auth/me").json()
    response = w.client.patch(
        f"/users/{me['id']}", headers=w.headers("district"), json={"password": "a new password!"}
    )
    assert response.status_code == 200, response.text
    assert _me(w, old)[0] == 401
    login = w.client.post(
        "/auth/login", data={"username": "village-a", "password": "a new password!"}
    )
    assert login.status_code == 200


def test_a_deactivated_person_is_locked_out(fresh_world: World) -> None:
    w = fresh_world
    me = w.get("village-b", "/auth/me").json()
    assert w.client.delete(f"/users/{me['id']}", headers=w.headers("district")).status_code == 200
    assert _me(w, w.tokens["village-b"])[0] == 401
    login = w.client.post("/auth/login", data={"username": "village-b", "password": PASSWORD})
    assert login.status_code == 401


def test_api_keys_are_scoped_like_people_and_can_be_revoked(fresh_world: World) -> None:
    w = fresh_world
    body = {"name": "grafana", "level": "township", "township": "yuanqiao"}
    created = w.post("district", "/api-keys", json=body)
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    listed = w.client.get("/devices", headers={"X-API-Key": key}).json()
    assert {d["township"] for d in listed["items"]} == {"yuanqiao"}
    assert listed["total"] == 2
    bearer = w.client.get("/auth/me", headers={"Authorization": f"Bearer {key}"})
    assert bearer.json()["kind"] == "api_key"
    # A viewer key may read but not register devices.
    register = w.client.post("/devices", headers={"X-API-Key": key}, json={})
    assert register.status_code == 403
    revoked = w.client.delete(f"/api-keys/{created.json()['id']}", headers=w.headers("district"))
    assert revoked.status_code == 200
    assert w.client.get("/devices", headers={"X-API-Key": key}).status_code == 401
    tampered = key[:-4] + ("aaaa" if not key.endswith("aaaa") else "bbbb")
    assert w.client.get("/devices", headers={"X-API-Key": tampered}).status_code == 401


def test_roles_bound_what_a_caller_may_do(world: World) -> None:
    assert world.get("viewer-a", "/devices").status_code == 200
    assert world.post("viewer-a", "/devices", json={}).status_code == 403
    assert world.get("viewer-a", "/users").status_code == 403


def test_nobody_grants_beyond_their_own_area(world: World) -> None:
    for body in (
        {"level": "district"},
        {"level": "township", "township": "yuanqiao"},
        {"level": "village", "township": "yuanqiao", "village": "datun"},
    ):
        response = world.post(
            "village-a",
            "/users",
            json={
                "username": "sneaky",
                "display_name": "s",
                "password": "x" * 12,
                "role": "admin",
                **body,
            },
        )
        assert response.status_code == 403, response.text


def test_a_token_from_issue_token_round_trips(world: World) -> None:
    token, expires = issue_token(
        1, 0, key=world.settings.signing_key(), ttl_s=60, issuer=world.settings.jwt_issuer
    )
    assert _me(world, token)[0] == 200
    assert expires > datetime.now(UTC)
