"""A throw-away PostgreSQL + PostGIS server for the tests: started on demand, one database per test.

With ``BORDERWATCH_TEST_DATABASE_URL`` set (a superuser URL of a server with
PostGIS), the tests use that server. Otherwise :func:`start_server` finds
Debian's ``/usr/lib/postgresql/<version>/bin``, runs ``initdb`` in a temporary
folder (as the ``postgres`` user when we are root: initdb refuses root),
starts the server on a free port of 127.0.0.1 only (its socket in the same
folder, durability switched off: the data is thrown away), and stops and
deletes it at the end. Every process starts its own server, so pytest-xdist
workers never share one.

Each test gets its own database, copied from a template database that
already holds the ``postgis`` extension (creating the extension takes about
a second, copying the template a fraction of that).

When PostgreSQL or PostGIS is missing, :func:`skip_or_fail` skips the tests
that need it with the reason, or fails them when
``BORDERWATCH_REQUIRE_POSTGIS=1`` (CI sets it, so CI never skips silently).
"""

from __future__ import annotations

import atexit
import glob
import itertools
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from geo.store.postgis import redact_url

__all__ = ["REQUIRE_ENV", "URL_ENV", "PostgresServer", "PostgresUnavailable", "find_bindir",
           "skip_or_fail", "start_server"]

#: A server to use instead of starting one (superuser URL; PostGIS installed on it).
URL_ENV = "BORDERWATCH_TEST_DATABASE_URL"
#: "1": a missing PostgreSQL/PostGIS fails the tests that need it instead of skipping them.
REQUIRE_ENV = "BORDERWATCH_REQUIRE_POSTGIS"

_PREFIX = "borderwatch-pg-"
_INSTALL_HINT = "install it (Debian: apt-get install postgresql postgresql-postgis) or set " + URL_ENV
#: Settings for speed: nothing the tests write needs to survive a crash.
_FAST_CONF = """
listen_addresses = '127.0.0.1'
unix_socket_directories = '{socket_dir}'
fsync = off
synchronous_commit = off
full_page_writes = off
wal_level = minimal
max_wal_senders = 0
shared_buffers = 16MB
max_connections = 40
autovacuum = off
jit = off
"""


class PostgresUnavailable(RuntimeError):
    """PostgreSQL or PostGIS cannot be used for the tests; the message says what is missing."""


def skip_or_fail(reason: str):
    """Skip the calling test with ``reason``, or fail it when ``BORDERWATCH_REQUIRE_POSTGIS=1``."""
    import pytest

    if os.environ.get(REQUIRE_ENV, "") == "1":
        pytest.fail(f"{reason} ({REQUIRE_ENV}=1, so this is an error, not a skip)", pytrace=False)
    pytest.skip(reason)


