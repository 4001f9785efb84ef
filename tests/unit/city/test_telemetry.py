from __future__ import annotations

import orjson
import pytest
from pydantic import ValidationError

from city.kinds import Kind
from city.telemetry import READING_ADAPTERS, DrainReading, RiverReading
from tests.support import readings as r


def _payload(**changes: object) -> bytes:
    return orjson.dumps({**orjson.loads(r.parking().model_dump_json()), **changes})


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"occupied": "true"}, "occupied"),  # strings are never coerced
        ({"battery_pct": 50.5}, "battery_pct"),  # an integer field refuses a fraction
        ({"battery_pct": "50"}, "battery_pct"),
        ({"seq": -1}, "seq"),
        ({"ts": 1_700_000_000}, "ts"),  # seconds instead of milliseconds
        ({"report": "sometimes"}, "report"),
        ({"colour": "red"}, "colour"),  # unknown fields are refused, not ignored
    ],
)
def test_the_contract_is_strict(change: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        READING_ADAPTERS[Kind.PARKING].validate_json(_payload(**change))
    assert any(e["loc"][0] == field for e in err.value.errors())


def test_nan_and_infinity_are_refused() -> None:
    body = r.river().model_dump_json().replace('"ph":7.6', '"ph":NaN')
    with pytest.raises(ValidationError):
        READING_ADAPTERS[Kind.WATER].validate_json(body)


def test_water_readings_are_told_apart_by_site() -> None:
    adapter = READING_ADAPTERS[Kind.WATER]
    assert isinstance(adapter.validate_json(r.river().model_dump_json()), RiverReading)
    assert isinstance(adapter.validate_json(r.drain().model_dump_json()), DrainReading)
    with pytest.raises(ValidationError):
        adapter.validate_json(
            orjson.dumps({**orjson.loads(r.drain().model_dump_json()), "site": "sea"})
        )


def test_every_model_round_trips_through_json() -> None:
    for kind, sample in [
        (Kind.STREETLIGHT, r.streetlight()),
        (Kind.MANHOLE, r.manhole()),
        (Kind.PARKING, r.parking()),
        (Kind.WATER, r.river()),
        (Kind.WATER, r.drain()),
    ]:
        assert READING_ADAPTERS[kind].validate_json(sample.model_dump_json()) == sample
