"""Grafana file-provisioning documents and their HTTP-API twins, from one description.

Secrets never enter the repository: the files name environment variables that Grafana expands
when it reads them (``${TIANQU_INFLUX_PASSWORD}``); the sync command takes the same values from
its own environment or options.

- datasource: InfluxDB in InfluxQL mode, one variant for 1.x (user/password) and one for 2.x and
  3.x (``Authorization: Token …`` as a custom header; the bucket is reached through its DBRP
  mapping under the database name);
- dashboards: one file provider per level, each its own folder (新区 / 乡镇街道 / 村居 / 设备 /
  平台) with a fixed folder uid;
- alerting: the rule groups generated from the rules file, a webhook contact point that posts
  to the API's ``POST {API}/alerts/grafana`` with its service API key (``Authorization:
  Bearer``) and, on Grafana 12, the body signed with HMAC-SHA256 (``hmacConfig``; Grafana 11
  cannot sign, so its variant sends the key alone), and a notification policy that routes
  every alert there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

from dashboards.names import (
    BOARD_FOLDERS,
    CONTACT_POINT_NAME,
    CONTACT_POINT_UID,
    DATASOURCE_NAME,
    DATASOURCE_TYPE,
    DATASOURCE_UID,
    DEFAULT_DATABASE,
    GRAFANA_DASHBOARDS_DIR,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WEBHOOK_PATH,
)

InfluxVersion = Literal["1x", "2x-3x"]
GrafanaMajor = Literal[11, 12]

ENV_INFLUX_URL: Final = "TIANQU_INFLUX_URL"
ENV_INFLUX_USER: Final = "TIANQU_INFLUX_USER"
ENV_INFLUX_PASSWORD: Final = "TIANQU_INFLUX_PASSWORD"  # noqa: S105 - a variable name
ENV_INFLUX_TOKEN: Final = "TIANQU_INFLUX_TOKEN"  # noqa: S105 - a variable name
ENV_API_URL: Final = "TIANQU_API_URL"
ENV_WEBHOOK_SECRET: Final = "TIANQU_GRAFANA_WEBHOOK_SECRET"  # noqa: S105 - a variable name
ENV_API_KEY: Final = "TIANQU_GRAFANA_API_KEY"

GROUP_BY: Final = ["grafana_folder", "alertname", "rule_id", "township"]


def env(name: str) -> str:
    return "${" + name + "}"


@dataclass(frozen=True, slots=True)
class InfluxSettings:
    """Connection of the InfluxDB data source; literal values or ``${ENV}`` references."""

    url: str = env(ENV_INFLUX_URL)
    database: str = DEFAULT_DATABASE
    version: InfluxVersion = "1x"
    user: str = env(ENV_INFLUX_USER)
    password: str = env(ENV_INFLUX_PASSWORD)
    token: str = env(ENV_INFLUX_TOKEN)

    def secrets(self) -> dict[str, str]:
        if self.version == "1x":
            return {"password": self.password}
        return {"httpHeaderValue1": f"Token {self.token}"}


def datasource(settings: InfluxSettings) -> dict[str, Any]:
    """The data source as both the provisioning file and ``POST /api/datasources`` take it."""
    json_data: dict[str, Any] = {
        "version": "InfluxQL",
        "dbName": settings.database,
        "httpMode": "POST",
        "timeInterval": "10s",
    }
    source: dict[str, Any] = {
        "name": DATASOURCE_NAME,
        "uid": DATASOURCE_UID,
        "type": DATASOURCE_TYPE,
        "access": "proxy",
        "url": settings.url,
        "isDefault": True,
        "jsonData": json_data,
        "secureJsonData": settings.secrets(),
    }
    if settings.version == "1x":
        source["user"] = settings.user
    else:
        json_data["httpHeaderName1"] = "Authorization"
    return source


def datasource_file(settings: InfluxSettings) -> dict[str, Any]:
    return {"apiVersion": 1, "datasources": [{**datasource(settings), "editable": False}]}


def dashboard_providers(root: str = GRAFANA_DASHBOARDS_DIR) -> dict[str, Any]:
    return {
        "apiVersion": 1,
        "providers": [
            {
                "name": folder.uid,
                "orgId": 1,
                "folder": folder.title,
                "folderUid": folder.uid,
                "type": "file",
                "disableDeletion": False,
                "allowUiUpdates": False,
                "updateIntervalSeconds": 60,
                "options": {"path": f"{root}/{folder.directory}"},
            }
            for folder in BOARD_FOLDERS
        ],
    }


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    api_url: str = env(ENV_API_URL)
    secret: str = env(ENV_WEBHOOK_SECRET)
    api_key: str = env(ENV_API_KEY)
    grafana: GrafanaMajor = 12


def webhook_settings(settings: WebhookSettings) -> dict[str, Any]:
    """The API authenticates Grafana by a service API key (``python -m api service-key
    grafana``) and, when ``TIANQU_API_GRAFANA_WEBHOOK_SECRET`` is set, checks Grafana 12's
    HMAC signature of the body as well."""
    body: dict[str, Any] = {
        "url": settings.api_url.rstrip("/") + WEBHOOK_PATH,
        "httpMethod": "POST",
        "maxAlerts": 0,
        "authorization_scheme": "Bearer",
        "authorization_credentials": settings.api_key,
    }
    if settings.grafana >= 12:
        body["hmacConfig"] = {
            "secret": settings.secret,
            "header": SIGNATURE_HEADER,
            "timestampHeader": TIMESTAMP_HEADER,
        }
    return body


def contact_point(settings: WebhookSettings) -> dict[str, Any]:
    """As ``POST /api/v1/provisioning/contact-points`` takes it."""
    return {
        "uid": CONTACT_POINT_UID,
        "name": CONTACT_POINT_NAME,
        "type": "webhook",
        "disableResolveMessage": False,
        "settings": webhook_settings(settings),
    }


def contact_points_file(settings: WebhookSettings) -> dict[str, Any]:
    point = contact_point(settings)
    return {
        "apiVersion": 1,
        "contactPoints": [
            {
                "orgId": 1,
                "name": CONTACT_POINT_NAME,
                "receivers": [
                    {
                        "uid": point["uid"],
                        "type": point["type"],
                        "disableResolveMessage": point["disableResolveMessage"],
                        "settings": point["settings"],
                    }
                ],
            }
        ],
    }


def notification_policy() -> dict[str, Any]:
    """The root policy: every alert to the API (it routes by grade and area itself)."""
    return {
        "receiver": CONTACT_POINT_NAME,
        "group_by": GROUP_BY,
        "group_wait": "10s",
        "group_interval": "1m",
        "repeat_interval": "4h",
    }


def policies_file() -> dict[str, Any]:
    return {"apiVersion": 1, "policies": [{"orgId": 1, **notification_policy()}]}
