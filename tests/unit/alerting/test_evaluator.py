"""Every rule type of the shipped rule book through the evaluator, on the demo roster."""

from __future__ import annotations

from alerting.engine import DeviceRecord
from city.alerts import AlertEvent
from city.grades import Grade
from city.kinds import Kind
from city.rules import default_rules
from tests.support import readings as r
from tests.unit.alerting.conftest import T0, Harness, book_with


def _ids(events: list[AlertEvent]) -> list[tuple[str, str]]:
    return [(e.rule_id, e.status) for e in events]


def _ch4(value: float, at_s: float, device: str = "mh-leak-00001", seq: int = 1):  # type: ignore[no-untyped-def]
    return r.manhole(device, seq=seq, ts=T0 + int(at_s * 1000)).model_copy(
        update={"ch4_lel_pct": value}
    )


def test_a_gas_leak_fires_high_then_critical_and_resolves_both(harness: Harness) -> None:
    harness.birth("mh-leak-00001", Kind.MANHOLE, lat=37.4412, lon=116.4501)
    assert harness.send(_ch4(0.5, 0)) == []
    high = harness.send(_ch4(12.3, 10))
    assert _ids(high) == [("manhole-ch4-high", "firing")]
    event = high[0]
    assert event.grade is Grade.III
    assert event.fingerprint == "manhole-ch4-high:mh-leak-00001"
    assert (event.township, event.village, event.device_id) == (
        "yuanqiao",
        "dongzhan",
        "mh-leak-00001",
    )
    assert event.kind is Kind.MANHOLE
    assert event.summary == "井下甲烷超标 12.3 %LEL (阈值 > 10)"
    assert event.value == 12.3
    assert event.threshold == "> 10"
    assert event.observed_ms == T0 + 10_000
    assert (event.lat, event.lon) == (37.4412, 116.4501)

    critical = harness.send(_ch4(55, 20))
    assert _ids(critical) == [("manhole-ch4-critical", "firing")]
    assert critical[0].grade is Grade.II
    assert critical[0].summary == "井下甲烷严重超标 55 %LEL (阈值 > 50)"

    assert harness.send(_ch4(30, 30)) == []  # under 50 but not under 25: hysteresis
    critical_over = harness.send(_ch4(20, 40))
    assert _ids(critical_over) == [("manhole-ch4-critical", "resolved")]
    assert critical_over[0].summary == "井下甲烷严重超标 已恢复 20 %LEL (恢复条件 < 25)"
    assert harness.send(_ch4(6, 50)) == []  # under 10, not under 5
    assert _ids(harness.send(_ch4(3, 60))) == [("manhole-ch4-high", "resolved")]


def test_a_jump_straight_past_both_thresholds_fires_both(harness: Harness) -> None:
    assert _ids(harness.send(_ch4(60, 0))) == [
        ("manhole-ch4-high", "firing"),
        ("manhole-ch4-critical", "firing"),
    ]


def test_below_with_hysteresis_battery(harness: Harness) -> None:
    def battery(pct: int, at: int):  # type: ignore[no-untyped-def]
        return r.manhole("mh-batt-00001", ts=T0 + at).model_copy(update={"battery_pct": pct})

    assert _ids(harness.send(battery(14, 1))) == [("manhole-battery-low", "firing")]
    assert harness.send(battery(20, 2)) == []
    assert _ids(harness.send(battery(30, 3))) == [("manhole-battery-low", "resolved")]


def test_outside_a_band_needs_three_readings_ph(harness: Harness) -> None:
    def ph(value: float, at: int):  # type: ignore[no-untyped-def]
        return r.river("wt-ph-00001", ts=T0 + at).model_copy(update={"ph": value})

    assert harness.send(ph(5.5, 1), "zhaohu", "yangzhuang") == []
    assert harness.send(ph(9.5, 2), "zhaohu", "yangzhuang") == []
    fired = harness.send(ph(5.2, 3), "zhaohu", "yangzhuang")
    assert _ids(fired) == [("river-quality-ph", "firing")]
    assert fired[0].summary == "河道水质pH异常 5.2 (阈值 outside [6, 9])"
    resolved = harness.send(ph(7.0, 4), "zhaohu", "yangzhuang")
    assert _ids(resolved) == [("river-quality-ph", "resolved")]


