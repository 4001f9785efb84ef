"""InfluxDB's v1 HTTP API, the one every InfluxDB generation serves: write, query, errors."""

from influxv1.client import AsyncInfluxClient, InfluxClient, InfluxTarget, Series
from influxv1.errors import (
    BatchTooLarge,
    DatabaseNotFound,
    InfluxAuthError,
    InfluxBusy,
    InfluxError,
    InfluxUnavailable,
    PermanentError,
    QueryError,
    RetryableError,
    WriteRejected,
)

__all__ = [
    "AsyncInfluxClient",
    "BatchTooLarge",
    "DatabaseNotFound",
    "InfluxAuthError",
    "InfluxBusy",
    "InfluxClient",
    "InfluxError",
    "InfluxTarget",
    "InfluxUnavailable",
    "PermanentError",
    "QueryError",
    "RetryableError",
    "Series",
    "WriteRejected",
]