def find_bindir() -> tuple[Path | None, bool]:
    """The folder of ``initdb`` and ``pg_ctl`` to use, and whether PostGIS is installed for it.

    The newest PostgreSQL with PostGIS wins; then the newest without it; then
    whatever ``initdb`` is on the PATH. ``(None, False)`` when none is found.
    """
    found = [Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")]
    found.sort(key=_version_of, reverse=True)
    on_path = shutil.which("initdb")
    if on_path:
        found.append(Path(on_path).parent)
    found = [d for d in found if (d / "initdb").exists() and (d / "pg_ctl").exists()]
    for bindir in found:
        if _has_postgis(bindir):
            return bindir, True
    return (found[0], False) if found else (None, False)


def start_server() -> PostgresServer:
    """A server ready to hand out databases: the one in ``$BORDERWATCH_TEST_DATABASE_URL``,
    else a new local one. Raises :class:`PostgresUnavailable` with the reason."""
    try:
        import psycopg  # noqa: F401
    except ImportError as err:
        raise PostgresUnavailable(f"psycopg is not installed ({err})") from err
    url = os.environ.get(URL_ENV, "").strip()
    if url:
        return PostgresServer(url, cluster=None)
    bindir, postgis = find_bindir()
    if bindir is None:
        raise PostgresUnavailable(f"PostgreSQL is not installed (no initdb found); {_INSTALL_HINT}")
    if not postgis:
        raise PostgresUnavailable(
            f"PostGIS is not installed for the PostgreSQL in {bindir} (no postgis.control); "
            + _INSTALL_HINT
        )
    cluster = _Cluster(bindir)
    try:
        admin_url = cluster.start()
        return PostgresServer(admin_url, cluster=cluster)
    except BaseException:
        cluster.stop()
        raise


class PostgresServer:
    """A running server with a PostGIS template database; :meth:`create_database` per test."""

    def __init__(self, admin_url: str, *, cluster: _Cluster | None) -> None:
        import psycopg
        from psycopg import sql

        self.admin_url = admin_url
        self._cluster = cluster
        self._sql = sql
        self._token = secrets.token_hex(4)
        self._numbers = itertools.count(1)
        self.template = f"bw_template_{self._token}"
        started = time.perf_counter()
        try:
            self._admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=10)
        except psycopg.Error as err:
            raise PostgresUnavailable(
                f"cannot connect to the test server {redact_url(admin_url)}: {str(err).strip()}"
            ) from err
        self.version = self._admin.info.server_version
        available = self._admin.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'").fetchone()
        if not available:
            self._admin.close()
            raise PostgresUnavailable(
                f"the PostgreSQL server {redact_url(admin_url)} has no PostGIS extension available; "
                + _INSTALL_HINT
            )
        self._admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.template)))
        with psycopg.connect(self.url_of(self.template), autocommit=True) as con:
            con.execute("CREATE EXTENSION postgis")
        #: Seconds to start the server (initdb + start) and to build the PostGIS template.
        self.start_seconds = cluster.start_seconds if cluster else 0.0
        self.template_seconds = time.perf_counter() - started

    def url_of(self, dbname: str) -> str:
        """The URL of database ``dbname`` on this server."""
        if "://" in self.admin_url:
            parts = urlsplit(self.admin_url)
            return urlunsplit(parts._replace(path="/" + dbname))
        from psycopg.conninfo import make_conninfo

        return make_conninfo(self.admin_url, dbname=dbname)

    def create_database(self, *, postgis: bool = True) -> str:
        """A new empty database, with the PostGIS extension unless told; returns its URL."""
        name = f"bw_test_{self._token}_{next(self._numbers)}"
        sql = self._sql
        template = self.template if postgis else "template0"
        # FILE_COPY (PostgreSQL 15+) copies the files instead of writing them all to the WAL.
        strategy = sql.SQL(" STRATEGY = FILE_COPY") if self.version >= 150000 else sql.SQL("")
        self._admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}{}").format(
            sql.Identifier(name), sql.Identifier(template), strategy))
        return self.url_of(name)

    def drop_database(self, url: str) -> None:
        """Drop a database made by :meth:`create_database`, closing its leftover connections."""
        from psycopg.conninfo import conninfo_to_dict

        name = conninfo_to_dict(url)["dbname"]
        self._admin.execute(self._sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            self._sql.Identifier(name)))

    def close(self) -> None:
        """Drop the template, then stop and delete the local server (if we started it)."""
        try:
            if not self._admin.closed:
                if self._cluster is None:  # a shared server: leave it as we found it
                    self._admin.execute(self._sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                                        .format(self._sql.Identifier(self.template)))
                self._admin.close()
        finally:
            if self._cluster is not None:
                self._cluster.stop()


