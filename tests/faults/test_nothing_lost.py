"""Faults survived with zero loss, proven by per-device sequence numbers found in InfluxDB.

Every test runs a steady QoS 1 load from a persistent-session publisher; a (device, seq) counts
as sent once the broker acknowledged it, and zero loss means every one of them is a point in
InfluxDB after the fault. Duplicates collapse because points carry the device timestamp.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest

from city.kinds import Kind
from devstack.processes import Broker, InfluxServer
from tests.support.load import SteadyLoad, missing
from tests.support.mqtt import publish_all
from tests.support.readings import parking, topic_for
from tests.support.stack import IngesterProcess
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration


def _ready(ingester: IngesterProcess) -> bool:
    try:
        return httpx.get(f"{ingester.health_url}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _readyz(ingester: IngesterProcess) -> dict[str, object]:
    return dict(httpx.get(f"{ingester.health_url}/readyz", timeout=2).json())


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _assert_nothing_lost(sent: set[tuple[str, int]], ingester: IngesterProcess) -> None:
    assert sent, "the load published nothing"
    lost = wait_until(
        lambda: not missing(sent, ingester.influx.url, ingester.database) or None,
        timeout=90,
        interval=0.5,
        what=f"all {len(sent)} acknowledged messages in InfluxDB\n{ingester.log()}",
    )
    assert lost


def test_ingester_killed_mid_stream_then_restarted(ingester: IngesterProcess) -> None:
    ingester.start()
    wait_until(lambda: _ready(ingester), what="ingester ready")
    load = SteadyLoad(ingester.broker.host, ingester.broker.port, rate=1000).start()
    wait_until(lambda: load.acked_count > 2000, what="load flowing")
    assert ingester.process is not None
    ingester.process.kill()  # SIGKILL: no drain, no goodbye
    wait_until(lambda: load.acked_count > 4000, what="load continuing without an ingester")
    ingester.start()
    wait_until(lambda: load.acked_count > 6000, what="more load after the restart")
    _assert_nothing_lost(load.stop(), ingester)


def test_influxdb_down_for_60_s_under_steady_load(ingester_own_db: IngesterProcess) -> None:
    ingester = ingester_own_db
    ingester.start()
    wait_until(lambda: _ready(ingester), what="ingester ready")
    load = SteadyLoad(ingester.broker.host, ingester.broker.port, rate=500).start()
    wait_until(lambda: load.acked_count > 1000, what="load flowing")
    ingester.influx.stop()
    outage_end = time.monotonic() + 60
    rss_peak = 0.0
    assert ingester.process is not None
    while time.monotonic() < outage_end:
        time.sleep(2)
        rss_peak = max(rss_peak, _rss_mb(ingester.process.pid))
    state = _readyz(ingester)
    # Still consuming: the backlog is in the ingester's spool, not stuck in the broker.
    assert state["status"] == "degraded"
    assert int(str(state["spool_depth"])) > 20_000
    assert int(str(state["unacknowledged"])) < 10_000
    ingester.influx.start()
    wait_until(lambda: _readyz(ingester)["spool_depth"] == 0, timeout=120, what="spool drained")
    _assert_nothing_lost(load.stop(), ingester)
    assert rss_peak < 150, f"ingester RSS peaked at {rss_peak:.0f} MB during the outage"


def test_broker_restarted_gracefully_mid_stream(ingester: IngesterProcess) -> None:
    ingester.start()
    wait_until(lambda: _ready(ingester), what="ingester ready")
    load = SteadyLoad(ingester.broker.host, ingester.broker.port, rate=1000).start()
    wait_until(lambda: load.acked_count > 2000, what="load flowing")
    ingester.broker.restart()  # SIGTERM: mosquitto saves its persistence file, then starts again
    wait_until(lambda: load.acked_count > 5000, timeout=60, what="load after the restart")
    wait_until(lambda: _ready(ingester), what="ingester reconnected")
    _assert_nothing_lost(load.stop(), ingester)


def test_broker_paused_past_the_keepalive_then_resumed(ingester: IngesterProcess) -> None:
    ingester.start()  # keepalive 5 s in the test settings
    wait_until(lambda: _ready(ingester), what="ingester ready")
    load = SteadyLoad(ingester.broker.host, ingester.broker.port, rate=500).start()
    wait_until(lambda: load.acked_count > 1000, what="load flowing")
    ingester.broker.process.pause()
    time.sleep(12)  # the fault itself: well past 1.5 × keepalive
    ingester.broker.process.resume()
    before = load.acked_count
    wait_until(lambda: load.acked_count > before + 3000, timeout=60, what="load after resume")
    # Data flows again, not merely "connected": messages sent after the pause are stored.
    _assert_nothing_lost(load.stop(), ingester)


def test_sigterm_under_load_drains_acknowledges_and_exits(ingester: IngesterProcess) -> None:
    ingester.extra_env["TIANQU_INGEST_DRAIN_TIMEOUT_S"] = "10"
    ingester.start()
    wait_until(lambda: _ready(ingester), what="ingester ready")
    load = SteadyLoad(ingester.broker.host, ingester.broker.port, rate=2000).start()
    wait_until(lambda: load.acked_count > 4000, what="load flowing")
    assert ingester.process is not None
    # stop() sends SIGTERM and escalates to SIGKILL only after 15 s: exit code 0 = it went alone.
    assert ingester.process.stop(timeout=15) == 0
    match = re.search(
        r"stopped: received (\d+), acknowledged (\d+), unacknowledged (\d+)", ingester.log()
    )
    assert match, ingester.log()
    received, acknowledged, unacknowledged = map(int, match.groups())
    assert received > 0
    assert acknowledged == received
    assert unacknowledged == 0
    ingester.start()
    _assert_nothing_lost(load.stop(), ingester)


def test_ten_thousand_malformed_messages_in_a_row(ingester: IngesterProcess) -> None:
    ingester.start()
    wait_until(lambda: _ready(ingester), what="ingester ready")
    topic = topic_for(Kind.PARKING, "pk-flood-00001")
    junk = [(topic, f'{{"device_id": "pk-flood-00001", "seq": {i}'.encode()) for i in range(10_000)]
    valid = [
        (
            topic,
            parking(
                "pk-flood-00001", seq=i, ts=int(time.time() * 1000) - 1000 + i
            ).model_dump_json(),
        )
        for i in range(100)
    ]
    publish_all(ingester.broker.host, ingester.broker.port, [*junk, *valid])
    rows = wait_until(
        lambda: (
            len(
                r := ingester.rows(
                    'SELECT count("seq") FROM "parking" WHERE "device" = $d',
                    {"d": "pk-flood-00001"},
                )
            )
            == 1
            and int(str(r[0]["count"])) == 100
            and r
        ),
        timeout=60,
        what="the valid messages behind the flood",
    )
    assert rows
    letters = wait_until(lambda: len(ingester.dead_letters()) == 10_000 and ingester.dead_letters())
    assert {reason for _, reason, _, _ in letters} == {"bad_json"}


def test_two_ingesters_share_one_subscription_without_loss(
    broker: Broker, influxd: InfluxServer, tmp_path: Path
) -> None:
    first = IngesterProcess(broker, influxd, tmp_path / "a")
    second = IngesterProcess(broker, influxd, tmp_path / "b", database=first.database)
    for member in (first, second):
        member.extra_env["TIANQU_INGEST_MQTT_SHARE_GROUP"] = "tianqu-ingest"
        member.start()
    try:
        for member in (first, second):
            wait_until(lambda m=member: _ready(m), what="both ingesters ready")
        load = SteadyLoad(broker.host, broker.port, rate=1000).start()
        wait_until(lambda: load.acked_count > 5000, what="load flowing")
        sent = load.stop()
        _assert_nothing_lost(sent, first)
        for member in (first, second):
            assert member.stop() == 0
        counts = []
        for member in (first, second):
            match = re.search(r"stopped: received (\d+)", member.log())
            assert match, member.log()
            counts.append(int(match.group(1)))
        assert all(count > 0 for count in counts), f"one member got nothing: {counts}"
        assert sum(counts) >= len(sent)
    finally:
        first.stop()
        second.stop()
