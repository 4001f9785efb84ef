"""Push folders, the data source, the boards, the alert rules, the contact point and the
notification policy into a running Grafana over its HTTP API, idempotently.

Every object is read first and written only when it differs from what the generator produces,
so a second run reports everything ``unchanged``. Alert rules this generator owns (uid prefix
``tianqu-`` in the alerts folder) that the rules file no longer has are deleted. Rules and the
contact point are created with Grafana's default provenance (``api``), so the UI shows them as
provisioned and read-only: the rules file stays the one place to change them.

Secrets Grafana never returns (the data source password or token, the webhook's HMAC secret or
API key) cannot be compared; they are written when the object is created or changes, and on
every run with ``--rotate-secrets``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from grafana_client.api import GrafanaApi
from grafana_client.client import GrafanaClientError

from city.rules import RuleBook
from city.topology import City
from dashboards import alerts
from dashboards.generate import Board, alert_rules, boards
from dashboards.names import ALERTS_FOLDER, ALL_FOLDERS, DATASOURCE_UID, UID_PREFIX
from dashboards.provisioning import (
    GrafanaMajor,
    InfluxSettings,
    WebhookSettings,
    contact_point,
    datasource,
    notification_policy,
)

log = logging.getLogger(__name__)

Action = Literal["created", "updated", "unchanged", "deleted"]
REDACTED: Final = "[REDACTED]"
# Keys Grafana adds to a stored dashboard that are not part of its content.
DASHBOARD_BOOKKEEPING: Final = frozenset({"id", "version"})


@dataclass(frozen=True, slots=True)
class Change:
    kind: str
    key: str
    action: Action
    title: str = ""

    def line(self) -> str:
        return f"{self.action:<10} {self.kind:<14} {self.key}  {self.title}".rstrip()


@dataclass
class Report:
    changes: list[Change] = field(default_factory=list)

    def add(self, kind: str, key: str, action: Action, title: str = "") -> None:
        self.changes.append(Change(kind, key, action, title))
        log.info("%s %s %s", action, kind, key)

    def count(self, action: Action) -> int:
        return sum(1 for c in self.changes if c.action == action)

    def summary(self) -> str:
        counts = ", ".join(
            f"{self.count(a)} {a}" for a in ("created", "updated", "unchanged", "deleted")
        )
        return f"{len(self.changes)} objects: {counts}"


def _not_found(exc: GrafanaClientError) -> bool:
    return bool(exc.status_code == 404)


def contains(actual: Any, expected: Any) -> bool:
    """Whether ``actual`` (what Grafana returns) holds everything ``expected`` sets.

    Dicts may carry extra keys (defaults Grafana adds); lists must match item by item; a
    redacted secret matches any value.
    """
    if actual == REDACTED:
        return True
    if isinstance(expected, Mapping):
        return isinstance(actual, Mapping) and all(
            k in actual and contains(actual[k], v) for k, v in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(contains(a, e) for a, e in zip(actual, expected, strict=True))
        )
    if isinstance(expected, float) and isinstance(actual, int | float):
        return float(actual) == expected
    return bool(actual == expected)


class Syncer:
    def __init__(
        self,
        api: GrafanaApi,
        city: City,
        book: RuleBook,
        *,
        influx: InfluxSettings,
        webhook: WebhookSettings,
        rotate_secrets: bool = False,
        prune: bool = True,
    ) -> None:
        self.api = api
        self.city = city
        self.book = book
        self.influx = influx
        self.webhook = webhook
        self.rotate_secrets = rotate_secrets
        self.prune = prune
        self.report = Report()

    def run(self) -> Report:
        built = boards(self.city, self.book)
        self.sync_folders()
        self.sync_datasource()
        for board in built:
            self.sync_dashboard(board)
        self.sync_alert_rules(alert_rules(self.city, self.book, built))
        self.sync_contact_point()
        self.sync_policy()
        return self.report

    # --- folders and the data source ---------------------------------------------------

    def sync_folders(self) -> None:
        for folder in ALL_FOLDERS:
            try:
                current = self.api.folder.get_folder(folder.uid)
            except GrafanaClientError as exc:
                if not _not_found(exc):
                    raise
                self.api.folder.create_folder(folder.title, uid=folder.uid)
                self.report.add("folder", folder.uid, "created", folder.title)
                continue
            if current.get("title") == folder.title:
                self.report.add("folder", folder.uid, "unchanged", folder.title)
            else:
                self.api.folder.update_folder(folder.uid, title=folder.title, overwrite=True)
                self.report.add("folder", folder.uid, "updated", folder.title)

    def sync_datasource(self) -> None:
        wanted = datasource(self.influx)
        try:
            current = self.api.datasource.get_datasource_by_uid(DATASOURCE_UID)
        except GrafanaClientError as exc:
            if not _not_found(exc):
                raise
            self.api.datasource.create_datasource(wanted)
            self.report.add("datasource", DATASOURCE_UID, "created", wanted["name"])
            return
        public = {k: v for k, v in wanted.items() if k != "secureJsonData"}
        secrets_set = set(wanted["secureJsonData"]) <= {
            k for k, v in (current.get("secureJsonFields") or {}).items() if v
        }
        if contains(current, public) and secrets_set and not self.rotate_secrets:
            self.report.add("datasource", DATASOURCE_UID, "unchanged", wanted["name"])
            return
        self.api.datasource.update_datasource_by_uid(DATASOURCE_UID, wanted)
        self.report.add("datasource", DATASOURCE_UID, "updated", wanted["name"])

    # --- dashboards ------------------------------------------------------------------------

    def sync_dashboard(self, board: Board) -> None:
        wanted = board.to_json()
        try:
            current = self.api.dashboard.get_dashboard(board.uid)
        except GrafanaClientError as exc:
            if not _not_found(exc):
                raise
            current = None
        if current is not None:
            stored = {
                k: v
                for k, v in current.get("dashboard", {}).items()
                if k not in DASHBOARD_BOOKKEEPING
            }
            folder_uid = (current.get("meta") or {}).get("folderUid")
            if stored == wanted and folder_uid == board.folder.uid:
                self.report.add("dashboard", board.uid, "unchanged", str(wanted["title"]))
                return
        self.api.dashboard.update_dashboard(
            {
                "dashboard": {**wanted, "id": None},
                "folderUid": board.folder.uid,
                "overwrite": True,
                "message": "python -m dashboards sync",
            }
        )
        action: Action = "created" if current is None else "updated"
        self.report.add("dashboard", board.uid, action, str(wanted["title"]))

    # --- alerting --------------------------------------------------------------------------

    def sync_alert_rules(self, rules: list[alerts.GrafanaRule]) -> None:
        existing = {r["uid"]: r for r in self.api.alertingprovisioning.get_alertrules_all() or []}
        groups_before = {
            r.get("ruleGroup") for r in existing.values() if r.get("folderUID") == ALERTS_FOLDER.uid
        }
        wanted_uids = set()
        for rule in rules:
            body = alerts.to_json(rule.model)
            uid = body["uid"]
            wanted_uids.add(uid)
            current = existing.get(uid)
            if current is None:
                self.api.alertingprovisioning.create_alertrule(body)
                self.report.add("alert-rule", uid, "created", body["title"])
            elif contains(current, body):
                self.report.add("alert-rule", uid, "unchanged", body["title"])
            else:
                self.api.alertingprovisioning.update_alertrule(uid, body)
                self.report.add("alert-rule", uid, "updated", body["title"])
        if self.prune:
            for uid, current in existing.items():
                ours = uid.startswith(UID_PREFIX) and current.get("folderUID") == ALERTS_FOLDER.uid
                if ours and uid not in wanted_uids:
                    self.api.alertingprovisioning.delete_alertrule(uid)
                    self.report.add("alert-rule", uid, "deleted", current.get("title", ""))
        intervals = {rule.group: rule.interval_s for rule in rules}
        for group, interval in intervals.items():
            self._sync_group_interval(group, interval, new=group not in groups_before)

    def _sync_group_interval(self, group: str, interval: int, *, new: bool) -> None:
        """Creating a rule creates its group with Grafana's default interval; set ours."""
        current = self.api.alertingprovisioning.get_rule_group(ALERTS_FOLDER.uid, group)
        if current.get("interval") != interval:
            self.api.alertingprovisioning.update_rule_group(
                ALERTS_FOLDER.uid, group, {**current, "interval": interval}
            )
        action: Action = (
            "created" if new else "unchanged" if current.get("interval") == interval else "updated"
        )
        self.report.add("rule-group", group, action, f"{interval}s")

    def sync_contact_point(self) -> None:
        wanted = contact_point(self.webhook)
        # filtered here: grafana-client 3.x (pinned, see pyproject) has no name parameter
        points = [
            p
            for p in self.api.alertingprovisioning.get_contactpoints() or []
            if p.get("name") == wanted["name"]
        ]
        current = next((p for p in points if p.get("uid") == wanted["uid"]), None)
        if current is None:
            self.api.alertingprovisioning.create_contactpoint(wanted)
            self.report.add("contact-point", wanted["uid"], "created", wanted["name"])
        elif contains(current, wanted) and not self.rotate_secrets:
            self.report.add("contact-point", wanted["uid"], "unchanged", wanted["name"])
        else:
            self.api.alertingprovisioning.update_contactpoint(wanted["uid"], wanted)
            self.report.add("contact-point", wanted["uid"], "updated", wanted["name"])

    def sync_policy(self) -> None:
        wanted = notification_policy()
        current = self.api.alertingprovisioning.get_notification_policy_tree() or {}
        unchanged = contains(current, wanted) and not current.get("routes")
        if unchanged:
            self.report.add("policy", "root", "unchanged", wanted["receiver"])
            return
        self.api.alertingprovisioning.set_notification_policy_tree(wanted)
        self.report.add("policy", "root", "updated", wanted["receiver"])


def grafana_major(api: GrafanaApi) -> GrafanaMajor:
    """11 or 12 from the server's build info (12 and later sign webhooks)."""
    version = str(api.version or "")
    try:
        major = int(version.split(".", maxsplit=1)[0])
    except ValueError:
        log.warning("cannot read Grafana's version %r; assuming 12", version)
        return 12
    return 12 if major >= 12 else 11


def connect(url: str, token: str | None, timeout: float = 10.0) -> GrafanaApi:
    api: GrafanaApi = GrafanaApi.from_url(url, credential=token, timeout=timeout)
    return api


def sync(
    api: GrafanaApi,
    city: City,
    book: RuleBook,
    *,
    influx: InfluxSettings,
    webhook: WebhookSettings,
    rotate_secrets: bool = False,
    prune: bool = True,
) -> Report:
    return Syncer(
        api, city, book, influx=influx, webhook=webhook, rotate_secrets=rotate_secrets, prune=prune
    ).run()


def print_report(report: Report, out: Callable[[str], None] = print) -> None:
    for change in report.changes:
        out(change.line())
    out(report.summary())


def actions(changes: Iterable[Change]) -> set[Action]:
    return {c.action for c in changes}
