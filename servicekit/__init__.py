"""Plumbing shared by the services that follow the whole district's stream (ingest, alerting).

A library package, like ``influxv1``: services import it, it imports no service.

- ``mqttclient.FastClient`` — paho-mqtt with a fast receive loop and coalesced PUBACKs;
- ``subscriber.Subscriber`` — a persistent QoS 1 subscription on the asyncio loop with manual,
  in-order, connection-safe acknowledgements, its own flow control and reconnects;
- ``health`` — the ``/healthz``, ``/readyz``, ``/metrics`` app and a uvicorn server that leaves
  signals to the service;
- ``backoff``, ``aio`` — jittered backoff and two asyncio waits.
"""

from servicekit.mqttclient import FastClient, OnDelivery, packet_bounds, parse_publish

__all__ = ["FastClient", "OnDelivery", "packet_bounds", "parse_publish"]
