"""Every InfluxQL query of a generated board, with what Grafana needs to interpolate it: the
panel's ``timeFrom`` and min ``interval``. Used by the tests that run them against InfluxDB."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Target:
    board: str
    panel_id: int
    panel: str  # title ("annotation: <name>" for annotation queries)
    ref_id: str
    query: str
    time_from: str | None = None
    min_interval: str | None = None
    result_format: str = "time_series"


def panels(board: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for panel in board.get("panels") or []:
        yield panel
        yield from panel.get("panels") or []  # panels inside collapsed rows


def targets(board: Mapping[str, Any]) -> Iterator[Target]:
    uid = str(board["uid"])
    for panel in panels(board):
        for target in panel.get("targets") or []:
            yield Target(
                board=uid,
                panel_id=int(panel.get("id") or 0),
                panel=str(panel.get("title", "")),
                ref_id=str(target["refId"]),
                query=str(target["query"]),
                time_from=panel.get("timeFrom"),
                min_interval=panel.get("interval"),
                result_format=str(target.get("resultFormat", "time_series")),
            )
    for annotation in (board.get("annotations") or {}).get("list") or []:
        target = annotation.get("target") or {}
        if "query" in target:
            yield Target(
                board=uid,
                panel_id=0,
                panel=f"annotation: {annotation['name']}",
                ref_id=str(target.get("refId", "Anno")),
                query=str(target["query"]),
                result_format="table",
            )


def variables(board: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list((board.get("templating") or {}).get("list") or [])
