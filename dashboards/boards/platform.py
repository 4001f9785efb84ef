# ruff: noqa: S608 - InfluxQL for Grafana is built from the contract's names and the roster,
# never from user input; Grafana substitutes its own variables later.
"""平台运行状态: the platform's own health, from the ``platform_stats`` measurement.

Decision (docs/decisions.md): the services expose Prometheus metrics on ``/metrics``, but the
board reads a measurement the services write to the same InfluxDB, so that the one data source
the operator already provisions serves every board and the board's queries are tested like the
others. Each service instance writes one point every :data:`REPORT_EVERY_S` seconds:

``platform_stats,service=<ingest|api|alerting>,instance=<id> <fields> <ms>``

with the fields of :data:`FIELDS` (counters cumulative since the process started, so rates
are ``non_negative_derivative``; a restart resets them and the derivative skips the drop).
"""

from __future__ import annotations

from typing import Final

from grafana_foundation_sdk.models import dashboard as dm

from dashboards import queries as q
from dashboards.boards.base import board, finish
from dashboards.influxql import Influx
from dashboards.panels import PanelBuilder, row, stat_panel, timeseries_panel

UID: Final = "tianqu-platform"
TITLE: Final = "平台运行状态"
MEASUREMENT: Final = q.PLATFORM_MEASUREMENT
REPORT_EVERY_S: Final = 10
TAGS: Final = ("service", "instance")

# field → (line-protocol type, meaning). "counter" = cumulative int; "gauge" = current value.
FIELDS: Final[dict[str, dict[str, tuple[str, str]]]] = {
    "ingest": {
        "received": ("counter", "MQTT messages received"),
        "acknowledged": ("counter", "messages acknowledged to the broker"),
        "points_written": ("counter", "points accepted by InfluxDB"),
        "dead_lettered": ("counter", "messages stored in the dead-letter store"),
        "write_errors": ("counter", "failed InfluxDB write requests"),
        "unacked": ("gauge int", "messages received and not yet acknowledged"),
        "spool_depth": ("gauge int", "points in the spool, not yet in InfluxDB"),
        "spool_oldest_age_s": ("gauge float", "age of the oldest spooled batch, s"),
        "lag_s": (
            "gauge float",
            "mean time from spooling to stored in InfluxDB of the writes since the last report"
            " (each write's oldest point), s",
        ),
        "write_latency_mean_s": ("gauge float", "mean /write latency since the last report, s"),
        "write_latency_max_s": ("gauge float", "max /write latency since the last report, s"),
        "mqtt_connected": ("gauge int", "1 while connected to the broker"),
        "influx_up": ("gauge int", "1 while the last InfluxDB write succeeded"),
    },
    "api": {
        "notifications_sent": ("counter", "notifications delivered (SMS, app, webhook)"),
        "notification_failures": ("counter", "notifications that failed after retries"),
        "alerts_received": ("counter", "alert events received (rules and Grafana)"),
    },
}

INGEST = "\"service\" = 'ingest'"


def _rate(field: str, per: str, alias: str, service: str = INGEST) -> str:
    return (
        f'SELECT non_negative_derivative(last("{field}"), {per}) AS "{alias}" FROM "{MEASUREMENT}" '
        f'WHERE $timeFilter AND {service} GROUP BY time($__interval), "instance" fill(none)'
    )


def _gauge(field: str, aggregate: str, alias: str) -> str:
    return (
        f'SELECT {aggregate}("{field}") AS "{alias}" FROM "{MEASUREMENT}" '
        f'WHERE $timeFilter AND {INGEST} GROUP BY time($__interval), "instance" fill(none)'
    )


def _increase(field: str, alias: str, service: str = INGEST) -> str:
    """How much a counter grew over the range, across restarts."""
    inner = (
        f'SELECT non_negative_difference(last("{field}")) AS "d" FROM "{MEASUREMENT}" '
        f'WHERE $timeFilter AND {service} GROUP BY time(1m), "service", "instance" fill(none)'
    )
    return f'SELECT sum("d") AS "{alias}" FROM ({inner})'


