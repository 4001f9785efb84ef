"""Measure what a broker crash (SIGKILL) loses: the window mosquitto's persistence leaves open.

``python -m bench.broker_crash_window`` runs the project's mosquitto (persistence on,
``autosave_interval`` from devstack.configs), influxd and the ingester under a steady QoS 1 load
from a persistent-session publisher, kills the broker with SIGKILL, restarts it, lets everything
settle, and counts the messages the broker had acknowledged to the publisher that never reached
InfluxDB. Mosquitto writes its persistence file only every ``autosave_interval`` seconds (and on a
clean shutdown), so a crash loses what it acknowledged since the last save and had not yet
delivered and seen acknowledged by the ingester. Prints one JSON object last.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from devstack.processes import make_broker, make_influxd
from tests.support.load import SteadyLoad, missing
from tests.support.stack import IngesterProcess


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_once(rate: float, autosave_s: int, kill_after_s: float, backlog: bool) -> dict[str, object]:
    """``backlog``: the ingester is away when the broker dies, so the broker holds its queue."""
    state = Path(tempfile.mkdtemp(prefix="tianqu-crash-"))
    broker = make_broker(state / "broker", autosave_interval_s=autosave_s)
    influx = make_influxd(state / "influx")
    broker.start()
    influx.start()
    ingester = IngesterProcess(broker, influx, state / "ingest")
    try:
        ingester.start()
        time.sleep(2)
        load = SteadyLoad(broker.host, broker.port, rate=rate, devices=100).start()
        if backlog:
            time.sleep(2)
            ingester.stop()
        time.sleep(kill_after_s)
        broker.process.kill()
        killed_at = load.acked_count
        time.sleep(1)
        broker.start()
        if backlog:
            ingester.start()
        time.sleep(5)
        sent = load.stop(settle_timeout=60)
        deadline = time.monotonic() + 60
        lost = missing(sent, influx.url, ingester.database)
        while lost and time.monotonic() < deadline:
            time.sleep(1)
            lost = missing(sent, influx.url, ingester.database)
        return {
            "ingester": "away, broker holding its queue" if backlog else "keeping up",
            "rate_msgs_s": rate,
            "autosave_interval_s": autosave_s,
            "acked_before_kill": killed_at,
            "acked_total": len(sent),
            "lost": len(lost),
            "lost_seconds_of_traffic": round(len(lost) / rate, 2),
        }
    finally:
        ingester.stop()
        broker.stop()
        influx.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--autosave", type=int, nargs="*", default=[10, 1])
    parser.add_argument("--kill-after", type=float, default=15.0)
    args = parser.parse_args(argv)
    runs = []
    for backlog in (False, True):
        for autosave in args.autosave:
            _log(f"autosave {autosave} s, {args.rate:.0f} msg/s, backlog {backlog}: SIGKILL…")
            result = run_once(args.rate, autosave, args.kill_after, backlog)
            _log(f"  {result}")
            runs.append(result)
    print(json.dumps({"runs": runs}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
