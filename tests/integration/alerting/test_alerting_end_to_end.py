"""The evaluator as a process on a real mosquitto, delivering to a real HTTP receiver."""

from __future__ import annotations

from collections import Counter

import pytest

from city.kinds import Kind
from city.telemetry import DeviceStatus
from tests.integration.alerting.support import AlertingProcess, Receiver
from tests.support import readings as r
from tests.support.mqtt import publish_all
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

LEAK = "mh-leak-00001"


def _leak(device: str = LEAK, start_ms: int | None = None) -> list[tuple[str, str]]:
    """CH4 rising past 10 then past 50 %LEL, one reading a second."""
    start = start_ms or r.now_ms() - 10_000
    return [
        (
            r.topic_for(Kind.MANHOLE, device),
            r.manhole(device, seq=i, ts=start + i * 1000)
            .model_copy(update={"ch4_lel_pct": value})
            .model_dump_json(),
        )
        for i, value in enumerate((0.5, 4.0, 12.3, 30.0, 55.0, 61.0))
    ]


def test_a_gas_leak_raises_both_grades_at_the_receiver(
    alerting: AlertingProcess, receiver: Receiver
) -> None:
    alerting.start()
    birth = DeviceStatus(online=True, lat=37.4412, lon=116.4501, firmware="1.0").model_dump_json()
    publish_all(
        alerting.broker.host,
        alerting.broker.port,
        [(r.topic_for(Kind.MANHOLE, LEAK, "status"), birth), *_leak()],
    )
    wait_until(
        lambda: receiver.firing("manhole-ch4-high") and receiver.firing("manhole-ch4-critical"),
        what=f"both CH4 alerts at the receiver\n{alerting.log()}",
    )
    high = receiver.firing("manhole-ch4-high")
    critical = receiver.firing("manhole-ch4-critical")
    assert len(high) == 1
    assert len(critical) == 1
    assert (high[0]["grade"], critical[0]["grade"]) == ("III", "II")
    assert high[0]["fingerprint"] == f"manhole-ch4-high:{LEAK}"
    assert high[0]["summary"] == "井下甲烷超标 12.3 %LEL (阈值 > 10)"
    assert (high[0]["township"], high[0]["village"]) == ("yuanqiao", "dongzhan")
    assert (high[0]["lat"], high[0]["lon"]) == (37.4412, 116.4501)
    assert all(rec.api_key == "tqk_test_key" for rec in receiver.received)
    wait_until(lambda: alerting.readiness().get("outbox_depth") == 0, what="outbox empty")
    assert alerting.metric('tianqu_alerting_events_total{rule="manhole-ch4-high"') == 1


def test_events_wait_in_the_outbox_while_the_api_is_down_and_none_are_lost(
    alerting: AlertingProcess, receiver: Receiver
) -> None:
    alerting.start()
    receiver.stop()  # the port is closed: connection refused
    devices = [f"mh-down-{i:05d}" for i in range(5)]
    publish_all(
        alerting.broker.host,
        alerting.broker.port,
        [message for device in devices for message in _leak(device)],
    )
    wait_until(
        lambda: alerting.readiness().get("outbox_depth") == 10,
        what=f"10 events in the outbox\n{alerting.log()}",
    )
    wait_until(lambda: alerting.metric("tianqu_alerting_send_failures_total") >= 1)
    assert not alerting.ready()  # the API problem shows in /readyz
    assert receiver.events() == []
    revived = Receiver(receiver.port).start()  # the API is back, on the same address
    try:
        wait_until(
            lambda: alerting.readiness().get("outbox_depth") == 0,
            timeout=60,
            what=f"the outbox delivered\n{alerting.log()}",
        )
        got = Counter(e["fingerprint"] for e in revived.events())
    finally:
        revived.stop()
    expected = {
        f"{rule}:{d}" for d in devices for rule in ("manhole-ch4-high", "manhole-ch4-critical")
    }
    assert set(got) == expected
    assert alerting.metric("tianqu_alerting_events_delivered_total") == 10
    assert alerting.metric("tianqu_alerting_dead_lettered_total") == 0


def test_malformed_messages_are_skipped_without_stopping_the_evaluator(
    alerting: AlertingProcess, receiver: Receiver
) -> None:
    alerting.start()
    good = _leak("mh-after-00001")
    junk: list[tuple[str, str]] = [
        (r.topic_for(Kind.MANHOLE, "mh-junk-00001"), "{not json"),
        (r.topic_for(Kind.MANHOLE, "mh-junk-00001"), '{"device_id": "mh-junk-00001"}'),
        (r.topic_for(Kind.MANHOLE, "mh-junk-00001", "status"), "[]"),
        ("tianqu/v1/nowhere/nothing/manhole/mh-junk-00001/telemetry", "{}"),
        ("tianqu/v1/yuanqiao/dongzhan/toaster/tt-junk-00001/telemetry", "{}"),
        (
            r.topic_for(Kind.MANHOLE, "mh-junk-00001"),
            "\udcff".encode("utf-8", "surrogatepass").decode("latin-1"),
        ),
    ]
    publish_all(alerting.broker.host, alerting.broker.port, [*junk, *good])
    wait_until(
        lambda: receiver.firing("manhole-ch4-critical"),
        what=f"the alert after the junk\n{alerting.log()}",
    )
    assert [e["device_id"] for e in receiver.events()] == ["mh-after-00001", "mh-after-00001"]
    assert alerting.metric("tianqu_alerting_messages_skipped_total") == len(junk)
    assert alerting.process is not None
    assert alerting.process.alive


def test_a_restart_remembers_what_fires_and_the_broker_keeps_messages_meanwhile(
    alerting: AlertingProcess, receiver: Receiver
) -> None:
    alerting.start()
    start = r.now_ms() - 60_000
    publish_all(alerting.broker.host, alerting.broker.port, _leak("mh-rs-00001", start))
    wait_until(lambda: len(receiver.events()) == 2, what=f"two firings\n{alerting.log()}")
    assert alerting.stop() == 0
    recovery = (
        r.topic_for(Kind.MANHOLE, "mh-rs-00001"),
        r.manhole("mh-rs-00001", seq=99, ts=start + 30_000).model_dump_json(),  # 0.5 %LEL
    )
    publish_all(alerting.broker.host, alerting.broker.port, [recovery])  # while it is away
    alerting.start()
    wait_until(
        lambda: len(receiver.events()) == 4,
        what=f"two resolutions after the restart\n{alerting.log()}",
    )
    resolved = sorted(e["rule_id"] for e in receiver.events() if e["status"] == "resolved")
    assert resolved == ["manhole-ch4-critical", "manhole-ch4-high"]
