"""Valid readings of every kind, built from the contract models, for tests to publish."""

from __future__ import annotations

import time

from city.kinds import Kind
from city.telemetry import (
    DrainReading,
    ManholeReading,
    ParkingReading,
    RiverReading,
    StreetlightReading,
)
from city.topics import device_topic


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def streetlight(
    device_id: str = "sl-test-00001", seq: int = 1, ts: int | None = None
) -> StreetlightReading:
    return StreetlightReading(
        device_id=device_id,
        ts=ts or now_ms(),
        seq=seq,
        road="dezhou-dadao",
        voltage_v=221.5,
        current_a=0.52,
        power_w=112.0,
        power_factor=0.97,
        energy_kwh=1532.25,
        dimming_pct=100,
        lamp_on=True,
        status="ok",
        ambient_lux=2.5,
    )


def manhole(
    device_id: str = "mh-test-00001", seq: int = 1, ts: int | None = None
) -> ManholeReading:
    return ManholeReading(
        device_id=device_id,
        ts=ts or now_ms(),
        seq=seq,
        report="heartbeat",
        tilt_deg=1.5,
        cover_open=False,
        water_level_m=0.3,
        ch4_lel_pct=0.5,
        h2s_ppm=0.2,
        battery_pct=91,
    )


def parking(
    device_id: str = "pk-test-00001", seq: int = 1, ts: int | None = None
) -> ParkingReading:
    return ParkingReading(
        device_id=device_id,
        ts=ts or now_ms(),
        seq=seq,
        report="change",
        occupied=True,
        battery_pct=77,
    )


def river(device_id: str = "wt-test-00001", seq: int = 1, ts: int | None = None) -> RiverReading:
    return RiverReading(
        device_id=device_id,
        ts=ts or now_ms(),
        seq=seq,
        river="majiahe",
        level_m=4.35,
        flow_m3h=121000.0,
        ph=7.6,
        turbidity_ntu=12.0,
        do_mg_l=6.4,
        cod_mg_l=14.0,
        water_temp_c=12.5,
    )


def drain(device_id: str = "wt-test-00002", seq: int = 1, ts: int | None = None) -> DrainReading:
    return DrainReading(device_id=device_id, ts=ts or now_ms(), seq=seq, depth_m=0.08)


# Where each sample lives: (township, village) in the demo roster; the streetlight's road
# (dezhou-dadao) belongs to dongzhan.
AREA = ("yuanqiao", "dongzhan")


def topic_for(kind: Kind, device_id: str, channel: str = "telemetry") -> str:
    assert channel in ("telemetry", "status")
    return device_topic(
        AREA[0], AREA[1], kind, device_id, "telemetry" if channel == "telemetry" else "status"
    )
