"""Names shared by the boards, the provisioning files, the alert rules and the sync command.

UIDs are stable ASCII identifiers: Grafana links, the provisioning files and the sync command all
refer to objects by them, so never change one in place. Titles carry the Chinese names operators
use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

DATASOURCE_UID: Final = "tianqu-influxdb"
DATASOURCE_NAME: Final = "天衢 InfluxDB"
DATASOURCE_TYPE: Final = "influxdb"
DEFAULT_DATABASE: Final = "tianqu"

TIMEZONE: Final = "Asia/Shanghai"
# Where an operator mounts dashboards/json/ inside the Grafana host or container (the file
# provider's paths start here).
GRAFANA_DASHBOARDS_DIR: Final = "/var/lib/grafana/dashboards/tianqu"

UID_PREFIX: Final = "tianqu-"


@dataclass(frozen=True, slots=True)
class Folder:
    uid: str
    title: str
    directory: str  # under dashboards/json/


DISTRICT_FOLDER: Final = Folder("tianqu-district", "新区", "district")
TOWNSHIP_FOLDER: Final = Folder("tianqu-township", "乡镇街道", "township")
VILLAGE_FOLDER: Final = Folder("tianqu-village", "村居", "village")
DEVICES_FOLDER: Final = Folder("tianqu-devices", "设备", "devices")
PLATFORM_FOLDER: Final = Folder("tianqu-platform", "平台", "platform")
# Alert rules live in a folder of their own: Grafana provisions alerting before dashboards and
# finds a rule group's folder by title, so sharing a dashboard provider's folder could race.
ALERTS_FOLDER: Final = Folder("tianqu-alerts", "三级机长制告警", "")

BOARD_FOLDERS: Final = (
    DISTRICT_FOLDER,
    TOWNSHIP_FOLDER,
    VILLAGE_FOLDER,
    DEVICES_FOLDER,
    PLATFORM_FOLDER,
)
ALL_FOLDERS: Final = (*BOARD_FOLDERS, ALERTS_FOLDER)

CONTACT_POINT_NAME: Final = "tianqu-api"
CONTACT_POINT_UID: Final = "tianqu-api-webhook"
WEBHOOK_PATH: Final = "/alerts/grafana"
SIGNATURE_HEADER: Final = "X-Grafana-Alerting-Signature"
TIMESTAMP_HEADER: Final = "X-Grafana-Alerting-Signature-Timestamp"
