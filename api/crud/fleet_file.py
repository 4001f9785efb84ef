"""Parse a fleet file (CSV or JSON, as ``tianqu-sim fleet`` exports it) into registrations.

CSV: a header row with at least device_id, kind, township, village, lat, lon (road, river,
station, site, auth, gateway_id optional); empty cells are "not given". JSON: a list of rows or
``{"devices": [...]}`` (the simulator's export, whose ``seed`` is ignored). Unknown columns are
ignored, so a newer exporter's extra columns do not break an import; every bad row is reported
with its index and field.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import orjson
from pydantic import ValidationError

from api.crud.devices import Problem, RegistryError
from api.models.devices import IMPORT_COLUMNS, MAX_IMPORT_ROWS, DeviceCreate

_ACCEPTED = frozenset({*IMPORT_COLUMNS, "auth", "gateway_id"})


def _rows_from_csv(data: bytes) -> list[dict[str, Any]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RegistryError([Problem(("body",), "the CSV is not UTF-8")]) from None
    reader = csv.DictReader(io.StringIO(text))
    missing = {"device_id", "kind", "township", "village", "lat", "lon"} - set(
        reader.fieldnames or []
    )
    if missing:
        raise RegistryError(
            [Problem(("body", "header"), f"missing columns: {', '.join(sorted(missing))}")]
        )
    rows: list[dict[str, Any]] = []
    try:
        for row in reader:
            rows.append(row)
            if len(rows) > MAX_IMPORT_ROWS:
                break
    except csv.Error as exc:
        raise RegistryError([Problem(("body", len(rows)), f"not valid CSV: {exc}")]) from None
    return rows


def _rows_from_json(data: bytes) -> list[dict[str, Any]]:
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise RegistryError([Problem(("body",), f"not valid JSON: {exc}")]) from None
    rows = body.get("devices") if isinstance(body, dict) else body
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise RegistryError([Problem(("body", "devices"), "expected a list of device objects")])
    return rows


def parse_fleet(data: bytes, media_type: str) -> list[DeviceCreate]:
    rows = _rows_from_csv(data) if "csv" in media_type else _rows_from_json(data)
    if not rows:
        raise RegistryError([Problem(("body", "devices"), "no devices in the file")])
    if len(rows) > MAX_IMPORT_ROWS:
        raise RegistryError([Problem(("body", "devices"), f"more than {MAX_IMPORT_ROWS} devices")])
    out: list[DeviceCreate] = []
    problems: list[Problem] = []
    for index, row in enumerate(rows):
        cleaned = {k: (None if v == "" else v) for k, v in row.items() if k in _ACCEPTED}
        cleaned = {k: v for k, v in cleaned.items() if v is not None}
        try:
            out.append(DeviceCreate.model_validate(cleaned))
        except ValidationError as exc:
            problems.extend(
                Problem(("body", "devices", index, *err["loc"]), err["msg"]) for err in exc.errors()
            )
        if len(problems) > 200:
            break
    if problems:
        raise RegistryError(problems)
    return out
