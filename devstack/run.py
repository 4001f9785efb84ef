"""``scripts/run``: the whole platform on this machine, on embedded defaults.

Starts mosquitto and influxd with the project's configuration under ``.state/``, then the
ingester, the API and a simulated district; prints what runs where and a query that shows the
data; Ctrl-C stops everything in order. Data stays in ``.state/`` across runs.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from devstack.access import (
    DEMO_LOGINS,
    AccessFiles,
    alerting_api_key,
    provision,
    provision_alerting_key,
    provision_alerting_login,
)
from devstack.ports import port_open
from devstack.processes import (
    Broker,
    InfluxServer,
    ManagedProcess,
    ProcessError,
    make_broker,
    make_influxd,
)
from influxv1 import InfluxClient, InfluxError, InfluxTarget

REPO = Path(__file__).resolve().parent.parent
DATABASE = "tianqu"
KINDS = ("streetlight", "manhole", "parking", "water")
OVERVIEW_QUERY = (
    'SELECT count("seq") FROM "streetlight","manhole","parking","water" '
    'WHERE time > now() - 5m GROUP BY "township"'
)
STATUS_EVERY_S = 15.0


@dataclass(frozen=True)
class Options:
    state_dir: Path
    mqtt_port: int
    mqtt_tls_port: int
    mqtt_cert_port: int
    influx_port: int
    influx_rpc_port: int
    api_port: int
    ingest_health_port: int
    sim_control_port: int
    alerting_health_port: int
    devices: int
    rate_multiplier: float
    seed: int
    fresh: bool
    simulate: bool


def parse_args(argv: Sequence[str] | None) -> Options:
    p = argparse.ArgumentParser(prog="scripts/run", description=__doc__.splitlines()[0])
    p.add_argument("--state-dir", type=Path, default=REPO / ".state")
    p.add_argument("--mqtt-port", type=int, default=18830)
    p.add_argument("--mqtt-tls-port", type=int, default=18883, help="MQTT over TLS, password")
    p.add_argument("--mqtt-cert-port", type=int, default=18884, help="MQTT, client certificate")
    p.add_argument("--influx-port", type=int, default=18086)
    p.add_argument("--influx-rpc-port", type=int, default=18088)
    p.add_argument("--api-port", type=int, default=18000)
    p.add_argument("--ingest-health-port", type=int, default=19108)
    p.add_argument("--sim-control-port", type=int, default=18081)
    p.add_argument("--alerting-health-port", type=int, default=19109)
    p.add_argument("--devices", type=int, default=2000, help="simulated devices (default 2000)")
    p.add_argument(
        "--rate-multiplier",
        type=float,
        default=10.0,
        help="devices report this many times more often than in the field (default 10, so "
        "the demo district shows every kind in every township within a minute)",
    )
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--fresh", action="store_true", help="delete the state directory first")
    p.add_argument("--no-simulator", dest="simulate", action="store_false")
    a = p.parse_args(argv)
    return Options(
        state_dir=a.state_dir.resolve(),
        mqtt_port=a.mqtt_port,
        mqtt_tls_port=a.mqtt_tls_port,
        mqtt_cert_port=a.mqtt_cert_port,
        influx_port=a.influx_port,
        influx_rpc_port=a.influx_rpc_port,
        api_port=a.api_port,
        ingest_health_port=a.ingest_health_port,
        sim_control_port=a.sim_control_port,
        alerting_health_port=a.alerting_health_port,
        devices=a.devices,
        rate_multiplier=a.rate_multiplier,
        seed=a.seed,
        fresh=a.fresh,
        simulate=a.simulate,
    )


class Platform:
    def __init__(self, o: Options) -> None:
        self.o = o
        logs = o.state_dir / "logs"
        self.access = AccessFiles(o.state_dir)
        # Authentication on: no anonymous clients, logins and ACLs rendered by the API.
        self.broker: Broker = make_broker(
            o.state_dir,
            o.mqtt_port,
            allow_anonymous=False,
            password_file=self.access.password_file,
            acl_file=self.access.acl_file,
            tls=self.access.tls,
            tls_port=o.mqtt_tls_port,
            cert_port=o.mqtt_cert_port,
            pid_file=self.access.pid_file,
        )
        self.influx: InfluxServer = make_influxd(o.state_dir, o.influx_port, o.influx_rpc_port)
        self.api_env = self.access.api_env(self.influx.url, DATABASE)
        self.provisioned = False
        py = sys.executable
        self.ingester = ManagedProcess(
            "ingester",
            [py, "-m", "ingest"],
            logs / "ingest.log",
            env={
                "TIANQU_INGEST_MQTT_PORT": str(o.mqtt_port),
                "TIANQU_INGEST_INFLUX_URL": self.influx.url,
                "TIANQU_INGEST_INFLUX_DATABASE": DATABASE,
                "TIANQU_INGEST_STATE_DIR": str(o.state_dir / "ingest"),
                "TIANQU_INGEST_HEALTH_PORT": str(o.ingest_health_port),
            },
            cwd=REPO,
        )
        self.api = ManagedProcess(
            "api",
            [
                py,
                "-m",
                "uvicorn",
                "api.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(o.api_port),
                "--log-level",
                "warning",
            ],
            logs / "api.log",
            env=self.api_env,
            cwd=REPO,
        )
        self.simulator = ManagedProcess(
            "simulator",
            [
                py,
                "-m",
                "simulators",
                "run",
                "--host",
                "127.0.0.1",
                "--port",
                str(o.mqtt_port),
                "--devices",
                str(o.devices),
                "--seed",
                str(o.seed),
                "--rate-multiplier",
                str(o.rate_multiplier),
                "--control-port",
                str(o.sim_control_port),
                "--credentials",
                str(self.access.fleet_credentials),
            ],
            logs / "simulator.log",
            cwd=REPO,
        )
        # The rule evaluator: its own subscription beside the ingester, delivering to the API.
        self.alerting = ManagedProcess(
            "alerting",
            [py, "-m", "alerting"],
            logs / "alerting.log",
            env={
                "TIANQU_ALERTING_MQTT_PORT": str(o.mqtt_port),
                "TIANQU_ALERTING_API_URL": f"http://127.0.0.1:{o.api_port}",
                "TIANQU_ALERTING_STATE_DIR": str(o.state_dir / "alerting"),
                "TIANQU_ALERTING_HEALTH_PORT": str(o.alerting_health_port),
            },
            cwd=REPO,
        )
        self.services = [self.ingester, self.api, self.alerting] + (
            [self.simulator] if o.simulate else []
        )

    def check_ports(self) -> None:
        o = self.o
        wanted = {
            "MQTT": o.mqtt_port,
            "MQTT TLS": o.mqtt_tls_port,
            "MQTT client-certificate": o.mqtt_cert_port,
            "InfluxDB": o.influx_port,
            "InfluxDB RPC": o.influx_rpc_port,
            "API": o.api_port,
            "ingester health": o.ingest_health_port,
            "simulator control": o.sim_control_port,
            "alerting health": o.alerting_health_port,
        }
        busy = [
            f"{name} port {port}" for name, port in wanted.items() if port_open("127.0.0.1", port)
        ]
        if busy:
            raise ProcessError(
                f"already in use: {', '.join(busy)}. Is the platform already running? "
                "Otherwise pick other ports (scripts/run --help)."
            )

    def start(self) -> None:
        self.check_ports()
        self.provisioned = provision(
            self.access, self.api_env, REPO, devices=self.o.devices, seed=self.o.seed
        )
        provision_alerting_login(self.access, self.api_env, REPO)
        provision_alerting_key(self.access, self.api_env, REPO)
        username, password = self.access.ingest_login()
        self.ingester.env = {
            **(self.ingester.env or {}),
            "TIANQU_INGEST_MQTT_USERNAME": username,
            "TIANQU_INGEST_MQTT_PASSWORD": password,
        }
        self.broker.start()
        self.influx.start()
        client = InfluxClient(InfluxTarget(self.influx.url, DATABASE))
        try:
            client.create_database()
        finally:
            client.close()
        for service in self.services:
            if service is self.alerting:
                self._prepare_alerting()
            service.start()

    def _prepare_alerting(self) -> None:
        """Its broker login and, once the API answers, its district API key (made once)."""
        username, password = self.access.alerting_login()
        key = alerting_api_key(self.access, f"http://127.0.0.1:{self.o.api_port}")
        self.alerting.env = {
            **(self.alerting.env or {}),
            "TIANQU_ALERTING_MQTT_USERNAME": username,
            "TIANQU_ALERTING_MQTT_PASSWORD": password,
            "TIANQU_ALERTING_API_KEY": key,
        }

    def stop(self) -> None:
        for service in reversed(self.services):
            service.stop()
        self.broker.stop()
        self.influx.stop()

    def dead(self) -> list[ManagedProcess]:
        procs = [*self.services, self.broker.process, self.influx.process]
        return [p for p in procs if not p.alive]

    def banner(self) -> str:
        o = self.o
        rel = _relative(o.state_dir)
        sim = (
            f"{o.devices} devices over 7 townships, seed {o.seed}, reporting "
            f"{o.rate_multiplier:g}× the field rate\n"
            f"               list the scenarios: python -m simulators scenarios\n"
            f"               inject one: python -m simulators inject --control-port "
            f"{o.sim_control_port} gas-leak:device=mh-dongzhan-00003"
            if o.simulate
            else "off (--no-simulator)"
        )
        return f"""
