"""Grafana's webhook: the signature scheme, and its body read leniently into AlertEvents."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import orjson
import pytest

from api.incidents.grafana import GrafanaPayloadError, parse, signature_problem
from city.grades import Grade

SECRET = "grafana-webhook-secret-0123456789abcdef"
NOW_S = 1_790_000_000.0
NOW_MS = int(NOW_S * 1000)


def _alert(**overrides: Any) -> dict[str, Any]:
    alert: dict[str, Any] = {
        "status": "firing",
        "labels": {"alertname": "井下甲烷超标", "rule_id": "manhole-ch4-high", "grade": "III",
                   "township": "yuanqiao", "village": "datun", "device": "mh-datun-00007",
                   "kind": "manhole"},
        "annotations": {"summary": "CH4 12.5 %LEL in 大屯村"},
        "startsAt": "2026-11-30T08:00:00+08:00",
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": "3f2a9c0d1e4b5a67",
        "values": {"B": 12.5, "C": 1},
        "valueString": "[ var='B' labels={} value=12.5 ]",
        "generatorURL": "http://grafana/alerting/grafana/x/view",
        "newer_field_we_do_not_know": {"x": 1},
    }  # fmt: skip
    alert.update(overrides)
    return alert


def _body(*alerts: dict[str, Any], **top: Any) -> bytes:
    return orjson.dumps({"receiver": "tianqu", "status": "firing", "orgId": 1, "version": "1",
                         "alerts": list(alerts), "groupLabels": {}, "commonLabels": {},
                         "externalURL": "http://grafana/", **top})  # fmt: skip


def _sign(body: bytes, timestamp: str | None = None) -> str:
    message = body if timestamp is None else timestamp.encode() + b":" + body
    return hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()


def _check(body: bytes, signature: str | None, timestamp: str | None = None) -> str | None:
    return signature_problem(SECRET, body, signature=signature, timestamp=timestamp,
                             now_s=NOW_S, max_age_s=300)  # fmt: skip


def test_a_good_signature_over_the_body_passes() -> None:
    body = _body(_alert())
    assert _check(body, _sign(body)) is None
    assert _check(body, _sign(body).upper()) is None  # hex is hex


def test_a_good_signature_over_timestamp_and_body_passes() -> None:
    body = _body(_alert())
    stamp = str(int(NOW_S) - 20)
    assert _check(body, _sign(body, stamp), stamp) is None
    assert _check(body, _sign(body, str(NOW_MS)), str(NOW_MS)) is None  # milliseconds too


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        ("missing", "missing webhook signature"),
        ("other secret", "does not match"),
        ("body changed", "does not match"),
        ("timestamp ignored", "does not match"),
        ("old timestamp", "too far from now"),
        ("odd timestamp", "not a number"),
    ],
)
def test_a_missing_or_wrong_signature_is_refused(tamper: str, problem: str) -> None:
    body = _body(_alert())
    stamp: str | None = None
    if tamper == "missing":
        signature = None
    elif tamper == "other secret":
        signature = hmac.new(b"another", body, hashlib.sha256).hexdigest()
    elif tamper == "body changed":
        signature = _sign(body.replace(b"12.5", b"2.5"))
    elif tamper == "timestamp ignored":
        stamp = str(int(NOW_S))
        signature = _sign(body)
    elif tamper == "old timestamp":
        stamp = str(int(NOW_S) - 3600)
        signature = _sign(body, stamp)
    else:
        stamp = "yesterday"
        signature = _sign(body, stamp)
    found = _check(body, signature, stamp)
    assert found is not None and problem in found


def test_alerts_become_events_with_grafanas_fingerprint() -> None:
    firing, resolved = parse(
        _body(_alert(), _alert(status="resolved", endsAt="2026-11-30T09:00:00Z",
                               fingerprint="aa11")),
        NOW_MS,
    )  # fmt: skip
    assert firing.source == "grafana"
    assert (firing.status, firing.rule_id, firing.grade) == (
        "firing",
        "manhole-ch4-high",
        Grade.III,
    )
    assert firing.fingerprint == "grafana:3f2a9c0d1e4b5a67"
    assert (firing.township, firing.village, firing.device_id) == (
        "yuanqiao",
        "datun",
        "mh-datun-00007",
    )
    assert (firing.value, firing.summary) == (12.5, "CH4 12.5 %LEL in 大屯村")
    assert firing.observed_ms == 1_795_996_800_000  # startsAt, 08:00 China time = 00:00 UTC
    assert resolved.status == "resolved" and resolved.observed_ms == 1_796_029_200_000


@pytest.mark.parametrize("grade", ["III", "iii", "Ⅲ", "较大", "3"])
def test_grades_are_read_as_operators_write_them(grade: str) -> None:
    alert = _alert()
    alert["labels"]["grade"] = grade
    [event] = parse(_body(alert), NOW_MS)
    assert event.grade is Grade.III


def test_common_labels_fill_in_and_missing_fields_have_defaults() -> None:
    minimal = {"labels": {"rule_id": "manhole-open"}, "status": "firing"}
    [event] = parse(_body(minimal, commonLabels={"grade": "IV", "township": "yuanqiao"}), NOW_MS)
    assert (event.grade, event.township, event.village) == (Grade.IV, "yuanqiao", None)
    assert event.observed_ms == NOW_MS  # no startsAt: the time it arrived
    assert event.fingerprint.startswith("grafana:")  # made from the labels
    assert event.summary == "manhole-open"


def test_missing_labels_are_named() -> None:
    alert = _alert(labels={"alertname": "x", "grade": "III"})
    with pytest.raises(GrafanaPayloadError) as caught:
        parse(_body(_alert(), alert), NOW_MS)
    locs = {tuple(e["loc"]): e["msg"] for e in caught.value.errors}
    assert locs == {
        ("body", "alerts", 1, "labels", "rule_id"): "missing label",
        ("body", "alerts", 1, "labels", "township"): "missing label",
    }


@pytest.mark.parametrize(
    ("raw", "loc"),
    [
        (b"not json", ("body",)),
        (b"[]", ("body",)),
        (b'{"alerts": "no"}', ("body", "alerts")),
        (b'{"alerts": [1]}', ("body", "alerts", 0)),
        (_body(_alert(status="pending")), ("body", "alerts", 0, "status")),
        (_body(_alert(labels={**_alert()["labels"], "grade": "V"})),
         ("body", "alerts", 0, "labels", "grade")),
        (_body(_alert(labels={**_alert()["labels"], "township": "Not A Slug"})),
         ("body", "alerts", 0, "labels", "township")),
        (_body(_alert(labels={**_alert()["labels"], "device": "?"})),
         ("body", "alerts", 0, "labels", "device")),
    ],
)  # fmt: skip
def test_bad_bodies_name_where(raw: bytes, loc: tuple[object, ...]) -> None:
    with pytest.raises(GrafanaPayloadError) as caught:
        parse(raw, NOW_MS)
    assert tuple(caught.value.errors[0]["loc"]) == loc
