"""The city model: district → townships/streets → villages/communities, roads, drains, rivers.

The roster ships as ``city/data/tianqu.yaml``; a city replaces it with its real one and points
``TIANQU_CITY_FILE`` at it. Loading validates everything and reports each wrong entry by its path
and id, so a typo in a 300-line roster is found in seconds, not by a crash at 3 a.m.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from city.validation import DataFileError, read_yaml, validate_data

SLUG_PATTERN = r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$"
Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, min_length=2, max_length=40)]
DisplayName = Annotated[str, StringConstraints(min_length=1, max_length=40, strip_whitespace=True)]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]

DEFAULT_CITY_FILE = Path(__file__).parent / "data" / "tianqu.yaml"


class CityModelError(DataFileError):
    """The roster file is unreadable or inconsistent; ``problems`` lists every wrong entry."""

    what = "city model"


class _Entry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Located(_Entry):
    lat: Latitude
    lon: Longitude


class Road(_Entry):
    """A road whose lamps share a feeder: lamps are laid out from ``start`` to ``end``."""

    id: Slug
    name: DisplayName
    start: tuple[Latitude, Longitude]
    end: tuple[Latitude, Longitude]


class Drain(Located):
    """A road drain or underpass where waterlogging (积水) is watched."""

    id: Slug
    name: DisplayName


class Hotspot(Located):
    """A place that draws cars: parking bays near it fill up more (weight 1 = ordinary)."""

    id: Slug
    name: DisplayName
    weight: float = Field(ge=1, le=10)


class Village(Located):
    id: Slug
    name: DisplayName
    kind: Literal["village", "community"]
    roads: list[Road] = Field(min_length=1)
    drains: list[Drain] = []
    hotspots: list[Hotspot] = []


class Township(Located):
    id: Slug
    name: DisplayName
    kind: Literal["street", "town"]
    villages: list[Village] = Field(min_length=1)


class Station(Located):
    """A river gauging station; levels are stage above the station's gauge datum, in metres."""

    id: Slug
    name: DisplayName
    village: Slug
    normal_level_m: float = Field(ge=0, le=60)
    warning_level_m: float = Field(ge=0, le=60)
    guarantee_level_m: float = Field(ge=0, le=60)
    normal_flow_m3h: float = Field(ge=0, le=5_000_000)


class River(_Entry):
    id: Slug
    name: DisplayName
    stations: list[Station] = Field(min_length=1)


class Bounds(_Entry):
    south: Latitude
    north: Latitude
    west: Longitude
    east: Longitude

    def contains(self, lat: float, lon: float) -> bool:
        return self.south <= lat <= self.north and self.west <= lon <= self.east


class Area(_Entry):
    """Where a thing is, as the three levels of the duty-captain system see it."""

    township: str
    village: str


class City(_Entry):
    id: Slug
    name: DisplayName
    bounds: Bounds
    townships: list[Township] = Field(min_length=1)
    rivers: list[River] = []

    def villages(self) -> Iterator[tuple[Township, Village]]:
        for township in self.townships:
            for village in township.villages:
                yield township, village

    @cached_property
    def _village_index(self) -> dict[str, tuple[Township, Village]]:
        return {v.id: (t, v) for t, v in self.villages()}

    @cached_property
    def _township_index(self) -> dict[str, Township]:
        return {t.id: t for t in self.townships}

    def township(self, township_id: str) -> Township | None:
        return self._township_index.get(township_id)

    def village(self, village_id: str) -> tuple[Township, Village] | None:
        return self._village_index.get(village_id)

    def has_area(self, township_id: str, village_id: str) -> bool:
        found = self._village_index.get(village_id)
        return found is not None and found[0].id == township_id

    def stations(self) -> Iterator[tuple[River, Station]]:
        for river in self.rivers:
            for station in river.stations:
                yield river, station

    def area_of(self, village_id: str) -> Area:
        township, village = self._village_index[village_id]
        return Area(township=township.id, village=village.id)


def _consistency_problems(city: City) -> list[str]:
    """Cross-entry rules that a per-field schema cannot express."""
    problems: list[str] = []
    seen: dict[str, str] = {}

    def unique(entry_id: str, where: str) -> None:
        if entry_id in seen:
            problems.append(f"{where}: id {entry_id!r} is already used by {seen[entry_id]}")
        else:
            seen[entry_id] = where

    def inside(lat: float, lon: float, where: str) -> None:
        b = city.bounds
        if not b.contains(lat, lon):
            problems.append(
                f"{where}: ({lat}, {lon}) lies outside the district bounds "
                f"{b.south}–{b.north}°N, {b.west}–{b.east}°E"
            )

    for ti, township in enumerate(city.townships):
        tw = f"townships[{ti}] {township.id}"
        unique(township.id, tw)
        inside(township.lat, township.lon, tw)
        for vi, village in enumerate(township.villages):
            vw = f"{tw} → villages[{vi}] {village.id}"
            unique(village.id, vw)
            inside(village.lat, village.lon, vw)
            for ri, road in enumerate(village.roads):
                rw = f"{vw} → roads[{ri}] {road.id}"
                unique(road.id, rw)
                inside(*road.start, f"{rw} start")
                inside(*road.end, f"{rw} end")
            for di, drain in enumerate(village.drains):
                dw = f"{vw} → drains[{di}] {drain.id}"
                unique(drain.id, dw)
                inside(drain.lat, drain.lon, dw)
            for hi, hotspot in enumerate(village.hotspots):
                hw = f"{vw} → hotspots[{hi}] {hotspot.id}"
                unique(hotspot.id, hw)
                inside(hotspot.lat, hotspot.lon, hw)
    village_ids = {v.id for _, v in city.villages()}
    for ri, river in enumerate(city.rivers):
        rw = f"rivers[{ri}] {river.id}"
        unique(river.id, rw)
        for si, station in enumerate(river.stations):
            sw = f"{rw} → stations[{si}] {station.id}"
            unique(station.id, sw)
            inside(station.lat, station.lon, sw)
            if station.village not in village_ids:
                problems.append(f"{sw}: village {station.village!r} is not in the roster")
            if not station.normal_level_m < station.warning_level_m < station.guarantee_level_m:
                problems.append(
                    f"{sw}: levels must rise normal < warning < guarantee, got "
                    f"{station.normal_level_m} / {station.warning_level_m} / "
                    f"{station.guarantee_level_m}"
                )
    return problems


def parse_city(raw: Any, source: str = "<data>") -> City:
    return validate_data(City, raw, source, _consistency_problems, CityModelError)


def load_city(path: Path | str | None = None) -> City:
    """Load and validate a roster; ``None`` means ``$TIANQU_CITY_FILE`` or the shipped demo."""
    chosen = Path(path or os.environ.get("TIANQU_CITY_FILE") or DEFAULT_CITY_FILE)
    return parse_city(read_yaml(chosen, CityModelError), str(chosen))


@lru_cache(maxsize=4)
def default_city() -> City:
    return load_city()
