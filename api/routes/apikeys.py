"""API keys for machines (Grafana, integrations): scoped and role-bound like people."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from api.core.deps import AccessAdmin, CityDep, CurrentScope, SessionDep
from api.core.errors import forbidden, or_404
from api.core.roster import check_area
from api.crud import apikeys
from api.models.apikeys import ApiKeyCreate, ApiKeyCreated, ApiKeyPublic
from api.models.common import Limit, Offset, Page

router = APIRouter(prefix="/api-keys", tags=["api keys"])

KeyId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("")
def list_api_keys(
    *,
    admin: AccessAdmin,
    scope: CurrentScope,
    session: SessionDep,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[ApiKeyPublic]:
    rows, total = apikeys.list_in_scope(session, scope, limit, offset)
    return Page(
        items=[ApiKeyPublic.model_validate(k) for k in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.post("", status_code=status.HTTP_201_CREATED)
def create_api_key(
    *,
    data: ApiKeyCreate,
    admin: AccessAdmin,
    scope: CurrentScope,
    session: SessionDep,
    city: CityDep,
) -> ApiKeyCreated:
    """A new key; the ``key`` in the answer is shown this once."""
    check_area(city, data.township, data.village, ("body",))
    if not scope.covers(data.scope):
        raise forbidden(f"you can only create keys inside your area ({scope.describe()})")
    if data.role.rank > admin.role.rank:
        raise forbidden("a key cannot hold a higher role than its creator")
    key, token = apikeys.create(session, data, admin.id if admin.kind == "user" else None)
    return ApiKeyCreated(**ApiKeyPublic.model_validate(key).model_dump(), key=token)


@router.get("/{key_id}")
def get_api_key(
    *, key_id: KeyId, admin: AccessAdmin, scope: CurrentScope, session: SessionDep
) -> ApiKeyPublic:
    key = or_404(apikeys.get_in_scope(session, scope, key_id), "API key")
    return ApiKeyPublic.model_validate(key)


@router.delete("/{key_id}")
def revoke_api_key(
    *, key_id: KeyId, admin: AccessAdmin, scope: CurrentScope, session: SessionDep
) -> ApiKeyPublic:
    key = or_404(apikeys.get_in_scope(session, scope, key_id), "API key")
    return ApiKeyPublic.model_validate(apikeys.revoke(session, key))
