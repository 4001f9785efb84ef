"""Ingester benchmark: end-to-end throughput against the broker's own ceiling, latency, memory.

``python -m bench.ingest_throughput`` starts the project's mosquitto and influxd on free ports in
a temporary directory and measures, in one run on the same machine:

1. ``broker_ceiling_msgs_s`` — 8 ``mosquitto_pub -l`` processes publish N QoS 1 messages of
   ~200 bytes, counted by a ``mosquitto_sub -q 1`` subscriber: what the broker, the publishers and
   a C subscriber manage together on these cores.
2. ``throughput_msgs_s`` — the same publishers, the ingester in place of ``mosquitto_sub``:
   from the first publish until all N points are queryable in InfluxDB. ``lost`` counts those
   that never arrive. ``ratio`` = throughput ÷ ceiling. Both are the median of ``--repeat``
   runs (3): on two shared cores single runs vary by ±15 %.
3. ``p50_ms``/``p99_ms`` — a paced publisher at ``--rate`` (5,000 msg/s) stamps each message
   with its send time as the device timestamp; polling InfluxDB every 50 ms gives, for each
   message, when it became queryable.
4. ``rss_mb_peak`` through the bursts, ``rss_mb_peak_outage`` through a 60 s InfluxDB outage
   under the paced load (skip with ``--no-outage``), ``cpu_s`` the ingester's CPU time per
   burst and ``cpu_us_per_msg`` per message.

The result is one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.load import log, paced_publish, payload, topic
from devstack.ports import free_port
from devstack.processes import Broker, InfluxServer, ManagedProcess, make_broker, make_influxd
from influxv1 import InfluxClient, InfluxTarget

DATABASE = "bench"
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass
class ProcessSampler:
    """Peak RSS and CPU seconds of one process, sampled every 100 ms."""

    pid: int
    rss_peak_mb: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> ProcessSampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.rss_peak_mb = max(self.rss_peak_mb, self.rss_mb())
            time.sleep(0.1)

    def rss_mb(self) -> float:
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()


class Burst:
    """``publishers`` mosquitto_pub -l processes, one device topic each, N messages in all.

    Their stdin stays open until ``done`` says so: mosquitto_pub -l at QoS 1 quits at end of
    input with messages still in flight.
    """

    def __init__(self, broker: Broker, total: int, publishers: int, tag: str, base_ms: int) -> None:
        self.broker = broker
        per = total // publishers
        self.total = per * publishers
        self.inputs = []
        for p in range(publishers):
            device = f"mh-bench-{tag}-{p:02d}"
            lines = b"\n".join(payload(device, seq, base_ms + seq) for seq in range(per)) + b"\n"
            self.inputs.append((device, lines))

    def run(self, done: threading.Event) -> float:
        """Publish everything; return when publishing started (monotonic)."""
        procs = [
            subprocess.Popen(
                [
                    "mosquitto_pub",
                    "-h",
                    self.broker.host,
                    "-p",
                    str(self.broker.port),
                    "-q",
                    "1",
                    "-M",
                    "1000",
                    "-i",
                    f"pub-{device}",
                    "-t",
                    topic(device),
                    "-l",
                ],
                stdin=subprocess.PIPE,
            )
            for device, _ in self.inputs
        ]
        started = time.monotonic()

        def feed(proc: subprocess.Popen[bytes], data: bytes) -> None:
            assert proc.stdin is not None
            proc.stdin.write(data)
            proc.stdin.flush()
            done.wait()
            proc.stdin.close()

        feeders = [
            threading.Thread(target=feed, args=(proc, data), daemon=True)
            for proc, (_, data) in zip(procs, self.inputs, strict=True)
        ]
        for f in feeders:
            f.start()
        self._procs = procs
        self._feeders = feeders
        return started

    def finish(self) -> None:
        for f in self._feeders:
            f.join()
        for proc in self._procs:
            proc.wait(30)


def broker_ceiling(broker: Broker, total: int, publishers: int) -> float:
    burst = Burst(broker, total, publishers, "ceil", int(time.time() * 1000) - 3_600_000)
    sub = subprocess.Popen(
        [
            "mosquitto_sub",
            "-h",
            broker.host,
            "-p",
            str(broker.port),
            "-q",
            "1",
            "-t",
            "tianqu/v1/#",
            "-C",
            str(burst.total),
            "-i",
            "ceiling-sub",
        ],
        stdout=subprocess.DEVNULL,
    )
    time.sleep(1.0)  # subscribed
    done = threading.Event()
    started = burst.run(done)
    sub.wait()
    elapsed = time.monotonic() - started
    done.set()
    burst.finish()
    return burst.total / elapsed


def _count(client: InfluxClient, since_ms: int, device_prefix: str) -> int:
    try:
        rows = client.rows(
            'SELECT count("seq") FROM "manhole" WHERE time >= $since AND "device" =~ '
            + f"/^{device_prefix}/",
            {"since": since_ms * 1_000_000},
        )
    except Exception:  # noqa: BLE001 - the database appears with the first write
        return 0
    return int(rows[0]["count"]) if rows else 0


def start_ingester(broker: Broker, influx: InfluxServer, state: Path) -> ManagedProcess:
    env = {
        "TIANQU_INGEST_MQTT_PORT": str(broker.port),
        "TIANQU_INGEST_MQTT_CLIENT_ID": "bench-ingest",
        "TIANQU_INGEST_INFLUX_URL": influx.url,
        "TIANQU_INGEST_INFLUX_DATABASE": DATABASE,
        "TIANQU_INGEST_STATE_DIR": str(state / "ingest"),
        "TIANQU_INGEST_HEALTH_PORT": str(free_port()),
        "TIANQU_INGEST_LOG_LEVEL": "WARNING",
    }
    proc = ManagedProcess(
        "ingest",
        [sys.executable, "-m", "ingest"],
        state / "ingest.log",
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
    )
    proc.start()
    time.sleep(1.5)
    return proc


def ingest_burst(
    broker: Broker, client: InfluxClient, total: int, publishers: int, tag: str
) -> tuple[float, int]:
    base = int(time.time() * 1000) - 1_800_000
    burst = Burst(broker, total, publishers, tag, base)
    done = threading.Event()
    started = burst.run(done)
    deadline = started + max(120, total / 2000)
    stored = 0
    while time.monotonic() < deadline:
        stored = _count(client, base, f"mh-bench-{tag}-")
        if stored >= burst.total:
            break
        time.sleep(0.1)
    elapsed = time.monotonic() - started
    done.set()
    burst.finish()
    return burst.total / elapsed, burst.total - stored


def paced_latency(
    broker: Broker, client: InfluxClient, rate: float, seconds: float
) -> tuple[float, float, int]:
    since = int(time.time() * 1000)
    proc = multiprocessing.Process(
        target=paced_publish,
        args=(broker.host, broker.port, rate, seconds, 500, "mh-bench-paced"),
    )
    proc.start()
    polls: list[tuple[int, int]] = []
    deadline = time.monotonic() + seconds + 30
    expected = int(rate * seconds)
    while time.monotonic() < deadline:
        count = _count(client, since, "mh-bench-paced")
        polls.append((time.time_ns() // 1_000_000, count))
        if count >= expected and not proc.is_alive():
            break
        time.sleep(0.05)
    proc.join()
    rows = client.rows(
        'SELECT "seq" FROM "manhole" WHERE time >= $since AND "device" =~ /^mh-bench-paced/',
        {"since": since * 1_000_000},
    )
    times = sorted(int(r["time"]) for r in rows)
    latencies: list[int] = []
    previous = 0
    for seen_at, count in polls:
        latencies.extend(seen_at - times[rank] for rank in range(previous, min(count, len(times))))
        previous = max(previous, count)
    latencies.sort()
    if not latencies:
        return float("nan"), float("nan"), 0
    p50 = latencies[len(latencies) // 2]
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return float(p50), float(p99), len(times)


def outage_rss(
    broker: Broker, influx: InfluxServer, sampler: ProcessSampler, rate: float, seconds: float
) -> float:
    proc = multiprocessing.Process(
        target=paced_publish,
        args=(broker.host, broker.port, rate, seconds + 10, 500, "mh-bench-paced"),
    )
    proc.start()
    time.sleep(5)
    influx.stop()
    peak = 0.0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        peak = max(peak, sampler.rss_mb())
        time.sleep(0.2)
    influx.start()
    proc.join()
    return peak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="ingester benchmark (prints JSON last)")
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--publishers", type=int, default=8)
    parser.add_argument("--rate", type=float, default=5000.0)
    parser.add_argument("--latency-seconds", type=float, default=15.0)
    parser.add_argument("--outage-seconds", type=float, default=60.0)
    parser.add_argument("--no-outage", action="store_true")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of the ceiling and the burst (median kept)"
    )
    args = parser.parse_args(argv)

    state = Path(tempfile.mkdtemp(prefix="tianqu-bench-"))
    broker = make_broker(state)
    influx = make_influxd(state)
    broker.start()
    influx.start()
    result: dict[str, object] = {"cores": os.cpu_count(), "messages": args.messages}
    ingester: ManagedProcess | None = None
    try:
        log("measuring the broker ceiling (mosquitto_pub → mosquitto → mosquitto_sub)…")
        ceilings = [
            broker_ceiling(broker, args.messages, args.publishers) for _ in range(args.repeat)
        ]
        ceiling = statistics.median(ceilings)
        log(f"  {', '.join(f'{c:,.0f}' for c in ceilings)} msg/s")
        client = InfluxClient(InfluxTarget(influx.url, DATABASE), timeout=30)
        client.create_database()
        ingester = start_ingester(broker, influx, state)
        sampler = ProcessSampler(ingester.pid).start()
        cpu_before = sampler.cpu_s()
        log(f"bursts of {args.messages:,} through the ingester…")
        bursts = [
            ingest_burst(broker, client, args.messages, args.publishers, tag=f"burst{i}")
            for i in range(args.repeat)
        ]
        throughput = statistics.median(b[0] for b in bursts)
        lost = sum(b[1] for b in bursts)
        log(f"  {', '.join(f'{b[0]:,.0f}' for b in bursts)} msg/s, lost {lost}")
        burst_cpu = sampler.cpu_s() - cpu_before
        burst_rss = sampler.rss_peak_mb
        log(f"paced {args.rate:,.0f} msg/s for {args.latency_seconds:.0f} s: latency…")
        p50, p99, paced = paced_latency(broker, client, args.rate, args.latency_seconds)
        log(f"  p50 {p50:.0f} ms, p99 {p99:.0f} ms over {paced} messages")
        result.update(
            throughput_msgs_s=round(throughput),
            broker_ceiling_msgs_s=round(ceiling),
            ratio=round(throughput / ceiling, 3),
            lost=lost,
            p50_ms=p50,
            p99_ms=p99,
            rss_mb_peak=round(burst_rss, 1),
            cpu_s=round(burst_cpu / args.repeat, 2),
            cpu_us_per_msg=round(burst_cpu / (args.messages * args.repeat) * 1e6, 1),
        )
        if not args.no_outage:
            log(f"InfluxDB down for {args.outage_seconds:.0f} s under {args.rate:,.0f} msg/s…")
            result["rss_mb_peak_outage"] = round(
                outage_rss(broker, influx, sampler, args.rate, args.outage_seconds), 1
            )
        sampler.stop()
        client.close()
    finally:
        if ingester is not None:
            ingester.stop()
        broker.stop()
        influx.stop()
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
