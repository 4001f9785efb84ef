"""Where the devices stand: a deterministic placement of N devices over the whole district.

The same seed, size and kind mix always give the same devices with the same ids and coordinates,
so the device registry can import a fleet (``tianqu-sim fleet --format csv``) and the running
simulator will publish as exactly those devices.

Every village gets its share: lamps and manhole covers in proportion to the length of the
village's roads, parking bays in proportion to how many cars the place draws (its hotspots), one
device per river station always, then the roster's drains and, at larger scales, more drains
along village roads.
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Literal

from city.kinds import Kind
from city.topology import City, Road, Township, Village

# Default shares of the fleet; water takes what is left (river stations are always present).
DEFAULT_MIX: Mapping[Kind, float] = {
    Kind.STREETLIGHT: 0.55,
    Kind.MANHOLE: 0.20,
    Kind.PARKING: 0.22,
}

_M_PER_DEG_LAT = 111_320.0
# Bays "near" a hotspot stand within this radius of it; others around the village centre.
_HOTSPOT_RADIUS_M = 150.0
_VILLAGE_RADIUS_M = 450.0

Site = Literal["river", "drain"]
EXPORT_COLUMNS = (
    "device_id",
    "kind",
    "township",
    "village",
    "road",
    "river",
    "station",
    "site",
    "lat",
    "lon",
)


@dataclass(frozen=True, slots=True)
class Placement:
    """One device: its id, its area, where it stands and what it watches."""

    device_id: str
    kind: Kind
    township: str
    village: str
    lat: float
    lon: float
    road: str | None = None
    road_index: int | None = None  # lamps only: 0 at the road's start, +1 per lamp along it
    river: str | None = None
    station: str | None = None
    site: Site | None = None
    hotspot: str | None = None
    hotspot_weight: float = 1.0  # parking only: how strongly the nearby hotspot draws cars

    def export_row(self) -> dict[str, str | float]:
        row = asdict(self)
        return {
            column: ("" if row[column] is None else row[column])
            if column not in {"lat", "lon"}
            else round(row[column], 6)
            for column in EXPORT_COLUMNS
        } | {"kind": self.kind.value}


@dataclass(frozen=True, slots=True)
class Fleet:
    seed: int
    placements: tuple[Placement, ...]

    def __len__(self) -> int:
        return len(self.placements)

    def __iter__(self) -> Iterator[Placement]:
        return iter(self.placements)

    def counts(self) -> Counter[Kind]:
        return Counter(p.kind for p in self.placements)

    def of_kind(self, kind: Kind) -> list[Placement]:
        return [p for p in self.placements if p.kind is kind]

    def to_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(p.export_row() for p in self.placements)
        return buffer.getvalue()

    def to_json(self) -> str:
        return json.dumps(
            {"seed": self.seed, "devices": [p.export_row() for p in self.placements]},
            ensure_ascii=False,
            indent=1,
        )


def apportion(total: int, weights: Sequence[float], *, at_least_one: bool = False) -> list[int]:
    """Split ``total`` into whole parts proportional to ``weights`` (largest remainder).

    With ``at_least_one`` and enough to go round, every part gets one first, so a small fleet
    still reaches every village.
    """
    if total < 0:
        raise ValueError(f"cannot apportion a negative total {total}")
    if not weights:
        return []
    floor = 1 if at_least_one and total >= len(weights) else 0
    rest = total - floor * len(weights)
    weight_sum = sum(weights)
    if weight_sum <= 0:
        weights = [1.0] * len(weights)
        weight_sum = float(len(weights))
    quotas = [rest * w / weight_sum for w in weights]
    counts = [int(q) for q in quotas]
    short = rest - sum(counts)
    by_remainder = sorted(range(len(weights)), key=lambda i: (counts[i] - quotas[i], i))
    for i in by_remainder[:short]:
        counts[i] += 1
    return [floor + c for c in counts]


def road_length_m(road: Road) -> float:
    (lat1, lon1), (lat2, lon2) = road.start, road.end
    dy = (lat2 - lat1) * _M_PER_DEG_LAT
    dx = (lon2 - lon1) * _M_PER_DEG_LAT * math.cos(math.radians((lat1 + lat2) / 2))
    return math.hypot(dx, dy)


def _along(road: Road, fraction: float) -> tuple[float, float]:
    (lat1, lon1), (lat2, lon2) = road.start, road.end
    return lat1 + (lat2 - lat1) * fraction, lon1 + (lon2 - lon1) * fraction


def _offset(lat: float, lon: float, rng: random.Random, radius_m: float) -> tuple[float, float]:
    """A point uniformly within ``radius_m`` of (lat, lon)."""
    distance = radius_m * math.sqrt(rng.random())
    bearing = rng.uniform(0, 2 * math.pi)
    dlat = distance * math.cos(bearing) / _M_PER_DEG_LAT
    dlon = distance * math.sin(bearing) / (_M_PER_DEG_LAT * math.cos(math.radians(lat)))
    return lat + dlat, lon + dlon


def _device_id(kind: Kind, village: str, index: int) -> str:
    return f"{kind.id_prefix}-{village}-{index:05d}"


def kind_counts(total: int, stations: int, mix: Mapping[Kind, float]) -> dict[Kind, int]:
    """How many of each kind; ``Kind.WATER`` counts river stations plus drains."""
    if total < stations:
        raise ValueError(
            f"a fleet needs at least {stations} devices: every river station is always present"
        )
    shares = [mix.get(k, 0.0) for k in (Kind.STREETLIGHT, Kind.MANHOLE, Kind.PARKING)]
    if any(s < 0 for s in shares) or sum(shares) > 1 + 1e-9:
        raise ValueError(f"kind shares must be ≥ 0 and add up to at most 1, got {dict(mix)}")
    sl, mh, pk, drains = apportion(total - stations, [*shares, max(0.0, 1 - sum(shares))])
    return {
        Kind.STREETLIGHT: sl,
        Kind.MANHOLE: mh,
        Kind.PARKING: pk,
        Kind.WATER: stations + drains,
    }


def build_fleet(
    city: City, total: int, seed: int = 1, mix: Mapping[Kind, float] = DEFAULT_MIX
) -> Fleet:
    stations = list(city.stations())
    counts = kind_counts(total, len(stations), mix)
    villages = list(city.villages())
    road_weights = [sum(road_length_m(r) for r in v.roads) for _, v in villages]
    placements: list[Placement] = []

    lamps = apportion(counts[Kind.STREETLIGHT], road_weights, at_least_one=True)
    for (township, village), n in zip(villages, lamps, strict=True):
        placements.extend(_lamps(township, village, n))

    covers = apportion(counts[Kind.MANHOLE], road_weights, at_least_one=True)
    for (township, village), n in zip(villages, covers, strict=True):
        rng = random.Random(f"fleet:{seed}:{village.id}:manhole")
        placements.extend(_along_roads(Kind.MANHOLE, township, village, n, rng))

    draw = [
        (2.0 if v.kind == "community" else 1.0) + sum(h.weight for h in v.hotspots)
        for _, v in villages
    ]
    bays = apportion(counts[Kind.PARKING], draw, at_least_one=True)
    for (township, village), n in zip(villages, bays, strict=True):
        rng = random.Random(f"fleet:{seed}:{village.id}:parking")
        placements.extend(_bays(township, village, n, rng))

    for river, station in stations:
        township, _ = _area(city, station.village)
        placements.append(
            Placement(
                device_id=f"{Kind.WATER.id_prefix}-{station.id}",
                kind=Kind.WATER,
                township=township.id,
                village=station.village,
                lat=station.lat,
                lon=station.lon,
                river=river.id,
                station=station.id,
                site="river",
            )
        )
    placements.extend(
        _drains(city, villages, road_weights, counts[Kind.WATER] - len(stations), seed)
    )
    return Fleet(seed=seed, placements=tuple(placements))


def _area(city: City, village_id: str) -> tuple[Township, Village]:
    found = city.village(village_id)
    if found is None:
        raise ValueError(f"village {village_id!r} is not in the roster")
    return found


def _lamps(township: Township, village: Village, n: int) -> Iterator[Placement]:
    """Lamps evenly spaced along each road, in order, so that neighbours share a feeder."""
    per_road = apportion(n, [road_length_m(r) for r in village.roads])
    index = 0
    for road, k in zip(village.roads, per_road, strict=True):
        for i in range(k):
            lat, lon = _along(road, (i + 0.5) / k)
            yield Placement(
                device_id=_device_id(Kind.STREETLIGHT, village.id, index),
                kind=Kind.STREETLIGHT,
                township=township.id,
                village=village.id,
                lat=lat,
                lon=lon,
                road=road.id,
                road_index=i,
            )
            index += 1


def _along_roads(
    kind: Kind, township: Township, village: Village, n: int, rng: random.Random
) -> Iterator[Placement]:
    """Devices at random points along the village's roads, a few metres off the centre line."""
    per_road = apportion(n, [road_length_m(r) for r in village.roads])
    index = 0
    for road, k in zip(village.roads, per_road, strict=True):
        for fraction in sorted(rng.random() for _ in range(k)):
            lat, lon = _offset(*_along(road, fraction), rng, 8.0)
            yield Placement(
                device_id=_device_id(kind, village.id, index),
                kind=kind,
                township=township.id,
                village=village.id,
                lat=lat,
                lon=lon,
                road=road.id,
                site="drain" if kind is Kind.WATER else None,
            )
            index += 1


