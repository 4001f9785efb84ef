"""A gas leak in a manhole of 大屯村 (袁桥镇), through the real services, on the controlled clock.

mosquitto, influxd, the ingester, the rule evaluator (``python -m alerting``) and the API
(``uvicorn``) run as processes. The manhole's CH4 climbs past 10 %LEL; the evaluator raises a
较大 (Ⅲ) alert; the API routes it to the 袁桥镇 captain on duty. Nobody acknowledges within the
township's timeout (the test moves the clock past it): it escalates to the district, which
acknowledges and dispatches it to 大屯村's captain, who resolves it; the 袁桥镇 captain
verifies (the resolver may not); the district closes it. The completion rate shows it, the
notifications went out through the webhook channel, the steps are in InfluxDB for Grafana —
and a captain of another village, or of another township, can neither see nor touch it.

Run with ``-s`` to see the incident's audit trail printed as the scenario's transcript.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from city.grades import Level
from city.kinds import Kind
from city.rules import default_rules
from city.telemetry import DeviceStatus
from city.topics import device_topic
from devstack.processes import Broker, InfluxServer
from tests.integration.alerting.support import AlertingProcess
from tests.integration.incidents.processes import (
    ADMIN,
    ADMIN_PASSWORD,
    PASSWORD,
    ApiProcess,
    Caller,
    WebhookReceiver,
    api_env,
    run_command,
)
from tests.support import readings as r
from tests.support.mqtt import publish_all
from tests.support.stack import IngesterProcess
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

TOWNSHIP, VILLAGE = "yuanqiao", "datun"
MANHOLE = "mh-datun-00042"
PEOPLE = {  # username: (level, township, village, display name)
    "yq-captain": ("township", TOWNSHIP, None, "袁桥镇值班机长"),
    "xq-captain": ("district", None, None, "新区值班机长"),
    "datun-captain": ("village", TOWNSHIP, VILLAGE, "大屯村机长"),
    "dongzhan-captain": ("village", TOWNSHIP, "dongzhan", "东站社区机长"),
    "changhe-captain": ("township", "changhe", None, "长河街道机长"),
}


def _readings(start_ms: int, ch4: list[float]) -> list[tuple[str, str]]:
    topic = device_topic(TOWNSHIP, VILLAGE, Kind.MANHOLE, MANHOLE, "telemetry")
    return [
        (topic, r.manhole(MANHOLE, seq=start_ms // 1000 + i, ts=start_ms + i * 1000)
         .model_copy(update={"ch4_lel_pct": value}).model_dump_json())
        for i, value in enumerate(ch4)
    ]  # fmt: skip


@pytest.fixture
def platform(
    broker: Broker, influxd: InfluxServer, ingester: IngesterProcess, tmp_path: Path
) -> Iterator[dict[str, Any]]:
    webhook = WebhookReceiver()
    env = api_env(
        tmp_path / "api", influxd.url, ingester.database,
        TIANQU_API_NOTIFY_WEBHOOK_URL=webhook.url,
        TIANQU_API_NOTIFY_WEBHOOK_SECRET="incidents-e2e-webhook-secret-0123456789",
        TIANQU_API_NOTIFY_POLL_INTERVAL_S="0.1",
    )  # fmt: skip
    run_command(["bootstrap", "--username", ADMIN], env)
    service_key = run_command(["service-key", "alerting"], env).strip()
    api = ApiProcess(env, tmp_path / "api.log").start()
    ingester.start()
    evaluator = AlertingProcess(broker, tmp_path / "alerting", api.url)
    evaluator.extra_env["TIANQU_ALERTING_API_KEY"] = service_key
    try:
        evaluator.start()
        yield {"api": api, "ingester": ingester, "evaluator": evaluator, "webhook": webhook}
    finally:
        evaluator.stop()
        api.stop()
        webhook.stop()


def _people(admin: Caller, url: str) -> dict[str, Caller]:
    callers = {}
    for username, (level, township, village, name) in PEOPLE.items():
        admin.ok("POST", "/users", json={
            "username": username, "display_name": name, "password": PASSWORD, "level": level,
            "township": township, "village": village, "role": "captain",
            "phone": "13800000000", "email": f"{username}@tianqu.example",
        })  # fmt: skip
        callers[username] = Caller(url, username, PASSWORD)
    return callers


def _roster(admin: Caller, people: dict[str, Caller]) -> None:
    ids = {p["username"]: p["id"] for p in admin.ok("GET", "/users")["items"]}
    now = datetime.now(UTC)
    window = {"starts_at": (now - timedelta(hours=1)).isoformat(),
              "ends_at": (now + timedelta(hours=12)).isoformat()}  # fmt: skip
    admin.ok("POST", "/duty/shifts", json={**window, "level": "township", "township": TOWNSHIP,
                                           "captain_user_id": ids["yq-captain"]})  # fmt: skip
    admin.ok("POST", "/duty/shifts", json={**window, "level": "district",
                                           "captain_user_id": ids["xq-captain"]})  # fmt: skip


def _print_transcript(incident: dict[str, Any], kpis: dict[str, Any], webhook: list[str]) -> None:
    print(f"\n=== incident {incident['id']}: {incident['title']} ===")
    print(f"    {incident['summary']} · device {incident['device_id']} · "
          f"{incident['township']}/{incident['village']}")  # fmt: skip
    for entry in incident["audit"]:
        states = f"{entry['from_state'] or '-'} → {entry['to_state'] or '-'}"
        who = f"{entry['actor_name']} ({entry['actor_kind']}, {entry['actor_level'] or '-'})"
        extra = entry["comment"] or ""
        if entry["action"] in ("raised", "escalated", "reminder"):
            extra += f"  notified {entry['details']['notified']}"
        print(f"  {entry['at'][11:19]}  {entry['action']:<12} {states:<28} level "
              f"{entry['level']:<9} {who:<34} {extra}")  # fmt: skip
    t = kpis["totals"]
    print(f"  KPIs 袁桥镇 (day): raised {t['raised']}, closed {t['closed']}, completion "
          f"{t['completion_rate']}, on time {t['on_time_rate']}, MTTA {t['mtta_s']} s, "
          f"MTTR {t['mttr_s']} s, escalations {t['escalations']}")  # fmt: skip
    print(f"  webhook notifications: {webhook}")


def test_a_gas_leak_in_a_village_of_yuanqiao_goes_round_the_closed_loop(
    platform: dict[str, Any], broker: Broker
) -> None:
    api: ApiProcess = platform["api"]
    ingester: IngesterProcess = platform["ingester"]
    evaluator: AlertingProcess = platform["evaluator"]
    webhook: WebhookReceiver = platform["webhook"]
    admin = Caller(api.url, ADMIN, ADMIN_PASSWORD)
    people = _people(admin, api.url)
    yq, xq, datun = people["yq-captain"], people["xq-captain"], people["datun-captain"]
    _roster(admin, people)

    # --- the leak: CH4 climbing in the manhole, over MQTT --------------------------------
    start = r.now_ms() - 10_000
    birth = DeviceStatus(online=True, lat=37.429, lon=116.429, firmware="1.0").model_dump_json()
    status_topic = device_topic(TOWNSHIP, VILLAGE, Kind.MANHOLE, MANHOLE, "status")
    publish_all(broker.host, broker.port,
                [(status_topic, birth), *_readings(start, [0.5, 4.0, 12.3, 18.6])])  # fmt: skip
    wait_until(
        lambda: ingester.rows(
            f'SELECT "ch4_lel_pct" FROM "manhole" WHERE "device" = \'{MANHOLE}\''
        ),
        what=f"the readings in InfluxDB\n{ingester.log()}",
    )

    def the_incident() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = yq.ok("GET", "/incidents", params={"device_id": MANHOLE})[
            "items"
        ]
        return found

    [listed] = wait_until(the_incident, timeout=30, what=f"the incident\n{evaluator.log()}")
    incident_id = listed["id"]
    assert (listed["grade"], listed["grade_label"]) == ("III", "Ⅲ级 较大")
    assert (listed["township"], listed["village"], listed["rule_id"]) == (
        TOWNSHIP, VILLAGE, "manhole-ch4-high",
    )  # fmt: skip
    assert (listed["level"], listed["state"]) == ("township", "raised")
    assert listed["duty_captain"]["username"] == "yq-captain"
    assert listed["source"] == "rules"
    chain = yq.ok("GET", "/duty/now", params={"village": VILLAGE})["levels"]
    assert [(lv["level"], lv["captain"]["username"]) for lv in chain] == [
        ("village", "datun-captain"), ("township", "yq-captain"), ("district", "xq-captain"),
    ]  # fmt: skip

    # --- nobody acknowledges within the township's timeout: up to the district -----------
    timeout = default_rules().escalation.ack_timeout_s[Level.TOWNSHIP]
    admin.ok("POST", "/dev/clock", json={"advance_s": timeout + 1})
    wait_until(
        lambda: xq.ok("GET", f"/incidents/{incident_id}")["level"] == "district",
        what=f"the escalation\n{api.log()}",
    )
    assert (
        yq.post(f"/incidents/{incident_id}/acknowledge", json={"comment": "晚了"}).status_code
        == 403
    )

    # --- the district takes it and sends 大屯村's captain ---------------------------------
    xq.ok("POST", f"/incidents/{incident_id}/acknowledge", json={"comment": "立即处置，疏散周边"})
    datun_id = next(u["id"] for u in admin.ok("GET", "/users")["items"]
                    if u["username"] == "datun-captain")  # fmt: skip
    dispatch = {"assignee_user_id": datun_id, "team": "燃气抢修队", "comment": "30 分钟内到场"}
    xq.ok("POST", f"/incidents/{incident_id}/dispatch", json=dispatch)
    datun.ok("POST", f"/incidents/{incident_id}/notes", json={"comment": "已到场，井口通风"})

    # The leak is stopped: CH4 falls, the evaluator reports the condition cleared.
    publish_all(broker.host, broker.port, _readings(r.now_ms(), [6.0, 3.1, 1.2]))
    wait_until(
        lambda: datun.ok("GET", f"/incidents/{incident_id}")["condition_cleared"],
        timeout=30,
        what=f"the condition cleared\n{evaluator.log()}",
    )
    datun.ok("POST", f"/incidents/{incident_id}/resolve", json={"comment": "管线接口已修复"})
    own = datun.post(f"/incidents/{incident_id}/verify", json={})
    assert own.status_code == 409 and "other than the resolver" in own.json()["detail"]
    yq.ok("POST", f"/incidents/{incident_id}/verify", json={"comment": "复测 CH4 0 %LEL"})
    closed = xq.ok("POST", f"/incidents/{incident_id}/close", json={"comment": "结案"})
    assert (closed["state"], closed["escalations"], closed["open"]) == ("closed", 1, False)

    # --- the KPIs show it ----------------------------------------------------------------
    kpis = yq.ok("GET", "/kpis", params={"township": TOWNSHIP, "period": "day"})
    totals = kpis["totals"]
    assert (totals["raised"], totals["closed"], totals["completion_rate"]) == (1, 1, 1.0)
    assert (totals["escalations"], totals["on_time_rate"]) == (1, 1.0)

    # --- other areas: not seen, not touched ----------------------------------------------
    for outsider in ("dongzhan-captain", "changhe-captain"):
        caller = people[outsider]
        assert caller.get(f"/incidents/{incident_id}").status_code == 404
        for action, body in (("notes", {"comment": "x"}), ("reopen", {"comment": "x"}),
                             ("acknowledge", {"comment": "x"})):  # fmt: skip
            assert caller.post(f"/incidents/{incident_id}/{action}", json=body).status_code == 404
        assert caller.ok("GET", "/incidents")["total"] == 0
        assert caller.ok("GET", "/kpis")["totals"]["raised"] == 0
        assert caller.get(f"/notifications?incident_id={incident_id}").json()["total"] == 0

    # --- notifications went out; Grafana's points are in InfluxDB ------------------------
    detail = xq.ok("GET", f"/incidents/{incident_id}")
    steps = [e["action"] for e in detail["audit"]]
    # The jump passed the first reminder (300 s) and the township's timeout (600 s): both
    # fire, in the order they fell due.
    assert steps == ["raised", "reminder", "escalated", "acknowledged", "dispatched", "note",
                     "cleared", "resolved", "verified", "closed"]  # fmt: skip
    wanted = {"raised", "escalated", "acknowledged", "dispatched", "resolved", "verified",
              "closed", "cleared"}  # fmt: skip
    wait_until(lambda: wanted <= set(webhook.events(incident_id)), what="the webhook")
    wait_until(
        lambda: len(ingester.rows(
            f'SELECT "state" FROM "incident_event" WHERE "incident_id" = {incident_id}'
        )) == len(steps),
        what="incident_event points",
    )  # fmt: skip
    wait_until(
        lambda: ingester.rows(
            "SELECT \"completion_rate\" FROM \"incident_kpi\" WHERE \"area\" = 'yuanqiao' "
            "AND \"period\" = 'day' AND \"completion_rate\" = 1.0"
        ),
        what="the KPI point",
    )  # fmt: skip
    _print_transcript(detail, kpis, webhook.events(incident_id))
    for caller in (admin, *people.values()):
        caller.close()
