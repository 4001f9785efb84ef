"""Error answers that say what is wrong and where, in FastAPI's own 422 shape.

Custom checks (an area not in the roster, a time range too long) answer exactly like pydantic's
validation errors: ``{"detail": [{"loc": [...], "msg": "...", "type": "..."}]}``, so a client
handles one format. Objects outside the caller's area are "not found", the same answer as an
object that does not exist, so a 404 reveals nothing about other areas.
"""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import HTTPException, status
from fastapi.exceptions import RequestValidationError

T = TypeVar("T")


def invalid(
    loc: tuple[str | int, ...], msg: str, kind: str = "value_error"
) -> RequestValidationError:
    return RequestValidationError([{"loc": loc, "msg": msg, "type": kind}])


def invalid_many(errors: list[dict[str, Any]]) -> RequestValidationError:
    return RequestValidationError(errors)


def not_found(what: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"{what} not found")


def conflict(message: str) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, message)


def forbidden(message: str) -> HTTPException:
    return HTTPException(status.HTTP_403_FORBIDDEN, message)


def unavailable(message: str) -> HTTPException:
    return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, message)


def unauthorized(message: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"}
    )


def or_404(value: T | None, what: str) -> T:
    """``value``, or a 404 naming ``what``: scoped lookups return None for another area's
    objects exactly as for missing ones, so neither tells which."""
    if value is None:
        raise not_found(what)
    return value
