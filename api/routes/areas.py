"""The part of the roster the caller sees: its townships and villages."""

from __future__ import annotations

from fastapi import APIRouter

from api.core.deps import CityDep, CurrentScope
from api.models.areas import TownshipArea, VillageArea

router = APIRouter(prefix="/areas", tags=["areas"])


@router.get("")
def list_areas(scope: CurrentScope, city: CityDep) -> list[TownshipArea]:
    out: list[TownshipArea] = []
    for township in city.townships:
        villages = [
            VillageArea(id=v.id, name=v.name, kind=v.kind, lat=v.lat, lon=v.lon)
            for v in township.villages
            if scope.contains(township.id, v.id)
        ]
        if villages:
            out.append(
                TownshipArea(
                    id=township.id, name=township.name, kind=township.kind, villages=villages
                )
            )
    return out