Tianqu City Cockpit (天衢新区城市驾驶舱) — running on this machine
  MQTT broker  mqtt://127.0.0.1:{o.mqtt_port}   mosquitto, persistence on, logins required
               mqtts://127.0.0.1:{o.mqtt_tls_port} (password), :{o.mqtt_cert_port} (certificate)
               CA {rel}/pki/ca.crt; broker logins in {rel}/credentials/
  InfluxDB     http://127.0.0.1:{o.influx_port}   database {DATABASE}
  Ingester     http://127.0.0.1:{o.ingest_health_port}/readyz   metrics at /metrics
  API          http://127.0.0.1:{o.api_port}/docs
  Console      http://127.0.0.1:{o.api_port}/console   the captains' page: log in as below
  Alerting     http://127.0.0.1:{o.alerting_health_port}/readyz   rules → POST /alerts/events
{self.logins()}  Simulator    {sim}
  State, logs  {rel}/ (logs in {rel}/logs; --fresh starts over)

See the data (readings of the last 5 minutes by kind and township):
  influx -port {o.influx_port} -database {DATABASE} -execute '{OVERVIEW_QUERY}'

Ctrl-C stops everything.
"""

    def logins(self) -> str:
        """The demo people of the 三级机长制, one per level, for the banner."""
        passwords = self.access.demo_passwords()
        lines = [
            f"               {name:<17} {passwords.get(name, '?'):<14} {what}"
            for name, what in DEMO_LOGINS
        ]
        return "  Log in as    (username, password; Authorize in /docs or POST /auth/login)\n" + (
            "\n".join(lines) + "\n"
        )

    def status_line(self) -> str:
        client = InfluxClient(InfluxTarget(self.influx.url, DATABASE), timeout=5)
        try:
            series = client.query(OVERVIEW_QUERY.replace("5m", "1m"))[0]
        except InfluxError as exc:
            return f"InfluxDB query failed: {exc}"
        finally:
            client.close()
        per_kind = dict.fromkeys(KINDS, 0)
        townships: set[str] = set()
        for s in series:
            per_kind[s.name] = per_kind.get(s.name, 0) + int(s.values[0][1])
            townships.add(s.tags.get("township", ""))
        kinds = " · ".join(f"{k} {v}" for k, v in per_kind.items())
        return f"[{time.strftime('%H:%M:%S')}] last minute: {kinds} | townships {len(townships)}/7"


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    if options.fresh and options.state_dir.exists():
        shutil.rmtree(options.state_dir)
    options.state_dir.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    # A shell starts background jobs with SIGINT ignored; `kill -INT` must still stop us.
    signal.signal(signal.SIGINT, _raise_interrupt)
    platform = Platform(options)
    try:
        platform.start()
        print(platform.banner(), flush=True)
        next_status = time.monotonic() + 10
        while True:
            time.sleep(0.5)
            dead = platform.dead()
            if dead:
                for proc in dead:
                    print(
                        f"{proc.name} exited ({proc.returncode}):\n{proc.log_tail()}",
                        file=sys.stderr,
                    )
                return 1
            if time.monotonic() >= next_status:
                print(platform.status_line(), flush=True)
                next_status = time.monotonic() + STATUS_EVERY_S
    except KeyboardInterrupt:
        print("\nstopping…", flush=True)
        return 0
    except ProcessError as exc:
        print(f"scripts/run: {exc}", file=sys.stderr)
        return 1
    finally:
        platform.stop()


if __name__ == "__main__":
    sys.exit(main())
