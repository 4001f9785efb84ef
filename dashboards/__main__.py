"""``python -m dashboards``: generate, check, or sync the Grafana boards and provisioning.

python -m dashboards generate                  # rewrite dashboards/json and dashboards/provisioning
python -m dashboards check                     # exit 1 if the committed files are stale
python -m dashboards sync --url http://grafana:3000 --token "$GRAFANA_TOKEN" \\
    --influx-url http://influxdb:8086 --influx-user grafana --api-url http://api:8000
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from city.rules import RulesError, load_rules
from city.topology import CityModelError, load_city
from dashboards import generate as gen
from dashboards.provisioning import (
    ENV_API_KEY,
    ENV_API_URL,
    ENV_INFLUX_PASSWORD,
    ENV_INFLUX_TOKEN,
    ENV_INFLUX_URL,
    ENV_INFLUX_USER,
    ENV_WEBHOOK_SECRET,
    InfluxSettings,
    WebhookSettings,
)


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dashboards", description="Grafana boards, provisioning and alert rules."
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("generate", help="write dashboards/json and dashboards/provisioning")
    sub.add_parser("check", help="fail if the committed generated files are stale")

    syncp = sub.add_parser("sync", help="push everything into a running Grafana (idempotent)")
    syncp.add_argument("--url", default=_env("GRAFANA_URL"), help="Grafana base URL ($GRAFANA_URL)")
    syncp.add_argument(
        "--token",
        default=_env("GRAFANA_TOKEN"),
        help="service-account token ($GRAFANA_TOKEN); or user:password@ in --url",
    )
    syncp.add_argument("--timeout", type=float, default=10.0)
    syncp.add_argument(
        "--grafana-version",
        type=int,
        choices=(11, 12),
        help="contact point flavour (default: asked of the server)",
    )
    syncp.add_argument("--influx-version", choices=("1x", "2x-3x"), default="1x")
    syncp.add_argument("--influx-url", default=_env(ENV_INFLUX_URL), help=f"${ENV_INFLUX_URL}")
    syncp.add_argument("--influx-database", default=_env("TIANQU_INFLUX_DATABASE", "tianqu"))
    syncp.add_argument("--influx-user", default=_env(ENV_INFLUX_USER), help=f"${ENV_INFLUX_USER}")
    syncp.add_argument(
        "--api-url",
        default=_env(ENV_API_URL),
        help=f"the platform API, as Grafana reaches it (${ENV_API_URL})",
    )
    syncp.add_argument(
        "--rotate-secrets",
        action="store_true",
        help="rewrite the data source and webhook secrets even if nothing else changed",
    )
    syncp.add_argument(
        "--no-prune", action="store_true", help="keep tianqu- alert rules the rules file dropped"
    )
    return parser


def _sync(args: argparse.Namespace) -> int:
    from grafana_client.client import GrafanaException  # noqa: PLC0415 - only sync needs it

    from dashboards import sync  # noqa: PLC0415

    missing = [
        name
        for name, value in (
            ("--url", args.url),
            ("--influx-url", args.influx_url),
            ("--api-url", args.api_url),
        )
        if not value
    ]
    if missing:
        print(f"sync needs {', '.join(missing)}", file=sys.stderr)
        return 2
    influx = InfluxSettings(
        url=args.influx_url,
        database=args.influx_database,
        version=args.influx_version,
        user=args.influx_user,
        password=_env(ENV_INFLUX_PASSWORD),
        token=_env(ENV_INFLUX_TOKEN),
    )
    try:
        api = sync.connect(args.url, args.token or None, timeout=args.timeout)
        major = args.grafana_version or sync.grafana_major(api)
        webhook = WebhookSettings(
            api_url=args.api_url,
            secret=_env(ENV_WEBHOOK_SECRET),
            api_key=_env(ENV_API_KEY),
            grafana=major,
        )
        influx_secret = ENV_INFLUX_PASSWORD if args.influx_version == "1x" else ENV_INFLUX_TOKEN
        needed = [
            (ENV_API_KEY, "the API will refuse Grafana's alerts"),
            (influx_secret, "Grafana will not be able to read InfluxDB"),
        ]
        if major >= 12:
            needed.append((ENV_WEBHOOK_SECRET, "alerts go unsigned (refused if the API checks)"))
        for name, consequence in needed:
            if not _env(name):
                print(f"warning: ${name} is empty; {consequence}", file=sys.stderr)
        report = sync.sync(
            api,
            load_city(),
            load_rules(),
            influx=influx,
            webhook=webhook,
            rotate_secrets=args.rotate_secrets,
            prune=not args.no_prune,
        )
    except GrafanaException as exc:
        print(f"Grafana refused: {exc.message}", file=sys.stderr)
        return 1
    sync.print_report(report)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING)
    try:
        if args.command == "generate":
            changed = gen.write()
            for path in changed:
                print(f"wrote dashboards/{path}")
            print(f"{len(changed)} file(s) changed")
            return 0
        if args.command == "check":
            problems = gen.stale()
            for path in problems:
                print(f"stale: dashboards/{path}", file=sys.stderr)
            if problems:
                print("run: python -m dashboards generate", file=sys.stderr)
            return 1 if problems else 0
        return _sync(args)
    except (CityModelError, RulesError) as exc:
        print(exc, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
