"""Publish over a real mosquitto, find the points in a real InfluxDB (and refusals in the DLQ)."""

from __future__ import annotations

import httpx
import orjson
import pytest

from city.kinds import Kind
from city.rejections import Reason
from city.telemetry import DeviceStatus
from influxv1 import InfluxClient, InfluxTarget
from tests.support import readings as r
from tests.support.mqtt import publish_all
from tests.support.stack import IngesterProcess
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


def _wait_ready(ingester: IngesterProcess) -> None:
    def ready() -> bool:
        try:
            return httpx.get(f"{ingester.health_url}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(ready, timeout=20, what=f"ingester ready\n{ingester.log()}")


def _count(ingester: IngesterProcess, measurement: str, device: str) -> int:
    rows = ingester.rows(
        f'SELECT count("seq") FROM "{measurement}" WHERE "device" = $device', {"device": device}
    )
    return int(rows[0]["count"]) if rows else 0


def test_every_kind_lands_with_its_tags_fields_and_device_timestamp(
    ingester: IngesterProcess,
) -> None:
    ingester.start()
    _wait_ready(ingester)
    samples = [
        (Kind.STREETLIGHT, r.streetlight(ts=r.now_ms() - 5000)),
        (Kind.MANHOLE, r.manhole(ts=r.now_ms() - 4000)),
        (Kind.PARKING, r.parking(ts=r.now_ms() - 3000)),
        (Kind.WATER, r.river(ts=r.now_ms() - 2000)),
        (Kind.WATER, r.drain(ts=r.now_ms() - 1000)),
    ]
    publish_all(
        ingester.broker.host,
        ingester.broker.port,
        [(r.topic_for(kind, s.device_id), s.model_dump_json()) for kind, s in samples],
    )

    def landed() -> list[dict[str, object]]:
        return [
            row
            for kind, s in samples
            for row in ingester.rows(
                f'SELECT * FROM "{kind.value}" WHERE "device" = $d', {"d": s.device_id}
            )
        ]

    rows = wait_until(lambda: len(landed()) == 5 and landed(), what="five points")
    by_device = {row["device"]: row for row in rows}
    light = by_device["sl-test-00001"]
    expected_light = samples[0][1]
    assert light["time"] == expected_light.ts
    assert light["township"] == "yuanqiao"
    assert light["village"] == "dongzhan"
    assert light["road"] == "dezhou-dadao"
    assert light["voltage_v"] == 221.5
    assert light["lamp_on"] == 1
    assert light["status"] == "ok"
    assert light["dimming_pct"] == 100
    assert light["seq"] == 1
    river = by_device["wt-test-00001"]
    assert river["river"] == "majiahe"
    assert river["site"] == "river"
    assert river["level_m"] == 4.35
    assert river["time"] == samples[3][1].ts
    drain = by_device["wt-test-00002"]
    assert drain["site"] == "drain"
    assert drain["depth_m"] == 0.08
    assert by_device["mh-test-00001"]["cover_open"] == 0
    assert by_device["mh-test-00001"]["report"] == "heartbeat"
    assert by_device["pk-test-00001"]["occupied"] == 1


def test_status_births_and_wills_land_in_device_status(ingester: IngesterProcess) -> None:
    ingester.start()
    _wait_ready(ingester)
    ts = r.now_ms() - 100
    birth = DeviceStatus(online=True, ts=ts, lat=37.444, lon=116.417, firmware="2.1.0")
    will = DeviceStatus(online=False)
    publish_all(
        ingester.broker.host,
        ingester.broker.port,
        [
            (r.topic_for(Kind.PARKING, "pk-born-00001", "status"), birth.model_dump_json()),
            (r.topic_for(Kind.PARKING, "pk-gone-00001", "status"), will.model_dump_json()),
        ],
    )
    rows = wait_until(
        lambda: len(rows := ingester.rows("SELECT * FROM device_status")) == 2 and rows,
        what="two status points",
    )
    born = next(row for row in rows if row["device"] == "pk-born-00001")
    gone = next(row for row in rows if row["device"] == "pk-gone-00001")
    assert born["online"] == 1
    assert born["time"] == ts
    assert born["lat"] == 37.444
    assert born["kind"] == "parking"
    assert born["firmware"] == "2.1.0"
    assert gone["online"] == 0
    assert gone["time"] >= ts  # a will carries no timestamp: stamped at reception


def _malformed() -> list[tuple[Reason, str, bytes]]:
    """One message per refusal reason the contract knows (DB rejection is tested apart)."""
    good = r.parking(device_id="pk-bad-00001")
    body = orjson.loads(good.model_dump_json())
    topic = r.topic_for(Kind.PARKING, "pk-bad-00001")

    def variant(**changes: object) -> bytes:
        return orjson.dumps({**body, **changes})

    return [
        (
            Reason.BAD_TOPIC,
            "tianqu/v1/Yuanqiao/dongzhan/parking/pk-bad-00001/telemetry",
            good.model_dump_json().encode(),
        ),
        (Reason.BAD_TOPIC, "tianqu/v1/yuanqiao/dongzhan/parking", b"{}"),
        (Reason.UNKNOWN_KIND, "tianqu/v1/yuanqiao/dongzhan/toaster/tt-bad-00001/telemetry", b"{}"),
        (
            Reason.UNKNOWN_AREA,
            "tianqu/v1/atlantis/dongzhan/parking/pk-bad-00001/telemetry",
            good.model_dump_json().encode(),
        ),
        (Reason.OVERSIZED, topic, variant(padding="x" * 20_000)),
        (Reason.BAD_JSON, topic, b'{"device_id": "pk-bad-00001", '),
        (Reason.BAD_JSON, topic, b"[1, 2, 3]"),
        (Reason.BAD_JSON, topic, b"\xff\xfe not utf-8"),
        (Reason.INVALID_FIELD, topic, variant(occupied="yes")),
        (Reason.INVALID_FIELD, topic, variant(extra_field=1)),
        (Reason.OUT_OF_RANGE, topic, variant(battery_pct=140)),
        (Reason.TOPIC_MISMATCH, topic, variant(device_id="pk-other-00001")),
        (
            Reason.TOPIC_MISMATCH,
            topic,
            orjson.loads(r.manhole("pk-bad-00001").model_dump_json())
            and r.manhole("pk-bad-00001").model_dump_json().encode(),
        ),
        (Reason.STALE_OR_FUTURE, topic, variant(ts=r.now_ms() - 30 * 86_400_000)),
        (Reason.STALE_OR_FUTURE, topic, variant(ts=r.now_ms() + 3_600_000)),
    ]


def test_every_refusal_is_dead_lettered_with_its_reason_while_valid_traffic_flows(
    ingester: IngesterProcess,
) -> None:
    ingester.start()
    _wait_ready(ingester)
    bad = _malformed()
    messages: list[tuple[str, bytes | str]] = []
    base = r.now_ms() - 60_000
    for seq in range(200):
        reading = r.parking(device_id="pk-good-00001", seq=seq, ts=base + seq)
        messages.append((r.topic_for(Kind.PARKING, reading.device_id), reading.model_dump_json()))
        if seq % 13 == 0 and bad:
            _, topic, payload = bad.pop()
            messages.append((topic, payload))
    messages.extend((topic, payload) for _, topic, payload in bad)
    publish_all(ingester.broker.host, ingester.broker.port, messages)

    wait_until(lambda: _count(ingester, "parking", "pk-good-00001") == 200, what="200 valid")
    letters = wait_until(
        lambda: len(ingester.dead_letters()) == len(_malformed()) and ingester.dead_letters(),
        what="every malformed message dead-lettered",
    )
    expected = sorted((reason.value, topic) for reason, topic, _ in _malformed())
    assert sorted((reason, topic) for topic, reason, _, _ in letters) == expected
    oversized = next(letter for letter in letters if letter[1] == Reason.OVERSIZED.value)
    assert len(oversized[2]) <= 4096  # the raw payload is kept, bounded
    out_of_range = next(letter for letter in letters if letter[1] == Reason.OUT_OF_RANGE.value)
    assert "battery_pct" in out_of_range[3]
    # nothing refused reached the database
    assert _count(ingester, "parking", "pk-bad-00001") == 0


def test_a_point_influxdb_refuses_is_dead_lettered_with_its_error_and_the_rest_is_written(
    ingester: IngesterProcess,
) -> None:
    # Another writer got there first and made manhole.battery_pct a string: every manhole point
    # the ingester writes now conflicts with it, in every batch.
    client = InfluxClient(InfluxTarget(ingester.influx.url, ingester.database))
    client.create_database()
    client.write(b'manhole,device=legacy battery_pct="low" ' + str(r.now_ms() - 10**6).encode())
    client.close()
    ingester.start()
    _wait_ready(ingester)
    messages: list[tuple[str, bytes | str]] = []
    for seq in range(50):
        light = r.streetlight(device_id="sl-mixed-00001", seq=seq, ts=r.now_ms() - 1000 + seq)
        messages.append((r.topic_for(Kind.STREETLIGHT, light.device_id), light.model_dump_json()))
        if seq in (10, 30):
            cover = r.manhole(device_id="mh-mixed-00001", seq=seq)
            messages.append((r.topic_for(Kind.MANHOLE, cover.device_id), cover.model_dump_json()))
    publish_all(ingester.broker.host, ingester.broker.port, messages)
    wait_until(lambda: _count(ingester, "streetlight", "sl-mixed-00001") == 50, what="50 lamps")
    letters = wait_until(lambda: len(ingester.dead_letters()) == 2 and ingester.dead_letters())
    assert {letter[1] for letter in letters} == {Reason.REJECTED_BY_DATABASE.value}
    assert all("field type conflict" in letter[3] for letter in letters)
    assert all(letter[2].startswith(b"manhole,device=mh-mixed-00001") for letter in letters)


def test_a_redelivered_message_overwrites_itself(ingester: IngesterProcess) -> None:
    ingester.start()
    _wait_ready(ingester)
    reading = r.manhole(device_id="mh-twice-00001", seq=7)
    message = (r.topic_for(Kind.MANHOLE, reading.device_id), reading.model_dump_json())
    publish_all(ingester.broker.host, ingester.broker.port, [message, message, message])
    wait_until(lambda: _count(ingester, "manhole", "mh-twice-00001") >= 1, what="the point")
    marker = r.manhole(device_id="mh-twice-00002", seq=1)
    publish_all(
        ingester.broker.host,
        ingester.broker.port,
        [(r.topic_for(Kind.MANHOLE, marker.device_id), marker.model_dump_json())],
    )
    wait_until(lambda: _count(ingester, "manhole", "mh-twice-00002") == 1, what="the marker")
    assert _count(ingester, "manhole", "mh-twice-00001") == 1


def test_messages_sent_while_the_ingester_is_down_arrive_after_it_returns(
    ingester: IngesterProcess,
) -> None:
    ingester.start()
    _wait_ready(ingester)
    assert ingester.stop() == 0
    base = r.now_ms() - 10_000
    publish_all(
        ingester.broker.host,
        ingester.broker.port,
        [
            (
                r.topic_for(Kind.PARKING, "pk-away-00001"),
                r.parking("pk-away-00001", seq=i, ts=base + i).model_dump_json(),
            )
            for i in range(500)
        ],
    )
    ingester.start()
    wait_until(lambda: _count(ingester, "parking", "pk-away-00001") == 500, what="500 points")


def test_what_arrives_while_influxdb_is_unreachable_is_written_when_it_is_back(
    ingester: IngesterProcess,
) -> None:
    # First run: InfluxDB unreachable. The ingester spools (durably) and reports itself degraded.
    good_url = ingester.influx.url
    ingester.extra_env["TIANQU_INGEST_INFLUX_URL"] = "http://127.0.0.1:9"
    ingester.start()
    wait_until(lambda: "connected to" in ingester.log(), what=f"MQTT connection\n{ingester.log()}")
    base = r.now_ms() - 10_000
    publish_all(
        ingester.broker.host,
        ingester.broker.port,
        [
            (
                r.topic_for(Kind.WATER, "wt-held-00001"),
                r.drain("wt-held-00001", seq=i, ts=base + i).model_dump_json(),
            )
            for i in range(300)
        ],
    )
    wait_until(lambda: "InfluxDB write failed" in ingester.log(), what="a failed write")
    readyz = httpx.get(f"{ingester.health_url}/readyz", timeout=2)
    assert readyz.status_code == 503
    assert any("InfluxDB" in p for p in readyz.json()["problems"])
    ingester.stop()
    # Second run, same state directory, InfluxDB reachable: the spool is written out.
    ingester.extra_env["TIANQU_INGEST_INFLUX_URL"] = good_url
    ingester.start()
    wait_until(lambda: _count(ingester, "water", "wt-held-00001") == 300, what="300 points")


def test_health_and_metrics(ingester: IngesterProcess) -> None:
    ingester.start()
    _wait_ready(ingester)
    reading = r.parking(device_id="pk-metric-00001")
    publish_all(
        ingester.broker.host,
        ingester.broker.port,
        [
            (r.topic_for(Kind.PARKING, reading.device_id), reading.model_dump_json()),
            (r.topic_for(Kind.PARKING, reading.device_id), b"not json"),
        ],
    )
    wait_until(lambda: _count(ingester, "parking", "pk-metric-00001") == 1, what="the point")
    assert httpx.get(f"{ingester.health_url}/healthz").json() == {"status": "ok"}
    metrics = wait_until(
        lambda: (
            'tianqu_ingest_rejected_total{reason="bad_json"} 1.0'
            in (text := httpx.get(f"{ingester.health_url}/metrics").text)
            and text
        ),
        what="the rejection counted",
    )
    assert "tianqu_ingest_received_total 2.0" in metrics
    assert "tianqu_ingest_acknowledged_total 2.0" in metrics
    assert "tianqu_ingest_points_written_total 1.0" in metrics


def test_mqtt5_publishes_with_properties_are_ingested(ingester: IngesterProcess) -> None:
    # The broker forwards a v5 publisher's properties to the (v5) ingester: the fast receive
    # path must skip them and still find the payload.
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    ingester.start()
    _wait_ready(ingester)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.connect(ingester.broker.host, ingester.broker.port)
    client.loop_start()
    properties = Properties(PacketTypes.PUBLISH)
    properties.UserProperty = ("gateway", "nb-iot-" + "x" * 300)
    properties.MessageExpiryInterval = 3600
    properties.ContentType = "application/json"
    base = r.now_ms() - 1000
    infos = [
        client.publish(
            r.topic_for(Kind.PARKING, "pk-v5-00001"),
            r.parking("pk-v5-00001", seq=i, ts=base + i).model_dump_json(),
            qos=1,
            properties=properties,
        )
        for i in range(50)
    ]
    for info in infos:
        info.wait_for_publish(10)
    client.disconnect()
    client.loop_stop()
    wait_until(lambda: _count(ingester, "parking", "pk-v5-00001") == 50, what="50 v5 points")


def test_the_ingester_reports_its_own_health_to_influxdb(ingester: IngesterProcess) -> None:
    ingester.extra_env["TIANQU_INGEST_STATS_EVERY_S"] = "1"
    ingester.start()
    _wait_ready(ingester)
    base = r.now_ms() - 1000
    publish_all(
        ingester.broker.host,
        ingester.broker.port,
        [
            (
                r.topic_for(Kind.PARKING, "pk-stats-00001"),
                r.parking("pk-stats-00001", seq=i, ts=base + i).model_dump_json(),
            )
            for i in range(30)
        ]
        + [(r.topic_for(Kind.PARKING, "pk-stats-00001"), b"junk")],
    )

    def latest() -> dict[str, object] | None:
        rows = ingester.rows('SELECT * FROM "platform_stats" ORDER BY time DESC LIMIT 1')
        return rows[0] if rows and int(str(rows[0]["received"])) >= 31 else None

    row = wait_until(latest, what=f"a platform_stats point counting 31 messages\n{ingester.log()}")
    assert row["service"] == "ingest"
    assert row["instance"] == ingester.client_id
    assert row["acknowledged"] == 31
    assert row["points_written"] >= 30
    assert row["dead_lettered"] == 1
    assert row["mqtt_connected"] == 1
    assert row["influx_up"] == 1
    assert row["spool_depth"] == 0
