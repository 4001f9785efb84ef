from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from city.lineprotocol import LineProtocolError, encode_line, escape_key, format_field
from city.schema import reading_line
from city.telemetry import DEVICE_ID_PATTERN
from city.topology import SLUG_PATTERN
from tests.support import readings as r


def test_escaping_follows_the_reference() -> None:
    line = encode_line(
        "my measurement,x", {"tag key": "a=b,c d"}, {"field,key": 'say "hi" \\ bye'}, 1
    )
    assert line == r'my\ measurement\,x,tag\ key=a\=b\,c\ d field\,key="say \"hi\" \\ bye" 1'


def test_tags_are_sorted_and_types_are_kept() -> None:
    line = encode_line("m", {"b": "2", "a": "1"}, {"i": 3, "f": 3.0, "t": True, "s": "x"}, 5)
    assert line == 'm,a=1,b=2 i=3i,f=3.0,t=true,s="x" 5'


@pytest.mark.parametrize("bad", ["", "a\nb", "a\rb", "trailing\\", "in\\side"])
def test_keys_that_line_protocol_cannot_carry_are_refused(bad: str) -> None:
    with pytest.raises(LineProtocolError):
        escape_key(bad)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 2**63])
def test_values_that_influxdb_cannot_store_are_refused(bad: float) -> None:
    with pytest.raises(LineProtocolError):
        format_field(bad)


@given(st.text(min_size=1).filter(lambda s: not set(s) & set("\n\r\\")))
def test_any_acceptable_key_escapes_to_a_single_token(key: str) -> None:
    escaped = escape_key(key)
    # After escaping, every separator is preceded by a backslash: no bare space, comma or '='.
    bare = escaped.replace("\\ ", "").replace("\\,", "").replace("\\=", "")
    assert " " not in bare and "," not in bare and "=" not in bare


def test_a_reading_becomes_one_point_with_area_tags_and_device_time() -> None:
    reading = r.streetlight(ts=1_790_000_000_123)
    line = reading_line(reading, "yuanqiao", "dongzhan")
    assert line.startswith(
        "streetlight,device=sl-test-00001,road=dezhou-dadao,township=yuanqiao,village=dongzhan "
    )
    assert "lamp_on=1i" in line and 'status="ok"' in line and "dimming_pct=100i" in line
    assert "voltage_v=221.5" in line and "seq=1i" in line
    assert line.endswith(" 1790000000123")
    assert "\n" not in line


@given(
    st.from_regex(DEVICE_ID_PATTERN, fullmatch=True) | st.from_regex(SLUG_PATTERN, fullmatch=True)
)
def test_contract_ids_never_need_escaping_so_the_fast_path_may_skip_it(value: str) -> None:
    assert escape_key(value) == value
