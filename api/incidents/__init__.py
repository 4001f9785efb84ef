"""The incident side of the 三级机长制: alert intake, routing by grade and area, the closed loop,
escalation timers, silences, KPIs and the hand-off to notifications.

    intake.py         an AlertEvent → created / deduplicated / cleared / silenced / ignored
    grafana.py        Grafana's webhook body and signature → AlertEvents
    silences.py       which silence, if any, swallows an event
    duty.py           who is on duty at a level for an area (roster, else the area's captains)
    loop.py           acknowledge … close: next_state, who may act, milestones, audit
    audit.py          one audit row per step, and its incident_event point for Grafana
    timers.py         escalation and reminder due times: schedule, cancel, claim once
    escalation.py     what a claimed timer does: go one level up, or remind
    scheduler.py      the background task: timers, the InfluxDB outbox, the minute's KPIs
    kpis.py           completion and on-time rates, MTTA/MTTR, escalations, per area and period
    kpi_points.py     the KPIs as incident_kpi points
    outbox.py         line protocol waiting for InfluxDB, sent by the scheduler
    notifications.py  notify_incident: the one call into api.notify
    context.py        what all of these share: clock, rules, roster

Every time comes from :mod:`api.core.clock`; every object is scoped by :mod:`api.core.scope`.
"""
