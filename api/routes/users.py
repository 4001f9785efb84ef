"""People: an administrator manages those inside its own area."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from api.core.deps import AccessAdmin, CityDep, CurrentScope, SessionDep
from api.core.errors import conflict, forbidden, or_404
from api.core.roster import check_area
from api.crud import users
from api.models.common import Limit, Offset, Page
from api.models.users import UserCreate, UserPublic, UserUpdate

router = APIRouter(prefix="/users", tags=["users"])

UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("")
def list_users(
    *,
    admin: AccessAdmin,
    scope: CurrentScope,
    session: SessionDep,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[UserPublic]:
    rows, total = users.list_in_scope(session, scope, limit, offset)
    return Page(
        items=[UserPublic.model_validate(u) for u in rows], total=total, limit=limit, offset=offset
    )


@router.post("", status_code=status.HTTP_201_CREATED)
def create_user(
    *, data: UserCreate, admin: AccessAdmin, scope: CurrentScope, session: SessionDep, city: CityDep
) -> UserPublic:
    check_area(city, data.township, data.village, ("body",))
    if not scope.covers(data.scope):
        raise forbidden(f"you can only create people inside your area ({scope.describe()})")
    if users.by_username(session, data.username) is not None:
        raise conflict(f"username {data.username!r} is taken")
    return UserPublic.model_validate(users.create(session, data))


@router.get("/{user_id}")
def get_user(
    *, user_id: UserId, admin: AccessAdmin, scope: CurrentScope, session: SessionDep
) -> UserPublic:
    user = or_404(users.get_in_scope(session, scope, user_id), "user")
    return UserPublic.model_validate(user)


@router.patch("/{user_id}")
def update_user(
    *,
    user_id: UserId,
    data: UserUpdate,
    admin: AccessAdmin,
    scope: CurrentScope,
    session: SessionDep,
) -> UserPublic:
    user = or_404(users.get_in_scope(session, scope, user_id), "user")
    return UserPublic.model_validate(users.update(session, user, data))


@router.delete("/{user_id}")
def deactivate_user(
    *, user_id: UserId, admin: AccessAdmin, scope: CurrentScope, session: SessionDep
) -> UserPublic:
    """Deactivate (people are kept for the incident history); their tokens stop working."""
    user = or_404(users.get_in_scope(session, scope, user_id), "user")
    return UserPublic.model_validate(users.update(session, user, UserUpdate(active=False)))
