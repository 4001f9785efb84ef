"""Every way an InfluxDB v1-API call can fail, classified once, here.

::

    InfluxError
    ├── RetryableError          try the same request again later (backoff with jitter)
    │   ├── InfluxUnavailable   connection refused/reset, timeout, DNS: the server is not there
    │   └── InfluxBusy          5xx, 429, 503; ``retry_after`` holds the server's Retry-After
    └── PermanentError          the same request will fail the same way: do not retry it
        ├── WriteRejected       400/422: some or all lines are bad; ``partial`` says whether
        │                       InfluxDB wrote the others (1.x "partial write") or none
        ├── BatchTooLarge       413: split the batch and send the halves
        ├── DatabaseNotFound    404 / "database not found": create it when configured to
        ├── InfluxAuthError     401/403: the credentials or token are wrong
        └── QueryError          the query itself is wrong (1.x reports it inside a 200)

Callers catch ``RetryableError`` to retry and ``PermanentError`` to route the failure (dead-letter
the rejected lines, split, create the database); nothing else escapes this package.
"""

from __future__ import annotations


class InfluxError(Exception):
    def __init__(self, message: str, *, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


class RetryableError(InfluxError):
    retry_after: float | None = None


class InfluxUnavailable(RetryableError):
    pass


class InfluxBusy(RetryableError):
    def __init__(self, message: str, *, status: int, retry_after: float | None) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class PermanentError(InfluxError):
    pass


class WriteRejected(PermanentError):
    def __init__(self, message: str, *, status: int, partial: bool) -> None:
        super().__init__(message, status=status)
        self.partial = partial


class BatchTooLarge(PermanentError):
    pass


class DatabaseNotFound(PermanentError):
    pass


class InfluxAuthError(PermanentError):
    pass


class QueryError(PermanentError):
    pass
