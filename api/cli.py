"""``tianqu-api`` / ``python -m api``: the operator's commands, on the same code as the routes.

    bootstrap        create the first district administrator (python -m api.bootstrap)
    create-user      create a person at a level and area
    demo-users       the local platform's three demo logins (district, 袁桥镇, 东站社区)
    provision-fleet  register a fleet file and write the simulator's credentials file
    service-account  create or re-key a platform service's broker login (the ingester)
    service-key      an API key that may report alerts (the rule evaluator, Grafana); printed
    sync-broker      re-render mosquitto's password and ACL files and reload the broker
    dev-pki          make the development CA and the broker's server certificate
    serve            run the API with uvicorn

Settings come from the same ``TIANQU_API_*`` environment as the service.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from api.core.config import Settings
from api.core.db import Database
from api.core.principal import Role
from api.core.scope import Level, Scope
from api.core.security import random_password
from api.crud import apikeys, devices, gateways, users
from api.crud.devices import RegistryError
from api.crud.fleet_file import parse_fleet
from api.models.apikeys import ApiKeyCreate
from api.models.gateways import GatewayCreate
from api.models.users import UserCreate
from api.mqtt.brokerfiles import BrokerFiles
from api.mqtt.pki import ensure_dev_pki
from city.topology import City, default_city, load_city

# The local platform's demo people (README): one per level of the 三级机长制.
DEMO_USERS: tuple[dict[str, Any], ...] = (
    {"username": "district-admin", "display_name": "新区管理员", "level": "district",
     "role": "admin"},
    {"username": "yuanqiao-captain", "display_name": "袁桥镇机长", "level": "township",
     "township": "yuanqiao", "role": "captain"},
    {"username": "dongzhan-captain", "display_name": "东站社区机长", "level": "village",
     "township": "yuanqiao", "village": "dongzhan", "role": "captain"},
)  # fmt: skip


class CliError(Exception):
    pass


def _context() -> tuple[Settings, Database, City, BrokerFiles]:
    settings = Settings()
    database = Database(settings.resolved_database_url)
    database.init()
    city = load_city(settings.city_file) if settings.city_file else default_city()
    files = BrokerFiles(
        settings.mqtt_password_file,
        settings.mqtt_acl_file,
        settings.mqtt_reload_pid_file,
        settings.mqtt_reload_command,
    )
    return settings, database, city, files


def _write_secret_json(path: Path, payload: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, ensure_ascii=False, indent=1)
        handle.write("\n")


def _password(args: argparse.Namespace) -> str:
    from_env = os.environ.get("TIANQU_API_BOOTSTRAP_PASSWORD")
    if from_env:
        return from_env
    if args.generate_password:
        return random_password(12)
    if not sys.stdin.isatty():
        raise CliError("no password: set TIANQU_API_BOOTSTRAP_PASSWORD or pass --generate-password")
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise CliError("the passwords differ")
    return first


def _create_user(data: dict[str, Any], city: City, database: Database) -> bool:
    """Create one person unless the username exists; True when created."""
    try:
        model = UserCreate.model_validate(data)
    except ValidationError as exc:
        raise CliError(str(exc)) from None
    if model.township is not None and city.township(model.township) is None:
        raise CliError(f"township {model.township!r} is not in the roster")
    if model.village is not None and not city.has_area(model.township or "", model.village):
        raise CliError(f"village {model.village!r} is not in township {model.township!r}")
    with database.session() as session:
        if users.by_username(session, model.username) is not None:
            return False
        users.create(session, model)
    return True


def cmd_bootstrap(args: argparse.Namespace) -> int:
    _, database, city, _ = _context()
    password = _password(args)
    data = {"username": args.username, "display_name": args.display_name, "password": password,
            "level": "district", "role": "admin"}  # fmt: skip
    if not _create_user(data, city, database):
        print(f"{args.username} already exists; nothing to do")
        return 0
    shown = f" with password {password}" if args.generate_password else ""
    print(f"created district administrator {args.username}{shown}")
    return 0


def cmd_create_user(args: argparse.Namespace) -> int:
    _, database, city, _ = _context()
    password = _password(args)
    data = {"username": args.username, "display_name": args.display_name or args.username,
            "password": password, "level": args.level, "township": args.township,
            "village": args.village, "role": args.role}  # fmt: skip
    if not _create_user(data, city, database):
        raise CliError(f"{args.username} already exists")
    print(
        f"created {args.role} {args.username} ({Scope.of(args.township, args.village).describe()})"
    )
    return 0


def cmd_demo_users(args: argparse.Namespace) -> int:
    """Create the demo people once; their passwords are kept in --out for the banner."""
    _, database, city, _ = _context()
    out: Path = args.out
    existing: dict[str, str] = json.loads(out.read_text()) if out.exists() else {}
    for person in DEMO_USERS:
        password = existing.get(person["username"]) or random_password(9)
        if _create_user({**person, "password": password}, city, database):
            existing[person["username"]] = password
    _write_secret_json(out, existing)
    return 0


def cmd_provision_fleet(args: argparse.Namespace) -> int:
    _, database, city, files = _context()
    path: Path = args.file
    media = "text/csv" if path.suffix.lower() == ".csv" else "application/json"
    credentials: dict[str, Any] = {"devices": {}, "gateways": []}
    try:
        rows = parse_fleet(path.read_bytes(), media)
        with database.session() as session:
            done = devices.register_many(session, city, Scope.district(), rows)
            for i in range(args.gateways):
                gateway_id = f"{args.gateway_prefix}-{i:02d}"
                data = GatewayCreate(
                    gateway_id=gateway_id, name=f"gateway {i}", level=Level.DISTRICT
                )
                gateway, password = gateways.create(session, Scope.district(), data)
                credentials["gateways"].append(
                    {"client_id": gateway.id, "username": gateway.id, "password": password}
                )
            synced = files.sync(session)
    except RegistryError as exc:
        raise CliError(f"{path}: {exc}") from None
    credentials["devices"] = {
        d.device.id: {"username": d.device.id, "password": d.password}
        for d in done
        if d.password is not None
    }
    _write_secret_json(args.credentials_out, credentials)
    broker = "broker files written and reloaded" if synced else "broker files NOT configured"
    print(f"provisioned {len(done)} devices, {args.gateways} gateways; {broker}")
    return 0


def cmd_service_account(args: argparse.Namespace) -> int:
    _, database, _, files = _context()
    with database.session() as session:
        try:
            password = gateways.upsert_service_account(session, args.username)
        except RegistryError as exc:
            raise CliError(str(exc)) from None
        files.sync(session)
    _write_secret_json(args.out, {"username": args.username, "password": password})
    print(f"broker login for {args.username} written to {args.out}")
    return 0


def cmd_service_key(args: argparse.Namespace) -> int:
    """A ``service`` API key; only the key goes to stdout, so ``KEY=$(… service-key alerting)``."""
    _, database, city, _ = _context()
    level = "village" if args.village else "township" if args.township else "district"
    try:
        data = ApiKeyCreate(
            name=args.name, role=Role.SERVICE, level=Level(level), township=args.township,
            village=args.village, expires_in_days=args.expires_in_days,
        )  # fmt: skip
    except ValidationError as exc:
        raise CliError(str(exc)) from None
    if data.township is not None and not city.township(data.township):
        raise CliError(f"township {data.township!r} is not in the roster")
    if data.village is not None and not city.has_area(data.township or "", data.village):
        raise CliError(f"village {data.village!r} is not in township {data.township!r}")
    with database.session() as session:
        revoked = 0 if args.keep_old else apikeys.revoke_named(session, args.name, Role.SERVICE)
        _, token = apikeys.create(session, data, created_by=None)
    if args.out is not None:
        _write_secret_json(args.out, {"name": args.name, "key": token})
    print(token)
    note = f"; {revoked} earlier key(s) named {args.name!r} revoked" if revoked else ""
    print(f"service key {args.name!r} ({data.scope.describe()}){note}", file=sys.stderr)
    return 0


def cmd_sync_broker(args: argparse.Namespace) -> int:
    _settings, database, _city, files = _context()
    with database.session() as session:
        if not files.sync(session):
            raise CliError("set TIANQU_API_MQTT_PASSWORD_FILE and TIANQU_API_MQTT_ACL_FILE")
    print("broker password and ACL files written; broker reloaded")
    return 0


def cmd_dev_pki(args: argparse.Namespace) -> int:
    pki = ensure_dev_pki(args.dir, tuple(args.host))
    print(f"CA {pki.ca_cert}, server certificate {pki.server_cert}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn  # noqa: PLC0415 - only this command needs the server

    uvicorn.run("api.main:app", host=args.host, port=args.port, log_level=args.log_level)
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tianqu-api", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    b = sub.add_parser("bootstrap", help="create the first district administrator")
    b.add_argument("--username", default="admin")
    b.add_argument("--display-name", default="新区管理员")
    b.add_argument("--generate-password", action="store_true", help="make one and print it")
    b.set_defaults(run=cmd_bootstrap)

    u = sub.add_parser("create-user", help="create a person")
    u.add_argument("--username", required=True)
    u.add_argument("--display-name")
    u.add_argument("--level", choices=[lv.value for lv in Level], required=True)
    u.add_argument("--township")
    u.add_argument("--village")
    u.add_argument("--role", choices=[r.value for r in Role], default="captain")
    u.add_argument("--generate-password", action="store_true")
    u.set_defaults(run=cmd_create_user)

    d = sub.add_parser("demo-users", help="the local platform's demo logins")
    d.add_argument("--out", type=Path, required=True, help="JSON file keeping their passwords")
    d.set_defaults(run=cmd_demo_users)

    f = sub.add_parser("provision-fleet", help="register a fleet file, write credentials")
    f.add_argument("--file", type=Path, required=True, help="CSV or JSON (tianqu-sim fleet)")
    f.add_argument("--credentials-out", type=Path, required=True)
    f.add_argument("--gateways", type=int, default=0, help="also make N district gateways")
    f.add_argument("--gateway-prefix", default="gw")
    f.set_defaults(run=cmd_provision_fleet)

    s = sub.add_parser("service-account", help="a platform service's broker login")
    s.add_argument("--username", default="ingest")
    s.add_argument("--out", type=Path, required=True)
    s.set_defaults(run=cmd_service_account)

    a = sub.add_parser("service-key", help="an API key that may report alerts (printed)")
    a.add_argument("name", help="e.g. alerting, grafana")
    a.add_argument("--township", help="limit it to a township's alerts")
    a.add_argument("--village", help="…or a village's (with --township)")
    a.add_argument("--expires-in-days", type=int, default=365)
    a.add_argument("--out", type=Path, help="also write {name, key} to this file (mode 600)")
    a.add_argument("--keep-old", action="store_true", help="do not revoke keys of this name")
    a.set_defaults(run=cmd_service_key)

    sub.add_parser("sync-broker", help="re-render the broker files").set_defaults(
        run=cmd_sync_broker
    )

    k = sub.add_parser("dev-pki", help="development CA and broker certificate")
    k.add_argument("--dir", type=Path, required=True)
    k.add_argument("--host", action="append", default=["localhost", "127.0.0.1"])
    k.set_defaults(run=cmd_dev_pki)

    v = sub.add_parser("serve", help="run the API")
    v.add_argument("--host", default="127.0.0.1")
    v.add_argument("--port", type=int, default=18000)
    v.add_argument("--log-level", default="warning")
    v.set_defaults(run=cmd_serve)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except (CliError, ValidationError) as exc:
        print(f"tianqu-api {args.command}: {exc}", file=sys.stderr)
        return 2
    return code
