"""The InfluxQL query the Grafana foundation SDK lacks, as an SDK ``Dataquery``.

The SDK (11.6 build) has query types for Prometheus, Loki, Elasticsearch and others, not for
InfluxDB. Grafana's InfluxDB data source in InfluxQL mode takes a raw query as::

    {"refId": "A", "datasource": {"type": "influxdb", "uid": "…"},
     "query": "SELECT … WHERE $timeFilter …", "rawQuery": true, "resultFormat": "time_series"}

:class:`InfluxQuery` is that model (plus the optional ``alias``, ``hide`` and, for annotation
queries, the column mapping); :func:`register` teaches the SDK's runtime to decode it, so that a
generated dashboard survives ``Dashboard.from_json(...).to_json()`` unchanged.
"""

from __future__ import annotations

from typing import Any, Literal, Self

from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import runtime as cogruntime
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models import dashboard

from dashboards.names import DATASOURCE_TYPE, DATASOURCE_UID

ResultFormat = Literal["time_series", "table", "logs"]


def datasource_ref(uid: str = DATASOURCE_UID) -> dashboard.DataSourceRef:
    return dashboard.DataSourceRef(type_val=DATASOURCE_TYPE, uid=uid)


class InfluxQuery(cogvariants.Dataquery):
    """A raw InfluxQL target of Grafana's InfluxDB data source."""

    def __init__(
        self,
        *,
        ref_id: str = "A",
        query: str = "",
        result_format: ResultFormat = "time_series",
        alias: str | None = None,
        hide: bool | None = None,
        datasource_uid: str = DATASOURCE_UID,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.ref_id = ref_id
        self.query = query
        self.result_format: ResultFormat = result_format
        self.alias = alias
        self.hide = hide
        self.datasource_uid = datasource_uid
        # Keys Grafana stores on some targets that this model does not interpret (annotation
        # column mappings, alerting's intervalMs/maxDataPoints): kept so nothing is lost.
        self.extra = dict(extra or {})

    def to_json(self) -> dict[str, object]:
        payload: dict[str, object] = {
            "refId": self.ref_id,
            "datasource": {"type": DATASOURCE_TYPE, "uid": self.datasource_uid},
            "query": self.query,
            "rawQuery": True,
            "resultFormat": self.result_format,
        }
        if self.alias is not None:
            payload["alias"] = self.alias
        if self.hide is not None:
            payload["hide"] = self.hide
        payload.update(self.extra)
        return payload

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        known = {"refId", "datasource", "query", "rawQuery", "resultFormat", "alias", "hide"}
        if data.get("rawQuery") is not True:
            raise ValueError(f"only raw InfluxQL targets are generated here, got {data!r}")
        source = data.get("datasource") or {}
        return cls(
            ref_id=data.get("refId", ""),
            query=data.get("query", ""),
            result_format=data.get("resultFormat", "time_series"),
            alias=data.get("alias"),
            hide=data.get("hide"),
            datasource_uid=source.get("uid", DATASOURCE_UID),
            extra={k: v for k, v in data.items() if k not in known},
        )


class Influx(cogbuilder.Builder[InfluxQuery]):
    """Builder in the SDK's fluent style: ``Influx("SELECT …").ref_id("B").table()``."""

    def __init__(self, query: str) -> None:
        self._internal = InfluxQuery(query=query)

    def build(self) -> InfluxQuery:
        return self._internal

    def ref_id(self, ref_id: str) -> Self:
        self._internal.ref_id = ref_id
        return self

    def table(self) -> Self:
        self._internal.result_format = "table"
        return self

    def alias(self, alias: str) -> Self:
        self._internal.alias = alias
        return self


class InfluxAnnotation(dashboard.AnnotationQuery):
    """An annotation query on the InfluxDB data source.

    The SDK's ``AnnotationTarget`` only models the built-in Grafana annotation store (limit,
    tags, type); an InfluxDB annotation needs a query target with the columns that make the
    event's text and tags, which Grafana reads from ``target`` (``fromAnnotations``,
    ``textColumn``, ``tagsColumn``).
    """

    def __init__(
        self,
        *,
        name: str,
        query: str,
        text_column: str,
        tags_columns: list[str],
        icon_color: str = "red",
        enable: bool = True,
    ) -> None:
        super().__init__(
            name=name, datasource=datasource_ref(), enable=enable, icon_color=icon_color
        )
        self.influx_target = InfluxQuery(
            ref_id="Anno",
            query=query,
            result_format="table",
            extra={
                "fromAnnotations": True,
                "textColumn": text_column,
                "tagsColumn": ",".join(tags_columns),
                "titleColumn": "",
                "timeEndColumn": "",
            },
        )

    def to_json(self) -> dict[str, object]:
        payload = super().to_json()
        payload["target"] = self.influx_target.to_json()
        return payload


def variant_config() -> cogruntime.DataqueryConfig:
    return cogruntime.DataqueryConfig(
        identifier=DATASOURCE_TYPE, from_json_hook=InfluxQuery.from_json
    )


_registered = False


def register() -> None:
    """Register the SDK's own plugins and this InfluxDB query type (idempotent)."""
    global _registered  # noqa: PLW0603 - the SDK's runtime is a process-wide singleton
    if _registered:
        return
    from grafana_foundation_sdk.cog.plugins import register_default_plugins  # noqa: PLC0415

    register_default_plugins()
    cogruntime.register_dataquery_variant(variant_config())
    _registered = True
