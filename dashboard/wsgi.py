"""The WSGI entry point of a production server: ``gunicorn dashboard.wsgi:application``.

``application`` is the Flask server of :func:`dashboard.app.create_app` over
``Settings.from_env()`` (``BORDERWATCH_DATA_DIR``, ``BORDERWATCH_DATABASE_URL``,
``BORDERWATCH_SECURE_COOKIES`` …), prepared the way ``borderwatch serve``
prepares it: the synthetic demo is imported into an empty store (unless
``BORDERWATCH_DEMO=0``), the demo accounts are made while the data is the
demo, and the server refuses to start (:class:`NoAccount`) when nobody could
sign in.

Each worker process builds its own app after the fork (do not ``--preload``):
a worker holds its own store connection, accounts connections and layer
cache, and nothing opened by one process is used by another. Workers that
start together take turns (a lock file in the data folder) for the one step
that writes: the demo import and the demo accounts.

Behind a reverse proxy, ``BORDERWATCH_PROXY_HOPS=1`` (the number of proxies in
front) makes the app trust that many ``X-Forwarded-For`` / ``X-Forwarded-Proto``
entries (Werkzeug's ``ProxyFix``), so that the sign-in throttling and the
audit log see the client's address. Off by default: without a proxy, trusting
the header would let any client choose the address it is throttled and
audited under.

Every answer says ``Server: Borderwatch`` (:data:`dashboard.auth.web.SERVER_NAME`),
not the software behind it. gunicorn has no setting for its own ``Server``
header (its maintainers' answer, benoitc/gunicorn#825 and #2189: set it in the
application), and its HTTP/1 responses always send ``Server: gunicorn`` before
the application's headers; so each worker sets the name gunicorn's responses
read (``gunicorn.http.wsgi.SERVER``) to ours, and drops the application's own
copy so that the header is sent once.

``application`` is built on first access (``getattr``, which gunicorn and
waitress use), so that ``borderwatch serve --workers N`` and the tests can
import the helpers here without building an app. A server that reads the
module's namespace directly (mod_wsgi) needs a one-line file of its own:
``from dashboard.wsgi import build_application; application = build_application()``.

Examples
--------
borderwatch serve --workers 4                     # gunicorn, 4 workers × 8 threads
gunicorn --workers 4 --worker-class gthread --threads 8 --timeout 120 \\
    --bind 127.0.0.1:8050 --no-control-socket dashboard.wsgi:application
"""

from __future__ import annotations

import fcntl
import os
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from geo.config import Settings

__all__ = ["DEMO_ENV", "PROXY_HOPS_ENV", "THREADS", "TIMEOUT", "NoAccount", "build_application",
           "gunicorn_command", "serve_workers", "settings_env"]

#: "0": never generate the synthetic demo into an empty store (``serve --no-demo``).
DEMO_ENV = "BORDERWATCH_DEMO"
#: Number of reverse proxies in front whose ``X-Forwarded-*`` headers are trusted (default 0).
PROXY_HOPS_ENV = "BORDERWATCH_PROXY_HOPS"
#: Threads per worker. A layer computed for a new filter state holds the GIL for 0.2–1 s;
#: with more threads the quick requests (page route, address bar, language links, cached
#: layers) start at once beside it instead of queueing behind it. Measured on one worker
#: while 6 commanders asked for new layers without pause: a viewer's whole filter change
#: took 1.0–2.4 s at the median with 4 threads, 0.2–0.3 s with 8.
#: The cost is memory when many sign in at once: each password check takes 64 MiB (argon2id).
THREADS = 8
#: Seconds a worker may stay silent (its start-up included: imports, boundaries, records)
#: before gunicorn replaces it; gunicorn's default of 30 is too short for 4 workers starting
#: together on 2 cores.
TIMEOUT = 120



class NoAccount(RuntimeError):
    """Nobody could sign in to the app: the server does not start (the message says why)."""


