"""``/healthz`` (the process lives), ``/readyz`` (it can do its job) and ``/metrics``."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def health_app(registry: CollectorRegistry, readiness: Callable[[], dict[str, Any]]) -> Starlette:
    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        state = readiness()
        return JSONResponse(state, status_code=200 if state["ready"] else 503)

    async def prometheus(_: Request) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", prometheus),
        ]
    )


class QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: the service decides when to stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Any:
        yield


def health_server(
    registry: CollectorRegistry,
    readiness: Callable[[], dict[str, Any]],
    host: str,
    port: int,
) -> QuietServer:
    return QuietServer(
        uvicorn.Config(
            health_app(registry, readiness),
            host=host,
            port=port,
            log_level="warning",
            lifespan="off",
        )
    )
