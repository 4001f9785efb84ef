"""Start the ingester as a real process against the fixtures' broker and InfluxDB."""

from __future__ import annotations

import sqlite3
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from devstack.ports import free_port
from devstack.processes import Broker, InfluxServer, ManagedProcess
from influxv1 import InfluxClient, InfluxTarget, QueryError

REPO = Path(__file__).resolve().parents[2]


@dataclass
class IngesterProcess:
    broker: Broker
    influx: InfluxServer
    state_dir: Path
    database: str = field(default_factory=lambda: f"t_{uuid.uuid4().hex[:10]}")
    client_id: str = field(default_factory=lambda: f"ingest-{uuid.uuid4().hex[:8]}")
    extra_env: dict[str, str] = field(default_factory=dict)
    health_port: int = field(default_factory=free_port)
    process: ManagedProcess | None = None

    def env(self) -> dict[str, str]:
        return {
            "TIANQU_INGEST_MQTT_HOST": self.broker.host,
            "TIANQU_INGEST_MQTT_PORT": str(self.broker.port),
            "TIANQU_INGEST_MQTT_CLIENT_ID": self.client_id,
            "TIANQU_INGEST_MQTT_KEEPALIVE_S": "5",
            "TIANQU_INGEST_MQTT_SESSION_EXPIRY_S": "300",
            "TIANQU_INGEST_INFLUX_URL": self.influx.url,
            "TIANQU_INGEST_INFLUX_DATABASE": self.database,
            "TIANQU_INGEST_STATE_DIR": str(self.state_dir),
            "TIANQU_INGEST_HEALTH_PORT": str(self.health_port),
            "TIANQU_INGEST_BATCH_MAX_AGE_MS": "50",
            **self.extra_env,
        }

    def start(self) -> IngesterProcess:
        self.process = ManagedProcess(
            "ingest",
            [sys.executable, "-m", "ingest"],
            self.state_dir / "ingest.log",
            env=self.env(),
            cwd=REPO,
        )
        self.process.start()
        return self

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.health_port}"

    def stop(self) -> int | None:
        return None if self.process is None else self.process.stop()

    def influx_client(self) -> InfluxClient:
        return InfluxClient(InfluxTarget(self.influx.url, self.database))

    def rows(self, query: str, params: dict[str, object] | None = None) -> list[dict[str, object]]:
        client = self.influx_client()
        try:
            return client.rows(query, params)
        except QueryError as exc:
            if "database not found" in str(exc):
                return []
            raise
        finally:
            client.close()

    def dead_letters(self) -> list[tuple[str, str, bytes, str]]:
        path = self.state_dir / "dead_letters.db"
        if not path.exists():
            return []
        with sqlite3.connect(path) as db:
            return [
                (r[0], r[1], bytes(r[2]), r[3])
                for r in db.execute("SELECT topic, reason, payload, detail FROM dead_letter")
            ]

    def log(self) -> str:
        return "" if self.process is None else self.process.log_tail(60)
