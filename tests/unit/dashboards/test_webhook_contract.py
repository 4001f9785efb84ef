"""What the generated rules make Grafana send is what the API's ``POST /alerts/grafana`` takes:
every rule's labels (static ones plus the query's GROUP BY tags) and annotations, in Grafana's
webhook body, parse into AlertEvents; the Grafana 12 signature checks out."""

from __future__ import annotations

import hashlib
import hmac
import json
import re

from api.core.config import Settings
from api.incidents import grafana as api_grafana
from city.grades import Grade
from city.rules import load_rules
from city.topology import load_city
from dashboards.alerts import GrafanaRule, to_json
from dashboards.generate import alert_rules, boards
from dashboards.names import ALERTS_FOLDER, SIGNATURE_HEADER, TIMESTAMP_HEADER

CITY = load_city()
BOOK = load_rules()
NOW_MS = 1_790_000_000_000


def _instance_labels(rule: GrafanaRule) -> dict[str, str]:
    """The series labels Grafana takes from the query's GROUP BY tags, for a sample device."""
    query = to_json(rule.model)["data"][0]["model"]["query"]
    group_by = re.findall(r'"(\w+)"', query.rsplit("GROUP BY", 1)[1])
    sample = {
        "township": "yuanqiao",
        "village": "dongzhan",
        "device": "mh-dongzhan-00001",
        "road": "dezhou-dadao",
        "river": "majiahe",
    }
    return {tag: sample[tag] for tag in group_by if tag in sample}


def _alert(rule: GrafanaRule, status: str) -> dict[str, object]:
    body = to_json(rule.model)
    labels = {
        "alertname": body["title"],
        "grafana_folder": ALERTS_FOLDER.title,
        **_instance_labels(rule),
        **body["labels"],
    }
    return {
        "status": status,
        "labels": labels,
        "annotations": body["annotations"],
        "startsAt": "2026-09-21T10:00:00+08:00",
        "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-09-21T10:30:00+08:00",
        "generatorURL": "http://grafana/alerting/grafana/x/view",
        "fingerprint": hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:16],
        "values": {"B": 12.5, "C": 1},
        "valueString": "[ var='B' labels={} value=12.5 ]",
    }


def test_every_rule_gives_alerts_the_api_accepts() -> None:
    rules = alert_rules(CITY, BOOK, boards(CITY, BOOK))
    alerts = [_alert(rule, status) for rule in rules for status in ("firing", "resolved")]
    body = {
        "receiver": "tianqu-api",
        "status": "firing",
        "orgId": 1,
        "alerts": alerts,
        "groupLabels": {},
        "commonLabels": {"grafana_folder": ALERTS_FOLDER.title},
        "commonAnnotations": {},
        "externalURL": "http://grafana/",
        "version": "1",
        "groupKey": "{}:{}",
        "truncatedAlerts": 0,
        "title": "[FIRING]",
        "state": "alerting",
        "message": "",
    }
    events = api_grafana.parse(json.dumps(body, ensure_ascii=False).encode(), NOW_MS)
    assert len(events) == len(alerts)
    for rule, event in zip([r for r in rules for _ in range(2)], events, strict=True):
        labels = rule.model.labels or {}
        assert event.rule_id == labels["rule_id"]
        assert event.grade is Grade(labels["grade"])
        assert event.township == "yuanqiao"
        assert event.village == "dongzhan"
        assert event.device_id == "mh-dongzhan-00001"
        assert event.kind is not None and event.kind.value == labels["kind"]
        assert event.summary.startswith(BOOK_NAMES[labels["rule_id"]])
        assert event.value == 12.5
    assert {e.status for e in events} == {"firing", "resolved"}


BOOK_NAMES = {r.id: r.name for r in [*BOOK.rules, *BOOK.no_data]}


def test_grafana_12_signature_is_what_the_api_checks() -> None:
    secret = "a-webhook-secret-of-32-characters!"
    body = b'{"alerts": []}'
    timestamp = str(NOW_MS // 1000)
    signature = hmac.new(
        secret.encode(), timestamp.encode() + b":" + body, hashlib.sha256
    ).hexdigest()
    fields = Settings.model_fields
    assert fields["grafana_signature_header"].default == SIGNATURE_HEADER
    assert fields["grafana_timestamp_header"].default == TIMESTAMP_HEADER
    assert (
        api_grafana.signature_problem(
            secret,
            body,
            signature=signature,
            timestamp=timestamp,
            now_s=NOW_MS / 1000,
            max_age_s=300,
        )
        is None
    )
