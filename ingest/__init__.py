"""The ingester: MQTT (QoS 1, persistent session, manual acks) → validate → InfluxDB.

Stages, one module each: ``source`` (MQTT) → ``decode`` (contract) → ``pipeline`` (batches,
ack order) → ``sink`` (InfluxDB v1 API), with ``deadletter`` for what the contract refuses.
"""
