"""Sunrise, sunset and daylight in Dezhou, from the ``astral`` solar model.

Lamps switch by the real sun, so a December evening goes dark near 17:00 and a June one near
19:40 (Beijing time), exactly as an operator in Dezhou sees it. The district spans 0.3° of
longitude, about a minute of solar time, so one observer stands for all of it.
"""

from __future__ import annotations

import math
import random
from datetime import date, datetime, timedelta
from functools import lru_cache

from astral import Observer
from astral.sun import elevation, sunrise, sunset

from simulators.clock import CITY_TZ

DEZHOU = Observer(latitude=37.45, longitude=116.36, elevation=20.0)


@lru_cache(maxsize=1024)
def sun_times(day: date) -> tuple[float, float]:
    """Epoch seconds of sunrise and sunset on ``day`` (a local, Beijing-time date)."""
    return (
        sunrise(DEZHOU, day, tzinfo=CITY_TZ).timestamp(),
        sunset(DEZHOU, day, tzinfo=CITY_TZ).timestamp(),
    )


def local_date(t: float) -> date:
    return datetime.fromtimestamp(t, CITY_TZ).date()


def local_midnight(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=CITY_TZ).timestamp()


def local_hour(t: float) -> float:
    """Hour of the Beijing-time day as a fraction, 0 ≤ h < 24."""
    moment = datetime.fromtimestamp(t, CITY_TZ)
    return moment.hour + moment.minute / 60 + moment.second / 3600


def next_local_midnight(t: float) -> float:
    return local_midnight(local_date(t) + timedelta(days=1))


@lru_cache(maxsize=4096)
def _elevation_at_minute(minute: int) -> float:
    return float(elevation(DEZHOU, datetime.fromtimestamp(minute * 60, CITY_TZ)))


def sun_elevation(t: float) -> float:
    """Solar elevation in degrees; the sun moves 0.25° a minute at most, so minutes suffice."""
    return _elevation_at_minute(int(t // 60))


@lru_cache(maxsize=512)
def cloudiness(day: date) -> float:
    """Share of clear-sky light that reaches the ground that day (city-wide weather, 0.3–1)."""
    return random.Random(f"sky:{day.isoformat()}").uniform(0.3, 1.0)


def clear_sky_lux(elevation_deg: float) -> float:
    """Horizontal illuminance under a clear sky.

    Daylight follows the sine of the elevation (≈ 100 klx at a high summer sun); twilight decays
    by a decade every 3° below the horizon, from ~400 lx at sunset to ~4 lx at the end of civil
    twilight; a night under city sky-glow stays near 0.5 lx.
    """
    if elevation_deg > 0:
        return 400.0 + 110_000.0 * math.pow(math.sin(math.radians(elevation_deg)), 1.15)
    return max(0.5, 400.0 * math.pow(10.0, elevation_deg / 3.0))


def ambient_lux(t: float) -> float:
    return clear_sky_lux(sun_elevation(t)) * cloudiness(local_date(t))
