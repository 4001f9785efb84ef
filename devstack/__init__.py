"""The local platform: real mosquitto and influxd on loopback, with configs from one source.

Used by ``scripts/run`` (the whole platform on one machine) and by the test fixtures, so that what
the tests exercise is what a newcomer runs. It starts services as processes and never imports them.
"""