class _Cluster:
    """initdb + pg_ctl in a temporary folder; as the ``postgres`` user when we are root."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.start_seconds = 0.0
        self._as: list[str] = []
        self._owner: tuple[int, int] | None = None
        if os.geteuid() == 0:
            runuser = shutil.which("runuser") or next(
                (p for p in ("/usr/sbin/runuser", "/sbin/runuser") if os.path.exists(p)), None)
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                user = None
            if runuser is None or user is None:
                raise PostgresUnavailable(
                    "running as root, and initdb refuses root: need the 'postgres' system user "
                    "and runuser to start a test server")
            self._as = [runuser, "-u", "postgres", "--"]
            self._owner = (user.pw_uid, user.pw_gid)
        scratch = _scratch_dir()
        self._reap_stale(Path(scratch or tempfile.gettempdir()))
        self.dir = Path(tempfile.mkdtemp(prefix=_PREFIX, dir=scratch))
        (self.dir / "owner.pid").write_text(str(os.getpid()))
        if self._owner:
            os.chown(self.dir, *self._owner)
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self._running = False
        atexit.register(self.stop)  # if the session ends without its finaliser

    def start(self) -> str:
        """initdb, then start on a free port; returns the superuser URL."""
        started = time.perf_counter()
        password = secrets.token_hex(16)
        pwfile = self.dir / "password"
        pwfile.write_text(password + "\n")
        if self._owner:
            os.chown(pwfile, *self._owner)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", f"--pwfile={pwfile}",
                  "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
                  "--locale=C", "--no-sync")
        pwfile.unlink()
        with open(self.data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(_FAST_CONF.format(socket_dir=self.dir))
        for attempt in range(5):
            port = _free_port()
            try:
                self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                          "-o", f"-p {port}", "start")
            except PostgresUnavailable:
                # Another process took the port between our check and the server's bind.
                if attempt < 4 and "already in use" in self._log_tail():
                    continue
                raise
            self._running = True
            break
        self.start_seconds = time.perf_counter() - started
        return f"postgresql://postgres:{password}@127.0.0.1:{port}/postgres"

    def stop(self) -> None:
        """Stop the server (no shutdown checkpoint: the data is thrown away) and delete it."""
        if self._running:
            self._running = False
            try:
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
            except PostgresUnavailable:
                pass  # already gone (Ctrl-C reaches the server too)
        if self.dir.exists():
            shutil.rmtree(self.dir, ignore_errors=True)

    def _reap_stale(self, scratch: Path) -> None:
        """Stop and delete the servers of test runs that were killed (their owner is gone):
        on a RAM disk they would otherwise hold memory until the next reboot."""
        for folder in scratch.glob(_PREFIX + "*"):
            try:
                owner = int((folder / "owner.pid").read_text())
                os.kill(owner, 0)
                continue  # still running
            except (OSError, ValueError) as err:
                if not isinstance(err, ProcessLookupError):
                    continue  # not ours to judge (no owner file yet, or another user's)
            if (folder / "data" / "postmaster.pid").exists():
                subprocess.run([*self._as, str(self.bindir / "pg_ctl"), "-D", str(folder / "data"),
                                "-m", "immediate", "-w", "stop"], cwd=scratch,
                               capture_output=True, timeout=60)
            shutil.rmtree(folder, ignore_errors=True)

    def _run(self, program: str, *args: str) -> None:
        cmd = [*self._as, str(self.bindir / program), *args]
        # cwd: as the postgres user, the repository folder may not be readable.
        done = subprocess.run(cmd, cwd=self.dir, capture_output=True, text=True, timeout=120,
                              env={**os.environ, "LC_ALL": "C"})
        if done.returncode != 0:
            raise PostgresUnavailable(
                f"{program} failed ({done.returncode}): {(done.stderr or done.stdout).strip()}"
                f"\n{self._log_tail()}")

    def _log_tail(self) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-20:])
        except OSError:
            return ""


def _version_of(bindir: Path) -> float:
    try:
        return float(bindir.parent.name)
    except ValueError:
        return 0.0


def _has_postgis(bindir: Path) -> bool:
    try:
        share = subprocess.run([str(bindir / "pg_config"), "--sharedir"], capture_output=True,
                               text=True, check=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        share = f"/usr/share/postgresql/{bindir.parent.name}"
    return (Path(share) / "extension" / "postgis.control").exists()


def _scratch_dir() -> str | None:
    """Where to put the cluster: a RAM disk with room to spare (creating a database opens
    some 300 files, several times faster there), else the usual temporary folder."""
    try:
        shm = os.statvfs("/dev/shm")
    except OSError:
        return None
    return "/dev/shm" if shm.f_bavail * shm.f_frsize >= 1 << 30 else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
