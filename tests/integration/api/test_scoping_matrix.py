"""The scoping matrix, generated from the app's own route table.

A new route fails here unless it takes ``CurrentScope`` (or is one of the few public routes),
and a new object route fails unless an object of that kind can be made for it below. For every
route naming an object, the object's own village administrator gets an answer (the test can
fail), and administrators of a sibling village and of another township get 404 — not 403, so
nothing about other areas leaks.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from api.console.feed import IncidentFeed
from api.core.deps import current_scope
from api.core.scope import Scope
from api.notify import Notification, NotifySettings, enqueue
from api.notify.models import Event
from api.routes.stream import stream_scope
from city.grades import Grade, Level
from tests.integration.api.conftest import AREAS, World

pytestmark = pytest.mark.integration

# The captain's console: the page, its script and its style sheet hold no data (what the page
# shows comes from the scoped routes, called with the captain's token), so they are public.
CONSOLE = {("GET", "/console"), ("GET", "/console/console.js"), ("GET", "/console/console.css")}
PUBLIC = {("GET", "/healthz"), ("GET", "/readyz"), ("POST", "/auth/login"), *CONSOLE}
# What yields the caller's scope: ``CurrentScope``, or for GET /incidents/stream (EventSource
# cannot send a header) ``StreamScope``, the holder of a ticket from POST
# /incidents/stream/ticket, re-read from the registry like a bearer token.
SCOPES = (current_scope, stream_scope)
_counter = itertools.count(1)


def _routes(world: World) -> list[tuple[str, str, APIRoute]]:
    """(method, full path, route) for every API route, through included routers."""
    out: list[tuple[str, str, APIRoute]] = []
    for context in iter_route_contexts(world.app.routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            path = context.path_format or route.path_format
            out.extend((method, path, route) for method in sorted(context.methods or ()))
    return out


def _uses(dependant: Dependant, target: Callable[..., Any]) -> bool:
    return dependant.call is target or any(_uses(d, target) for d in dependant.dependencies)


def _scoped(route: APIRoute) -> bool:
    return any(_uses(route.dependant, scope) for scope in SCOPES)


def test_every_route_takes_the_scope_or_is_public(world: World) -> None:
    routes = _routes(world)
    assert len(routes) > 15
    unscoped = [
        f"{method} {path}"
        for method, path, route in routes
        if (method, path) not in PUBLIC and not _scoped(route)
    ]
    assert unscoped == [], "routes without CurrentScope (add it, or list the route as public)"
    for method, path, route in routes:
        if (method, path) in PUBLIC:
            assert not _scoped(route), f"{method} {path} is public"


def test_the_openapi_document_lists_the_same_routes(world: World) -> None:
    document = world.app.openapi()
    listed = {(m.upper(), p) for p, ops in document["paths"].items() for m in ops}
    # Only the console's pages stay out of the API's document: they are not JSON routes.
    documented = [(m, p, r) for m, p, r in _routes(world) if r.include_in_schema]
    assert {(m, p) for m, p, r in _routes(world) if not r.include_in_schema} == CONSOLE
    assert listed == {(m, p) for m, p, _ in documented}
    for method, path, _ in documented:
        secured = "security" in document["paths"][path][method.lower()]
        assert secured == ((method, path) not in PUBLIC), f"{method} {path} security in OpenAPI"


# --- objects of each kind, made in area A by the district administrator ----------------------


def _device(world: World) -> str:
    device_id = f"pk-matrix-{next(_counter):05d}"
    world.register("A", device_id)
    return device_id


def _user(world: World) -> str:
    township, village = AREAS["A"]
    body = {"username": f"matrix-{next(_counter)}", "display_name": "m", "password": "x" * 12,
            "level": "village", "township": township, "village": village,
            "role": "viewer"}  # fmt: skip
    response = world.post("district", "/users", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _api_key(world: World) -> str:
    township, village = AREAS["A"]
    body = {"name": "matrix", "level": "village", "township": township, "village": village}
    response = world.post("district", "/api-keys", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _gateway(world: World) -> str:
    township, village = AREAS["A"]
    gateway_id = f"gw-matrix-{next(_counter):05d}"
    body = {"gateway_id": gateway_id, "name": "g", "level": "village", "township": township,
            "village": village}  # fmt: skip
    response = world.post("district", "/gateways", json=body)
    assert response.status_code == 201, response.text
    return gateway_id


def _incident(world: World) -> str:
    # Grade Ⅳ: held at the village level, so the village administrator may take every step.
    return str(world.raise_incident("A", grade="IV"))


def _shift(world: World) -> str:
    township, village = AREAS["A"]
    start = datetime.now(UTC)
    body = {"level": "village", "township": township, "village": village,
            "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=8)).isoformat(),
            "captain_user_id": world.user_ids["village-a"]}  # fmt: skip
    response = world.post("district", "/duty/shifts", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _silence(world: World) -> str:
    township, village = AREAS["A"]
    body = {"level": "village", "township": township, "village": village, "kind": "parking",
            "duration_s": 3600, "comment": "matrix"}  # fmt: skip
    response = world.post("district", "/silences", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _notification(world: World) -> str:
    township, village = AREAS["A"]
    settings = NotifySettings(webhook_url="http://127.0.0.1:9/hook", webhook_secret="s" * 40)
    note = Notification(incident_id=1, event=Event.RAISED, grade=Grade.IV, level=Level.VILLAGE,
                        township=township, village=village, title="matrix")  # fmt: skip
    with world.app.state.database.session() as session:
        [delivery] = enqueue(session, note, settings=settings)
        session.commit()
    return str(delivery)


MAKERS: dict[str, Callable[[World], str]] = {
    "device_id": _device,
    "user_id": _user,
    "key_id": _api_key,
    "gateway_id": _gateway,
    "incident_id": _incident,
    "shift_id": _shift,
    "silence_id": _silence,
    "notification_id": _notification,
}
# What a route needs besides its path to answer its owner with a 2xx.
EXTRAS: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/devices/{device_id}/readings/history"): {"params": {"field": "occupied"}},
    ("PATCH", "/users/{user_id}"): {"json": {"display_name": "renamed"}},
    ("POST", "/devices/{device_id}/certificate"): {"json": {}},
    ("POST", "/incidents/{incident_id}/acknowledge"): {"json": {"comment": "on my way"}},
    ("POST", "/incidents/{incident_id}/dispatch"): {"json": {"team": "井盖维修队"}},
    ("POST", "/incidents/{incident_id}/notes"): {"json": {"comment": "a note"}},
    ("POST", "/incidents/{incident_id}/resolve"): {"json": {}},
    ("POST", "/incidents/{incident_id}/verify"): {"json": {}},
    ("POST", "/incidents/{incident_id}/close"): {"json": {}},
    ("POST", "/incidents/{incident_id}/reopen"): {"json": {"comment": "it smells again"}},
    ("PATCH", "/duty/shifts/{shift_id}"): {"json": {"note": "renamed"}},
    ("PATCH", "/silences/{silence_id}"): {"json": {"comment": "renamed"}},
}
# Steps of the closed loop that bring an incident to where the route can take it (by the
# district and the township, so that the village administrator may still verify).
_LOOP = [
    ("district", "acknowledge", {"comment": "taken"}),
    ("district", "dispatch", {"team": "井盖维修队"}),
    ("district", "resolve", {}),
    ("township-yuanqiao", "verify", {}),
]
PREPARE: dict[tuple[str, str], list[tuple[str, str, dict[str, Any]]]] = {
    ("POST", "/incidents/{incident_id}/dispatch"): _LOOP[:1],
    ("POST", "/incidents/{incident_id}/resolve"): _LOOP[:2],
    ("POST", "/incidents/{incident_id}/verify"): _LOOP[:3],
    ("POST", "/incidents/{incident_id}/close"): _LOOP[:4],
    ("POST", "/incidents/{incident_id}/reopen"): _LOOP[:3],
}


def _prepare(world: World, method: str, path: str, object_id: str) -> None:
    for who, action, body in PREPARE.get((method, path), []):
        response = world.post(who, f"/incidents/{object_id}/{action}", json=body)
        assert response.status_code == 200, f"preparing {path}: {action}: {response.text}"


OUTSIDERS = ("village-b", "village-c", "township-changhe")


def _object_routes(world: World) -> list[tuple[str, str]]:
    return [(m, p) for m, p, _ in _routes(world) if "{" in p]


def test_every_object_route_is_in_the_matrix(world: World) -> None:
    routes = _object_routes(world)
    assert routes, "no object routes found"
    for method, path in routes:
        params = re.findall(r"{(\w+)}", path)
        assert all(p in MAKERS for p in params), f"{method} {path}: no maker for {params}"


def _call(world: World, who: str, method: str, path: str, object_id: str) -> Any:
    url = re.sub(r"{\w+}", object_id, path)
    extras = EXTRAS.get((method, path), {})
    return world.client.request(method, url, headers=world.headers(who), **extras)


def test_outsiders_get_404_and_the_owner_an_answer(world: World) -> None:
    checked = 0
    for method, path in _object_routes(world):
        [param] = re.findall(r"{(\w+)}", path)
        object_id = MAKERS[param](world)
        _prepare(world, method, path, object_id)
        for who in OUTSIDERS:
            response = _call(world, who, method, path, object_id)
            assert response.status_code == 404, f"{who} {method} {path}: {response.text}"
        # Owner last: some routes (DELETE) change the object.
        response = _call(world, "village-a", method, path, object_id)
        assert 200 <= response.status_code < 300, f"owner {method} {path}: {response.text}"
        if method == "DELETE":  # it may be gone now: the township gets one of its own
            object_id = MAKERS[param](world)
        response = _call(world, "township-yuanqiao", method, path, object_id)
        assert response.status_code != 404, f"township {method} {path}: {response.text}"
        checked += 1
    assert checked >= 29


def test_a_nonexistent_object_looks_exactly_like_another_areas(world: World) -> None:
    other = world.get("village-a", f"/devices/{world.devices['C']}")
    missing = world.get("village-a", "/devices/pk-nowhere-99999")
    assert other.status_code == missing.status_code == 404
    assert other.json() == missing.json()


# --- the live stream: its snapshot and its events, per caller ---------------------------------

SEES_A = {"village-a": True, "township-yuanqiao": True, "district": True, "village-b": False,
          "village-c": False, "township-changhe": False}  # fmt: skip


def _scope_of(world: World, who: str) -> Scope:
    me = world.get(who, "/auth/me").json()
    return Scope.of(me["township"], me["village"])


def test_the_stream_snapshot_holds_only_the_callers_area(world: World) -> None:
    incident_id = world.raise_incident("A", grade="IV")
    for who, sees in SEES_A.items():
        ticket = world.post(who, "/incidents/stream/ticket")
        assert ticket.status_code == 200, ticket.text
        response = world.client.get(
            "/incidents/stream", params={"ticket": ticket.json()["ticket"], "follow": "false"}
        )
        assert response.status_code == 200, response.text
        [snapshot] = [line for line in response.text.splitlines() if '"items"' in line]
        ids = {item["incident"]["id"] for item in json.loads(snapshot[len("data: ") :])["items"]}
        assert (incident_id in ids) == sees, who


def test_the_streams_live_events_reach_only_the_callers_area(world: World) -> None:
    database = world.app.state.database
    feed = IncidentFeed(database.sessions, world.app.state.incidents.rules)
    feed.poll()  # from here on
    subs = {who: feed.listen(_scope_of(world, who)) for who in SEES_A}
    incident_id = world.raise_incident("A", grade="IV")
    assert world.post("village-a", f"/incidents/{incident_id}/acknowledge",
                      json={"comment": "收到"}).status_code == 200  # fmt: skip
    feed.publish(feed.poll())
    for who, sub in subs.items():
        got = []
        while not sub.queue.empty():
            event = sub.queue.get_nowait()
            assert event is not None
            got.append((json.loads(event.data)["incident"]["id"], json.loads(event.data)["action"]))
        expected = [(incident_id, "raised"), (incident_id, "acknowledged")] if SEES_A[who] else []
        assert got == expected, who


def test_a_stream_ticket_opens_the_stream_and_nothing_else(world: World) -> None:
    ticket = world.post("village-a", "/incidents/stream/ticket").json()["ticket"]
    as_bearer = world.client.get("/incidents", headers={"Authorization": f"Bearer {ticket}"})
    assert as_bearer.status_code == 401
    token = world.tokens["village-a"]
    assert world.client.get("/incidents/stream", params={"ticket": token}).status_code == 401
    assert world.client.get("/incidents/stream").status_code == 401
