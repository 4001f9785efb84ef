"""The incident's closed loop (数字化城管 闭环) and how incidents appear in InfluxDB.

发现 → 立案 → 派遣 → 处置 → 反馈 → 核查 → 结案, as states:

=============  ======  ===========================================================
state          name    entered when
=============  ======  ===========================================================
raised         发现    a rule (or Grafana) fires; routed to the level its grade needs
acknowledged   立案    a captain on duty acknowledges it, with a comment
dispatched     派遣    it is assigned to a person or team; the handling clock starts
in_progress    处置    the handler reports progress
resolved       反馈    the handler reports it dealt with
verified       核查    someone other than the resolver has checked it on site
closed         结案    a captain closes it; ``reopen`` sends it back to acknowledged
=============  ======  ===========================================================

Escalation is not a state: it moves an unacknowledged incident's ``level`` up. The API, the
console and the Grafana boards share these names through this module.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class State(StrEnum):
    RAISED = "raised"
    ACKNOWLEDGED = "acknowledged"
    DISPATCHED = "dispatched"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    VERIFIED = "verified"
    CLOSED = "closed"

    @property
    def display_name(self) -> str:
        return _NAMES[self]

    @property
    def is_open(self) -> bool:
        return self is not State.CLOSED


_NAMES: Final = {
    State.RAISED: "发现",
    State.ACKNOWLEDGED: "立案",
    State.DISPATCHED: "派遣",
    State.IN_PROGRESS: "处置",
    State.RESOLVED: "反馈",
    State.VERIFIED: "核查",
    State.CLOSED: "结案",
}


class Action(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    DISPATCH = "dispatch"
    NOTE = "note"
    RESOLVE = "resolve"
    VERIFY = "verify"
    CLOSE = "close"
    REOPEN = "reopen"


# action → (states it may be taken from, state it leads to); NOTE keeps the state, except that
# a note on a dispatched incident marks handling as under way.
TRANSITIONS: Final[dict[Action, tuple[frozenset[State], State | None]]] = {
    Action.ACKNOWLEDGE: (frozenset({State.RAISED}), State.ACKNOWLEDGED),
    Action.DISPATCH: (
        frozenset({State.ACKNOWLEDGED, State.DISPATCHED, State.IN_PROGRESS}),
        State.DISPATCHED,
    ),
    Action.NOTE: (frozenset(State) - {State.CLOSED}, None),
    Action.RESOLVE: (frozenset({State.DISPATCHED, State.IN_PROGRESS}), State.RESOLVED),
    Action.VERIFY: (frozenset({State.RESOLVED}), State.VERIFIED),
    Action.CLOSE: (frozenset({State.VERIFIED}), State.CLOSED),
    Action.REOPEN: (frozenset({State.RESOLVED, State.VERIFIED, State.CLOSED}), State.ACKNOWLEDGED),
}


def next_state(current: State, action: Action) -> State:
    """The state an action leads to; ValueError when the loop does not allow it from here."""
    allowed, target = TRANSITIONS[action]
    if current not in allowed:
        raise ValueError(
            f"cannot {action.value} an incident that is {current.value} "
            f"({current.display_name}); allowed from: "
            f"{', '.join(sorted(s.value for s in allowed))}"
        )
    if target is None:
        return State.IN_PROGRESS if current is State.DISPATCHED else current
    return target


# InfluxDB, for Grafana: one point per transition (annotations, counts by grade and level) and
# the KPIs per area, rewritten every minute.
EVENT_MEASUREMENT: Final = "incident_event"
EVENT_TAGS: Final = ("grade", "level", "township", "village", "rule", "event")
EVENT_FIELDS: Final = ("incident_id", "title", "state")
KPI_MEASUREMENT: Final = "incident_kpi"
KPI_TAGS: Final = ("scope", "area", "period")  # scope: district/township/village; period: day/30d
KPI_FIELDS: Final = (
    "raised",
    "closed",
    "open",
    "completion_rate",
    "on_time_rate",
    "mtta_s",
    "mttr_s",
    "escalations",
)
NO_VILLAGE: Final = "-"  # tag value for an incident of a whole township (tags cannot be empty)
