from __future__ import annotations

from collections import defaultdict

from city.telemetry import READING_ADAPTERS
from city.topics import parse_topic
from city.topology import City
from simulators.engine import Engine
from simulators.fleet import Fleet, build_fleet
from simulators.scenarios import ScenarioBook
from tests.unit.simulators.sim_testkit import SUMMER_AFTERNOON, run_engine


def test_every_message_is_valid_on_the_right_topic(city: City, fleet_1000: Fleet) -> None:
    engine = Engine(fleet_1000, city, SUMMER_AFTERNOON)
    messages = run_engine(engine, SUMMER_AFTERNOON + 3600)
    kinds = set()
    for message in messages:
        topic = parse_topic(message.topic)
        reading = READING_ADAPTERS[topic.kind].validate_json(message.payload)
        assert reading.device_id == topic.device_id == message.device_id
        assert reading.kind == topic.kind.value
        assert topic.channel == "telemetry"
        placement = fleet_1000.placements[engine.index[message.device_id]]
        assert (topic.township, topic.village) == (placement.township, placement.village)
        assert abs(reading.ts / 1000 - message.ts) < 0.001
        kinds.add(topic.kind)
    assert len(kinds) == 4


def test_seq_counts_up_from_zero_and_time_never_runs_back(city: City, fleet_1000: Fleet) -> None:
    engine = Engine(fleet_1000, city, SUMMER_AFTERNOON)
    book = ScenarioBook(engine)
    book.inject("gas-leak:village=dongzhan,count=3")
    per_device: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for message in run_engine(engine, SUMMER_AFTERNOON + 4 * 3600, book=book):
        topic = parse_topic(message.topic)
        reading = READING_ADAPTERS[topic.kind].validate_json(message.payload)
        per_device[message.device_id].append((reading.seq, reading.ts))
    assert len(per_device) > 900
    for pairs in per_device.values():
        assert [seq for seq, _ in pairs] == list(range(len(pairs)))
        stamps = [ts for _, ts in pairs]
        assert stamps == sorted(stamps)


def test_same_seed_same_readings_whatever_the_pace(city: City) -> None:
    fleet = build_fleet(city, 400, seed=42)

    def run(step: float) -> list[tuple[str, bytes]]:
        engine = Engine(fleet, city, SUMMER_AFTERNOON)
        book = ScenarioBook(engine)
        book.inject("flood-crest:duration=2h")
        book.inject("malformed:rate=0.02")
        messages = run_engine(engine, SUMMER_AFTERNOON + 3 * 3600, step=step, book=book)
        return [(m.topic, m.payload) for m in messages]

    fine = run(step=7.0)
    assert len(fine) > 1000
    assert fine == run(step=7.0)
    # A slower or faster wall clock only changes how readings are batched, not what they are.
    assert sorted(fine) == sorted(run(step=120.0))


def test_another_seed_gives_other_readings(city: City) -> None:
    def payloads(seed: int) -> list[bytes]:
        engine = Engine(build_fleet(city, 200, seed=seed), city, SUMMER_AFTERNOON)
        return [m.payload for m in run_engine(engine, SUMMER_AFTERNOON + 3600)]

    assert payloads(1) != payloads(2)


def test_a_limit_defers_messages_but_loses_none(city: City, fleet_1000: Fleet) -> None:
    whole = Engine(fleet_1000, city, SUMMER_AFTERNOON).advance(SUMMER_AFTERNOON + 1800)
    engine = Engine(fleet_1000, city, SUMMER_AFTERNOON)
    pieces = []
    while True:
        chunk = engine.advance(SUMMER_AFTERNOON + 1800, limit=50)
        assert len(chunk) <= 50 + 2  # a device's last poll may add a malformed twin or a change
        if not chunk:
            break
        pieces.extend(chunk)
    assert [m.payload for m in pieces] == [m.payload for m in whole]
    assert len(whole) > 500
