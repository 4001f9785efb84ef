"""The rule evaluator: reads the device stream beside the ingester and tells the incident service.

It subscribes to the broker with a client id and a persistent session of its own, evaluates the
rules of ``city/data/rules.yaml`` (threshold, no-data and correlation rules, with overrides)
against every message in ``alerting.engine`` (pure, no I/O), writes the ``AlertEvent`` s a
message produced to a durable SQLite outbox, acknowledges the message, and a sender posts the
outbox to the API's ``POST /alerts/events`` with retries.
"""
