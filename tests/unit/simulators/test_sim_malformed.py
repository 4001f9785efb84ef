from __future__ import annotations

import json
import random

import pytest
from pydantic import ValidationError

from city.telemetry import READING_ADAPTERS, ParkingReading
from city.topics import TopicError, parse_topic
from city.topology import City
from simulators.engine import Engine, Outgoing
from simulators.fleet import Fleet
from simulators.malformed import MALFORMATIONS, MalformedGenerator, malform
from simulators.scenarios import ScenarioBook
from tests.unit.simulators.sim_testkit import SUMMER_AFTERNOON, run_engine

DAY_MS = 86_400_000


def bad_messages(city: City, fleet: Fleet) -> dict[str, list[Outgoing]]:
    engine = Engine(fleet, city, SUMMER_AFTERNOON)
    ScenarioBook(engine).inject("malformed:rate=1")
    found: dict[str, list[Outgoing]] = {}
    for message in run_engine(engine, SUMMER_AFTERNOON + 1800):
        if message.malformation is not None:
            found.setdefault(message.malformation, []).append(message)
    return found


def test_every_malformation_is_produced_and_each_is_caught(city: City, fleet_1000: Fleet) -> None:
    found = bad_messages(city, fleet_1000)
    assert set(found) == set(MALFORMATIONS)
    for malformation, messages in found.items():
        for message in messages[:50]:
            check_caught(malformation, message)


def check_caught(malformation: str, message: Outgoing) -> None:
    if malformation == "unknown-kind":
        with pytest.raises(TopicError) as caught:
            parse_topic(message.topic)
        assert caught.value.reason == "unknown_kind"
        return
    topic = parse_topic(message.topic)
    assert topic.device_id == message.device_id
    adapter = READING_ADAPTERS[topic.kind]
    if malformation == "id-mismatch":
        reading = adapter.validate_json(message.payload)  # well-formed, but not this device's
        assert reading.device_id != topic.device_id
    elif malformation in {"ts-past", "ts-future"}:
        reading = adapter.validate_json(message.payload)  # well-formed, but the clock is off
        skew = reading.ts - int(message.ts * 1000)
        assert skew < -300 * DAY_MS if malformation == "ts-past" else skew > 2 * DAY_MS
    else:
        with pytest.raises(ValidationError):
            adapter.validate_json(message.payload)
    if malformation == "oversized":
        assert len(message.payload) > 64 * 1024
    else:
        assert len(message.payload) < 4096
    if malformation == "bad-json":
        with pytest.raises(json.JSONDecodeError):
            json.loads(message.payload)
    if malformation == "kind-mismatch":
        other = json.loads(message.payload)["kind"]
        assert other != topic.kind.value
        assert READING_ADAPTERS[type(topic.kind)(other)].validate_json(message.payload)


def test_the_rate_is_respected_and_each_kind_gets_its_turn() -> None:
    generator = MalformedGenerator(0.05, random.Random(3))
    reading = ParkingReading(
        device_id="pk-x-00001", ts=1_780_000_000_000, seq=1, report="heartbeat",
        occupied=False, battery_pct=90,
    )  # fmt: skip
    topic = "tianqu/v1/yuanqiao/dongzhan/parking/pk-x-00001/telemetry"
    made = [generator.maybe(reading, topic, "pk-x-00002") for _ in range(20_000)]
    bad = [m for m in made if m is not None]
    assert 800 < len(bad) < 1200
    counts = {name: sum(m.malformation == name for m in bad) for name in MALFORMATIONS}
    assert max(counts.values()) - min(counts.values()) <= 1


def test_unknown_malformation_is_refused() -> None:
    reading = ParkingReading(
        device_id="pk-x-00001", ts=1_780_000_000_000, seq=1, report="heartbeat",
        occupied=False, battery_pct=90,
    )  # fmt: skip
    with pytest.raises(ValueError, match="unknown malformation"):
        malform("haiku", reading, "t/o/p/i/c", "pk-x-00002")
    with pytest.raises(ValueError, match="unknown malformations"):
        MalformedGenerator(0.1, random.Random(1), ["haiku"])
