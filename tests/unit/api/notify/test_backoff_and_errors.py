"""Backoff with jitter, Retry-After, and the one place errors are classified."""

from __future__ import annotations

import random
from email.utils import formatdate

import httpx
import pytest

from api.notify.backoff import retry_delay
from api.notify.channels.base import check_robot_answer
from api.notify.errors import PermanentError, RetryableError, check_response, parse_retry_after


def test_delays_double_within_their_jitter_window_up_to_the_cap() -> None:
    rng = random.Random(7)
    for attempt in range(1, 12):
        nominal = min(60.0, 2.0 * 2 ** (attempt - 1))
        for _ in range(50):
            delay = retry_delay(attempt, base_s=2.0, max_s=60.0, rng=rng)
            assert nominal * 0.5 <= delay <= nominal


def test_jitter_spreads_retries() -> None:
    rng = random.Random(1)
    delays = {round(retry_delay(3, base_s=2.0, max_s=60.0, rng=rng), 6) for _ in range(20)}
    assert len(delays) > 10


def test_retry_after_is_never_undercut_but_is_capped() -> None:
    assert retry_delay(1, base_s=0.1, max_s=60, retry_after_s=30) == 30
    assert retry_delay(1, base_s=0.1, max_s=60, retry_after_s=10**9, retry_after_max_s=600) == 600
    # Our own backoff already waits longer than asked: keep it.
    assert retry_delay(8, base_s=10, max_s=900, retry_after_s=1) >= 450


def test_attempts_start_at_one() -> None:
    with pytest.raises(ValueError, match="start at 1"):
        retry_delay(0, base_s=1, max_s=1)


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert parse_retry_after("120") == 120
    assert parse_retry_after(formatdate(1_700_000_090, usegmt=True), now=1_700_000_000) == 90
    assert parse_retry_after(formatdate(1_600_000_000, usegmt=True), now=1_700_000_000) == 0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def _response(
    status: int, headers: dict[str, str] | None = None, json: object = None
) -> httpx.Response:
    request = httpx.Request("POST", "https://receiver.example/hook")
    if json is not None:
        return httpx.Response(status, json=json, headers=headers, request=request)
    return httpx.Response(status, text="nope", headers=headers, request=request)


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 503, 504])
def test_server_trouble_is_retried(status: int) -> None:
    with pytest.raises(RetryableError) as caught:
        check_response(_response(status, {"Retry-After": "7"}))
    assert caught.value.status_code == status
    assert caught.value.retry_after == 7
    assert "nope" in caught.value.detail


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 413, 422])
def test_client_errors_are_permanent(status: int) -> None:
    with pytest.raises(PermanentError):
        check_response(_response(status))


def test_success_passes() -> None:
    check_response(_response(204))


PERMANENT, RATE_LIMITED = frozenset({310000}), frozenset({130101})


def check(response: httpx.Response, vendor: str = "DingTalk") -> None:
    check_robot_answer(response, vendor, permanent=PERMANENT, rate_limited=RATE_LIMITED)


def test_a_robot_ok_passes() -> None:
    check(_response(200, json={"errcode": 0, "errmsg": "ok"}))


def test_a_refused_signature_is_permanent() -> None:
    answer = {"errcode": 310000, "errmsg": "sign not match"}
    with pytest.raises(PermanentError, match="310000: sign not match"):
        check(_response(200, json=answer))


def test_a_robot_rate_limit_waits_a_minute() -> None:
    answer = {"errcode": 130101, "errmsg": "send too fast"}
    with pytest.raises(RetryableError) as caught:
        check(_response(200, json=answer))
    assert caught.value.retry_after == 60


@pytest.mark.parametrize("answer", [{"errcode": -1, "errmsg": "系统繁忙"}, {"ok": True}, None])
def test_unknown_robot_answers_are_retried(answer: object) -> None:
    with pytest.raises(RetryableError):
        check(_response(200, json=answer), "WeCom")
