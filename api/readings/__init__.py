"""Readings from InfluxDB: closed sets of names, query builders, and their execution."""
