"""What every board shares: the dashboard frame, the area variables, incident annotations."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.models import dashboard as dm

from city.topology import City
from dashboards import queries as q
from dashboards.influxql import InfluxAnnotation, datasource_ref
from dashboards.names import TIMEZONE
from dashboards.queries import Scope

BOARD_TAG = "tianqu"


class _Built(cogbuilder.Builder[dm.AnnotationQuery]):
    """Hands an already built annotation to the SDK's ``Dashboard.annotation``."""

    def __init__(self, annotation: dm.AnnotationQuery) -> None:
        self._annotation = annotation

    def build(self) -> dm.AnnotationQuery:
        return self._annotation


def board(uid: str, title: str, *, tags: list[str], description: str) -> db.Dashboard:
    return (
        db.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags([BOARD_TAG, *tags])
        .timezone(TIMEZONE)
        .time("now-6h", "now")
        .refresh("1m")
        .tooltip(dm.DashboardCursorSync.CROSSHAIR)
        .readonly()
        .link(
            db.DashboardLink("驾驶舱")
            .type(dm.DashboardLinkType.DASHBOARDS)
            .tags([BOARD_TAG])
            .as_dropdown(True)
            .include_vars(True)
            .keep_time(True)
        )
    )


def incident_annotation(scope: Scope) -> _Built:
    return _Built(
        InfluxAnnotation(
            name="事件",
            query=q.incident_annotations(scope),
            text_column="title",
            tags_columns=["grade", "level", "state", "event", "township", "village", "rule"],
            icon_color="red",
        )
    )


def township_variable(city: City, *, multi: bool) -> db.CustomVariable:
    """Townships from the roster, shown by their Chinese names (``长河街道 : changhe``)."""
    pairs = [(t.name, t.id) for t in city.townships]
    options = [dm.VariableOption(text=name, value=slug, selected=False) for name, slug in pairs]
    variable = (
        db.CustomVariable("township")
        .label("乡镇街道")
        .values(",".join(f"{name} : {slug}" for name, slug in pairs))
        .multi(multi)
        .include_all(multi)
    )
    if multi:
        options.insert(0, dm.VariableOption(text="All", value="$__all", selected=True))
        variable.current(dm.VariableOption(text=["All"], value=["$__all"], selected=True))
    else:
        options[0].selected = True
        variable.current(dm.VariableOption(text=pairs[0][0], value=pairs[0][1], selected=True))
    return variable.options(options)


def village_variable(*, multi: bool, measurement: str = "device_status") -> db.QueryVariable:
    """Villages of the selected township(s), asked of InfluxDB (chained on ``$township``)."""
    variable = (
        db.QueryVariable("village")
        .label("村居")
        .datasource(datasource_ref())
        .query(q.villages_of_township(measurement))
        .refresh(dm.VariableRefresh.ON_DASHBOARD_LOAD)
        .sort(dm.VariableSort.ALPHABETICAL_ASC)
        .multi(multi)
        .include_all(multi)
    )
    if multi:
        variable.all_value(".*")
        variable.current(dm.VariableOption(text=["All"], value=["$__all"], selected=True))
    return variable


def finish(dashboard: db.Dashboard) -> dm.Dashboard:
    """Build and number the panels 1…n in layout order (Grafana links rules to panel ids)."""
    model = dashboard.build()
    for i, panel in enumerate(model.panels or [], start=1):
        panel.id_val = i
    return model