def _bays(township: Township, village: Village, n: int, rng: random.Random) -> Iterator[Placement]:
    """Bays clustered at the village's hotspots (as much as they draw), the rest at its centre."""
    draw = sum(h.weight for h in village.hotspots)
    near = apportion(round(n * draw / (draw + 2.0)), [h.weight for h in village.hotspots])
    index = 0
    for hotspot, k in zip(village.hotspots, near, strict=True):
        for _ in range(k):
            lat, lon = _offset(hotspot.lat, hotspot.lon, rng, _HOTSPOT_RADIUS_M)
            yield Placement(
                device_id=_device_id(Kind.PARKING, village.id, index),
                kind=Kind.PARKING,
                township=township.id,
                village=village.id,
                lat=lat,
                lon=lon,
                hotspot=hotspot.id,
                hotspot_weight=hotspot.weight,
            )
            index += 1
    for _ in range(n - sum(near)):
        lat, lon = _offset(village.lat, village.lon, rng, _VILLAGE_RADIUS_M)
        yield Placement(
            device_id=_device_id(Kind.PARKING, village.id, index),
            kind=Kind.PARKING,
            township=township.id,
            village=village.id,
            lat=lat,
            lon=lon,
        )
        index += 1


def _drains(
    city: City,
    villages: list[tuple[Township, Village]],
    road_weights: list[float],
    n: int,
    seed: int,
) -> Iterator[Placement]:
    """The roster's watched drains first, then extra ones along village roads."""
    roster = [(t, v, d) for t, v in villages for d in v.drains]
    for township, village, drain in roster[:n]:
        yield Placement(
            device_id=f"{Kind.WATER.id_prefix}-{drain.id}",
            kind=Kind.WATER,
            township=township.id,
            village=village.id,
            lat=drain.lat,
            lon=drain.lon,
            site="drain",
        )
    extra = max(0, n - len(roster))
    for (township, village), k in zip(villages, apportion(extra, road_weights), strict=True):
        rng = random.Random(f"fleet:{seed}:{village.id}:drain")
        yield from _along_roads(Kind.WATER, township, village, k, rng)
