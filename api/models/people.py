"""A person as incident and roster answers show them: who, at which level, how to reach them."""

from __future__ import annotations

from api.models.common import ResponseModel
from api.models.tables import User


class PersonRef(ResponseModel):
    id: int
    username: str
    display_name: str
    level: str
    phone: str | None = None
    email: str | None = None

    @classmethod
    def of(cls, user: User | None) -> PersonRef | None:
        return None if user is None else cls.model_validate(user)
