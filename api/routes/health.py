"""Liveness and readiness: public, no data."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from api.core.db import Database
from api.readings.store import ReadingsStore
from influxv1 import InfluxError

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request, response: Response) -> dict[str, str]:
    """The database and InfluxDB answer; 503 names what does not."""
    database: Database = request.app.state.database
    readings: ReadingsStore = request.app.state.readings
    checks = {"database": "ok" if database.ping() else "unavailable"}
    try:
        readings.client.query("SHOW DATABASES", epoch=None)
        checks["influxdb"] = "ok"
    except InfluxError:
        checks["influxdb"] = "unavailable"
    if any(v != "ok" for v in checks.values()):
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return {"status": "ok" if response.status_code != 503 else "unavailable", **checks}
