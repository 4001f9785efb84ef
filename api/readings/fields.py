"""The closed sets a reading query may name: measurements from ``Kind``, fields from the contract.

Identifiers cannot be bound parameters in InfluxQL, so a query may only name a measurement,
field or tag key that appears here; everything else is refused with a 422 before any query.
"""

from __future__ import annotations

from typing import Final, Literal, get_origin

from city.kinds import Kind
from city.schema import MEASUREMENTS, field_names
from city.telemetry import (
    AnyReading,
    DrainReading,
    ManholeReading,
    ParkingReading,
    RiverReading,
    StreetlightReading,
)

FieldType = Literal["number", "string"]

_MODELS: Final[dict[Kind, tuple[type[AnyReading], ...]]] = {
    Kind.STREETLIGHT: (StreetlightReading,),
    Kind.MANHOLE: (ManholeReading,),
    Kind.PARKING: (ParkingReading,),
    Kind.WATER: (RiverReading, DrainReading),
}
# Tags a history may be grouped by (all measurements carry them).
GROUP_TAGS: Final = ("township", "village", "device")


def _field_type(model: type[AnyReading], name: str) -> FieldType:
    annotation = model.model_fields[name].annotation
    if annotation in (int, float, bool):  # booleans are stored as 0/1 integers
        return "number"
    if annotation is str or get_origin(annotation) is Literal:
        return "string"
    raise TypeError(f"no reading type for {model.__name__}.{name}: {annotation!r}")


def _fields(kind: Kind) -> dict[str, FieldType]:
    out: dict[str, FieldType] = {}
    for model in _MODELS[kind]:
        for name in field_names(model):
            out[name] = _field_type(model, name)
    return out


FIELDS: Final[dict[Kind, dict[str, FieldType]]] = {kind: _fields(kind) for kind in Kind}


def measurement(kind: Kind) -> str:
    return MEASUREMENTS[kind]