def _now(field: str, aggregate: str, alias: str) -> str:
    inner = (
        f'SELECT last("{field}") AS "v" FROM "{MEASUREMENT}" WHERE $timeFilter AND {INGEST} '
        'GROUP BY "instance"'
    )
    return f'SELECT {aggregate}("v") AS "{alias}" FROM ({inner})'


def platform_board() -> dm.Dashboard:
    notifier = '"service" =~ /^(api|alerting)$/'
    dashboard = board(
        UID,
        TITLE,
        tags=["platform"],
        description="接入服务与通知的运行状态（platform_stats，各服务每10秒写入一次）",
    )
    dashboard.with_row(row("现在"))
    now: list[PanelBuilder] = [
        stat_panel(
            "MQTT 连接",
            Influx(_now("mqtt_connected", "min", "连接")),
            width=4,
            steps=[(None, "red"), (1, "green")],
            time_from="5m",
        ),
        stat_panel(
            "InfluxDB 写入",
            Influx(_now("influx_up", "min", "正常")),
            width=4,
            steps=[(None, "red"), (1, "green")],
            time_from="5m",
        ),
        stat_panel(
            "缓冲积压（点）",
            Influx(_now("spool_depth", "sum", "积压")),
            width=4,
            steps=[(None, "green"), (10_000, "orange"), (100_000, "red")],
            time_from="5m",
        ),
        stat_panel(
            "死信（时段内）",
            Influx(_increase("dead_lettered", "死信")),
            width=4,
            steps=[(None, "green"), (1, "orange"), (100, "red")],
        ),
        stat_panel(
            "写入失败（时段内）",
            Influx(_increase("write_errors", "失败")),
            width=4,
            steps=[(None, "green"), (1, "orange")],
        ),
        stat_panel(
            "通知失败（时段内）",
            Influx(_increase("notification_failures", "通知失败", notifier)),
            width=4,
            steps=[(None, "green"), (1, "red")],
        ),
    ]
    for panel in now:
        dashboard.with_panel(panel)
    dashboard.with_row(row("接入"))
    flows: list[PanelBuilder] = [
        timeseries_panel(
            "接入速率（条/秒）",
            [
                Influx(_rate("received", "1s", "接收")).alias("接收 $tag_instance"),
                Influx(_rate("points_written", "1s", "写入")).alias("写入 $tag_instance"),
            ],
            unit="short",
            min_interval="30s",
        ),
        timeseries_panel(
            "数据延迟",
            [
                Influx(_gauge("lag_s", "mean", "延迟")).alias("设备→入库 $tag_instance"),
                Influx(_gauge("spool_oldest_age_s", "max", "缓冲")).alias("缓冲最久 $tag_instance"),
            ],
            unit="s",
            steps=[(None, "green"), (60, "orange"), (300, "red")],
            min_interval="30s",
        ),
        timeseries_panel(
            "缓冲深度与未确认消息",
            [
                Influx(_gauge("spool_depth", "max", "缓冲")).alias("缓冲 $tag_instance"),
                Influx(_gauge("unacked", "max", "未确认")).alias("未确认 $tag_instance"),
            ],
            min_interval="30s",
        ),
        timeseries_panel(
            "InfluxDB 写入耗时",
            [
                Influx(_gauge("write_latency_mean_s", "mean", "平均")).alias("平均 $tag_instance"),
                Influx(_gauge("write_latency_max_s", "max", "最大")).alias("最大 $tag_instance"),
            ],
            unit="s",
            steps=[(None, "green"), (1, "orange"), (5, "red")],
            min_interval="30s",
        ),
        timeseries_panel(
            "死信与写入错误（条/分）",
            [
                Influx(_rate("dead_lettered", "1m", "死信")).alias("死信 $tag_instance"),
                Influx(_rate("write_errors", "1m", "写入错误")).alias("写入错误 $tag_instance"),
            ],
            bars=True,
            min_interval="1m",
        ),
        timeseries_panel(
            "通知（次/分）",
            [
                Influx(_rate("notifications_sent", "1m", "成功", notifier)).alias(
                    "成功 $tag_instance"
                ),
                Influx(_rate("notification_failures", "1m", "失败", notifier)).alias(
                    "失败 $tag_instance"
                ),
            ],
            bars=True,
            min_interval="1m",
        ),
    ]
    for panel in flows:
        dashboard.with_panel(panel)
    return finish(dashboard)
