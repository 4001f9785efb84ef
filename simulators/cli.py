"""``tianqu-sim``: run the simulated district, export its fleet, steer it while it runs.

tianqu-sim run --devices 2000 --speed 60 --start 2026-07-15T19:30:00+08:00
tianqu-sim run --devices 50000 --mode gateway --rate-multiplier 5 --control-port 8765
tianqu-sim fleet --devices 50000 --format csv --output fleet.csv
tianqu-sim inject --control-port 8765 gas-leak:village=dongzhan
tianqu-sim status --control-port 8765
tianqu-sim scenarios
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from city.kinds import Kind
from city.topology import CityModelError, default_city
from simulators.clock import parse_duration, parse_instant
from simulators.control import get_status, post_scenario
from simulators.credentials import CredentialsError
from simulators.daylight import local_date, sun_times
from simulators.fleet import DEFAULT_MIX, build_fleet
from simulators.kinds import Intervals
from simulators.malformed import MALFORMATIONS
from simulators.runner import RunConfig, run
from simulators.scenarios import SCENARIOS, ScenarioError, parse_spec

# ``--start dusk``: this long before today's switch-on, so a demo opens on a lit-up evening.
DUSK_LEAD_S = 15 * 60


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def _rate(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _start(text: str) -> float | None:
    """An ISO instant (naive = Beijing time), ``now``, or ``dusk`` (shortly before today's)."""
    if text == "now":
        return None
    if text == "dusk":
        return sun_times(local_date(time.time()))[1] - DUSK_LEAD_S
    try:
        return parse_instant(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an instant like 2026-07-15T20:00:00+08:00, 'now' or 'dusk'"
        ) from None


def _pairs(text: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, eq, value = part.partition("=")
        if not eq:
            raise argparse.ArgumentTypeError(f"{part!r} is not kind=value")
        pairs[key.strip()] = value.strip()
    return pairs


def _kind(name: str) -> Kind:
    try:
        return Kind(name)
    except ValueError:
        kinds = ", ".join(k.value for k in Kind)
        raise argparse.ArgumentTypeError(f"{name!r} is not a kind ({kinds})") from None


def _mix(text: str) -> dict[Kind, float]:
    """``streetlight=0.6,manhole=0.2,parking=0.15``: kinds not named get none, water the rest."""
    mix: dict[Kind, float] = {}
    for name, value in _pairs(text).items():
        kind = _kind(name)
        if kind is Kind.WATER:
            raise argparse.ArgumentTypeError("water takes what the other kinds leave")
        mix[kind] = float(value)
    return mix


def _intervals(text: str) -> dict[Kind, float]:
    """``streetlight=60,water=30s``: report intervals per kind."""
    try:
        return {_kind(name): parse_duration(value) for name, value in _pairs(text).items()}
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_fleet_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--devices", type=_positive_int, default=1000, help="fleet size")
    parser.add_argument("--seed", type=int, default=1, help="same seed, same fleet and readings")
    parser.add_argument(
        "--mix",
        type=_mix,
        default=dict(DEFAULT_MIX),
        help="kind shares, e.g. streetlight=0.55,manhole=0.2,parking=0.22; kinds not named get "
        "none, water the rest (river stations are always there)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tianqu-sim", description="Simulated IoT devices of 德州天衢新区 over MQTT."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    runp = sub.add_parser("run", help="publish a simulated fleet to an MQTT broker")
    _add_fleet_options(runp)
    runp.add_argument("--host", default="127.0.0.1")
    runp.add_argument("--port", type=int, default=1883)
    runp.add_argument(
        "--mode",
        choices=("auto", "device", "gateway"),
        default="auto",
        help="one connection per device, or shared gateway connections "
        "(auto: device up to 2000 devices)",
    )
    runp.add_argument("--gateways", type=_positive_int, help="gateway connections (gateway mode)")
    runp.add_argument("--credentials", type=Path, help="JSON file of device/gateway logins")
    runp.add_argument("--cafile", help="CA certificate: connect with TLS")
    runp.add_argument(
        "--speed",
        type=_positive_float,
        default=1.0,
        help="simulated seconds per real second (60: a minute a second)",
    )
    runp.add_argument(
        "--start",
        type=_start,
        default=None,
        help="simulated start: ISO instant (naive = Beijing time), now or dusk",
    )
    runp.add_argument(
        "--rate-multiplier",
        type=_positive_float,
        default=1.0,
        help="report this many times more often than the kinds' defaults",
    )
    runp.add_argument(
        "--interval",
        type=_intervals,
        default={},
        help="report intervals per kind, e.g. streetlight=60,water=30s",
    )
    runp.add_argument(
        "--scenario",
        action="append",
        default=[],
        metavar="SPEC",
        help="inject at start, e.g. gas-leak:village=dongzhan (repeatable; "
        "see `tianqu-sim scenarios`)",
    )
    runp.add_argument(
        "--malformed-rate",
        type=_rate,
        default=0.0,
        help="share of extra deliberately broken messages (e.g. 0.01)",
    )
    runp.add_argument("--control-port", type=int, help="serve the control API on 127.0.0.1")
    runp.add_argument("--duration", type=parse_duration, help="stop after this long (real time)")
    runp.add_argument(
        "--status-every",
        type=_positive_float,
        default=5.0,
        help="seconds between progress lines on stderr",
    )
    runp.add_argument(
        "--ramp",
        type=_positive_float,
        default=200.0,
        help="new device connections per second (device mode)",
    )

    fleetp = sub.add_parser("fleet", help="print or export the device placement")
    _add_fleet_options(fleetp)
    fleetp.add_argument("--format", choices=("summary", "csv", "json"), default="summary")
    fleetp.add_argument("--output", type=Path, help="write here instead of stdout")

    for name, text in (
        ("inject", "send scenarios to a running simulator"),
        ("status", "show a running simulator's counters"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("--control-host", default="127.0.0.1")
        p.add_argument("--control-port", type=int, required=True)
        if name == "inject":
            p.add_argument(
                "specs",
                nargs="+",
                metavar="SPEC",
                help="e.g. gas-leak:device=mh-dongzhan-00003 or clear:all; see `scenarios`",
            )

    sub.add_parser("scenarios", help="list the scenarios and malformations")
    return parser


def _run(args: argparse.Namespace) -> int:
    intervals = Intervals().scaled(args.rate_multiplier)
    if args.interval:
        values = {k: intervals.of(k) for k in Kind} | args.interval
        intervals = Intervals(*(values[k] for k in Kind))
    for spec in args.scenario:
        parse_spec(spec)  # fail on a typo before connecting anything
    config = RunConfig(
        host=args.host,
        port=args.port,
        devices=args.devices,
        seed=args.seed,
        mix=args.mix,
        intervals=intervals,
        speed=args.speed,
        start=args.start,
        mode=args.mode,
        gateways=args.gateways,
        credentials=args.credentials,
        cafile=args.cafile,
        scenarios=args.scenario,
        malformed_rate=args.malformed_rate,
        control_port=args.control_port,
        duration=args.duration,
        status_every=args.status_every,
        ramp_per_s=args.ramp,
    )
    final = asyncio.run(run(config))
    return 0 if final["dropped"] == 0 else 3


def _fleet(args: argparse.Namespace) -> int:
    fleet = build_fleet(default_city(), args.devices, args.seed, args.mix)
    if args.format == "csv":
        text = fleet.to_csv()
    elif args.format == "json":
        text = fleet.to_json() + "\n"
    else:
        counts = fleet.counts()
        by_township: dict[str, int] = {}
        for p in fleet:
            by_township[p.township] = by_township.get(p.township, 0) + 1
        lines = [f"{len(fleet)} devices (seed {fleet.seed})"]
        lines += [f"  {k.value:<12} {counts.get(k, 0)}" for k in Kind]
        lines += [f"  {t:<12} {n}" for t, n in by_township.items()]
        lines.append(f"  villages     {len({p.village for p in fleet})}")
        text = "\n".join(lines) + "\n"
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def _status(args: argparse.Namespace) -> int:
    status = get_status(args.control_port, args.control_host)
    print(json.dumps(status, indent=1, ensure_ascii=False))
    return 0


def _inject(args: argparse.Namespace) -> int:
    for spec in args.specs:
        answer = post_scenario(spec, args.control_port, args.control_host)
        print(json.dumps(answer, ensure_ascii=False))
    return 0


def _scenarios(args: argparse.Namespace) -> int:
    for name, cls in SCENARIOS.items():
        print(f"{name:<14} {cls.summary}")
    print(f"{'clear':<14} clear:id=<id> | clear:name=<name> | clear:all")
    print(f"\nmalformations: {', '.join(MALFORMATIONS)}")
    print("every scenario also takes after=<duration> and for=<duration>")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    commands = {"run": _run, "fleet": _fleet, "scenarios": _scenarios, "status": _status}
    try:
        return commands.get(args.command, _inject)(args)
    except (ValueError, ScenarioError, CredentialsError, CityModelError) as exc:
        print(f"tianqu-sim: {exc}", file=sys.stderr)
        return 2
    except httpx.HTTPError as exc:
        print(f"tianqu-sim: cannot reach the control endpoint: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. the control port is taken
        print(f"tianqu-sim: {exc}", file=sys.stderr)
        return 2