def test_equals_a_state_cover_open_and_lamp_status(harness: Harness) -> None:
    opened = r.manhole("mh-open-00001", ts=T0 + 1).model_copy(update={"cover_open": True})
    fired = harness.send(opened)
    assert _ids(fired) == [("manhole-open", "firing")]
    assert fired[0].summary == "井盖开启 是 (阈值 = 是)"
    closed = r.manhole("mh-open-00001", ts=T0 + 2)
    assert _ids(harness.send(closed)) == [("manhole-open", "resolved")]

    def lamp(status: str, at: int):  # type: ignore[no-untyped-def]
        return r.streetlight("sl-eq-00001", ts=T0 + at).model_copy(update={"status": status})

    assert _ids(harness.send(lamp("defectiveLamp", 3))) == [("lamp-failure", "firing")]
    assert harness.send(lamp("brokenLantern", 4)) == []  # recover is "= ok", not "≠ defective"
    assert _ids(harness.send(lamp("ok", 5))) == [("lamp-failure", "resolved")]


def _tilt(deg: float, at_s: float, device: str = "mh-tilt-00001"):  # type: ignore[no-untyped-def]
    return r.manhole(device, ts=T0 + int(at_s * 1000)).model_copy(update={"tilt_deg": deg})


def test_for_s_ignores_a_passing_vehicle_and_fires_a_held_tilt(harness: Harness) -> None:
    datun = ("yuanqiao", "datun")
    assert harness.send(_tilt(25, 0), *datun) == []
    assert harness.send(_tilt(1, 2), *datun) == []  # the lorry has passed
    assert harness.send(_tilt(25, 100), *datun) == []
    fired = harness.send(_tilt(25, 131), *datun)
    assert _ids(fired) == [("manhole-tilt", "firing")]
    assert fired[0].observed_ms == T0 + 131_000
    assert harness.send(_tilt(4, 140), *datun)[0].status == "resolved"  # below 5


def test_for_s_fires_by_the_clock_when_the_cover_says_nothing_more(harness: Harness) -> None:
    assert harness.send(_tilt(25, 0), "yuanqiao", "datun") == []
    harness.clock.set(T0 + 29_000)
    assert harness.evaluator.check() == []
    harness.clock.set(T0 + 31_000)
    fired = harness.evaluator.check()
    assert _ids(fired) == [("manhole-tilt", "firing")]
    assert fired[0].observed_ms == T0 + 30_000  # when it had held for for_s
    assert harness.evaluator.check() == []


def test_station_thresholds_on_the_majiahe_stations(harness: Harness) -> None:
    def level(value: float, at: int, device: str):  # type: ignore[no-untyped-def]
        return r.river(device, ts=T0 + at).model_copy(update={"level_m": value})

    # 马颊河赵虎站 (yangzhuang): warning 7.5, guarantee 8.6; 马颊岛站 (majiahe-cun): warning 7.2
    zhaohu = ("zhaohu", "yangzhuang")
    majiadao = ("taitousi", "majiahe-cun")
    assert harness.send(level(7.3, 1, "wt-zh-00001"), *zhaohu) == []
    assert harness.send(level(7.3, 2, "wt-zh-00001"), *zhaohu) == []  # under 赵虎's 7.5
    assert harness.send(level(7.3, 1, "wt-mj-00001"), *majiadao) == []
    fired = harness.send(level(7.3, 2, "wt-mj-00001"), *majiadao)  # over 马颊岛's 7.2, twice
    assert _ids(fired) == [("river-above-warning", "firing")]
    assert fired[0].summary == "河道水位超警戒 7.3 m (阈值 > 7.2 警戒水位)"
    assert fired[0].threshold == "> 7.2 警戒水位"

    assert harness.send(level(8.7, 3, "wt-zh-00001"), *zhaohu) == []
    both = harness.send(level(8.7, 4, "wt-zh-00001"), *zhaohu)
    assert _ids(both) == [("river-above-warning", "firing"), ("river-above-guarantee", "firing")]
    assert both[1].grade is Grade.II
    down = harness.send(level(8.0, 5, "wt-zh-00001"), *zhaohu)
    assert _ids(down) == [("river-above-guarantee", "resolved")]


