"""Simulated devices of 德州天衢新区: streetlights, manhole covers, parking bays, water sensors.

One process drives up to 50,000 devices in simulated time and publishes their readings over
MQTT, built from the wire contract in :mod:`city.telemetry`. The pieces, one module each:

- :mod:`simulators.fleet` — where the devices stand (deterministic for a seed)
- :mod:`simulators.kinds` — one module per kind of device, all of the same shape
- :mod:`simulators.daylight` and :mod:`simulators.clock` — the sun and simulated time
- :mod:`simulators.engine` — which device speaks next, and what it says
- :mod:`simulators.scenarios` and :mod:`simulators.malformed` — incidents and broken messages
- :mod:`simulators.publisher` — MQTT at QoS 1, one connection per device or via gateways
- :mod:`simulators.control`, :mod:`simulators.runner`, :mod:`simulators.cli` — running it
"""

from simulators.engine import Engine, Outgoing
from simulators.fleet import Fleet, Placement, build_fleet
from simulators.scenarios import ScenarioBook, ScenarioError, parse_spec

__all__ = [
    "Engine",
    "Fleet",
    "Outgoing",
    "Placement",
    "ScenarioBook",
    "ScenarioError",
    "build_fleet",
    "parse_spec",
]
