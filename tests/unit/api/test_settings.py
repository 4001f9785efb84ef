"""Outside development the API refuses to start with a guessable secret."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from api.core.config import Settings


@pytest.mark.parametrize("secret", ["", "changeme", "secret", "CHANGEME", "short-but-random-1234"])
def test_production_refuses_placeholder_secrets(secret: str) -> None:
    with pytest.raises(ValidationError, match="TIANQU_API_SECRET_KEY"):
        Settings(environment="production", secret_key=secret)


def test_production_takes_a_real_secret() -> None:
    settings = Settings(environment="production", secret_key="x7" * 24)
    assert settings.signing_key() == "x7" * 24


def test_development_signs_with_a_process_key_when_none_is_set() -> None:
    settings = Settings(secret_key="")
    assert len(settings.signing_key()) >= 32
    assert settings.signing_key() == Settings().signing_key()


def test_the_environment_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIANQU_API_HISTORY_MAX_POINTS", "123")
    assert Settings().history_max_points == 123
    monkeypatch.setenv("TIANQU_API_HISTORY_MAX_POINTS", "5")
    with pytest.raises(ValidationError, match="history_max_points"):
        Settings()
