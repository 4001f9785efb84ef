"""Grafana's unified-alerting webhook: check its signature, turn its alerts into AlertEvents.

The body (``receiver``, ``status``, ``alerts[]`` with ``status``, ``labels``, ``annotations``,
``startsAt``, ``endsAt``, ``fingerprint``, ``values``, ``valueString`` …) is read leniently:
unknown fields are ignored, and so are missing optional ones. What routing cannot do without is
required as labels on each alert — ``rule_id``, ``grade`` and ``township`` (``village``,
``device`` and ``kind`` when there are any) — and a missing or invalid one is a 422 naming the
alert and the label. Grafana's own alert fingerprint deduplicates (as ``grafana:<fp>``), so its
repeats of a firing alert count occurrences of one incident.

Grafana 12 signs the body when the contact point has an HMAC secret: header
``X-Grafana-Alerting-Signature`` = hex HMAC-SHA256 of the body, or of ``timestamp + ":" +
body`` when it also sends the timestamp header; a timestamp further than ``max_age_s`` from
now is refused too, so a captured call cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import ValidationError

from city.alerts import AlertEvent
from city.grades import Grade

REQUIRED_LABELS = ("rule_id", "grade", "township")
MAX_ALERTS = 500
_FIELD_LABELS = {"rule_id": "rule_id", "grade": "grade", "township": "township",
                 "village": "village", "device_id": "device", "kind": "kind"}  # fmt: skip
_GRADES = {
    **{g.value.lower(): g for g in Grade},
    **{g.numeral: g for g in Grade},
    **{g.display_name: g for g in Grade},
    **{str(5 - g.severity): g for g in Grade},  # 4 = Ⅳ … 1 = Ⅰ
}
_NOT_FINGERPRINT = re.compile(r"[^A-Za-z0-9:._/-]")
_ZERO_TIME = "0001-01-01"


class GrafanaPayloadError(ValueError):
    """The body cannot be turned into events; ``errors`` in FastAPI's 422 shape."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(str(e["msg"]) for e in errors))
        self.errors = errors


def signature_problem(
    secret: str,
    body: bytes,
    *,
    signature: str | None,
    timestamp: str | None,
    now_s: float,
    max_age_s: float,
) -> str | None:
    """Why the signature is not acceptable, or None when it is."""
    if not signature:
        return "missing webhook signature"
    message = (timestamp.encode() + b":" + body) if timestamp is not None else body
    expected = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature.strip().lower()):
        return "webhook signature does not match"
    if timestamp is not None:
        try:
            sent = float(timestamp)
        except ValueError:
            return "webhook signature timestamp is not a number"
        sent = sent / 1000 if sent > 1e11 else sent  # seconds, or milliseconds
        if abs(now_s - sent) > max_age_s:
            return "webhook signature timestamp is too far from now (replayed?)"
    return None


def _error(loc: tuple[str | int, ...], msg: str) -> dict[str, Any]:
    return {"loc": ["body", *loc], "msg": msg, "type": "value_error"}


def _text(value: Any, limit: int) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


def _time_ms(value: Any) -> int | None:
    if not isinstance(value, str) or not value or value.startswith(_ZERO_TIME):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    ms = int(moment.timestamp() * 1000)
    return ms if 1_000_000_000_000 <= ms <= 9_999_999_999_999 else None


def _value(alert: dict[str, Any]) -> float | str | None:
    values = alert.get("values")
    if isinstance(values, dict):
        for v in values.values():
            if isinstance(v, int | float) and not isinstance(v, bool):
                return float(v)
    text = _text(alert.get("valueString"), 120)
    return text or None


def _fingerprint(alert: dict[str, Any], labels: dict[str, str]) -> str:
    raw = alert.get("fingerprint")
    if not isinstance(raw, str) or not raw.strip():
        canonical = orjson.dumps(labels, option=orjson.OPT_SORT_KEYS)
        raw = hashlib.sha256(canonical).hexdigest()[:16]
    return ("grafana:" + _NOT_FINGERPRINT.sub("_", raw.strip()))[:200]


def _labels(body: dict[str, Any], alert: dict[str, Any]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for source in (body.get("commonLabels"), alert.get("labels")):
        if isinstance(source, dict):
            merged.update({str(k): str(v) for k, v in source.items() if v is not None})
    return merged


def _event(
    body: dict[str, Any], alert: dict[str, Any], index: int, now_ms: int
) -> tuple[AlertEvent | None, list[dict[str, Any]]]:
    where: tuple[str | int, ...] = ("alerts", index)
    labels = _labels(body, alert)
    missing = [name for name in REQUIRED_LABELS if not labels.get(name)]
    if missing:
        return None, [_error((*where, "labels", name), "missing label") for name in missing]
    grade = _GRADES.get(labels["grade"].strip().lower()) or _GRADES.get(labels["grade"].strip())
    if grade is None:
        return None, [_error((*where, "labels", "grade"), "grade must be IV, III, II or I")]
    status = alert.get("status") or body.get("status")
    if status not in ("firing", "resolved"):
        return None, [_error((*where, "status"), "status must be firing or resolved")]
    raw_annotations = alert.get("annotations")
    annotations: dict[str, Any] = raw_annotations if isinstance(raw_annotations, dict) else {}
    name = _text(labels.get("alertname") or labels.get("rule_name") or labels["rule_id"], 80)
    summary = (
        _text(annotations.get("summary"), 200) or _text(annotations.get("description"), 200) or name
    )
    observed = _time_ms(alert.get("endsAt") if status == "resolved" else alert.get("startsAt"))
    candidate = {
        "source": "grafana",
        "status": status,
        "rule_id": labels["rule_id"],
        "rule_name": name,
        "grade": grade,
        "fingerprint": _fingerprint(alert, labels),
        "township": labels["township"],
        "village": labels.get("village") or None,
        "device_id": labels.get("device") or None,
        "kind": labels.get("kind") or None,
        "subject": _text(labels.get("device") or labels.get("subject"), 120),
        "value": _value(alert),
        "observed_ms": observed or now_ms,
        "summary": summary,
    }
    try:
        return AlertEvent.model_validate(candidate), []
    except ValidationError as exc:
        return None, [
            _error(
                (*where, "labels", _FIELD_LABELS[str(e["loc"][0])])
                if e["loc"] and str(e["loc"][0]) in _FIELD_LABELS
                else (*where, *e["loc"]),
                e["msg"],
            )
            for e in exc.errors()
        ]


def parse(raw: bytes, now_ms: int) -> list[AlertEvent]:
    """Every alert of the body as an AlertEvent; GrafanaPayloadError lists what is wrong."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise GrafanaPayloadError([_error((), f"not JSON: {exc}")]) from None
    if not isinstance(body, dict):
        raise GrafanaPayloadError([_error((), "expected Grafana's webhook object")])
    alerts = body.get("alerts")
    if not isinstance(alerts, list):
        raise GrafanaPayloadError([_error(("alerts",), "expected a list of alerts")])
    if len(alerts) > MAX_ALERTS:
        raise GrafanaPayloadError([_error(("alerts",), f"at most {MAX_ALERTS} alerts per call")])
    events: list[AlertEvent] = []
    errors: list[dict[str, Any]] = []
    for index, alert in enumerate(alerts):
        if not isinstance(alert, dict):
            errors.append(_error(("alerts", index), "expected an alert object"))
            continue
        event, problems = _event(body, alert, index, now_ms)
        errors.extend(problems)
        if event is not None:
            events.append(event)
    if errors:
        raise GrafanaPayloadError(errors)
    return events