def test_a_river_reading_where_the_river_has_no_station_skips_station_rules(
    harness: Harness,
) -> None:
    # 马颊河 has no station in dongzhan: no level to compare with, so no level alarm at all.
    high = r.river("wt-nost-00001", ts=T0 + 1).model_copy(update={"level_m": 20.0})
    assert harness.send(high) == []
    assert harness.send(high.model_copy(update={"ts": T0 + 2})) == []


def test_village_override_makes_the_station_square_stricter(harness: Harness) -> None:
    # rules.yaml: manhole-tilt in 东站 (dongzhan) fires above 5 instead of 10
    for village, expected in (("dongzhan", [("manhole-tilt", "firing")]), ("datun", [])):
        device = f"mh-ov-{village}"
        assert harness.send(_tilt(7, 0, device), "yuanqiao", village) == []
        assert _ids(harness.send(_tilt(7, 31, device), "yuanqiao", village)) == expected


def test_device_override_and_grade_and_off_by_township() -> None:
    book = book_with(
        overrides=[
            {"rule": "manhole-ch4-high", "match": {"device": "mh-kitchen-01"},
             "condition": {"above": 20}},
            {"rule": "manhole-ch4-high", "match": {"township": "changhe"}, "grade": "II"},
            {"rule": "manhole-battery-low", "match": {"village": "datun"}, "enabled": False},
        ]
    )  # fmt: skip
    harness = Harness(book)
    assert harness.send(_ch4(15, 1, "mh-kitchen-01")) == []
    assert _ids(harness.send(_ch4(21, 2, "mh-kitchen-01"))) == [("manhole-ch4-high", "firing")]
    assert _ids(harness.send(_ch4(15, 1, "mh-other-01"))) == [("manhole-ch4-high", "firing")]
    in_changhe = harness.send(_ch4(15, 1, "mh-changhe-01"), "changhe", "hubin")
    assert in_changhe[0].grade is Grade.II
    low = r.manhole("mh-datun-01", ts=T0 + 1).model_copy(update={"battery_pct": 3})
    assert harness.send(low, "yuanqiao", "datun") == []
    assert _ids(harness.send(low, "yuanqiao", "xiaotun")) == [("manhole-battery-low", "firing")]


def test_a_disabled_rule_never_fires() -> None:
    raw_rules = [rule.model_dump(mode="json") for rule in default_rules().rules]
    for rule in raw_rules:
        if rule["id"] == "manhole-open":
            rule["enabled"] = False
    harness = Harness(book_with(rules=raw_rules))
    opened = r.manhole("mh-off-00001", ts=T0 + 1).model_copy(update={"cover_open": True})
    assert harness.send(opened) == []


def test_no_data_fires_after_factor_times_heartbeat_and_resolves_when_it_speaks(
    harness: Harness,
) -> None:
    harness.birth("pk-quiet-00001", Kind.PARKING, lat=37.45, lon=116.46)  # known from its birth
    harness.clock.advance(3599)
    assert harness.evaluator.check() == []
    harness.clock.advance(2)  # parking-silent: 2 × 30 min
    fired = harness.evaluator.check()
    assert _ids(fired) == [("parking-silent", "firing")]
    assert fired[0].grade is Grade.IV
    assert fired[0].fingerprint == "parking-silent:pk-quiet-00001"
    assert (fired[0].lat, fired[0].lon) == (37.45, 116.46)
    assert fired[0].summary == "地磁车位检测器离线 60.02 分钟无数据 (阈值 60 分钟)"
    assert fired[0].observed_ms == harness.clock.now_ms()
    harness.clock.advance(600)
    assert harness.evaluator.check() == []  # once
    back = harness.send(r.parking("pk-quiet-00001", ts=harness.clock.now_ms()))
    assert _ids(back) == [("parking-silent", "resolved")]
    assert back[0].summary == "地磁车位检测器离线 已恢复通信"


