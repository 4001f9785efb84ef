"""What the encoder writes, the real InfluxDB reads back unchanged — for any tag or field value."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from city.lineprotocol import encode_line
from devstack.processes import InfluxServer
from influxv1 import InfluxClient, InfluxTarget

pytestmark = pytest.mark.integration

# Anything but what line protocol cannot carry in a tag (line breaks, backslashes), including
# spaces, commas, equals signs, quotes, emoji, CJK and control characters. Surrogates are not
# text. InfluxDB 1.x treats a NUL as the end of a key, so it is left out of keys.
tag_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r\\\x00"),
    min_size=1,
    max_size=40,
)
field_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200)
_clock = itertools.count(1_790_000_000_000)


@pytest.fixture(scope="module")
def client(influxd: InfluxServer) -> Iterator[InfluxClient]:
    c = InfluxClient(InfluxTarget(influxd.url, f"lp_{uuid.uuid4().hex[:8]}"))
    c.create_database()
    yield c
    c.close()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    tag=tag_text,
    text=field_text,
    number=st.floats(allow_nan=False, allow_infinity=False),
    integer=st.integers(min_value=-(2**63), max_value=2**63 - 1),
)
def test_any_tag_and_field_value_round_trips(
    client: InfluxClient, tag: str, text: str, number: float, integer: int
) -> None:
    ts = next(_clock)
    line = encode_line("roundtrip", {"k": tag}, {"s": text, "f": number, "i": integer}, ts)
    client.write(line.encode())
    rows = client.rows('SELECT * FROM "roundtrip" WHERE time = $t', {"t": ts * 1_000_000})
    assert len(rows) == 1, line
    row = rows[0]
    assert row["k"] == tag
    assert row["s"] == text
    assert float(row["f"]) == number  # Go prints some large floats without a decimal point
    assert row["i"] == integer
