"""People in the registry."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.core.scope import Scope
from api.core.security import hash_password, needs_rehash, verify_password
from api.models.tables import User
from api.models.users import UserCreate, UserUpdate


def by_username(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = by_username(session, username)
    if not verify_password(user.password_hash if user else None, password):
        return None
    assert user is not None  # verify_password is False for a missing user
    if not user.active:
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.commit()
    return user


def create(session: Session, data: UserCreate) -> User:
    user = User(
        username=data.username,
        display_name=data.display_name,
        password_hash=hash_password(data.password),
        role=data.role.value,
        level=data.level.value,
        township=data.township,
        village=data.village,
        phone=data.phone,
        email=data.email,
        dingtalk_webhook=data.dingtalk_webhook,
        dingtalk_secret=data.dingtalk_secret.get_secret_value() if data.dingtalk_secret else None,
        wecom_webhook=data.wecom_webhook,
    )
    session.add(user)
    session.commit()
    return user


def get_in_scope(session: Session, scope: Scope, user_id: int) -> User | None:
    user = session.get(User, user_id)
    if user is None or not scope.covers(Scope.of(user.township, user.village)):
        return None
    return user


def list_in_scope(
    session: Session, scope: Scope, limit: int, offset: int
) -> tuple[list[User], int]:
    # NULL never equals an id, so a township scope leaves out district-level people.
    conditions = scope.sql_conditions(User.township, User.village)
    total = session.scalar(select(func.count()).select_from(User).where(*conditions)) or 0
    rows = session.scalars(
        select(User).where(*conditions).order_by(User.id).limit(limit).offset(offset)
    )
    return list(rows), total


def update(session: Session, user: User, data: UserUpdate) -> User:
    if data.display_name is not None:
        user.display_name = data.display_name
    if data.role is not None:
        user.role = data.role.value
    # Contacts: a field sent as null clears it; a field left out keeps it.
    for name in ("phone", "email", "dingtalk_webhook", "wecom_webhook"):
        if name in data.model_fields_set:
            setattr(user, name, getattr(data, name))
    if "dingtalk_secret" in data.model_fields_set:
        user.dingtalk_secret = (
            data.dingtalk_secret.get_secret_value() if data.dingtalk_secret else None
        )
    if data.password is not None:
        user.password_hash = hash_password(data.password)
        user.token_version += 1
    if data.active is not None and data.active != user.active:
        user.active = data.active
        user.token_version += 1
    session.commit()
    return user
