"""Validation errors that name the entry at fault: ``rules[3] ch4-high: condition: …``.

Roster and rules files are edited by hand; a message that says *which* entry is wrong, by
position and by id, turns a failed start into a one-line fix.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError


def describe_location(raw: Any, loc: tuple[int | str, ...]) -> str:
    """Turn a pydantic error location into ``townships[2] ande → villages[0] x: lat``."""
    parts: list[str] = []
    node = raw
    pending_key: str | None = None
    for step in loc:
        if isinstance(step, int):
            label = f"{pending_key}[{step}]" if pending_key else f"[{step}]"
            pending_key = None
            try:
                node = node[step]
            except (IndexError, KeyError, TypeError):
                parts.append(label)
                node = None
                continue
            entry_id = node.get("id") if isinstance(node, dict) else None
            parts.append(f"{label} {entry_id}" if entry_id else label)
        else:
            if pending_key is not None:
                parts.append(pending_key)
            pending_key = step
            node = node.get(step) if isinstance(node, dict) else None
    head = " → ".join(parts)
    if pending_key is None:
        return head or "(top level)"
    return f"{head}: {pending_key}" if head else pending_key


def validation_problems(raw: Any, exc: ValidationError) -> list[str]:
    problems = []
    for err in exc.errors(include_url=False):
        where = describe_location(raw, tuple(err["loc"]))
        if err["type"] == "missing":
            problems.append(f"{where}: field required")
        elif err["type"] in {"value_error", "assertion_error"}:
            problems.append(f"{where}: {err['msg'].removeprefix('Value error, ')}")
        else:
            problems.append(f"{where}: {err['msg']} (got {err['input']!r})")
    return problems
