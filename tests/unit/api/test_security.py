"""Tokens, API keys and people's password hashes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api.core.security import (
    TokenError,
    api_secret_matches,
    hash_password,
    issue_token,
    new_api_key,
    read_token,
    split_api_key,
    verify_password,
)

KEY = "k" * 48


def test_token_round_trip() -> None:
    token, expires = issue_token(7, 3, key=KEY, ttl_s=60, issuer="tianqu-api")
    claims = read_token(token, key=KEY, issuer="tianqu-api")
    assert (claims.user_id, claims.version) == (7, 3)
    assert claims.expires_at == expires.replace(microsecond=0)


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda: issue_token(1, 0, key=KEY, ttl_s=60, issuer="i",
                             now=datetime.now(UTC) - timedelta(hours=2))[0], "expired"),
        (lambda: issue_token(1, 0, key="other" * 10, ttl_s=60, issuer="i")[0], "signature"),
        (lambda: issue_token(1, 0, key=KEY, ttl_s=60, issuer="someone")[0], "not valid"),
        (lambda: "a.b.c", "not valid"),
    ],
)  # fmt: skip
def test_bad_tokens_say_why(make: object, words: str) -> None:
    assert callable(make)
    with pytest.raises(TokenError, match=words):
        read_token(make(), key=KEY, issuer="i")


def test_api_keys_split_and_match() -> None:
    made = new_api_key()
    prefix, secret = split_api_key(made.token) or ("", "")
    assert prefix == made.prefix and api_secret_matches(secret, made.secret_hash)
    assert not api_secret_matches(secret + "x", made.secret_hash)
    for bad in ("tqk_short_x", "bearer-token", "tqk_abcdefabcdef", "tqk_abcdefabcdef_"):
        assert split_api_key(bad) is None


def test_passwords_use_argon2id() -> None:
    hashed = hash_password("correct horse")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "correct horse")
    assert not verify_password(hashed, "correct horse!")
    assert not verify_password(None, "anything")
    assert not verify_password("not a hash", "anything")
