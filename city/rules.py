"""Rules as code for the 三级机长制: what raises an incident, of which grade, and how incidents
escalate. One YAML file (``city/data/rules.yaml`` or ``$TIANQU_RULES_FILE``), validated at load
with errors that name the rule at fault. The rule evaluator, the incident service and the
Grafana alert generator all read it through this module.

A **threshold rule** watches one quantity of one kind (``site`` narrows water to rivers or
drains): a ``condition`` (above, below, outside a band, equals — a change of state), optionally
held for ``for_s`` seconds and for ``repeat`` consecutive readings, recovering when ``recover``
holds (hysteresis; by default when the condition no longer does). Thresholds may name a river
station's own levels (``above: station.warning_level_m``).

A **no-data rule** fires when a device of a kind is silent for ``factor`` × its heartbeat.

A **correlation rule** turns ``count`` firings of other rules within ``within_s`` seconds, on
the same road or in the same township, into one incident of a graver grade.

**Overrides** change a rule for one township, village or device: another threshold, another
grade, or off.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from city.alerts import RuleId
from city.grades import Grade, Level
from city.kinds import Kind
from city.telemetry import (
    DrainReading,
    ManholeReading,
    ParkingReading,
    Reading,
    RiverReading,
    StreetlightReading,
)
from city.topology import SLUG_PATTERN
from city.validation import DataFileError, read_yaml, validate_data

DEFAULT_RULES_FILE = Path(__file__).parent / "data" / "rules.yaml"
STATION_REFERENCES = (
    "station.normal_level_m",
    "station.warning_level_m",
    "station.guarantee_level_m",
)

Threshold = (
    float
    | Literal["station.normal_level_m", "station.warning_level_m", "station.guarantee_level_m"]
)
Name = Annotated[str, StringConstraints(min_length=1, max_length=60)]


class RulesError(DataFileError):
    what = "rules"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Condition(_Strict):
    """Exactly one of: ``above``, ``below``, ``outside`` [low, high], ``equals``."""

    above: Threshold | None = None
    below: Threshold | None = None
    outside: tuple[float, float] | None = None
    equals: bool | str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Condition:
        chosen = [
            k for k in ("above", "below", "outside", "equals") if getattr(self, k) is not None
        ]
        if len(chosen) != 1:
            raise ValueError(
                "a condition needs exactly one of above, below, outside, equals; "
                f"got {chosen or 'none'}"
            )
        if self.outside is not None and not self.outside[0] < self.outside[1]:
            raise ValueError(f"outside needs [low, high] with low < high, got {list(self.outside)}")
        return self

    @property
    def references_station(self) -> bool:
        return isinstance(self.above, str) or isinstance(self.below, str)

    def describe(self) -> str:
        if self.above is not None:
            return f"> {self.above}"
        if self.below is not None:
            return f"< {self.below}"
        if self.outside is not None:
            return f"outside [{self.outside[0]}, {self.outside[1]}]"
        return f"= {self.equals}"


class ThresholdRule(_Strict):
    id: RuleId
    name: Name
    kind: Kind
    site: Literal["river", "drain"] | None = None
    quantity: str
    condition: Condition
    for_s: int = Field(default=0, ge=0, le=86_400)
    repeat: int = Field(default=1, ge=1, le=100)
    recover: Condition | None = None
    grade: Grade
    unit: str = ""
    enabled: bool = True


class NoDataRule(_Strict):
    id: RuleId
    name: Name
    kind: Kind
    site: Literal["river", "drain"] | None = None
    factor: float = Field(gt=1, le=1000, description="× the kind's heartbeat")
    grade: Grade
    enabled: bool = True

    def silence_s(self) -> float:
        return self.factor * self.kind.heartbeat_s


class CorrelationRule(_Strict):
    id: RuleId
    name: Name
    of: list[RuleId] = Field(min_length=1)
    by: Literal["road", "township"]
    count: int = Field(ge=2, le=1000)
    within_s: int = Field(ge=1, le=86_400)
    grade: Grade
    enabled: bool = True


class OverrideMatch(_Strict):
    township: Annotated[str, StringConstraints(pattern=SLUG_PATTERN)] | None = None
    village: Annotated[str, StringConstraints(pattern=SLUG_PATTERN)] | None = None
    device: str | None = None

    @model_validator(mode="after")
    def _something(self) -> OverrideMatch:
        if self.township is None and self.village is None and self.device is None:
            raise ValueError("match needs a township, a village or a device")
        return self

    def specificity(self) -> int:
        return 3 if self.device else 2 if self.village else 1

    def applies(self, township: str, village: str | None, device: str | None) -> bool:
        return (
            (self.township is None or self.township == township)
            and (self.village is None or self.village == village)
            and (self.device is None or self.device == device)
        )


class Override(_Strict):
    rule: RuleId
    match: OverrideMatch
    enabled: bool | None = None
    condition: Condition | None = None
    recover: Condition | None = None
    grade: Grade | None = None
    for_s: int | None = Field(default=None, ge=0, le=86_400)


class Escalation(_Strict):
    """How long each level has to acknowledge before the incident goes up, and reminders."""

    ack_timeout_s: dict[Level, int] = Field(
        default_factory=lambda: {Level.VILLAGE: 900, Level.TOWNSHIP: 600, Level.DISTRICT: 300}
    )
    reminder_every_s: int = Field(default=300, ge=10, le=86_400)

    @model_validator(mode="after")
    def _every_level(self) -> Escalation:
        missing = [level.value for level in Level if level not in self.ack_timeout_s]
        if missing:
            raise ValueError(f"ack_timeout_s needs every level; missing {missing}")
        if any(v < 10 for v in self.ack_timeout_s.values()):
            raise ValueError("ack_timeout_s values must be at least 10 s")
        return self


class RuleBook(_Strict):
    version: Literal[1]
    escalation: Escalation = Field(default_factory=Escalation)
    deadlines_s: dict[Grade, int] = Field(
        description="time from dispatch to resolution counted as on time, per grade"
    )
    rules: list[ThresholdRule] = []
    no_data: list[NoDataRule] = []
    correlations: list[CorrelationRule] = []
    overrides: list[Override] = []

    def all_ids(self) -> set[str]:
        return {
            *(r.id for r in self.rules),
            *(r.id for r in self.no_data),
            *(r.id for r in self.correlations),
        }

    def effective(
        self, rule: ThresholdRule, township: str, village: str | None, device: str | None
    ) -> ThresholdRule:
        """The rule as it applies to one device: overrides from the least to the most specific."""
        matching = sorted(
            (
                o
                for o in self.overrides
                if o.rule == rule.id and o.match.applies(township, village, device)
            ),
            key=lambda o: o.match.specificity(),
        )
        for override in matching:
            rule = _apply(rule, override)
        return rule


_MODELS: dict[tuple[Kind, str | None], type[Reading]] = {
    (Kind.STREETLIGHT, None): StreetlightReading,
    (Kind.MANHOLE, None): ManholeReading,
    (Kind.PARKING, None): ParkingReading,
    (Kind.WATER, "river"): RiverReading,
    (Kind.WATER, "drain"): DrainReading,
}
_NOT_QUANTITIES = {"device_id", "ts", "seq", "kind", "site", "river", "road"}


def reading_model(kind: Kind, site: str | None) -> type[Reading] | None:
    return _MODELS.get((kind, site))


def _rule_problems(rule: ThresholdRule) -> list[str]:
    model = reading_model(rule.kind, rule.site)
    if model is None:
        return [
            f"kind {rule.kind.value} needs site river or drain"
            if rule.kind is Kind.WATER
            else f"site applies to water only, not {rule.kind.value}"
        ]
    quantities = {
        n: f.annotation for n, f in model.model_fields.items() if n not in _NOT_QUANTITIES
    }
    if rule.quantity not in quantities:
        return [f"quantity {rule.quantity!r} is not one of {', '.join(sorted(quantities))}"]
    annotation = quantities[rule.quantity]
    problems = []
    for label, cond in (("condition", rule.condition), ("recover", rule.recover)):
        if cond is None:
            continue
        numeric = annotation in (int, float)
        if cond.equals is None and not numeric:
            problems.append(f"{label}: {rule.quantity} is not a number; use equals")
        if cond.equals is not None and numeric:
            problems.append(f"{label}: {rule.quantity} is a number; use above, below or outside")
        if cond.equals is not None and annotation is bool and not isinstance(cond.equals, bool):
            problems.append(f"{label}: {rule.quantity} is true/false")
        if cond.references_station and model is not RiverReading:
            problems.append(f"{label}: station thresholds apply to river stations only")
    return problems


def _apply(rule: ThresholdRule, override: Override) -> ThresholdRule:
    changes: dict[str, Any] = {
        k: v
        for k, v in (
            ("enabled", override.enabled),
            ("condition", override.condition),
            ("recover", override.recover),
            ("grade", override.grade),
            ("for_s", override.for_s),
        )
        if v is not None
    }
    return rule.model_copy(update=changes) if changes else rule


def _consistency_problems(book: RuleBook) -> list[str]:
    """Rules that refer to each other or to the contract: what a field schema cannot check."""
    problems: list[str] = []
    seen: set[str] = set()
    sections: list[tuple[str, list[str]]] = [
        ("rules", [r.id for r in book.rules]),
        ("no_data", [r.id for r in book.no_data]),
        ("correlations", [r.id for r in book.correlations]),
    ]
    for section, ids in sections:
        for i, rule_id in enumerate(ids):
            if rule_id in seen:
                problems.append(f"{section}[{i}] {rule_id}: id already used")
            seen.add(rule_id)
    for i, rule in enumerate(book.rules):
        problems.extend(f"rules[{i}] {rule.id}: {p}" for p in _rule_problems(rule))
    threshold_ids = {r.id for r in book.rules} | {r.id for r in book.no_data}
    for i, corr in enumerate(book.correlations):
        problems.extend(
            f"correlations[{i}] {corr.id}: unknown rule {ref!r} in of"
            for ref in corr.of
            if ref not in threshold_ids
        )
        if corr.by == "road" and any(
            r.kind is not Kind.STREETLIGHT for r in book.rules if r.id in corr.of
        ):
            problems.append(f"correlations[{i}] {corr.id}: by road needs streetlight rules")
    by_id = {r.id: r for r in book.rules}
    for i, override in enumerate(book.overrides):
        if override.rule not in seen:
            problems.append(f"overrides[{i}]: unknown rule {override.rule!r}")
        elif override.rule in by_id:
            patched = _apply(by_id[override.rule], override)
            problems.extend(f"overrides[{i}] {override.rule}: {p}" for p in _rule_problems(patched))
    missing = [g.value for g in Grade if g not in book.deadlines_s]
    if missing:
        problems.append(f"deadlines_s: needs every grade; missing {missing}")
    return problems


def parse_rules(raw: Any, source: str = "<data>") -> RuleBook:
    return validate_data(RuleBook, raw, source, _consistency_problems, RulesError)


def load_rules(path: Path | str | None = None) -> RuleBook:
    chosen = Path(path or os.environ.get("TIANQU_RULES_FILE") or DEFAULT_RULES_FILE)
    return parse_rules(read_yaml(chosen, RulesError), str(chosen))


@lru_cache(maxsize=4)
def default_rules() -> RuleBook:
    return load_rules()
