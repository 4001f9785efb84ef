"""``python -m dashboards sync`` against a fake Grafana over HTTP (no Grafana can run here):
it creates everything once, then finds everything unchanged, and repairs what drifted."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

from city.rules import load_rules
from city.topology import load_city
from dashboards import sync
from dashboards.__main__ import main
from dashboards.names import ALERTS_FOLDER, ALL_FOLDERS, CONTACT_POINT_UID, DATASOURCE_UID
from dashboards.provisioning import InfluxSettings, WebhookSettings
from tests.unit.dashboards.fake_grafana import TOKEN, FakeGrafana, FakeGrafanaServer

INFLUX = InfluxSettings(
    url="http://influxdb:8086", user="grafana", password="influx-secret-0123456789"
)
WEBHOOK = WebhookSettings(
    api_url="http://api:8000",
    secret="hmac-secret-0123456789",
    api_key="tqk_grafana_0123456789",
    grafana=12,
)


@pytest.fixture
def server() -> Iterator[FakeGrafanaServer]:
    with FakeGrafanaServer(FakeGrafana()) as running:
        yield running


def _run(server: FakeGrafanaServer, **kwargs: object) -> sync.Report:
    api = sync.connect(server.url, TOKEN)
    return sync.sync(
        api,
        load_city(),
        load_rules(),
        influx=INFLUX,
        webhook=WEBHOOK,
        **kwargs,  # type: ignore[arg-type]
    )


def _by_action(report: sync.Report) -> Counter[str]:
    return Counter(c.action for c in report.changes)


def test_first_run_creates_everything_second_run_changes_nothing(server: FakeGrafanaServer) -> None:
    first = _run(server)
    fake = server.fake
    kinds = Counter(c.kind for c in first.changes if c.action == "created")
    assert kinds["folder"] == len(ALL_FOLDERS)
    assert kinds["datasource"] == 1
    assert kinds["dashboard"] == 8
    assert kinds["alert-rule"] == len(fake.rules) == 20  # 16 + 1 override + 3 no-data
    assert kinds["contact-point"] == 1
    assert {c.action for c in first.changes if c.kind == "policy"} == {"updated"}
    assert set(fake.folders) == {f.uid for f in ALL_FOLDERS}
    assert fake.secrets[DATASOURCE_UID] == {"password": INFLUX.password}
    webhook = fake.contact_points[CONTACT_POINT_UID]["settings"]
    assert webhook["hmacConfig"]["secret"] == WEBHOOK.secret
    assert webhook["authorization_credentials"] == WEBHOOK.api_key
    assert fake.policy["receiver"] == "tianqu-api"
    assert fake.group_intervals[(ALERTS_FOLDER.uid, "tianqu-no-data")] == 300
    assert fake.group_intervals[(ALERTS_FOLDER.uid, "tianqu-manhole")] == 60

    writes_before = len(fake.writes())
    second = _run(server)
    assert {c.action for c in second.changes} == {"unchanged"}, [
        c.line() for c in second.changes if c.action != "unchanged"
    ]
    assert len(second.changes) == len(first.changes)
    assert len(fake.writes()) == writes_before, "an unchanged run must not write"


def test_drift_is_repaired_and_stale_rules_are_deleted(server: FakeGrafanaServer) -> None:
    _run(server)
    fake = server.fake
    fake.dashboards["tianqu-district-cockpit"]["dashboard"]["title"] = "edited by hand"
    fake.folders["tianqu-platform"]["title"] = "renamed"
    removed = "tianqu-manhole-open"
    del fake.rules[removed]
    stale = {**fake.rules["tianqu-lamp-failure"], "uid": "tianqu-old-rule", "title": "old"}
    fake.rules["tianqu-old-rule"] = stale
    fake.rules["tianqu-river-above-warning"]["for"] = "5m"
    foreign = {**fake.rules["tianqu-lamp-failure"], "uid": "someone-else", "title": "theirs"}
    fake.rules["someone-else"] = {**foreign, "folderUID": "other-folder"}
    fake.datasources[DATASOURCE_UID]["url"] = "http://elsewhere:8086"
    fake.policy = {"receiver": "grafana-default-email"}

    report = _run(server)
    changed = {(c.kind, c.key): c.action for c in report.changes if c.action != "unchanged"}
    assert changed == {
        ("dashboard", "tianqu-district-cockpit"): "updated",
        ("folder", "tianqu-platform"): "updated",
        ("alert-rule", removed): "created",
        ("alert-rule", "tianqu-old-rule"): "deleted",
        ("alert-rule", "tianqu-river-above-warning"): "updated",
        ("datasource", DATASOURCE_UID): "updated",
        ("policy", "root"): "updated",
    }
    assert "someone-else" in fake.rules, "rules the generator does not own are left alone"
    assert fake.dashboards["tianqu-district-cockpit"]["dashboard"]["title"] == "新区城市驾驶舱"
    assert {c.action for c in _run(server).changes} == {"unchanged"}


def test_rotate_secrets_rewrites_them(server: FakeGrafanaServer) -> None:
    _run(server)
    report = _run(server, rotate_secrets=True)
    assert _by_action(report)["updated"] == 2
    assert {c.kind for c in report.changes if c.action == "updated"} == {
        "datasource",
        "contact-point",
    }


def test_grafana_11_gets_the_authorization_header_variant(server: FakeGrafanaServer) -> None:
    server.fake.version = "11.6.0"
    api = sync.connect(server.url, TOKEN)
    assert sync.grafana_major(api) == 11
    webhook = WebhookSettings(api_url="http://api:8000/", api_key="tqk_abc_def", grafana=11)
    sync.sync(api, load_city(), load_rules(), influx=INFLUX, webhook=webhook)
    settings = server.fake.contact_points[CONTACT_POINT_UID]["settings"]
    assert settings["url"] == "http://api:8000/alerts/grafana"
    assert settings["authorization_scheme"] == "Bearer"
    assert settings["authorization_credentials"] == "tqk_abc_def"
    assert "hmacConfig" not in settings


def test_cli_sync_prints_a_report(
    server: FakeGrafanaServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TIANQU_INFLUX_PASSWORD", "influx-secret-0123456789")
    monkeypatch.setenv("TIANQU_GRAFANA_WEBHOOK_SECRET", "hmac-secret-0123456789")
    monkeypatch.setenv("TIANQU_GRAFANA_API_KEY", "tqk_grafana_0123456789")
    argv = [
        "sync",
        "--url",
        server.url,
        "--token",
        TOKEN,
        "--influx-url",
        "http://influxdb:8086",
        "--influx-user",
        "grafana",
        "--api-url",
        "http://api:8000",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "created    dashboard      tianqu-district-cockpit  新区城市驾驶舱" in out
    assert main(argv) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.endswith(f"0 created, 0 updated, {last.split()[0]} unchanged, 0 deleted")


def test_cli_sync_refuses_without_addresses(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sync", "--url", "", "--influx-url", "", "--api-url", ""]) == 2
    assert "--url" in capsys.readouterr().err


def test_wrong_token_is_an_error(server: FakeGrafanaServer) -> None:
    from grafana_client.client import GrafanaUnauthorizedError

    api = sync.connect(server.url, "wrong")
    with pytest.raises(GrafanaUnauthorizedError):
        sync.sync(api, load_city(), load_rules(), influx=INFLUX, webhook=WEBHOOK)


def test_cli_reports_a_refusal_instead_of_a_traceback(
    server: FakeGrafanaServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TIANQU_INFLUX_PASSWORD", raising=False)
    argv = ["sync", "--url", server.url, "--token", "wrong"]
    argv += ["--influx-url", "http://influxdb:8086", "--api-url", "http://api:8000"]
    argv += ["--grafana-version", "12"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "Grafana refused: Unauthorized" in err
    assert "TIANQU_INFLUX_PASSWORD is empty" in err
