"""The scoping matrix, generated from the app's own route table.

A new route fails here unless it takes ``CurrentScope`` (or is one of the few public routes),
and a new object route fails unless an object of that kind can be made for it below. For every
route naming an object, the object's own village administrator gets an answer (the test can
fail), and administrators of a sibling village and of another township get 404 — not 403, so
nothing about other areas leaks.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from api.core.deps import current_scope
from tests.integration.api.conftest import AREAS, World

pytestmark = pytest.mark.integration

PUBLIC = {("GET", "/healthz"), ("GET", "/readyz"), ("POST", "/auth/login")}
_counter = itertools.count(1)


def _routes(world: World) -> list[tuple[str, str, APIRoute]]:
    """(method, full path, route) for every API route, through included routers."""
    out = []
    for context in iter_route_contexts(world.app.routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            path = context.path_format or route.path_format
            out.extend((method, path, route) for method in sorted(context.methods or ()))
    return out


def _uses(dependant: Dependant, target: Callable[..., Any]) -> bool:
    return dependant.call is target or any(_uses(d, target) for d in dependant.dependencies)


def test_every_route_takes_the_scope_or_is_public(world: World) -> None:
    routes = _routes(world)
    assert len(routes) > 15
    unscoped = [
        f"{method} {path}"
        for method, path, route in routes
        if (method, path) not in PUBLIC and not _uses(route.dependant, current_scope)
    ]
    assert unscoped == [], "routes without CurrentScope (add it, or list the route as public)"
    for method, path, route in routes:
        if (method, path) in PUBLIC:
            assert not _uses(route.dependant, current_scope), f"{method} {path} is public"


def test_the_openapi_document_lists_the_same_routes(world: World) -> None:
    document = world.app.openapi()
    listed = {(m.upper(), p) for p, ops in document["paths"].items() for m in ops}
    assert listed == {(m, p) for m, p, _ in _routes(world)}
    for method, path, _ in _routes(world):
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


MAKERS: dict[str, Callable[[World], str]] = {
    "device_id": _device,
    "user_id": _user,
    "key_id": _api_key,
    "gateway_id": _gateway,
}
# What a route needs besides its path to answer its owner with a 2xx.
EXTRAS: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/devices/{device_id}/readings/history"): {"params": {"field": "occupied"}},
    ("PATCH", "/users/{user_id}"): {"json": {"display_name": "renamed"}},
    ("POST", "/devices/{device_id}/certificate"): {"json": {}},
}
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
        for who in OUTSIDERS:
            response = _call(world, who, method, path, object_id)
            assert response.status_code == 404, f"{who} {method} {path}: {response.text}"
        # Owner last: some routes (DELETE) change the object.
        response = _call(world, "village-a", method, path, object_id)
        assert 200 <= response.status_code < 300, f"owner {method} {path}: {response.text}"
        response = _call(world, "township-yuanqiao", method, path, object_id)
        assert response.status_code != 404, f"township {method} {path}: {response.text}"
        checked += 1
    assert checked >= 12


def test_a_nonexistent_object_looks_exactly_like_another_areas(world: World) -> None:
    other = world.get("village-a", f"/devices/{world.devices['C']}")
    missing = world.get("village-a", "/devices/pk-nowhere-99999")
    assert other.status_code == missing.status_code == 404
    assert other.json() == missing.json()
