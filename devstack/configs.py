"""Broker and database configuration, rendered from one source.

The local platform, the test fixtures and (later) the files under ``deploy/`` are all rendered
here, so a setting the "nothing lost" guarantees depend on cannot differ between them.
Every non-default mosquitto setting is explained in docs/architecture.md ("Broker settings").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# Beyond these, mosquitto drops QoS 1 messages for a slow or offline subscriber *silently*
# (stock: 1000 messages). The ingester's persistent session must be able to ride out an outage.
MAX_QUEUED_MESSAGES = 2_000_000
MAX_QUEUED_BYTES = 1_500_000_000
# The ingester bounds its own in-flight window with MQTT 5 "receive maximum"; 0 lifts the
# broker's stock limit of 20 that would otherwise cap an ack-after-write consumer at a trickle.
MAX_INFLIGHT_MESSAGES = 0
# Large enough that an oversized payload reaches the ingester and is dead-lettered with a reason,
# small enough that nobody streams files through the broker.
MAX_PACKET_SIZE = 262_144


@dataclass(frozen=True, slots=True)
class BrokerConfig:
    port: int
    data_dir: Path
    bind: str = "127.0.0.1"
    allow_anonymous: bool = True
    password_file: Path | None = None
    acl_file: Path | None = None
    autosave_interval_s: int = 10
    log_file: Path | None = None
    # Started as root, mosquitto drops to the "mosquitto" user, which cannot write a data dir
    # that root created (no log, no persistence file, sessions lost on restart). Locally it runs
    # as whoever started it; deploy configs keep the unprivileged user.
    run_as_user: str | None = None
    # TLS listeners (off unless a port and the files are given): ``tls_port`` takes a username
    # and password over TLS; ``cert_port`` requires a client certificate whose CN becomes the
    # username (``use_identity_as_username``), so the same per-user ACL applies to it.
    tls_port: int | None = None
    cert_port: int | None = None
    tls: TlsFiles | None = None


@dataclass(frozen=True, slots=True)
class TlsFiles:
    cafile: Path
    certfile: Path
    keyfile: Path


def _tls_listener(port: int, cfg: BrokerConfig, tls: TlsFiles, *, client_cert: bool) -> list[str]:
    lines = [
        f"listener {port} {cfg.bind}",
        f"cafile {tls.cafile}",
        f"certfile {tls.certfile}",
        f"keyfile {tls.keyfile}",
        "tls_version tlsv1.2",
    ]
    if client_cert:
        lines += ["require_certificate true", "use_identity_as_username true"]
    return lines


def render_mosquitto(cfg: BrokerConfig) -> str:
    lines = [
        "# Rendered by devstack.configs — edit the generator, not this file.",
        "per_listener_settings false",
        *([f"user {cfg.run_as_user}"] if cfg.run_as_user else []),
        f"listener {cfg.port} {cfg.bind}",
        f"allow_anonymous {'true' if cfg.allow_anonymous else 'false'}",
        "persistence true",
        f"persistence_location {cfg.data_dir}/",
        "persistence_file mosquitto.db",
        f"autosave_interval {cfg.autosave_interval_s}",
        "autosave_on_changes false",
        f"max_queued_messages {MAX_QUEUED_MESSAGES}",
        f"max_queued_bytes {MAX_QUEUED_BYTES}",
        f"max_inflight_messages {MAX_INFLIGHT_MESSAGES}",
        f"max_packet_size {MAX_PACKET_SIZE}",
        "persistent_client_expiration 14d",
        "set_tcp_nodelay false",
        "connection_messages false",
        "log_timestamp_format %Y-%m-%dT%H:%M:%S",
        "log_type error",
        "log_type warning",
        "log_type notice",
    ]
    if cfg.log_file is not None:
        lines.append(f"log_dest file {cfg.log_file}")
    else:
        lines.append("log_dest stderr")
    if cfg.password_file is not None:
        lines.append(f"password_file {cfg.password_file}")
    if cfg.acl_file is not None:
        lines.append(f"acl_file {cfg.acl_file}")
    if cfg.tls is not None:
        if cfg.tls_port is not None:
            lines += _tls_listener(cfg.tls_port, cfg, cfg.tls, client_cert=False)
        if cfg.cert_port is not None:
            lines += _tls_listener(cfg.cert_port, cfg, cfg.tls, client_cert=True)
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True)
class InfluxConfig:
    http_port: int
    rpc_port: int
    data_dir: Path
    bind: str = "127.0.0.1"
    auth_enabled: bool = False


def render_influxd(cfg: InfluxConfig) -> str:
    root = cfg.data_dir
    return f"""# Rendered by devstack.configs — edit the generator, not this file.
reporting-disabled = true
bind-address = "{cfg.bind}:{cfg.rpc_port}"

[meta]
  dir = "{root}/meta"

[data]
  dir = "{root}/data"
  wal-dir = "{root}/wal"
  query-log-enabled = false
  # One series per device and measurement: 50,000 devices stay far below this.
  max-series-per-database = 1000000

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = "{cfg.bind}:{cfg.http_port}"
  auth-enabled = {"true" if cfg.auth_enabled else "false"}
  log-enabled = false
  pprof-enabled = false
  max-body-size = 25000000

[logging]
  level = "warn"
  suppress-logo = true

[continuous_queries]
  enabled = false
"""
