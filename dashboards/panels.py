"""Panel helpers over the foundation SDK's builders: the few shapes the cockpit boards use,
with the district's conventions (Chinese titles, InfluxQL targets, value mappings from the
roster, thresholds from the rules file)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from grafana_foundation_sdk.builders import bargauge, common, geomap, stat, table, timeseries
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders.common import MapLayerOptions
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm
from grafana_foundation_sdk.models.geomap import TooltipMode

from dashboards.influxql import Influx, datasource_ref

PanelBuilder = cogbuilder.Builder[dm.Panel]
Step = tuple[float | None, str]  # (from value, colour); the first step's value is None
GREEN: list[Step] = [(None, "green")]


def thresholds(steps: Sequence[Step]) -> db.ThresholdsConfig:
    return (
        db.ThresholdsConfig()
        .mode(dm.ThresholdsMode.ABSOLUTE)
        .steps([dm.Threshold(value=value, color=colour) for value, colour in steps])
    )


def value_map(mapping: Mapping[str, str]) -> dm.ValueMap:
    return dm.ValueMap(options={k: dm.ValueMappingResult(text=v) for k, v in mapping.items()})


def _targets(queries: Sequence[Influx]) -> list[cogbuilder.Builder[cogvariants.Dataquery]]:
    for i, query in enumerate(queries):
        query.ref_id(chr(ord("A") + i))
    return list(queries)


def stat_panel(
    title: str,
    query: Influx,
    *,
    unit: str = "short",
    steps: Sequence[Step] = GREEN,
    width: int = 4,
    height: int = 4,
    time_from: str | None = None,
    description: str = "",
    decimals: float | None = None,
) -> stat.Panel:
    panel = (
        stat.Panel()
        .title(title)
        .datasource(datasource_ref())
        .targets(_targets([query]))
        .unit(unit)
        .thresholds(thresholds(steps))
        .color_mode(cm.BigValueColorMode.VALUE)
        .graph_mode(cm.BigValueGraphMode.NONE)
        .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .span(width)
        .height(height)
        .no_value("0")
    )
    if decimals is not None:
        panel.decimals(decimals)
    if description:
        panel.description(description)
    if time_from:
        panel.time_from(time_from)
    return panel


def timeseries_panel(
    title: str,
    queries: Sequence[Influx],
    *,
    unit: str = "short",
    steps: Sequence[Step] = GREEN,
    threshold_style: cm.GraphThresholdsStyleMode = cm.GraphThresholdsStyleMode.OFF,
    width: int = 12,
    height: int = 8,
    min_interval: str | None = None,
    description: str = "",
    bars: bool = False,
    stacked: bool = False,
    time_from: str | None = None,
) -> timeseries.Panel:
    panel = (
        timeseries.Panel()
        .title(title)
        .datasource(datasource_ref())
        .targets(_targets(queries))
        .unit(unit)
        .thresholds(thresholds(steps))
        .thresholds_style(common.GraphThresholdsStyleConfig().mode(threshold_style))
        .span(width)
        .height(height)
        .fill_opacity(20 if not bars else 80)
        .span_nulls(True)
        .legend(
            common.VizLegendOptions()
            .display_mode(cm.LegendDisplayMode.LIST)
            .placement(cm.LegendPlacement.BOTTOM)
            .show_legend(True)
        )
    )
    if bars:
        panel.draw_style(cm.GraphDrawStyle.BARS)
    if stacked:
        panel.stacking(common.StackingConfig().mode(cm.StackingMode.NORMAL))
    if min_interval:
        panel.interval(min_interval)
    if description:
        panel.description(description)
    if time_from:
        panel.time_from(time_from)
    return panel


def bargauge_panel(
    title: str,
    queries: Sequence[Influx],
    *,
    unit: str = "short",
    steps: Sequence[Step] = GREEN,
    width: int = 8,
    height: int = 8,
    time_from: str | None = None,
    description: str = "",
    max_value: float | None = None,
) -> bargauge.Panel:
    panel = (
        bargauge.Panel()
        .title(title)
        .datasource(datasource_ref())
        .targets(_targets(queries))
        .unit(unit)
        .thresholds(thresholds(steps))
        .display_mode(cm.BarGaugeDisplayMode.GRADIENT)
        .orientation(cm.VizOrientation.HORIZONTAL)
        .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .span(width)
        .height(height)
        .min(0)
    )
    if max_value is not None:
        panel.max(max_value)
    if time_from:
        panel.time_from(time_from)
    if description:
        panel.description(description)
    return panel


def table_panel(
    title: str,
    queries: Sequence[Influx],
    *,
    mappings: Sequence[dm.ValueMapping] = (),
    width: int = 12,
    height: int = 8,
    time_from: str | None = None,
    description: str = "",
    hidden_columns: Sequence[str] = ("Time",),
    renames: Mapping[str, str] | None = None,
) -> table.Panel:
    for query in queries:
        query.table()
    panel = (
        table.Panel()
        .title(title)
        .datasource(datasource_ref())
        .targets(_targets(queries))
        .span(width)
        .height(height)
        .filterable(True)
    )
    if mappings:
        panel.mappings(list(mappings))
    panel.with_transformation(
        dm.DataTransformerConfig(
            id_val="organize",
            options={
                "excludeByName": dict.fromkeys(hidden_columns, True),
                "renameByName": dict(renames or {}),
            },
        )
    )
    if time_from:
        panel.time_from(time_from)
    if description:
        panel.description(description)
    return panel


def markers(
    name: str, ref_id: str | None, *, colour_field: str | None, size: float = 4
) -> MapLayerOptions:
    """A marker layer at the frame's ``lat``/``lon``; ``ref_id`` picks the query it draws
    (None: the first frame, e.g. the one a join transformation leaves)."""
    style: dict[str, object] = {
        "size": {"fixed": size, "min": 3, "max": 15},
        "color": {"fixed": "blue", **({"field": colour_field} if colour_field else {})},
        "opacity": 0.7,
        "symbol": {"mode": "fixed", "fixed": "img/icons/marker/circle.svg"},
    }
    layer = (
        MapLayerOptions()
        .type("markers")
        .name(name)
        .config({"showLegend": True, "style": style})
        .location(
            common.FrameGeometrySource()
            .mode(cm.FrameGeometrySourceMode.COORDS)
            .latitude("lat")
            .longitude("lon")
        )
        .tooltip(True)
    )
    if ref_id is not None:
        layer.filter_data({"id": "byRefId", "options": ref_id})
    return layer


def geomap_panel(
    title: str,
    queries: Sequence[Influx],
    layers: Sequence[MapLayerOptions],
    *,
    steps: Sequence[Step] = GREEN,
    width: int = 12,
    height: int = 12,
    time_from: str | None = None,
    transformations: Sequence[dm.DataTransformerConfig] = (),
    description: str = "",
) -> geomap.Panel:
    for query in queries:
        query.table()
    panel = (
        geomap.Panel()
        .title(title)
        .datasource(datasource_ref())
        .targets(_targets(queries))
        .thresholds(thresholds(steps))
        .view(geomap.MapViewConfig().id("fit").all_layers(True).zoom(11))
        .controls(geomap.ControlsOptions().show_zoom(True).mouse_wheel_zoom(True).show_scale(True))
        .basemap(MapLayerOptions().type("default").name("底图"))
        .layers(list(layers))
        .tooltip(geomap.TooltipOptions().mode(TooltipMode.DETAILS))
        .span(width)
        .height(height)
    )
    for transformation in transformations:
        panel.with_transformation(transformation)
    if time_from:
        panel.time_from(time_from)
    if description:
        panel.description(description)
    return panel


SeriesPanel = timeseries.Panel | bargauge.Panel


def display_names(
    panel: SeriesPanel, names: Mapping[str, str], colours: Mapping[str, str] | None = None
) -> SeriesPanel:
    """Show series named by an id (``$tag_village`` → ``dongzhan``) by their Chinese names,
    optionally in a fixed colour (grades in their warning colours)."""
    for name, text in names.items():
        properties = [dm.DynamicConfigValue(id_val="displayName", value=text)]
        if colours and name in colours:
            properties.append(
                dm.DynamicConfigValue(
                    id_val="color", value={"mode": "fixed", "fixedColor": colours[name]}
                )
            )
        panel.override_by_name(name, properties)
    return panel


def row(title: str) -> db.Row:
    return db.Row(title)
