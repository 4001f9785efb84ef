"""mosquitto 2.0 password-file hashes (``$7$``), made in Python exactly as ``mosquitto_passwd``.

Format: ``$7$<iterations>$<base64 salt>$<base64 hash>`` with PBKDF2-HMAC-SHA512, a 12-byte salt,
a 64-byte derived key and 101 iterations (mosquitto_passwd's default). Machine passwords here
are 144 random bits, so more iterations would add CPU to every device's CONNECT and nothing to
safety. Checked against the real broker in tests/integration/api/test_mqtt_acl.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

ITERATIONS = 101
SALT_BYTES = 12
_DKLEN = 64


def mosquitto_hash(
    password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS
) -> str:
    if not password or any(c in password for c in "\n\r\0"):
        raise ValueError("an MQTT password must be non-empty and on one line")
    salt = salt if salt is not None else os.urandom(SALT_BYTES)
    derived = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, _DKLEN)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(derived).decode()}"


def mosquitto_verify(stored: str, password: str) -> bool:
    try:
        _, version, iterations, salt, derived = stored.split("$")
        if version != "7":
            return False
        expected = base64.b64decode(derived)
        actual = hashlib.pbkdf2_hmac(
            "sha512", password.encode(), base64.b64decode(salt), int(iterations), len(expected)
        )
    except ValueError:
        return False
    return hmac.compare_digest(expected, actual)
