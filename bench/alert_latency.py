"""Alert latency benchmark: from the publish of a crossing reading to the API receiving the alert.

``python -m bench.alert_latency`` starts the project's mosquitto on a free port in a temporary
directory, a real HTTP receiver in this process (``POST /alerts/events``, standing in for the
API; ``--api-url``/``--api-key`` point at a real one instead) and the evaluator as its own
process (``python -m alerting``), then:

1. a background load of normal manhole readings at ``--rate`` (2,000 msg/s) from another
   process, over ``--devices`` devices, for ``--seconds`` (30 s);
2. meanwhile, at ``--crossings-per-s`` (5/s), a reading of a fresh device with CH4 at
   12 %LEL — past ``manhole-ch4-high``'s 10 — whose device timestamp is its publish time;
3. latency = the receiver's arrival time − that publish time, per alert (same clock);
   ``lost`` = crossings whose alert never arrived within 15 s after the load.

``--with-ingest`` also starts influxd and the ingester and measures what the evaluator costs
ingestion, with ``bench.ingest_throughput``'s own measurements run twice, without and with the
evaluator subscribed beside it: the ingest latency at the same paced rate (first, on a quiet
system) and the burst throughput (median of ``--repeat``; the evaluator's backlog is drained
before each burst, so each starts as the first did). ``--nice N`` runs the evaluator with
``TIANQU_ALERTING_NICE=N``.

Prints progress on stderr and one JSON object last with ``p50_ms``, ``p99_ms``, ``alerts``,
``lost`` (and the ingestion comparison when asked).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from bench.load import log, paced_publish, payload, topic
from devstack.ports import free_port
from devstack.processes import Broker, ManagedProcess, make_broker, make_influxd

REPO = Path(__file__).resolve().parent.parent


class Receiver:
    """Records (fingerprint → arrival ms, observed ms) for every event posted to it."""

    def __init__(self) -> None:
        self.port = free_port()
        self.arrivals: dict[str, tuple[int, int]] = {}
        self.requests = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                now = time.time_ns() // 1_000_000
                events = json.loads(body)["events"]
                with receiver._lock:
                    receiver.requests += 1
                    for e in events:
                        receiver.arrivals.setdefault(e["fingerprint"], (now, e["observed_ms"]))
                answer = b'{"results":[]}'
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _crossings(broker: Broker, per_s: float, seconds: float, tag: str) -> list[str]:
    """Publish one crossing reading every 1/per_s seconds; return the expected fingerprints."""
    import paho.mqtt.client as mqtt  # noqa: PLC0415
    from paho.mqtt.enums import CallbackAPIVersion  # noqa: PLC0415

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-cross-{tag}")
    client.connect(broker.host, broker.port)
    client.loop_start()
    expected = []
    started = time.monotonic()
    i = 0
    while time.monotonic() - started < seconds:
        device = f"mh-cross-{tag}-{i:05d}"
        client.publish(topic(device), payload(device, 1, time.time_ns() // 10**6, 12.0), 1)
        expected.append(f"manhole-ch4-high:{device}")
        i += 1
        time.sleep(max(0.0, started + i / per_s - time.monotonic()))
    time.sleep(0.5)
    client.disconnect()
    client.loop_stop()
    return expected


def start_alerting(
    broker: Broker, state: Path, api_url: str, api_key: str, client_id: str, nice: int = 0
) -> tuple[ManagedProcess, str]:
    health = free_port()
    proc = ManagedProcess(
        "alerting",
        [sys.executable, "-m", "alerting"],
        state / f"{client_id}.log",
        env={
            "TIANQU_ALERTING_MQTT_HOST": broker.host,
            "TIANQU_ALERTING_MQTT_PORT": str(broker.port),
            "TIANQU_ALERTING_MQTT_CLIENT_ID": client_id,
            "TIANQU_ALERTING_API_URL": api_url,
            "TIANQU_ALERTING_API_KEY": api_key,
            "TIANQU_ALERTING_STATE_DIR": str(state / client_id),
            "TIANQU_ALERTING_HEALTH_PORT": str(health),
            "TIANQU_ALERTING_LOG_LEVEL": "WARNING",
            "TIANQU_ALERTING_NICE": str(nice),
        },
        cwd=REPO,
    )
    proc.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{health}/readyz", timeout=1).status_code == 200:
                return proc, f"http://127.0.0.1:{health}"
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.stop()
    raise RuntimeError(f"the evaluator did not get ready:\n{proc.log_tail()}")


def _evaluated(health_url: str) -> float:
    text = httpx.get(f"{health_url}/metrics", timeout=5).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("tianqu_alerting_received_total")
    )


def wait_drained(health_url: str, quiet_s: float = 1.0, within_s: float = 120.0) -> None:
    """Until the evaluator has taken nothing new for ``quiet_s``: its backlog is gone."""
    deadline = time.monotonic() + within_s
    last = _evaluated(health_url)
    still_since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = _evaluated(health_url)
        if now != last:
            last, still_since = now, time.monotonic()
        elif time.monotonic() - still_since >= quiet_s:
            return


def _percentile(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(len(ordered) * q))])


def alert_latency(
    broker: Broker, receiver: Receiver, args: argparse.Namespace, tag: str
) -> dict[str, Any]:
    load = multiprocessing.Process(
        target=paced_publish,
        args=(broker.host, broker.port, args.rate, args.seconds, args.devices, "mh-load"),
    )
    load.start()
    time.sleep(1.0)  # the load is running before the first crossing
    expected = _crossings(broker, args.crossings_per_s, args.seconds - 2, tag)
    load.join()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(f not in receiver.arrivals for f in expected):
        time.sleep(0.1)
    latencies = [
        receiver.arrivals[f][0] - receiver.arrivals[f][1]
        for f in expected
        if f in receiver.arrivals
    ]
    lost = len(expected) - len(latencies)
    if not latencies:
        return {"alerts": 0, "lost": lost, "p50_ms": None, "p99_ms": None}
    return {
        "alerts": len(latencies),
        "lost": lost,
        "p50_ms": _percentile(latencies, 0.50),
        "p99_ms": _percentile(latencies, 0.99),
        "max_ms": float(max(latencies)),
        "background_msgs_s": args.rate,
    }


def ingest_comparison(broker: Broker, state: Path, args: argparse.Namespace) -> dict[str, Any]:
    """bench.ingest_throughput's burst and paced latency, without then with the evaluator."""
    from bench.ingest_throughput import (  # noqa: PLC0415 - only with --with-ingest
        DATABASE,
        ingest_burst,
        paced_latency,
        start_ingester,
    )
    from influxv1 import InfluxClient, InfluxTarget  # noqa: PLC0415

    influx = make_influxd(state)
    influx.start()
    ingester = None
    evaluator = None
    health = ""
    sink = Receiver()
    result: dict[str, Any] = {}
    try:
        client = InfluxClient(InfluxTarget(influx.url, DATABASE), timeout=30)
        client.create_database()
        ingester = start_ingester(broker, influx, state)
        # Paced latency first, without then with the evaluator, each on a quiet system; then
        # the bursts (after which InfluxDB and the ingester carry a backlog of their own).
        for label in ("without", "with"):
            if label == "with":
                evaluator, health = start_alerting(
                    broker, state, sink.url, "bench", "bench-alerting-paced", args.nice
                )
            p50, p99, _ = paced_latency(broker, client, args.rate, args.ingest_seconds)
            result[f"ingest_{label}_alerting_p50_ms"] = p50
            result[f"ingest_{label}_alerting_p99_ms"] = p99
            log(f"  ingestion at {args.rate:,.0f} msg/s {label} the evaluator: "
                 f"p50 {p50:.0f} ms, p99 {p99:.0f} ms")  # fmt: skip
        if evaluator is not None:
            evaluator.stop()
            evaluator, health = None, ""
        for label in ("without", "with"):
            if label == "with":
                evaluator, health = start_alerting(
                    broker, state, sink.url, "bench", "bench-alerting-burst", args.nice
                )
            bursts = []
            for i in range(args.repeat):
                bursts.append(
                    ingest_burst(broker, client, args.ingest_messages, 8, f"{label}{i}")[0]
                )
                if health:  # each burst starts with the evaluator idle, as the first did
                    wait_drained(health)
            result[f"ingest_{label}_alerting_msgs_s"] = round(statistics.median(bursts))
            log(
                f"  ingestion bursts {label} the evaluator: "
                f"{', '.join(f'{b:,.0f}' for b in bursts)} msg/s"
            )
        result["ingest_burst_ratio"] = round(
            result["ingest_with_alerting_msgs_s"] / result["ingest_without_alerting_msgs_s"], 3
        )
        client.close()
    finally:
        if evaluator is not None:
            evaluator.stop()
        if ingester is not None:
            ingester.stop()
        sink.stop()
        influx.stop()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="alert latency benchmark (prints JSON last)")
    parser.add_argument("--rate", type=float, default=2000.0, help="background msg/s")
    parser.add_argument("--devices", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--crossings-per-s", type=float, default=5.0)
    parser.add_argument("--api-url", help="a real API instead of the built-in receiver")
    parser.add_argument("--api-key", default=os.environ.get("TIANQU_ALERTING_API_KEY", "bench"))
    parser.add_argument("--with-ingest", action="store_true", help="also measure ingest cost")
    parser.add_argument("--ingest-messages", type=int, default=100_000)
    parser.add_argument("--ingest-seconds", type=float, default=15.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--nice", type=int, default=0, help="TIANQU_ALERTING_NICE for the evaluator (0–19)"
    )
    args = parser.parse_args(argv)

    state = Path(tempfile.mkdtemp(prefix="tianqu-alert-bench-"))
    broker = make_broker(state)
    broker.start()
    receiver = Receiver()
    evaluator = None
    result: dict[str, Any] = {"cores": os.cpu_count(), "nice": args.nice}
    try:
        api_url = args.api_url or receiver.url
        evaluator, _ = start_alerting(
            broker, state, api_url, args.api_key, "bench-alerting", args.nice
        )
        log(
            f"{args.rate:,.0f} msg/s of normal readings for {args.seconds:.0f} s, "
            f"{args.crossings_per_s:g} crossings/s; latency to {api_url}…"
        )
        result.update(alert_latency(broker, receiver, args, "a"))
        log(
            f"  {result['alerts']} alerts, lost {result['lost']}, "
            f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms"
        )
        if args.api_url:
            result["note"] = "latency measured only with the built-in receiver"
        evaluator.stop()
        evaluator = None
        if args.with_ingest:
            log("ingestion without and with the evaluator beside it…")
            result.update(ingest_comparison(broker, state, args))
    finally:
        if evaluator is not None:
            evaluator.stop()
        receiver.stop()
        broker.stop()
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