def test_no_data_knows_devices_from_their_first_message_and_the_site(harness: Harness) -> None:
    harness.send(r.manhole("mh-first-00001", ts=T0))
    harness.send(r.river("wt-river-00001", ts=T0), "zhaohu", "yangzhuang")
    harness.send(r.drain("wt-drain-00001", ts=T0))
    harness.clock.advance(1801)  # river stations: 6 × 5 min
    assert _ids(harness.evaluator.check()) == [("river-station-silent", "firing")]
    harness.clock.advance(3600)  # covers: 3 × 30 min
    silent = harness.evaluator.check()
    assert [(e.rule_id, e.device_id) for e in silent] == [("manhole-silent", "mh-first-00001")]
    # the drain has no no-data rule; its "site" keeps it out of river-station-silent


def test_a_birth_resolves_silence_and_a_last_will_does_not(harness: Harness) -> None:
    harness.send(r.manhole("mh-will-00001", ts=T0))
    harness.clock.advance(5401)
    assert _ids(harness.evaluator.check()) == [("manhole-silent", "firing")]
    assert harness.birth("mh-will-00001", Kind.MANHOLE, online=False) == []
    assert _ids(harness.birth("mh-will-00001", Kind.MANHOLE)) == [("manhole-silent", "resolved")]


def _lamp(device: str, status: str, at_s: float, road: str = "dezhou-dadao"):  # type: ignore[no-untyped-def]
    return r.streetlight(device, ts=T0 + int(at_s * 1000)).model_copy(
        update={"status": status, "road": road}
    )


def test_three_lamps_failing_on_one_road_within_ten_minutes_raise_a_road_incident(
    harness: Harness,
) -> None:
    assert _ids(harness.send(_lamp("sl-road-00001", "defectiveLamp", 0))) == [
        ("lamp-failure", "firing")
    ]
    harness.send(_lamp("sl-road-00002", "defectiveLamp", 120))
    harness.send(_lamp("sl-other-0001", "defectiveLamp", 130, road="yingbin-dadao"))
    third = harness.send(_lamp("sl-road-00003", "defectiveLamp", 300))
    assert _ids(third) == [("lamp-failure", "firing"), ("road-lamp-outage", "firing")]
    road = third[1]
    assert road.grade is Grade.III
    assert road.fingerprint == "road-lamp-outage:road:dezhou-dadao"
    assert road.subject == "road:dezhou-dadao"
    assert (road.township, road.village, road.device_id) == ("yuanqiao", "dongzhan", None)
    assert road.summary == "道路成片路灯故障 德州大道 10 分钟内 3 处 (阈值 ≥ 3)"
    assert road.lat is not None
    assert road.observed_ms == T0 + 300_000
    fourth = harness.send(_lamp("sl-road-00004", "defectiveLamp", 310))
    assert _ids(fourth) == [("lamp-failure", "firing")]  # the road incident is already open

    harness.send(_lamp("sl-road-00001", "ok", 400))
    harness.send(_lamp("sl-road-00002", "ok", 410))
    harness.send(_lamp("sl-road-00003", "ok", 420))
    last = harness.send(_lamp("sl-road-00004", "ok", 430))
    assert _ids(last) == [("lamp-failure", "resolved"), ("road-lamp-outage", "resolved")]


def test_lamps_spread_over_more_than_the_window_or_one_lamp_flapping_do_not_correlate(
    harness: Harness,
) -> None:
    harness.send(_lamp("sl-slow-00001", "defectiveLamp", 0))
    harness.send(_lamp("sl-slow-00002", "defectiveLamp", 400))
    assert _ids(harness.send(_lamp("sl-slow-00003", "defectiveLamp", 700))) == [
        ("lamp-failure", "firing")
    ]  # 0 s and 700 s are 11+ minutes apart; only two within any 10 minutes
    for at in (710, 720, 730, 740):  # one lamp flapping counts once
        harness.send(_lamp("sl-slow-00003", "ok" if at % 20 else "defectiveLamp", at))
    events = harness.send(_lamp("sl-slow-00003", "defectiveLamp", 750))
    assert ("road-lamp-outage", "firing") not in _ids(events)


