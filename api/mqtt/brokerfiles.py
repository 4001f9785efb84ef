"""Write mosquitto's password and ACL files from the registry, then make the broker reload.

Called after every change to broker credentials (register, rotate, decommission, gateways,
service accounts). The files are rendered from the database inside a lock and replaced
atomically (write a temporary file, then rename), so the broker never reads half a file and the
last writer always renders the latest committed state. Reloading is SIGHUP to the pid in a pid
file (mosquitto rereads both files on SIGHUP) or a configured command (``systemctl reload``).
"""

from __future__ import annotations

import fcntl
import logging
import os
import shlex
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models.tables import Device, Gateway, ServiceAccount
from api.mqtt.acl import (
    DeviceAccount,
    GatewayAccount,
    ServiceAccountEntry,
    render_acl,
    render_passwords,
)
from city.kinds import Kind

log = logging.getLogger(__name__)
_PROCESS_LOCK = threading.Lock()


class BrokerReloadError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class BrokerFiles:
    password_file: Path | None
    acl_file: Path | None
    reload_pid_file: Path | None = None
    reload_command: str | None = None

    @property
    def configured(self) -> bool:
        return self.password_file is not None and self.acl_file is not None

    def sync(self, session: Session) -> bool:
        """Render both files from the committed registry and reload; False if not configured."""
        if self.password_file is None or self.acl_file is None:
            log.warning("broker files are not configured; MQTT credentials are not applied")
            return False
        with _locked(self.acl_file):
            devices, gateways, services = load_accounts(session)
            _replace(self.password_file, render_passwords(devices, gateways, services))
            _replace(self.acl_file, render_acl(devices, gateways, services))
            self.reload()
        return True

    def apply(self, session: Session) -> bool:
        """``sync`` for request handlers: a broker that cannot be reached is logged, not raised.

        The registry change is already committed and its password is shown only in this
        answer, so failing the request would lose it; the answer says ``broker_synced: false``
        and the next change (or ``tianqu-api sync-broker``) applies the files again.
        """
        try:
            return self.sync(session)
        except (BrokerReloadError, OSError):
            log.exception("could not apply the broker's password and ACL files")
            return False

    def reload(self) -> None:
        # No pid file means no broker running (the local platform removes it on stop): the
        # broker reads the fresh files when it starts, so there is nothing to reload.
        if self.reload_pid_file is not None and self.reload_pid_file.exists():
            try:
                pid = int(self.reload_pid_file.read_text().strip())
                os.kill(pid, signal.SIGHUP)
            except (OSError, ValueError) as exc:
                raise BrokerReloadError(
                    f"cannot signal the broker via {self.reload_pid_file}: {exc}"
                ) from exc
        if self.reload_command:
            result = subprocess.run(  # noqa: S603 - the operator's own configured command
                shlex.split(self.reload_command),
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
            if result.returncode != 0:
                raise BrokerReloadError(
                    f"{self.reload_command!r} exited {result.returncode}: {result.stderr[-500:]}"
                )


def load_accounts(
    session: Session,
) -> tuple[list[DeviceAccount], list[GatewayAccount], list[ServiceAccountEntry]]:
    rows = session.scalars(
        select(Device).where(Device.decommissioned_at.is_(None)).order_by(Device.id)
    )
    devices = [
        DeviceAccount(
            d.id,
            Kind(d.kind),
            d.township,
            d.village,
            d.mqtt_password_hash if d.auth == "password" else None,
        )
        for d in rows
    ]
    by_gateway: dict[str, list[DeviceAccount]] = {}
    gateway_of: dict[str, str] = {
        device_id: gateway_id
        for device_id, gateway_id in session.execute(
            select(Device.id, Device.gateway_id).where(
                Device.decommissioned_at.is_(None), Device.gateway_id.is_not(None)
            )
        )
        if gateway_id is not None
    }
    for device in devices:
        gateway_id = gateway_of.get(device.device_id)
        if gateway_id is not None:
            by_gateway.setdefault(gateway_id, []).append(device)
    gateways = [
        GatewayAccount(
            g.id,
            g.password_hash,
            g.township,
            g.village,
            "devices" if g.acl == "devices" else "area",
            tuple(by_gateway.get(g.id, ())),
        )
        for g in session.scalars(
            select(Gateway).where(Gateway.revoked_at.is_(None)).order_by(Gateway.id)
        )
    ]
    services = [
        ServiceAccountEntry(s.username, s.password_hash, "ingest")
        for s in session.scalars(select(ServiceAccount).order_by(ServiceAccount.username))
    ]
    return devices, gateways, services


def _replace(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # The password file holds hashes only, yet nobody but the broker's user needs to read it.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)


@contextmanager
def _locked(anchor: Path) -> Iterator[None]:
    """One writer at a time: threads of this process, and other processes (CLI + API)."""
    anchor.parent.mkdir(parents=True, exist_ok=True)
    with _PROCESS_LOCK, (anchor.parent / f".{anchor.name}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
