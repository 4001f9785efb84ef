"""Signatures: our webhook's HMAC scheme and DingTalk's 加签, against independent computations."""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse

import pytest

from api.notify.channels.dingtalk import signed_url
from api.notify.signing import (
    dingtalk_sign,
    dingtalk_signature,
    verify_webhook,
    webhook_headers,
    webhook_signature,
)

SECRET = "tianqu-test-secret-0123456789abcdef"
BODY = '{"id":1,"title":"井下甲烷超标"}'.encode()


def test_webhook_signature_matches_openssl() -> None:
    # printf '1700000000.{"id":1,"title":"井下甲烷超标"}' | openssl dgst -sha256 -hmac "$SECRET"
    expected = "0b6008cadddc8a316c73e922806da4af289dc2184534ef1f5a0b47afbaa51517"
    assert webhook_signature(SECRET, 1_700_000_000, BODY) == f"sha256={expected}"


def test_headers_carry_the_timestamp_that_was_signed() -> None:
    headers = webhook_headers(SECRET, BODY, now=1_700_000_000.7)
    assert headers["X-Tianqu-Timestamp"] == "1700000000"
    assert headers["X-Tianqu-Signature"] == webhook_signature(SECRET, 1_700_000_000, BODY)


def test_a_receiver_accepts_a_fresh_genuine_request() -> None:
    headers = webhook_headers(SECRET, BODY, now=1_700_000_000)
    ts, sig = headers["X-Tianqu-Timestamp"], headers["X-Tianqu-Signature"]
    assert verify_webhook(SECRET, BODY, ts, sig, now=1_700_000_100)


@pytest.mark.parametrize(
    ("secret", "body", "now"),
    [
        ("another-secret-0123456789abcdef0123", BODY, 1_700_000_000),  # wrong key
        (SECRET, BODY + b" ", 1_700_000_000),  # body changed
        (SECRET, BODY, 1_700_000_301),  # replayed more than five minutes later
        (SECRET, BODY, 1_699_999_699),  # from the future
    ],
)
def test_a_receiver_refuses_forgeries_and_replays(secret: str, body: bytes, now: int) -> None:
    headers = webhook_headers(SECRET, BODY, now=1_700_000_000)
    ts, sig = headers["X-Tianqu-Timestamp"], headers["X-Tianqu-Signature"]
    assert not verify_webhook(secret, body, ts, sig, now=now)


def test_the_timestamp_is_part_of_what_is_signed() -> None:
    headers = webhook_headers(SECRET, BODY, now=1_700_000_000)
    sig = headers["X-Tianqu-Signature"]
    assert not verify_webhook(SECRET, BODY, "1700000060", sig, now=1_700_000_060)
    assert not verify_webhook(SECRET, BODY, None, sig)
    assert not verify_webhook(SECRET, BODY, "-1", sig)


def _dingtalk_documented(timestamp: str, secret: str) -> str:
    """The Python sample of DingTalk's custom-robot documentation (加签), line for line."""
    secret_enc = secret.encode("utf-8")
    string_to_sign = f"{timestamp}\n{secret}"
    string_to_sign_enc = string_to_sign.encode("utf-8")
    hmac_code = hmac.new(secret_enc, string_to_sign_enc, digestmod=hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(hmac_code))


@pytest.mark.parametrize(
    ("timestamp", "secret"),
    [
        (1577262236757, "SEC4f3a0b1c2d3e4f"),
        (1_700_000_000_123, "SEC" + "ab12" * 16),
        (1, "this is secret"),
    ],
)
def test_dingtalk_sign_follows_the_documented_algorithm(timestamp: int, secret: str) -> None:
    assert dingtalk_sign(secret, timestamp) == _dingtalk_documented(str(timestamp), secret)


def test_dingtalk_sign_matches_openssl() -> None:
    # printf '1577262236757\nSEC4f3a0b1c2d3e4f' | openssl dgst -sha256 -hmac SEC4f3a0b1c2d3e4f
    #   -binary | base64
    raw = "cwaRl2jwwLJ8gRULpoR7tat+yQMlsZxjdXcn4jpKQzs="
    assert dingtalk_signature("SEC4f3a0b1c2d3e4f", 1577262236757) == raw
    assert dingtalk_sign("SEC4f3a0b1c2d3e4f", 1577262236757) == urllib.parse.quote_plus(raw)


def test_the_signed_robot_url_carries_timestamp_and_sign_encoded_once() -> None:
    webhook = "https://oapi.dingtalk.com/robot/send?access_token=abc123"
    url = signed_url(webhook, "SEC4f3a0b1c2d3e4f", now_ms=1577262236757)
    assert str(url).startswith(webhook + "&timestamp=1577262236757&sign=")
    # What DingTalk's server sees after decoding the query: the raw Base64.
    query = urllib.parse.parse_qs(url.query.decode())
    assert query["sign"] == [dingtalk_signature("SEC4f3a0b1c2d3e4f", 1577262236757)]
    assert query["access_token"] == ["abc123"]
    assert str(url).split("sign=")[1] == dingtalk_sign("SEC4f3a0b1c2d3e4f", 1577262236757)


def test_an_unsigned_robot_url_is_left_alone() -> None:
    webhook = "https://oapi.dingtalk.com/robot/send?access_token=abc123"
    assert str(signed_url(webhook, None)) == webhook
