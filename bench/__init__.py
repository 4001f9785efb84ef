"""Benchmarks: commands that print figures, never pass/fail tests."""
