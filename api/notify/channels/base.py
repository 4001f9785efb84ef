"""The one shape every channel has, and the HTTP plumbing the HTTP channels share.

A channel turns a :class:`~api.notify.outbox.Delivery` into one send: it returns when the
receiver accepted it and raises a :class:`~api.notify.errors.DeliveryError` otherwise. It does
not retry, time out or count: the worker does that for all channels alike.
"""

from __future__ import annotations

from typing import Any, Protocol

import httpx
import orjson

from api.notify.errors import PermanentError, RetryableError, check_response, from_transport
from api.notify.models import ChannelName
from api.notify.outbox import Delivery

USER_AGENT = "tianqu-api-notify/1"


class Channel(Protocol):
    name: ChannelName

    async def send(self, delivery: Delivery) -> None: ...

    async def aclose(self) -> None: ...


class HttpChannel:
    """A channel that POSTs JSON; each has its own connection pool, so one hanging receiver
    cannot use up the connections another channel needs."""

    name: ChannelName

    def __init__(self, *, timeout_s: float, concurrency: int) -> None:
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s),
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            headers={"User-Agent": USER_AGENT},
            follow_redirects=False,
        )

    async def post_json(
        self, url: str | httpx.URL, body: Any, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        content = body if isinstance(body, bytes) else orjson.dumps(body)
        try:
            response = await self.client.post(
                url,
                content=content,
                headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
            )
        except httpx.HTTPError as exc:
            raise from_transport(exc) from exc
        check_response(response)
        return response

    async def aclose(self) -> None:
        await self.client.aclose()


def check_robot_answer(
    response: httpx.Response,
    vendor: str,
    *,
    permanent: frozenset[int],
    rate_limited: frozenset[int],
    rate_limit_wait_s: float = 60.0,
) -> None:
    """DingTalk and WeCom answer HTTP 200 with ``{"errcode": 0, "errmsg": "ok"}``; anything else
    in ``errcode`` is a failure. Codes known to be configuration errors (a wrong signature,
    an unknown robot) are permanent; rate limits wait a minute (both allow 20 messages a
    minute per robot); unknown codes are retried, since losing an incident message is worse
    than a few extra tries."""
    try:
        answer = response.json()
    except ValueError:
        raise RetryableError(
            f"{vendor} answered {response.status_code} with no JSON: {response.text[:200]}"
        ) from None
    code = answer.get("errcode") if isinstance(answer, dict) else None
    if code == 0:
        return
    if not isinstance(code, int):
        raise RetryableError(f"{vendor} answered without an errcode: {str(answer)[:200]}")
    message = str(answer.get("errmsg", ""))[:500]
    detail = f"{vendor} errcode {code}: {message}"
    if code in permanent:
        raise PermanentError(detail, status_code=code)
    retry_after = rate_limit_wait_s if code in rate_limited else None
    raise RetryableError(detail, status_code=code, retry_after=retry_after)
