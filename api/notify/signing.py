"""Signatures: the generic webhook's (ours) and DingTalk's robot 加签 (theirs).

**Generic webhook.** Each request carries::

    X-Tianqu-Timestamp: <unix seconds>
    X-Tianqu-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>

The receiver recomputes the HMAC over the timestamp, a dot and the raw body bytes exactly as
received, compares in constant time, and refuses a timestamp more than five minutes from its
clock (so a captured request cannot be replayed later); ``X-Tianqu-Delivery`` (the delivery id)
lets it drop a retried copy it already handled. :func:`verify_webhook` does all of that.

**DingTalk 加签.** ``string_to_sign = timestamp_ms + "\\n" + secret``, HMAC-SHA256 keyed with
the secret, Base64, then URL-encoded; ``timestamp`` and ``sign`` go into the robot URL's query.
DingTalk refuses a timestamp more than an hour off.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import urllib.parse

SIGNATURE_HEADER = "X-Tianqu-Signature"
TIMESTAMP_HEADER = "X-Tianqu-Timestamp"
DELIVERY_HEADER = "X-Tianqu-Delivery"
EVENT_HEADER = "X-Tianqu-Event"
DEFAULT_TOLERANCE_S = 300


def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=<hex>`` over ``b"<timestamp>." + body``."""
    message = str(timestamp).encode("ascii") + b"." + body
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def webhook_headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = int(time.time() if now is None else now)
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: webhook_signature(secret, timestamp, body),
    }


def verify_webhook(
    secret: str,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    *,
    now: float | None = None,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> bool:
    """What a receiver runs: the signature matches and the timestamp is fresh."""
    if not timestamp or not signature or not timestamp.isdigit():
        return False
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > tolerance_s:
        return False
    expected = webhook_signature(secret, int(timestamp), body)
    return hmac.compare_digest(expected.encode(), signature.encode())


def dingtalk_signature(secret: str, timestamp_ms: int) -> str:
    """The Base64 HMAC (before URL encoding; an HTTP client encodes it once as a parameter)."""
    string_to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode("utf-8"), string_to_sign, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """The ``sign`` query value exactly as DingTalk's documentation builds it (URL-encoded)."""
    return urllib.parse.quote_plus(dingtalk_signature(secret, timestamp_ms))