@contextmanager
def _start_lock(data_dir: Path) -> Iterator[None]:
    """One process at a time through the start-up writes (workers start together)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / ".start.lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _proxy_hops(environ: Mapping[str, str]) -> int:
    raw = environ.get(PROXY_HOPS_ENV, "0").strip() or "0"
    try:
        hops = int(raw)
    except ValueError:
        raise ValueError(f"{PROXY_HOPS_ENV} must be a whole number of proxies, not {raw!r}") \
            from None
    if not 0 <= hops <= 5:
        raise ValueError(f"{PROXY_HOPS_ENV} must be 0–5, not {hops}")
    return hops


def build_application(settings: Settings | None = None,
                      environ: Mapping[str, str] | None = None):
    """The Flask server (a WSGI callable) of the dashboard, ready for a production server.

    Parameters
    ----------
    settings : Settings, optional
        Default: ``Settings.from_env(environ)``.
    environ : mapping, optional
        Where ``BORDERWATCH_DEMO`` and ``BORDERWATCH_PROXY_HOPS`` are read; default
        ``os.environ``.

    Raises
    ------
    NoAccount
        When no account could sign in (no user, or only demo users over real data).
    """
    from dashboard.app import create_app
    from dashboard.serving import (
        add_admin_command, ensure_demo, limit_malloc_arenas, serving_accounts,
    )
    from dashboard.context import build_context

    limit_malloc_arenas()
    began = time.perf_counter()
    env = os.environ if environ is None else environ
    settings = settings or Settings.from_env(env)
    hops = _proxy_hops(env)
    if env.get(DEMO_ENV, "1").strip() != "0":
        with _start_lock(settings.data_dir):
            ensure_demo(settings)
    ctx = build_context(settings)
    with _start_lock(settings.data_dir):
        accounts = serving_accounts(settings, demo=ctx.source == "demo")
    if accounts is None:
        raise NoAccount("No account can sign in. Create one first:\n  "
                        + add_admin_command(settings))
    server = create_app(settings, ctx, accounts).server
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=hops, x_proto=hops)
    _name_gunicorn_server()
    server.wsgi_app = _one_server_header(server.wsgi_app)
    print(f"Borderwatch worker {os.getpid()}: app ready in {time.perf_counter() - began:.1f} s"
          f" ({'PostGIS' if settings.database_url else 'embedded store'}"
          f"{f', trusting {hops} proxy' if hops else ''})", file=sys.stderr, flush=True)
    return server


def _name_gunicorn_server() -> None:
    """In a gunicorn worker, its responses say ``Server: Borderwatch``."""
    wsgi = sys.modules.get("gunicorn.http.wsgi")  # loaded by every gunicorn worker
    if wsgi is not None:
        from dashboard.auth.web import SERVER_NAME

        wsgi.SERVER = SERVER_NAME  # the name each new gunicorn Response sends


def _one_server_header(wsgi_app):
    """``wsgi_app`` that leaves the ``Server`` header to gunicorn when gunicorn serves it
    (gunicorn sends its own whatever the application says)."""

    def app(environ, start_response):
        if not environ.get("SERVER_SOFTWARE", "").startswith("gunicorn"):
            return wsgi_app(environ, start_response)

        def start(status, headers, exc_info=None):
            return start_response(status, [(k, v) for k, v in headers
                                           if k.lower() != "server"], exc_info)

        return wsgi_app(environ, start)

    return app


def __getattr__(name: str):
    """``application``, built once per process on first access."""
    if name == "application":
        app = build_application()
        globals()["application"] = app
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def settings_env(settings: Settings, *, demo: bool = True) -> dict[str, str]:
    """The ``BORDERWATCH_*`` variables that make ``Settings.from_env()`` give ``settings``
    (whatever the calling shell has set: an empty database URL means the embedded store)."""
    env = {
        "BORDERWATCH_DATA_DIR": str(Path(settings.data_dir).resolve()),
        "BORDERWATCH_DATABASE_URL": settings.database_url or "",
        "BORDERWATCH_LANG": settings.language,
        "BORDERWATCH_UNITS": settings.unit_set,
        "BORDERWATCH_SECURE_COOKIES": "1" if settings.secure_cookies else "0",
        "BORDERWATCH_SMALL_COUNT": str(settings.small_count),
        DEMO_ENV: "1" if demo else "0",
        "BORDERWATCH_BASEMAP": str(Path(settings.basemap).resolve()) if settings.basemap else "",
        "BORDERWATCH_FORECAST_PRECOMPUTE": "1" if settings.precompute_forecasts else "0",
        "BORDERWATCH_STATISTICS_PRECOMPUTE": "1" if settings.precompute_statistics else "0",
        "BORDERWATCH_RELEASE_PROCESSES": str(settings.release_processes),
    }
    return env


def gunicorn_command(*, host: str = "127.0.0.1", port: int = 8050, workers: int = 2,
                     threads: int = THREADS, timeout: int = TIMEOUT,
                     access_log: str | None = None) -> list[str]:
    """The gunicorn command line of ``application``: ``workers`` processes of ``threads``
    threads (gthread), each building its own app, bound to ``host:port``."""
    bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    cmd = [sys.executable, "-m", "gunicorn", "--workers", str(int(workers)),
           "--worker-class", "gthread", "--threads", str(int(threads)),
           "--bind", bind, "--timeout", str(int(timeout)), "--graceful-timeout", "30",
           "--keep-alive", "5",
           # gunicorn 27's control socket is one path per user ($HOME/.gunicorn): two servers
           # on a machine would take it from each other, and nothing here uses it.
           "--no-control-socket"]
    if access_log:
        cmd += ["--access-logfile", access_log]
    return cmd + ["dashboard.wsgi:application"]


def serve_workers(settings: Settings, *, host: str, port: int, workers: int,
                  demo: bool = True) -> int:
    """``borderwatch serve --workers N``: check that someone can sign in, then become
    gunicorn (this process is replaced: Ctrl+C and signals reach gunicorn's master).

    Returns 2, without starting anything, when no account can sign in.
    """
    from dashboard.serving import serving_accounts
    from geo.ingest import DEMO_SOURCE
    from geo.store import open_store

    with open_store(settings) as store:
        holds_demo = DEMO_SOURCE in store.sources()
    if serving_accounts(settings, demo=holds_demo) is None:
        return 2
    try:
        import gunicorn  # noqa: F401
    except ImportError:
        print("gunicorn is not installed (pip install -r requirements.lock)", file=sys.stderr)
        return 2
    print(f"Borderwatch: http://{host}:{port}/  (gunicorn, {workers} workers × {THREADS} "
          "threads; Ctrl+C to stop)", flush=True)
    sys.stderr.flush()
    cmd = gunicorn_command(host=host, port=port, workers=workers)
    os.execve(cmd[0], cmd, {**os.environ, **settings_env(settings, demo=demo)})
    return 0  # not reached
