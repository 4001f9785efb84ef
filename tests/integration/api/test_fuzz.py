"""Schema-based fuzzing of every route with schemathesis: no input makes the API answer 5xx.

Requests go to the ASGI app in-process, authenticated as a village administrator (a scoped
token that reaches every route, including people and keys), against the real influxd. The
number of examples per operation is kept small so the whole API suite stays fast; run with
``TIANQU_FUZZ_EXAMPLES=200`` for a deeper pass.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.integration.api.conftest import World

pytestmark = pytest.mark.integration

EXAMPLES = int(os.environ.get("TIANQU_FUZZ_EXAMPLES", "12"))


def test_no_route_answers_5xx(world: World) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", world.app)
    headers = world.headers("village-a")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    tried: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def no_server_error(case: Any) -> None:
            response = case.call(headers=headers)
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path} → {response.status_code}: "
                f"{response.text[:500]}"
            )

        no_server_error()
        tried.append(operation.label)
    assert len(tried) == len(operations)
