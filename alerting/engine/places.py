"""Names and positions from the roster: roads, townships, river stations."""

from __future__ import annotations

from dataclasses import dataclass

from city.topology import City, Station


@dataclass(frozen=True, slots=True)
class Place:
    id: str
    name: str
    township: str
    village: str | None
    lat: float
    lon: float


class Places:
    def __init__(self, city: City) -> None:
        self.roads: dict[str, Place] = {}
        self.townships: dict[str, Place] = {}
        for township in city.townships:
            self.townships[township.id] = Place(
                township.id, township.name, township.id, None, township.lat, township.lon
            )
            for village in township.villages:
                for road in village.roads:
                    self.roads[road.id] = Place(
                        road.id,
                        road.name,
                        township.id,
                        village.id,
                        round((road.start[0] + road.end[0]) / 2, 6),
                        round((road.start[1] + road.end[1]) / 2, 6),
                    )
        # A river station is named by its river and the village it stands in: the device's
        # topic gives the village, its payload the river.
        self.stations: dict[tuple[str, str], Station] = {
            (river.id, station.village): station for river, station in city.stations()
        }

    def station(self, river: str, village: str) -> Station | None:
        return self.stations.get((river, village))
