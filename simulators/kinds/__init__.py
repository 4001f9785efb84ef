"""One module per kind of device, each with the same shape: a state class built from a
placement and a seeded PRNG, polled in simulated time for the readings it sends."""

from __future__ import annotations

import random

from city.kinds import Kind
from city.topology import City
from simulators.fleet import Placement
from simulators.kinds.base import Intervals, SimDevice
from simulators.kinds.manhole import ManholeCover
from simulators.kinds.parking import ParkingBay
from simulators.kinds.streetlight import Streetlight
from simulators.kinds.water import DrainSensor, RiverStation

__all__ = [
    "DrainSensor",
    "Intervals",
    "ManholeCover",
    "ParkingBay",
    "RiverStation",
    "SimDevice",
    "Streetlight",
    "device_rng",
    "make_device",
]


def device_rng(seed: int, device_id: str) -> random.Random:
    """Each device's own stream: adding or removing a device never changes another's readings."""
    return random.Random(f"device:{seed}:{device_id}")


def make_device(placement: Placement, seed: int, intervals: Intervals, city: City) -> SimDevice:
    rng = device_rng(seed, placement.device_id)
    interval = intervals.of(placement.kind)
    if placement.kind is Kind.STREETLIGHT:
        return Streetlight(placement, rng, interval)
    if placement.kind is Kind.MANHOLE:
        return ManholeCover(placement, rng, interval)
    if placement.kind is Kind.PARKING:
        return ParkingBay(placement, rng, interval)
    if placement.site == "river":
        stations = {s.id: s for _, s in city.stations()}
        if placement.station not in stations:
            raise ValueError(f"{placement.device_id}: no station {placement.station!r} in the city")
        return RiverStation(placement, rng, interval, stations[placement.station])
    return DrainSensor(placement, rng, interval)
