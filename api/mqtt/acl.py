"""Render mosquitto's password file and ACL file from the registry.

Each device gets a ``user`` block with its exact two topics, not a ``pattern`` with ``+``: a
pattern such as ``tianqu/v1/+/+/+/%u/#`` would let a device publish under any area, and the
area in the topic is what the ingester tags the point with. Gateways get their area's prefix
(or their devices' exact topics), the ingester reads the whole tree, and anonymous clients get
no lines at all (the broker also runs with ``allow_anonymous false``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from city.kinds import Kind
from city.topics import ALL_DEVICES, ROOT, device_topic

HEADER = "# Rendered by the Tianqu API from its device registry; edits here are overwritten.\n"


@dataclass(frozen=True, slots=True)
class DeviceAccount:
    device_id: str
    kind: Kind
    township: str
    village: str
    password_hash: str | None  # None: logs in with a client certificate (CN = device id)

    def topics(self) -> tuple[str, str]:
        return (
            device_topic(self.township, self.village, self.kind, self.device_id, "telemetry"),
            device_topic(self.township, self.village, self.kind, self.device_id, "status"),
        )


@dataclass(frozen=True, slots=True)
class GatewayAccount:
    username: str
    password_hash: str
    township: str | None
    village: str | None
    acl: Literal["area", "devices"]
    devices: tuple[DeviceAccount, ...] = ()

    def write_topics(self) -> list[str]:
        if self.acl == "devices":
            return [topic for device in self.devices for topic in device.topics()]
        if self.township is None:
            return [f"{ROOT}/#"]
        if self.village is None:
            return [f"{ROOT}/{self.township}/#"]
        return [f"{ROOT}/{self.township}/{self.village}/#"]


@dataclass(frozen=True, slots=True)
class ServiceAccountEntry:
    username: str
    password_hash: str
    role: Literal["ingest"]

    def read_topics(self) -> list[str]:
        # mosquitto 2.0 checks a shared subscription ($share/<group>/<filter>) against the
        # filter alone, so this one line also admits the ingester's $share/ingest/... form.
        return [ALL_DEVICES]


def render_passwords(
    devices: Iterable[DeviceAccount],
    gateways: Iterable[GatewayAccount],
    services: Iterable[ServiceAccountEntry],
) -> str:
    lines = [f"{s.username}:{s.password_hash}" for s in services]
    lines += [f"{g.username}:{g.password_hash}" for g in gateways]
    lines += [f"{d.device_id}:{d.password_hash}" for d in devices if d.password_hash is not None]
    return "".join(f"{line}\n" for line in lines)


def render_acl(
    devices: Iterable[DeviceAccount],
    gateways: Iterable[GatewayAccount],
    services: Iterable[ServiceAccountEntry],
) -> str:
    blocks = [HEADER]
    for service in services:
        blocks.append(f"\nuser {service.username}\n")
        blocks.extend(f"topic read {topic}\n" for topic in service.read_topics())
    for gateway in gateways:
        blocks.append(f"\nuser {gateway.username}\n")
        blocks.extend(f"topic write {topic}\n" for topic in gateway.write_topics())
    for device in devices:
        telemetry, status = device.topics()
        blocks.append(f"\nuser {device.device_id}\ntopic write {telemetry}\ntopic write {status}\n")
    return "".join(blocks)
