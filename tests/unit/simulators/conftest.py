from __future__ import annotations

import pytest

from city.topology import City, default_city
from simulators.fleet import Fleet, build_fleet


@pytest.fixture(scope="session")
def city() -> City:
    return default_city()


@pytest.fixture(scope="session")
def fleet_1000(city: City) -> Fleet:
    return build_fleet(city, 1000, seed=7)
