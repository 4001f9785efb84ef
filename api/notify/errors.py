"""Delivery errors, classified once, the way ``influxv1/errors.py`` classifies InfluxDB's.

::

    DeliveryError              a send did not go through; ``detail`` is stored with the attempt
    ├── RetryableError         try again later: network errors, timeouts, 408/425/429/5xx,
    │                          a robot's rate limit; ``retry_after`` when the receiver said when
    └── PermanentError         trying again cannot help: other 4xx, a refused signature, a
                               robot URL outside the allowed prefixes, a bad address
"""

from __future__ import annotations

import email.utils
import time
from datetime import UTC

import httpx

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
MAX_DETAIL = 2000


class DeliveryError(Exception):
    retryable = False

    def __init__(
        self, detail: str, *, status_code: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(detail[:MAX_DETAIL])
        self.detail = detail[:MAX_DETAIL]
        self.status_code = status_code
        self.retry_after = retry_after


class RetryableError(DeliveryError):
    retryable = True


class PermanentError(DeliveryError):
    retryable = False


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds or an HTTP date; None if unusable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def check_response(response: httpx.Response) -> None:
    """Raise the right DeliveryError for a non-2xx answer."""
    if response.is_success:
        return
    body = response.text[:300].strip()
    detail = f"HTTP {response.status_code}" + (f": {body}" if body else "")
    if response.status_code in RETRYABLE_STATUS:
        raise RetryableError(
            detail,
            status_code=response.status_code,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
    raise PermanentError(detail, status_code=response.status_code)


def from_transport(exc: httpx.HTTPError) -> RetryableError:
    """A network-level failure (connect, read, timeout): always worth another try."""
    return RetryableError(f"{type(exc).__name__}: {exc}".rstrip(": "))
