"""Hand-edited data files (roster, rules): read, validated, and every problem reported with the
entry at fault, e.g. ``rules[3] ch4-high: condition: …``.

A message that says *which* entry is wrong, by position and by id, turns a failed start into a
one-line fix.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class DataFileError(ValueError):
    """A hand-edited data file is unreadable or wrong; ``problems`` lists every wrong entry."""

    what: ClassVar[str] = "data"

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        listing = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid {self.what} in {source}:\n{listing}")


def read_yaml(path: Path, error: type[DataFileError]) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(str(path), [f"cannot read the file: {exc.strerror}"]) from None
    except yaml.YAMLError as exc:
        raise error(str(path), [f"not valid YAML: {exc}"]) from None


def validate_data(
    model: type[M],
    raw: Any,
    source: str,
    consistency: Callable[[M], list[str]],
    error: type[DataFileError],
) -> M:
    """The model, field by field, then the checks across entries; every problem in one error."""
    try:
        value = model.model_validate(raw)
    except ValidationError as exc:
        raise error(source, validation_problems(raw, exc)) from None
    problems = consistency(value)
    if problems:
        raise error(source, problems)
    return value


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
