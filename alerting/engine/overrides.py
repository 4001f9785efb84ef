"""Overrides for the rules that ``RuleBook.effective`` does not cover (no-data, correlations).

Threshold rules go through ``city.rules.RuleBook.effective``. A no-data or correlation rule
may still be switched off or given another grade for one township, village or device; the
most specific matching override wins, as there.
"""

from __future__ import annotations

from dataclasses import dataclass

from city.grades import Grade
from city.rules import RuleBook


@dataclass(frozen=True, slots=True)
class Adjusted:
    enabled: bool
    grade: Grade


def adjusted(
    book: RuleBook,
    rule_id: str,
    enabled: bool,
    grade: Grade,
    *,
    township: str,
    village: str | None = None,
    device: str | None = None,
) -> Adjusted:
    matching = sorted(
        (
            o
            for o in book.overrides
            if o.rule == rule_id and o.match.applies(township, village, device)
        ),
        key=lambda o: o.match.specificity(),
    )
    for override in matching:
        if override.enabled is not None:
            enabled = override.enabled
        if override.grade is not None:
            grade = override.grade
    return Adjusted(enabled, grade)
