"""What the benchmarks publish: hand-built manhole heartbeats at a steady rate.

Built by hand rather than through the simulators so that generating a message costs the
benchmark nothing next to what it measures.
"""

from __future__ import annotations

import sys
import time

TOWNSHIP, VILLAGE = "yuanqiao", "dongzhan"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def topic(device: str) -> str:
    return f"tianqu/v1/{TOWNSHIP}/{VILLAGE}/manhole/{device}/telemetry"


def payload(device: str, seq: int, ts: int, ch4: float = 0.5) -> bytes:
    """~200 bytes: a valid manhole heartbeat."""
    return (
        f'{{"device_id":"{device}","ts":{ts},"seq":{seq},"kind":"manhole","report":"heartbeat",'
        f'"tilt_deg":1.5,"cover_open":false,"water_level_m":0.3,"ch4_lel_pct":{ch4},'
        f'"h2s_ppm":0.2,"battery_pct":91}}'
    ).encode()


def paced_publish(
    host: str, port: int, rate: float, seconds: float, devices: int, device_prefix: str
) -> None:
    """Publish ``rate`` messages a second for ``seconds``, round-robin over ``devices`` devices
    named ``<device_prefix>-00000``…; run it in a child process (it blocks)."""
    import paho.mqtt.client as mqtt  # noqa: PLC0415 - only in the child process
    from paho.mqtt.enums import CallbackAPIVersion  # noqa: PLC0415

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-{device_prefix}")
    client.max_inflight_messages_set(2000)
    client.connect(host, port)
    client.loop_start()
    sent = 0
    seq = 0
    started = time.monotonic()
    while (elapsed := time.monotonic() - started) < seconds:
        due = int(elapsed * rate)
        while sent < due:
            device = f"{device_prefix}-{sent % devices:05d}"
            if sent % devices == 0:
                seq += 1
            client.publish(topic(device), payload(device, seq, time.time_ns() // 10**6), qos=1)
            sent += 1
        time.sleep(0.002)
    time.sleep(2)  # the last messages leave before the disconnect
    client.disconnect()
    client.loop_stop()
