"""Helpers shared by the simulator tests (imported by name: the test folders are not packages)."""

from __future__ import annotations

from simulators.clock import parse_instant
from simulators.engine import Engine, Outgoing
from simulators.scenarios import ScenarioBook

# A Wednesday in July, late afternoon Beijing time: lamps still off, dusk within hours.
SUMMER_AFTERNOON = parse_instant("2026-07-15T16:00:00+08:00")


def run_engine(
    engine: Engine, until: float, step: float = 60.0, book: ScenarioBook | None = None
) -> list[Outgoing]:
    """Drive the engine (and its scenarios) from its current time to ``until`` in steps."""
    out: list[Outgoing] = []
    now = engine.now
    while now < until:
        now = min(until, now + step)
        out.extend(engine.advance(now) if book is None else book.advance(now))
    return out
