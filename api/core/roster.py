"""The city roster as the API checks it: area ids must exist and nest."""

from __future__ import annotations

from api.core.errors import invalid, not_found
from city.topology import City


def check_area(
    city: City, township: str | None, village: str | None, loc: tuple[str | int, ...]
) -> None:
    """Raise a 422 naming the field when the area is not in the roster."""
    if township is not None and city.township(township) is None:
        raise invalid((*loc, "township"), f"township {township!r} is not in the roster")
    if village is not None:
        if township is None:
            raise invalid((*loc, "township"), "a village needs its township")
        if not city.has_area(township, village):
            raise invalid((*loc, "village"), f"village {village!r} is not in township {township!r}")


def with_township(city: City, township: str | None, village: str | None) -> str | None:
    """The township a query names, or the one its ``village`` belongs to when only the village
    is given; an unknown village is a 404 "area", as an area outside the caller's would be."""
    if village is None or township is not None:
        return township
    found = city.village(village)
    if found is None:
        raise not_found("area")
    return found[0].id
