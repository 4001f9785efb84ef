"""Login answers."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from api.models.common import ResponseModel


class Token(ResponseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - OAuth2 token type, not a secret
    expires_at: datetime
