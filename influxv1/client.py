"""A small client for InfluxDB's v1 HTTP API (``/write``, ``/query``, ``/ping``).

That API is the one InfluxDB 1.x, 2.x (v1 compatibility) and 3.x all serve, so the platform runs
on any of them; ``influxdb-client`` speaks only the v2 API, which the Debian 1.6 lacks. Auth is
HTTP Basic (1.x users; 2.x v1 authorisations; 3.x any user with the token as password) or
``Authorization: Token`` (2.x/3.x). Responses are classified in :mod:`influxv1.errors`.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
import orjson

from influxv1.errors import (
    BatchTooLarge,
    DatabaseNotFound,
    InfluxAuthError,
    InfluxBusy,
    InfluxError,
    InfluxUnavailable,
    QueryError,
    WriteRejected,
)
from influxv1.influxql import quote_ident

Precision = Literal["ns", "u", "ms", "s"]


@dataclass(frozen=True, slots=True)
class InfluxTarget:
    url: str
    database: str
    username: str | None = None
    password: str | None = None
    token: str | None = None
    retention_policy: str | None = None

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.token}"} if self.token else {}

    def auth(self) -> tuple[str, str] | None:
        if self.username is not None and not self.token:
            return (self.username, self.password or "")
        return None

    def write_params(self, precision: Precision) -> dict[str, str]:
        params = {"db": self.database, "precision": precision}
        if self.retention_policy:
            params["rp"] = self.retention_policy
        return params


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    columns: list[str]
    values: list[list[Any]]
    tags: dict[str, str] = field(default_factory=dict)

    def rows(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.values]


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("Retry-After")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(raw) if raw else None
        return None if parsed is None else max(0.0, parsed.timestamp() - time.time())


def _error_text(response: httpx.Response) -> str:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return response.text[:2000]
    if isinstance(body, dict):
        return str(body.get("error") or body.get("message") or body)[:2000]
    return str(body)[:2000]


def check_write(response: httpx.Response) -> None:
    """Raise the classified error for a non-2xx ``/write`` answer."""
    status = response.status_code
    if status < 300:
        return
    text = _error_text(response)
    if status in (429, 503) or status >= 500:
        raise InfluxBusy(
            f"InfluxDB answered {status}: {text}", status=status, retry_after=_retry_after(response)
        )
    if status == 404 or "database not found" in text:
        raise DatabaseNotFound(text, status=status)
    if status in (401, 403):
        raise InfluxAuthError(f"InfluxDB refused the credentials ({status}): {text}", status=status)
    if status == 413:
        raise BatchTooLarge(text, status=status)
    if status in (400, 422):
        raise WriteRejected(text, status=status, partial=text.startswith("partial write"))
    raise InfluxBusy(
        f"unexpected InfluxDB answer {status}: {text}", status=status, retry_after=None
    )


def parse_query(response: httpx.Response) -> list[list[Series]]:
    """Statement results as lists of series; raise on an HTTP or statement error."""
    if response.status_code in (401, 403):
        raise InfluxAuthError(_error_text(response), status=response.status_code)
    if response.status_code in (429, 503) or response.status_code >= 500:
        raise InfluxBusy(
            _error_text(response), status=response.status_code, retry_after=_retry_after(response)
        )
    if response.status_code != 200:
        raise QueryError(_error_text(response), status=response.status_code)
    body = orjson.loads(response.content)
    if "error" in body:
        raise QueryError(str(body["error"]), status=200)
    statements: list[list[Series]] = []
    for result in body.get("results", []):
        if "error" in result:
            raise QueryError(str(result["error"]), status=200)
        statements.append(
            [
                Series(s.get("name", ""), s["columns"], s.get("values", []), s.get("tags") or {})
                for s in result.get("series", [])
            ]
        )
    return statements


def _query_params(
    target: InfluxTarget, q: str, params: Mapping[str, Any] | None, epoch: Precision | None
) -> dict[str, str]:
    data = {"db": target.database, "q": q}
    if epoch:
        data["epoch"] = epoch
    if params:
        data["params"] = orjson.dumps(dict(params)).decode()
    return data


class AsyncInfluxClient:
    def __init__(
        self,
        target: InfluxTarget,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.target = target
        self._http = httpx.AsyncClient(
            base_url=target.url,
            headers=target.headers(),
            auth=target.auth(),
            timeout=timeout,
            transport=transport,
        )

    async def write(self, body: bytes, precision: Precision = "ms") -> None:
        try:
            response = await self._http.post(
                "/write", params=self.target.write_params(precision), content=body
            )
        except httpx.TransportError as exc:
            raise InfluxUnavailable(f"InfluxDB unreachable: {exc!r}") from exc
        check_write(response)

    async def query(
        self, q: str, params: Mapping[str, Any] | None = None, epoch: Precision | None = "ms"
    ) -> list[list[Series]]:
        try:
            response = await self._http.post(
                "/query", data=_query_params(self.target, q, params, epoch)
            )
        except httpx.TransportError as exc:
            raise InfluxUnavailable(f"InfluxDB unreachable: {exc!r}") from exc
        return parse_query(response)

    async def ping(self) -> bool:
        try:
            return (await self._http.get("/ping")).status_code == 204
        except httpx.TransportError:
            return False

    async def create_database(self) -> None:
        await self.query(f"CREATE DATABASE {quote_ident(self.target.database)}", epoch=None)

    async def aclose(self) -> None:
        await self._http.aclose()


class InfluxClient:
    """The same calls, blocking: for tools, tests and the local platform's supervisor."""

    def __init__(self, target: InfluxTarget, *, timeout: float = 10.0) -> None:
        self.target = target
        self._http = httpx.Client(
            base_url=target.url, headers=target.headers(), auth=target.auth(), timeout=timeout
        )

    def write(self, body: bytes, precision: Precision = "ms") -> None:
        try:
            response = self._http.post(
                "/write", params=self.target.write_params(precision), content=body
            )
        except httpx.TransportError as exc:
            raise InfluxUnavailable(f"InfluxDB unreachable: {exc!r}") from exc
        check_write(response)

    def query(
        self, q: str, params: Mapping[str, Any] | None = None, epoch: Precision | None = "ms"
    ) -> list[list[Series]]:
        try:
            response = self._http.post("/query", data=_query_params(self.target, q, params, epoch))
        except httpx.TransportError as exc:
            raise InfluxUnavailable(f"InfluxDB unreachable: {exc!r}") from exc
        return parse_query(response)

    def rows(self, q: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """All rows of the first statement, series flattened, tags merged in."""
        out: list[dict[str, Any]] = []
        for series in self.query(q, params)[0]:
            out.extend({**series.tags, **row} for row in series.rows())
        return out

    def create_database(self) -> None:
        self.query(f"CREATE DATABASE {quote_ident(self.target.database)}", epoch=None)

    def close(self) -> None:
        self._http.close()


__all__ = ["AsyncInfluxClient", "InfluxClient", "InfluxError", "InfluxTarget", "Series"]
