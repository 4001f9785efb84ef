"""Areas of the roster as the API lists them."""

from __future__ import annotations

from api.models.common import ResponseModel


class VillageArea(ResponseModel):
    id: str
    name: str
    kind: str
    lat: float
    lon: float


class TownshipArea(ResponseModel):
    id: str
    name: str
    kind: str
    villages: list[VillageArea]
