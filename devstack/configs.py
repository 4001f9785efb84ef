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


# --- Production deployment (deploy/) --------------------------------------------------------
# Everything below is used only by devstack.deploy_render, which writes the files under
# deploy/ from the same constants as the local platform above; nothing above changes.

# EMQX keeps a session's queue in the memory of its session process and shuts down any process
# whose heap passes ``force_shutdown.max_heap_size`` (stock 32 MB), so the ingesters' zone
# raises it to hold the same backlog that mosquitto's MAX_QUEUED_BYTES allows.
EMQX_INGEST_MAX_HEAP = "2048MB"
# MQTT's receive maximum is a 16-bit number: the ingester's own bound (10,000) stays below it.
EMQX_MAX_INFLIGHT = 65_535


@dataclass(frozen=True, slots=True)
class EmqxConfig:
    """EMQX 5 with the same limits as mosquitto, logins checked by ``devstack.emqx_auth``.

    Devices use ``mqtt_port`` (password), ``tls_port`` (TLS + password) and ``cert_port``
    (client certificate, CN = username). Platform services (the ingesters) use
    ``internal_port``, whose zone lifts the queue and heap limits for their persistent
    sessions; keep that port off the public network.
    """

    auth_url: str
    mqtt_port: int = 1883
    tls_port: int = 8883
    cert_port: int = 8884
    internal_port: int = 1884
    dashboard_port: int = 18083
    certs_dir: str = "/opt/emqx/etc/certs"
    max_connections: int = 1_000_000
    cluster_name: str = "tianqu"


def _emqx_tls(cfg: EmqxConfig, *, client_cert: bool) -> str:
    verify = (
        "verify = verify_peer\n    fail_if_no_peer_cert = true"
        if client_cert
        else "verify = verify_none"
    )
    return f"""ssl_options {{
    cacertfile = "{cfg.certs_dir}/ca.crt"
    certfile = "{cfg.certs_dir}/server.crt"
    keyfile = "{cfg.certs_dir}/server.key"
    versions = [tlsv1.3, tlsv1.2]
    {verify}
  }}"""


def render_emqx(cfg: EmqxConfig) -> str:
    """``emqx.conf`` (HOCON). Node name, cookie and cluster discovery come from the
    environment (``EMQX_NODE__NAME``, ``EMQX_NODE__COOKIE``, ``EMQX_CLUSTER__*``)."""
    mib = 1024 * 1024
    return f"""# Rendered by devstack.configs — edit the generator, not this file.
node {{
  name = "emqx@127.0.0.1"
  cookie = "set-EMQX_NODE__COOKIE"
  data_dir = "data"
}}

cluster {{
  name = {cfg.cluster_name}
  discovery_strategy = manual
}}

dashboard.listeners.http.bind = {cfg.dashboard_port}

log.console {{
  enable = true
  level = warning
}}

# The same limits as mosquitto (devstack.configs): devices send small messages and never
# subscribe, so their zone keeps EMQX's small queues; max_packet_size matches
# MAX_PACKET_SIZE so that an oversized payload still reaches the dead letters.
mqtt {{
  max_packet_size = {MAX_PACKET_SIZE // 1024}KB
  max_inflight = {EMQX_MAX_INFLIGHT}
  retry_interval = 30s
  session_expiry_interval = 14d
  mqueue_store_qos0 = false
  peer_cert_as_username = disabled
}}

zones {{
  # Client certificates: the CN is the username (the device id), as mosquitto's
  # use_identity_as_username; the login service then checks that the device exists.
  certs.mqtt.peer_cert_as_username = cn
  # The ingesters' persistent sessions ride out an InfluxDB or ingester outage here:
  # mosquitto's max_queued_messages, with the heap limit standing in for max_queued_bytes.
  ingest {{
    mqtt {{
      max_mqueue_len = {MAX_QUEUED_MESSAGES}
      max_inflight = {EMQX_MAX_INFLIGHT}
      session_expiry_interval = 14d
    }}
    force_shutdown {{
      max_mailbox_size = {MAX_QUEUED_MESSAGES}
      max_heap_size = {EMQX_INGEST_MAX_HEAP}
    }}
  }}
}}

listeners.tcp.default {{
  bind = "0.0.0.0:{cfg.mqtt_port}"
  max_connections = {cfg.max_connections}
}}
listeners.tcp.internal {{
  bind = "0.0.0.0:{cfg.internal_port}"
  zone = ingest
  max_connections = 1000
}}
listeners.ssl.default {{
  bind = "0.0.0.0:{cfg.tls_port}"
  max_connections = {cfg.max_connections}
  {_emqx_tls(cfg, client_cert=False)}
}}
listeners.ssl.certs {{
  bind = "0.0.0.0:{cfg.cert_port}"
  zone = certs
  max_connections = {cfg.max_connections}
  {_emqx_tls(cfg, client_cert=True)}
}}
listeners.ws.default.enable = false
listeners.wss.default.enable = false

# Logins and ACLs: the API renders mosquitto's password and ACL files from its registry;
# devstack.emqx_auth answers EMQX's CONNECT check from those same files and returns the
# client's ACL with the answer, so publishes are checked inside EMQX without a call each.
authentication = [
  {{
    mechanism = password_based
    backend = http
    enable = true
    method = post
    url = "{cfg.auth_url}"
    headers {{ "content-type" = "application/json" }}
    body {{
      clientid = "${{clientid}}"
      username = "${{username}}"
      password = "${{password}}"
      cert_common_name = "${{cert_common_name}}"
    }}
    connect_timeout = 5s
    request_timeout = 5s
    pool_size = 16
  }}
]

authorization {{
  no_match = deny
  deny_action = ignore
  cache {{
    enable = true
    max_size = 32
    ttl = 1m
  }}
  sources = []
}}

retainer {{
  enable = true
  max_payload_size = {MAX_PACKET_SIZE // 1024}KB
  backend {{
    type = built_in_database
    storage_type = disc
    max_retained_messages = 0
  }}
}}

# {MAX_QUEUED_BYTES // mib} MiB is mosquitto's byte bound for the same backlog.
"""


@dataclass(frozen=True, slots=True)
class Influx2Config:
    """InfluxDB 2.7's ``config.yml``: only tuning; paths stay the image's defaults."""

    http_port: int = 8086
    cache_max_memory_mb: int = 1024
    query_concurrency: int = 16


def render_influxd2(cfg: Influx2Config) -> str:
    return f"""# Rendered by devstack.configs — edit the generator, not this file.
# InfluxDB 2.7 (influxd). The v1 API (/write, /query) that the services speak is served on
# the same port; the init job maps database "tianqu" to the bucket (DBRP).
http-bind-address: ":{cfg.http_port}"
reporting-disabled: true
log-level: warn
# Bounded write concurrency on the client side (TIANQU_INGEST_WRITE_CONCURRENCY) keeps the
# cache small; this caps it if several ingesters catch up at once after an outage.
storage-cache-max-memory-size: {cfg.cache_max_memory_mb * 1024 * 1024}
storage-wal-fsync-delay: 0s
query-concurrency: {cfg.query_concurrency}
query-queue-size: {cfg.query_concurrency * 4}
"""
