"""The incident side's background work, one task in each API process.

Every ``interval_s`` (or at once when kicked, e.g. after ``POST /dev/clock``) a tick:

1. fires due escalation and reminder timers, each claimed so that exactly one replica fires it
   (:mod:`api.incidents.timers`);
2. sends the InfluxDB outbox (incident_event points); while InfluxDB is down it logs once and
   retries with backoff, and the API keeps answering;
3. once per ``kpi_every_s``, under a lease row so that one replica does it, writes the
   ``incident_kpi`` points for the district, each township and each village, and the API's
   ``platform_stats`` point (notifications sent/failed, alerts received).

Database work is blocking (SQLAlchemy sync sessions), so each tick runs in a worker thread and
the event loop keeps serving requests. A failure in one step is logged and never ends the task.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from api.incidents import escalation, kpi_points, outbox, platform_points, timers
from api.incidents.context import IncidentContext
from api.models.incident_tables import SchedulerLease
from influxv1 import InfluxClient, InfluxError

log = logging.getLogger(__name__)

KPI_LEASE = "incident_kpi"
MAX_BACKOFF_S = 60.0


@dataclass
class TickReport:
    fired: int = 0
    lost: int = 0  # claimed, but the claim was gone at commit (another replica or an ack)
    failed: int = 0
    sent: int = 0
    kpi_points: int = 0


@dataclass
class Scheduler:
    sessions: sessionmaker[Session]
    ctx: IncidentContext
    influx: InfluxClient | None
    interval_s: float = 1.0
    lease_s: float = 60.0
    kpi_every_s: float = 60.0
    # One waker per running task (a test client may start the app's lifespan more than once,
    # each on its own event loop): kick() wakes them all, from any thread.
    _wakers: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = field(
        default_factory=list, init=False, repr=False
    )
    _influx_retry_at: float = field(default=0.0, init=False, repr=False)
    _influx_backoff_s: float = field(default=1.0, init=False, repr=False)
    _influx_down: bool = field(default=False, init=False, repr=False)

    # --- one pass ------------------------------------------------------------------------

    def tick(self) -> TickReport:
        report = TickReport()
        self._fire_timers(report)
        self._send_outbox(report)
        self._write_kpis(report)
        return report

    def _fire_timers(self, report: TickReport) -> None:
        with self.sessions() as session:
            candidates = timers.due(session, self.ctx.clock.now())
        for timer in candidates:
            token = f"{self.ctx.instance}:{uuid.uuid4().hex[:12]}"
            with self.sessions() as session:
                held = timers.claim(session, timer, self.ctx.clock.now(), token, self.lease_s)
                if held is None:
                    continue
                try:
                    kept = escalation.fire(session, self.ctx, held)
                    if kept:
                        session.commit()
                        report.fired += 1
                    else:
                        session.rollback()
                        report.lost += 1
                except Exception:
                    log.exception("timer %d of incident %d failed", held.timer_id, held.incident_id)
                    session.rollback()
                    report.failed += 1
                    retry = self.ctx.clock.now() + timedelta(seconds=self.lease_s)
                    timers.back_off(session, held, retry)

    def _send_outbox(self, report: TickReport) -> None:
        if self.influx is None:
            return
        loop_time = time.monotonic()
        if loop_time < self._influx_retry_at:
            return
        try:
            while sent := outbox.flush(self.sessions, self.influx):
                report.sent += sent
                if sent < outbox.BATCH:
                    break
        except InfluxError as exc:
            if not self._influx_down:
                log.warning("InfluxDB unavailable, incident points wait in the outbox: %s", exc)
            self._influx_down = True
            self._influx_retry_at = loop_time + self._influx_backoff_s
            self._influx_backoff_s = min(self._influx_backoff_s * 2, MAX_BACKOFF_S)
            return
        if self._influx_down:
            log.warning("InfluxDB is back; the incident outbox is sent")
        self._influx_down = False
        self._influx_backoff_s = 1.0

    def _write_kpis(self, report: TickReport) -> None:
        if self.influx is None or time.monotonic() < self._influx_retry_at:
            return
        if not self._take_lease(KPI_LEASE, self.kpi_every_s):
            return
        with self.sessions() as session:
            lines = kpi_points.lines(session, self.ctx)
            lines.append(platform_points.line(session, self.ctx))
        try:
            self.influx.write("\n".join(lines).encode(), precision="ms")
        except InfluxError as exc:
            # The next period recomputes them from the incidents: nothing to keep.
            log.warning("incident KPIs not written this time: %s", exc)
            return
        report.kpi_points += len(lines)

    def _take_lease(self, name: str, hold_s: float) -> bool:
        """One replica per period: a conditional UPDATE on the lease row, as timers do."""
        now = self.ctx.clock.now()
        with self.sessions() as session:
            held = session.get(SchedulerLease, name)
            if held is not None and held.until is not None and held.until > now:
                return False  # a read, not a write: no write lock every tick while it is held
            if held is None:
                try:
                    session.add(SchedulerLease(name=name))
                    session.commit()
                except IntegrityError:
                    session.rollback()
            result = cast(
                CursorResult[Any],
                session.execute(
                    update(SchedulerLease)
                    .where(
                        SchedulerLease.name == name,
                        or_(SchedulerLease.until.is_(None), SchedulerLease.until <= now),
                    )
                    .values(holder=self.ctx.instance, until=now + timedelta(seconds=hold_s)),
                    execution_options={"synchronize_session": False},
                ),
            )
            session.commit()
            return result.rowcount == 1

    # --- the task ------------------------------------------------------------------------

    def kick(self) -> None:
        """Tick now (the clock moved); callable from any thread."""
        for loop, event in list(self._wakers):
            loop.call_soon_threadsafe(event.set)

    async def run(self) -> None:
        waker = (asyncio.get_running_loop(), asyncio.Event())
        self._wakers.append(waker)
        try:
            while True:
                try:
                    await asyncio.to_thread(self.tick)
                except Exception:
                    log.exception("incident scheduler tick failed; retrying")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waker[1].wait(), timeout=self.interval_s)
                waker[1].clear()
        finally:
            self._wakers.remove(waker)