def test_waterlogging_at_three_drains_of_one_township_is_one_graver_incident(
    harness: Harness,
) -> None:
    def drain(device: str, depth: float, at_s: float):  # type: ignore[no-untyped-def]
        return r.drain(device, ts=T0 + int(at_s * 1000)).model_copy(update={"depth_m": depth})

    # one drain deep (both rules fire) and a second one: still two drains, no area incident
    assert _ids(harness.send(drain("wt-dr-00001", 0.5, 0))) == [
        ("road-waterlogging", "firing"),
        ("road-waterlogging-deep", "firing"),
    ]
    assert _ids(harness.send(drain("wt-dr-00002", 0.2, 60), "yuanqiao", "datun")) == [
        ("road-waterlogging", "firing")
    ]
    # a drain in another township does not count for 袁桥镇
    assert len(harness.send(drain("wt-dr-00009", 0.2, 90), "changhe", "tianqu")) == 1
    third = harness.send(drain("wt-dr-00003", 0.2, 1200), "yuanqiao", "mazhuang")
    assert _ids(third) == [("road-waterlogging", "firing"), ("township-waterlogging", "firing")]
    area = third[1]
    assert area.grade is Grade.II
    assert (area.township, area.village) == ("yuanqiao", None)
    assert area.fingerprint == "township-waterlogging:township:yuanqiao"
    assert area.summary == "镇街多点积水 袁桥镇 30 分钟内 3 处 (阈值 ≥ 3)"


def test_restore_after_a_restart_still_resolves_what_was_firing(harness: Harness) -> None:
    harness.birth("mh-restart-01", Kind.MANHOLE)
    fired = harness.send(_ch4(12, 1, "mh-restart-01"))
    lamps = [harness.send(_lamp(f"sl-rs-0000{i}", "defectiveLamp", i)) for i in range(3)]
    road = lamps[-1][-1]
    assert road.rule_id == "road-lamp-outage"
    records = list(harness.evaluator.devices)
    # A new evaluator (the restarted process) learns from the outbox's records.
    again = Harness()
    saved = [
        DeviceRecord(
            d.device_id, d.kind, d.township, d.village, d.site, d.road, d.river, d.lat, d.lon,
            d.last_seen_ms,
        )
        for d in records
    ]  # fmt: skip
    assert again.evaluator.restore(saved, [fired[0], *[e[0] for e in lamps], road]) == []
    assert len(again.evaluator.devices) == len(records)
    resolved = again.send(_ch4(1, 5, "mh-restart-01"))
    assert _ids(resolved) == [("manhole-ch4-high", "resolved")]
    assert resolved[0].lat == 37.44  # position remembered from the birth
    assert again.send(_ch4(12, 1, "mh-restart-01")) == []  # an old redelivery changes nothing


def test_restore_resolves_an_area_incident_whose_members_are_no_longer_open() -> None:
    first = Harness()
    lamps = [first.send(_lamp(f"sl-gone-0000{i}", "defectiveLamp", i)) for i in range(3)]
    road = lamps[-1][-1]
    again = Harness()
    resolved = again.evaluator.restore(list(first.evaluator.devices), [road])
    assert _ids(resolved) == [("road-lamp-outage", "resolved")]


def test_a_late_message_counts_by_its_device_time_not_its_arrival(harness: Harness) -> None:
    harness.send(_lamp("sl-late-00001", "defectiveLamp", 700))
    harness.send(_lamp("sl-late-00002", "defectiveLamp", 650))
    # arrives last, but happened 11+ minutes before the newest: outside the window
    assert _ids(harness.send(_lamp("sl-late-00003", "defectiveLamp", 50))) == [
        ("lamp-failure", "firing")
    ]
    # arrives last, happened within ten minutes of the others: the road incident
    late = harness.send(_lamp("sl-late-00004", "defectiveLamp", 200))
    assert _ids(late) == [("lamp-failure", "firing"), ("road-lamp-outage", "firing")]
