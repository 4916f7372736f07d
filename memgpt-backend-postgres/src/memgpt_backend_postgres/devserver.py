"""A PostgreSQL 16 + pgvector server on loopback, from the ``pgserver`` wheel, without Docker.

Used by ``db/run_postgres.sh`` when Docker is not available, and by the tests.
The server listens on 127.0.0.1 only, with password (SCRAM) authentication,
so a wrong password really is refused. Run as root, it runs PostgreSQL under a
``pgserver`` system user, as the pgserver wheel itself does.

    python -m memgpt_backend_postgres.devserver start --port 8888 --data-dir ~/.memgpt/pgdata
    python -m memgpt_backend_postgres.devserver stop --data-dir ~/.memgpt/pgdata
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from memgpt.plugin import accepts_connections, free_port, private_dirs

SYSTEM_USER = "pgserver"


def pgserver_bin() -> Path:
    """The ``bin`` folder of the PostgreSQL that the pgserver wheel ships."""
    try:
        import warnings

        with warnings.catch_warnings():  # pgserver warns about XDG_RUNTIME_DIR at import; we do not use that folder
            warnings.simplefilter("ignore")
            import pgserver
    except ImportError:
        raise SystemExit("pgserver is not installed: pip install 'memgpt-backend-postgres[server]'") from None
    return Path(pgserver.__file__).parent / "pginstall" / "bin"


def create_database(uri: str, name: str | None = None) -> str:
    """Create database ``name`` (default: the one ``uri`` names) on the server of ``uri`` if missing; returns its URI.

    Connects to the server's ``postgres`` database with the credentials of
    ``uri``, which must be allowed to create databases.
    """
    import pg8000.native
    from sqlalchemy.engine import make_url

    url = make_url(uri)
    name = name or url.database or "memgpt"
    conn = pg8000.native.Connection(
        url.username or "postgres",
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        password=url.password,
        database="postgres",
    )
    try:
        if not conn.run("SELECT 1 FROM pg_database WHERE datname = :name", name=name):
            conn.run(f"CREATE DATABASE {pg8000.native.identifier(name)}")
    finally:
        conn.close()
    return url.set(database=name).render_as_string(hide_password=False)


class DevServer:
    """One PostgreSQL data folder served on 127.0.0.1:``port``."""

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        user: str = "memgpt",
        password: str = "memgpt",
        database: str = "memgpt",
        bin_dir: Path | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.port = port or free_port()
        self.user, self.password, self.database = user, password, database
        self.bin_dir = bin_dir or pgserver_bin()
        self.as_root = hasattr(os, "geteuid") and os.geteuid() == 0

    @property
    def uri(self) -> str:
        return f"postgresql+pg8000://{self.user}:{self.password}@127.0.0.1:{self.port}/{self.database}"

    def _run(self, *args: str, timeout: float = 120) -> str:
        kwargs: dict[str, Any] = {"user": SYSTEM_USER} if self.as_root else {}
        result = subprocess.run(
            [str(self.bin_dir / args[0]), *args[1:]], capture_output=True, text=True, timeout=timeout, check=False, **kwargs
        )
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({result.returncode}): {result.stderr.strip() or result.stdout.strip()}")
        return result.stdout

    def _prepare_permissions(self) -> None:
        """As root: PostgreSQL refuses to run as root, so hand the folders to the pgserver user."""
        if not self.as_root:
            return
        from pgserver.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

        try:
            entry = ensure_user_exists(SYSTEM_USER)
        except subprocess.CalledProcessError:  # another process (a parallel test session) created the user first
            import pwd

            entry = pwd.getpwnam(SYSTEM_USER)
        ensure_prefix_permissions(self.bin_dir)
        ensure_folder_permissions(self.bin_dir, 0o555)
        ensure_folder_permissions(self.bin_dir.parent / "lib", 0o444)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        ensure_prefix_permissions(self.data_dir)
        os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)

    def init(self) -> None:
        """Create the data folder (once): superuser ``user`` with ``password``, SCRAM over TCP."""
        if (self.data_dir / "PG_VERSION").exists():
            return
        private_dirs(self.data_dir.parent)
        self.data_dir.mkdir(exist_ok=True)
        self.data_dir.chmod(0o700)
        self._prepare_permissions()
        # initdb reads the password from a file: in a folder only its reader can enter, readable by it alone.
        folder = Path(tempfile.mkdtemp(prefix="memgpt-pw-"))
        pwfile = folder / "password"
        fd = os.open(pwfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(self.password + "\n")
        try:
            if self.as_root:  # initdb runs as the pgserver user: hand it the folder and the file, nobody else
                import pwd

                entry = pwd.getpwnam(SYSTEM_USER)
                for path in (folder, pwfile):
                    os.chown(path, entry.pw_uid, entry.pw_gid)
            self._run(
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                self.user,
                f"--pwfile={pwfile}",
                "--auth-host=scram-sha-256",
                "--auth-local=scram-sha-256",
                "-E",
                "UTF8",
                "--no-locale",
            )
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def start(self) -> str:
        """Start the server (initializing the folder if new) and create the database; returns the URI."""
        self.init()
        self._prepare_permissions()
        if not self.running():
            options = f"-h 127.0.0.1 -p {self.port} -c unix_socket_directories='' -c listen_addresses=127.0.0.1"
            self._run(
                "pg_ctl",
                "-D",
                str(self.data_dir),
                "-l",
                str(self.data_dir / "server.log"),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            )
        self._wait_ready()
        self._create_database()
        return self.uri

    def running(self) -> bool:
        result = subprocess.run(
            [str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "status"],
            capture_output=True,
            text=True,
            check=False,
            **({"user": SYSTEM_USER} if self.as_root else {}),
        )
        return result.returncode == 0

    def _wait_ready(self, seconds: float = 30) -> None:
        deadline = time.time() + seconds
        while not accepts_connections(self.port):
            if time.time() > deadline:
                raise RuntimeError(f"PostgreSQL did not start listening on 127.0.0.1:{self.port}")
            time.sleep(0.1)

    def _create_database(self) -> None:
        for attempt in range(50):
            try:
                create_database(self.uri)
                return
            except Exception:
                if attempt == 49:
                    raise
                time.sleep(0.2)

    def stop(self) -> None:
        if self.running():
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)


@contextmanager
def postgres_for_a_run(variable: str, prefix: str = "memgpt-pg-") -> Iterator[str]:
    """The URI in environment variable ``variable`` when set, else that of a server started here for the run.

    The server (from the pgserver wheel, on 127.0.0.1) is stopped and its data
    folder deleted afterwards; a given URI is left as it was found.
    """
    given = os.environ.get(variable)
    if given:
        yield given
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        server = DevServer(Path(folder) / "data")
        server.start()
        try:
            yield server.uri
        finally:
            server.destroy()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m memgpt_backend_postgres.devserver", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("MEMGPT_HOME", Path.home() / ".memgpt")) / "pgdata")
    parser.add_argument("--port", type=int, default=8888)
    parser.add_argument("--user", default="memgpt")
    parser.add_argument(
        "--password-env",
        default="MEMGPT_PG_PASSWORD",
        help="the environment variable holding the password (default MEMGPT_PG_PASSWORD; 'memgpt' when unset)",
    )
    parser.add_argument("--database", default="memgpt")
    args = parser.parse_args(argv)
    password = os.environ.get(args.password_env) or "memgpt"
    server = DevServer(args.data_dir, args.port, args.user, password, args.database)
    if args.action == "start":
        server.start()
        print(f"PostgreSQL 16 + pgvector is running on 127.0.0.1:{args.port} (data in {args.data_dir})")
        print(f"MEMGPT_PGURI=postgresql+pg8000://{args.user}:****@localhost:{args.port}/{args.database}")
        print(f"Stop it with: python -m memgpt_backend_postgres.devserver stop --data-dir {args.data_dir}")
    elif args.action == "stop":
        server.stop()
        print("stopped")
    else:
        print("running" if server.running() else "stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
