"""Grafana's substitution as the tests reproduce it: single, multi, All, escaping, built-ins."""

from __future__ import annotations

import pytest

from dashboards.interpolate import (
    ALL,
    Context,
    Variable,
    escape_regex,
    interpolate,
    placeholders,
    time_filter,
)

TOWNSHIP = Variable("township", multi=True, include_all=True, options=("changhe", "yuanqiao"))
VILLAGE = Variable("village", multi=True, include_all=True, all_value=".*", options=("a", "b"))
SINGLE = Variable("village", options=("dongzhan",))
QUERY = (
    'SELECT 1 FROM "m" WHERE $timeFilter AND "township" =~ /^$township$/ GROUP BY time($__interval)'
)


def context(**selection: object) -> Context:
    return Context({"township": TOWNSHIP, "village": VILLAGE}, selection)  # type: ignore[arg-type]


def test_builtins() -> None:
    out = interpolate(QUERY, context(township="changhe"))
    assert out == (
        'SELECT 1 FROM "m" WHERE time >= now() - 6h AND "township" =~ /^changhe$/ GROUP BY time(1m)'
    )
    assert "time >= now() - 7d" in interpolate(
        QUERY, context(township="changhe"), panel_time_from="7d"
    )
    assert "time(1h)" in interpolate(QUERY, context(township="changhe"), min_interval="1h")
    assert "time(1m)" in interpolate(QUERY, context(township="changhe"), min_interval="30s")


def test_multi_values_are_escaped_and_joined() -> None:
    assert "/^(changhe|yuanqiao)$/" in interpolate(QUERY, context(township=["changhe", "yuanqiao"]))
    assert "/^changhe$/" in interpolate(QUERY, context(township=["changhe"]))
    odd = Variable("township", multi=True, options=("a.b", "c/d"))
    out = interpolate(QUERY, Context({"township": odd}, {"township": ["a.b", "c/d"]}))
    assert r"/^(a\.b|c\/d)$/" in out


def test_all_uses_all_value_or_every_option() -> None:
    assert "/^(changhe|yuanqiao)$/" in interpolate(QUERY, context(township=ALL))
    assert "/^.*$/" in interpolate('"v" =~ /^$village$/', context(village=ALL))


def test_single_value_variable_is_not_escaped() -> None:
    out = interpolate(
        '"v" =~ /^${village}$/ AND [[village]]', Context({"village": SINGLE}, {"village": "x.y"})
    )
    assert out == '"v" =~ /^x.y$/ AND x.y'
    with pytest.raises(ValueError, match="takes one value"):
        interpolate("$village", Context({"village": SINGLE}, {"village": ["a", "b"]}))


def test_unknown_or_unselected_variables_fail() -> None:
    with pytest.raises(KeyError, match="neither"):
        interpolate("$towship", context(township="a"))
    with pytest.raises(KeyError, match="no value"):
        interpolate("$village", context(township="a"))
    with pytest.raises(ValueError, match="no All"):
        interpolate("$village", Context({"village": SINGLE}, {"village": ALL}))


def test_helpers() -> None:
    assert escape_regex("a.b(c)|d/e$") == r"a\.b\(c\)\|d\/e\$"
    assert placeholders(QUERY) == {"timeFilter", "township", "__interval"}
    assert time_filter(absolute_ms=(1, 2)) == "time >= 1ms and time <= 2ms"
    with pytest.raises(ValueError, match="duration"):
        time_filter("six hours")
