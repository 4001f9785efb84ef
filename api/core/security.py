"""Passwords (Argon2id), access tokens (JWT, HS256) and API keys.

People's passwords are low-entropy, so they get a memory-hard hash. API keys are 256 random bits
and are checked on every request, so a fast SHA-256 of the secret part is as safe and costs
microseconds instead of tens of milliseconds.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Verifying against this when the user does not exist takes as long as a real check, so the
# answer time does not reveal which usernames exist.
_DUMMY_HASH = _hasher.hash("no such user: constant-time padding")

ALGORITHM = "HS256"
API_KEY_PREFIX = "tqk_"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


class TokenError(ValueError):
    """The token is expired, malformed or wrongly signed; the message says which."""


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: int
    version: int
    expires_at: datetime


def issue_token(
    user_id: int, version: int, *, key: str, ttl_s: int, issuer: str, now: datetime | None = None
) -> tuple[str, datetime]:
    issued = now or datetime.now(UTC)
    expires = issued + timedelta(seconds=ttl_s)
    claims = {
        "sub": str(user_id),
        "ver": version,
        "iat": int(issued.timestamp()),
        "exp": int(expires.timestamp()),
        "iss": issuer,
        "typ": "access",
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM), expires


def read_token(token: str, *, key: str, issuer: str) -> TokenClaims:
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],  # pinned: never let the token choose "none" or RS/HS confusion
            issuer=issuer,
            options={"require": ["sub", "exp", "iat", "iss", "ver"]},
        )
    except jwt.ExpiredSignatureError:
        raise TokenError("the token has expired") from None
    except jwt.InvalidSignatureError:
        raise TokenError("the token's signature is not valid") from None
    except jwt.PyJWTError as exc:
        raise TokenError(f"the token is not valid: {exc}") from None
    try:
        user_id, version = int(claims["sub"]), int(claims["ver"])
    except (TypeError, ValueError):
        raise TokenError("the token's subject is not valid") from None
    if claims.get("typ") != "access":
        raise TokenError("not an access token")
    return TokenClaims(user_id, version, datetime.fromtimestamp(claims["exp"], UTC))


@dataclass(frozen=True, slots=True)
class NewApiKey:
    prefix: str  # public, stored in clear: finds the row
    secret: str  # shown once
    secret_hash: str

    @property
    def token(self) -> str:
        return f"{API_KEY_PREFIX}{self.prefix}_{self.secret}"


def new_api_key() -> NewApiKey:
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return NewApiKey(prefix, secret, hash_api_secret(secret))


def hash_api_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_api_key(token: str) -> tuple[str, str] | None:
    """``tqk_<prefix>_<secret>`` → (prefix, secret); None when it is not shaped like a key."""
    if not token.startswith(API_KEY_PREFIX):
        return None
    prefix, sep, secret = token[len(API_KEY_PREFIX) :].partition("_")
    if not sep or len(prefix) != 12 or not secret or len(secret) > 128:
        return None
    return prefix, secret


def api_secret_matches(secret: str, secret_hash: str) -> bool:
    return hmac.compare_digest(hash_api_secret(secret), secret_hash)


def random_password(nbytes: int = 18) -> str:
    """A random password for a machine (device, gateway, service): URL-safe, no ':' or spaces."""
    return secrets.token_urlsafe(nbytes)
