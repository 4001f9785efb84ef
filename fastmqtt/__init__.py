"""A fast receive path for MQTT subscribers that must keep up with the whole district's stream.

A shared library, like ``influxv1``: the ingester and the rule evaluator both subscribe to
every device topic, and both use this paho-mqtt subclass (``FastClient``). Services import it;
it imports no service.
"""

from fastmqtt.client import FastClient, OnDelivery, packet_bounds, parse_publish

__all__ = ["FastClient", "OnDelivery", "packet_bounds", "parse_publish"]
