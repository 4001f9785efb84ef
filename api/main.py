"""The application factory; ``uvicorn api.main:app`` serves it.

Layers: ``routes`` (HTTP) → ``crud`` (database operations) → ``models`` (tables and the
request/response models) → ``core`` (settings, database, security, scope). Reading queries live
in ``readings``, the broker's password/ACL files and the PKI in ``mqtt``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm.exc import StaleDataError

from api.console.feed import IncidentFeed
from api.core.bodylimit import BodySizeLimit
from api.core.clock import Clock, OffsetClock, SystemClock
from api.core.config import Settings, get_settings
from api.core.db import Database
from api.core.ratelimit import RateLimiter
from api.crud.devices import RegistryError
from api.incidents.context import IncidentContext
from api.incidents.scheduler import Scheduler
from api.mqtt.brokerfiles import BrokerFiles
from api.mqtt.pki import PkiError
from api.notify import NotificationWorker
from api.readings.store import ReadingsStore
from api.routes import (
    alerts,
    apikeys,
    areas,
    auth,
    console,
    devclock,
    devices,
    duty,
    gateways,
    health,
    incidents,
    kpis,
    notifications,
    readings,
    silences,
    stream,
    users,
)
from city.rules import default_rules, load_rules
from city.topology import default_city, load_city
from influxv1 import InfluxClient, InfluxTarget, PermanentError, RetryableError

log = logging.getLogger(__name__)

DESCRIPTION = """\
The Tianqu New District (德州天衢新区) city cockpit: devices, readings and the 三级机长制
duty-captain system: alerts become incidents routed by grade and area to the captain on duty,
escalate up the levels while unacknowledged, and go through the closed loop
发现→立案→派遣→处置→反馈→核查→结案. Every caller holds one area — the district (新区), a
township/street (乡镇/街道) or a village/community (村/居) — and sees only that area: objects
elsewhere answer 404, lists never include them. Log in at `/auth/login` (people) or send
`X-API-Key` (machines).
"""


def _influx_target(settings: Settings) -> InfluxTarget:
    return InfluxTarget(
        settings.influx_url,
        settings.influx_database,
        username=settings.influx_username,
        password=settings.influx_password.get_secret_value() if settings.influx_password else None,
        token=settings.influx_token.get_secret_value() if settings.influx_token else None,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    if not settings.secret_key.get_secret_value():
        log.warning("TIANQU_API_SECRET_KEY is empty: tokens are signed with a per-process key")
    database = Database(settings.resolved_database_url)
    influx = InfluxClient(_influx_target(settings), timeout=settings.influx_timeout_s)
    city = load_city(settings.city_file) if settings.city_file else default_city()
    # The movable clock exists only in development; production runs on the system clock.
    clock: Clock = OffsetClock(database.sessions) if settings.development else SystemClock()
    incident_ctx = IncidentContext(
        clock=clock,
        rules=load_rules(settings.rules_file) if settings.rules_file else default_rules(),
        city=city,
        instance=settings.instance_name or f"{socket.gethostname()}:{os.getpid()}",
        notify=settings.notify,
        public_url=settings.public_url,
    )
    # Its own InfluxDB client with a short timeout: a slow InfluxDB delays only the outbox.
    scheduler_influx = InfluxClient(_influx_target(settings), timeout=5.0)
    scheduler = Scheduler(
        database.sessions,
        incident_ctx,
        scheduler_influx,
        interval_s=settings.scheduler_interval_s,
        lease_s=settings.timer_lease_s,
        kpi_every_s=settings.kpi_every_s,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database.init()
        task, worker = None, None
        if settings.background_enabled:
            task = asyncio.create_task(scheduler.run(), name="incident scheduler")
            worker = NotificationWorker.from_app_state(app.state)
            worker.start()
        yield
        if worker is not None:
            await worker.stop()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        scheduler_influx.close()
        influx.close()
        database.close()

    app = FastAPI(
        title="Tianqu City Cockpit API",
        version="0.2.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.city = city
    app.state.incidents = incident_ctx
    app.state.scheduler = scheduler
    app.state.readings = ReadingsStore(influx)
    app.state.incident_feed = IncidentFeed(database.sessions, incident_ctx.rules)
    app.state.limiter = RateLimiter(settings.rate_limit, settings.login_rate_limit)
    app.state.broker_files = BrokerFiles(
        settings.mqtt_password_file,
        settings.mqtt_acl_file,
        settings.mqtt_reload_pid_file,
        settings.mqtt_reload_command,
    )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    _add_error_handlers(app)
    # stream before incidents: /incidents/stream must not be read as /incidents/{incident_id}
    for module in (health, auth, areas, users, apikeys, devices, gateways, readings, alerts,
                   stream, incidents, duty, silences, kpis, notifications, console):  # fmt: skip
        app.include_router(module.router)
    if settings.development:  # outside development the clock routes do not exist: 404
        app.include_router(devclock.router)
    return app


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RegistryError)
    async def registry_error(_: Request, exc: RegistryError) -> JSONResponse:
        return JSONResponse(
            {"detail": [p.as_error() for p in exc.problems]}, status_code=exc.status
        )

    @app.exception_handler(PkiError)
    async def pki_error(_: Request, exc: PkiError) -> JSONResponse:
        detail = [{"loc": ["body", "csr_pem"], "msg": str(exc), "type": "value_error"}]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(StaleDataError)
    async def changed_meanwhile(_: Request, exc: StaleDataError) -> JSONResponse:
        return JSONResponse(
            {"detail": "it changed meanwhile (another captain, or its escalation); reload it "
                       "and try again"},
            status_code=409,
        )  # fmt: skip

    @app.exception_handler(RetryableError)
    async def influx_unavailable(_: Request, exc: RetryableError) -> JSONResponse:
        log.warning("InfluxDB unavailable: %s", exc)
        retry = str(max(1, round(exc.retry_after or 5)))
        return JSONResponse(
            {"detail": "the readings database is unavailable; try again shortly"},
            status_code=503,
            headers={"Retry-After": retry},
        )

    @app.exception_handler(PermanentError)
    async def influx_refused(_: Request, exc: PermanentError) -> JSONResponse:
        log.error("InfluxDB refused a query: %s", exc)
        return JSONResponse({"detail": "the readings database refused the query"}, status_code=502)


app = create_app()
