"""The wire contract: one strict pydantic model per kind of telemetry and for device status.

These models are the single source of truth: the ingester validates with them, the simulators
build their payloads with them, and ``docs/device-contract.md`` shows examples they produced.
Field names carry their unit (``_v``, ``_kwh``, ``_pct``…) so a payload explains itself.
Strict mode: a string where a number belongs is an error, never coerced; NaN and ±inf are refused.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter

from city.kinds import Kind
from city.topology import SLUG_PATTERN

DEVICE_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{2,63}$"
DeviceId = Annotated[str, StringConstraints(pattern=DEVICE_ID_PATTERN)]
AreaId = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, min_length=2, max_length=40)]

# 2001-09-09 … 2286-11-20 in epoch milliseconds: a 13-digit value, so a device that sends seconds
# or microseconds by mistake is refused by the schema instead of landing in 1970 or the far future.
EpochMillis = Annotated[int, Field(ge=1_000_000_000_000, le=9_999_999_999_999)]
Sequence = Annotated[int, Field(ge=0, le=2**32 - 1)]
Percent = Annotated[int, Field(ge=0, le=100)]
Report = Literal["heartbeat", "change"]

LampStatus = Literal["ok", "brokenLantern", "defectiveLamp", "columnIssue"]


class _Wire(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, strict=True, allow_inf_nan=False, revalidate_instances="never"
    )


class Reading(_Wire):
    """What every telemetry message carries besides its quantities."""

    device_id: DeviceId = Field(description="must equal the topic's device id")
    ts: EpochMillis = Field(description="device clock, ms since the Unix epoch (UTC)")
    seq: Sequence = Field(description="per-device counter, +1 per message, wraps at 2^32")


class StreetlightReading(Reading):
    kind: Literal["streetlight"] = "streetlight"
    road: AreaId = Field(description="the road (feeder) the lamp stands on")
    voltage_v: float = Field(ge=0, le=300, description="supply voltage, V (220 V ± 10 %)")
    current_a: float = Field(ge=0, le=10, description="lamp current, A")
    power_w: float = Field(ge=0, le=2000, description="active power, W")
    power_factor: float = Field(ge=0, le=1, description="power factor")
    energy_kwh: float = Field(ge=0, le=10_000_000, description="cumulative meter reading")
    dimming_pct: Percent = Field(description="dimming level, % of full output")
    lamp_on: bool = Field(description="lamp switched on")
    status: LampStatus = Field(description="FIWARE Streetlight status")
    ambient_lux: float = Field(ge=0, le=200_000, description="ambient light, lux")


class ManholeReading(Reading):
    kind: Literal["manhole"] = "manhole"
    report: Report = Field(description="change = an alarm or recovery sent at once")
    tilt_deg: float = Field(ge=0, le=180, description="against the installed angle")
    cover_open: bool = Field(description="cover lifted off its frame (magnet)")
    water_level_m: float = Field(ge=0, le=5, description="water under the cover")
    ch4_lel_pct: float = Field(ge=0, le=100, description="methane, % of the lower explosive limit")
    h2s_ppm: float = Field(ge=0, le=500, description="hydrogen sulphide, ppm")
    battery_pct: Percent = Field(description="battery charge, %")


class ParkingReading(Reading):
    kind: Literal["parking"] = "parking"
    report: Report = Field(description="change = sent at once on arrival/departure")
    occupied: bool = Field(description="a vehicle stands on the bay")
    battery_pct: Percent = Field(description="battery charge, %")


class RiverReading(Reading):
    kind: Literal["water"] = "water"
    site: Literal["river"] = "river"
    river: AreaId = Field(description="river id from the roster")
    level_m: float = Field(ge=0, le=60, description="stage above the station's gauge datum")
    flow_m3h: float = Field(ge=0, le=5_000_000, description="discharge, m³/h")
    ph: float = Field(ge=0, le=14, description="pH")
    turbidity_ntu: float = Field(ge=0, le=4000, description="turbidity, NTU")
    do_mg_l: float = Field(ge=0, le=20, description="dissolved oxygen, mg/L")
    cod_mg_l: float = Field(ge=0, le=1000, description="chemical oxygen demand, mg/L")
    water_temp_c: float = Field(ge=-5, le=40, description="water temperature, °C")


class DrainReading(Reading):
    kind: Literal["water"] = "water"
    site: Literal["drain"] = "drain"
    depth_m: float = Field(ge=0, le=3, description="waterlogging depth on the road")


WaterReading = Annotated[RiverReading | DrainReading, Field(discriminator="site")]
AnyReading = StreetlightReading | ManholeReading | ParkingReading | RiverReading | DrainReading


class DeviceStatus(_Wire):
    """Retained on the status topic: the birth message on connect, the last will on loss.

    A last will is composed at connect time, so it cannot carry the moment of loss; ``ts`` is
    therefore optional and the ingester stamps a status without one at reception.
    """

    online: bool = Field(description="true in the birth, false in the last will")
    ts: EpochMillis | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    firmware: Annotated[str, StringConstraints(max_length=32, pattern=r"^[\x21-\x7e]*$")] = ""


READING_ADAPTERS: dict[Kind, TypeAdapter[AnyReading]] = {
    Kind.STREETLIGHT: TypeAdapter(StreetlightReading),
    Kind.MANHOLE: TypeAdapter(ManholeReading),
    Kind.PARKING: TypeAdapter(ParkingReading),
    Kind.WATER: TypeAdapter(WaterReading),
}
STATUS_ADAPTER: TypeAdapter[DeviceStatus] = TypeAdapter(DeviceStatus)
