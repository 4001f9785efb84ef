"""A throwaway PostgreSQL server for tests: Debian's postgresql binaries, a temporary data
directory, a free loopback port, trust authentication, no fsync.

PostgreSQL refuses to run as root, so when the tests run as root (CI containers) the server
runs as the ``postgres`` user the Debian package creates, through ``setpriv`` (which execs, so
the process we signal is the server itself).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from devstack.ports import free_port
from devstack.processes import ManagedProcess

USER = "tianqu"


def _bin(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if not found:
        raise RuntimeError(
            f"PostgreSQL's {name} is missing: apt-get install postgresql (.ci/run does)"
        )
    return str(found[-1])


def _as_server_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", *argv]


@dataclass
class PostgresServer:
    root: Path
    port: int
    process: ManagedProcess

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=USER, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        self.process.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def start_postgres() -> PostgresServer:
    root = Path(tempfile.mkdtemp(prefix="tianqu-pg-"))
    data, sockets = root / "data", root / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        for path in (root, sockets):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    initdb = [_bin("initdb"), "-D", str(data), "-U", USER, "--auth=trust", "--encoding=UTF8",
              "--no-locale", "--no-sync"]  # fmt: skip
    subprocess.run(_as_server_user(initdb), check=True, capture_output=True)
    port = free_port()
    argv = _as_server_user([
        _bin("postgres"), "-D", str(data), "-p", str(port), "-k", str(sockets),
        "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=100",
    ])  # fmt: skip
    process = ManagedProcess("postgres", argv, root / "postgres.log")
    process.start()
    server = PostgresServer(root, port, process)
    deadline = time.monotonic() + 30
    while True:
        try:
            with psycopg.connect(host="127.0.0.1", port=port, user=USER, dbname="postgres"):
                return server
        except psycopg.OperationalError:
            if not process.alive or time.monotonic() > deadline:
                log = (root / "postgres.log").read_text(errors="replace")
                server.stop()
                raise RuntimeError(f"PostgreSQL did not start:\n{log[-2000:]}") from None
            time.sleep(0.1)
