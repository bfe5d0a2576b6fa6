"""The production server (issue 7): the WSGI entry point, and a smoke test under load —
gunicorn, two workers, ten signed-in sessions changing filters for five seconds, on the
embedded store and on PostGIS.

What is asserted: no error at all (every answer 2xx and a real Dash answer, no
refusal, no alert on the page, no worker restarted, nothing in the server's
error log) and every role's requests answered — the commander's, the
planner's and the viewer's own callbacks among them. What is not: any time.
The figures (p50/p95/p99, throughput, memory per worker) come from
``scripts/load_test.py`` with 50 sessions for 60 s; the README lists them.
"""

from __future__ import annotations

import io
import re

import pytest

from dashboard.auth.accounts import accounts_of
from dashboard.figures.context import CONTEXT_STYLE, context_url
from dashboard.pages.overview import geojson_url, hatch_url
from dashboard.wsgi import NoAccount, build_application, gunicorn_command
from geo.config import Settings
from scripts.load_test import (ROLES, run_load, running_server, shapes_kind, sign_in_gates,
                               summarise)
from tests import pg
from tests.cache import demo_data

pytestmark = pytest.mark.load

SESSIONS = 10
SECONDS = 5.0
WORKERS = 2
#: The callback each role's filter changes run (by its first output), and the page itself.
OWN_CALLBACK = {"commander": "cb cmd-map.figure", "planner": "cb plan-map.figure",
                "viewer": "cb commune-map.figure"}


# --------------------------------------------------------------------- the entry point


def _sign_in(client, username: str, password: str, **headers):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    return client.post("/login", data={"csrf": token, "username": username,
                                       "password": password}, headers=headers)


@pytest.fixture(scope="module")
def one_user(tmp_path_factory) -> Settings:
    """An empty store (no demo) and one real account."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("wsgi") / "var")
    accounts_of(settings).create_user("tuan", "mat-khau-dai-du", "viewer")
    return settings


def test_forwarded_address_is_trusted_only_when_told(one_user):
    """Behind nginx (BORDERWATCH_PROXY_HOPS=1) the audit log and the sign-in throttling see
    the client's address; without it a client cannot choose its address by a header."""
    accounts = accounts_of(one_user)
    for environ, expected in (({"BORDERWATCH_DEMO": "0"}, "127.0.0.1"),
                              ({"BORDERWATCH_DEMO": "0", "BORDERWATCH_PROXY_HOPS": "1"},
                               "203.0.113.7")):
        client = build_application(one_user, environ).test_client()
        answer = _sign_in(client, "tuan", "mat-khau-dai-du",
                          **{"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"})
        assert answer.status_code == 302
        assert accounts.audit_log(action="sign_in", limit=1)[0]["address"] == expected
    with pytest.raises(ValueError, match="BORDERWATCH_PROXY_HOPS"):
        build_application(one_user, {"BORDERWATCH_DEMO": "0", "BORDERWATCH_PROXY_HOPS": "x"})


def test_refuses_to_start_when_nobody_can_sign_in(tmp_path, capsys):
    settings = Settings(data_dir=tmp_path / "var")
    with pytest.raises(NoAccount, match="--data-dir .* users add NAME --role admin"):
        build_application(settings, {"BORDERWATCH_DEMO": "0"})


def test_serve_with_workers_refuses_before_starting_gunicorn(tmp_path, capsys):
    from dashboard.cli import main

    assert main(["--data-dir", str(tmp_path / "var"), "serve", "--workers", "2",
                 "--no-demo"]) == 2
    err = capsys.readouterr().err
    assert f"--data-dir {(tmp_path / 'var').resolve()} users add NAME --role admin" in err


def test_workers_get_the_settings_of_the_command_line(tmp_path):
    from dashboard.wsgi import settings_env

    for url in (None, "postgresql://bw:secret@127.0.0.1:5432/bw"):
        settings = Settings(data_dir=tmp_path / "var", database_url=url, language="en",
                            unit_set="legacy", secure_cookies=True, small_count=3,
                            release_processes=3)
        assert Settings.from_env(settings_env(settings)) == settings
    # a URL in the calling shell never reaches workers that were told to use the embedded store
    env = {"BORDERWATCH_DATABASE_URL": "postgresql://elsewhere/db",
           **settings_env(Settings(data_dir=tmp_path / "var"))}
    assert Settings.from_env(env).database_url is None


def test_gunicorn_command_builds_one_app_per_worker():
    cmd = gunicorn_command(host="127.0.0.1", port=8050, workers=4)
    assert cmd[-1] == "dashboard.wsgi:application" and "--preload" not in cmd
    assert cmd[cmd.index("--workers") + 1] == "4"
    assert cmd[cmd.index("--worker-class") + 1] == "gthread"
    assert cmd[cmd.index("--bind") + 1] == "127.0.0.1:8050"
    assert gunicorn_command(host="::1", port=80)[cmd.index("--bind") + 1] == "[::1]:80"


def test_users_of_one_account_sign_in_together_below_the_throttle():
    """Each account's users sign in at once, one fewer than the pair limit of the sign-in
    throttle (five running checks of one account from one address are refused)."""
    import threading

    from dashboard.auth.accounts import MAX_PAIR_FAILURES

    gates = sign_in_gates(("commander", "planner"))
    assert set(gates) == {"commander", "planner"}
    held = [gates["commander"].acquire(blocking=False) for _ in range(MAX_PAIR_FAILURES)]
    assert held == [True] * (MAX_PAIR_FAILURES - 1) + [False]
    assert gates["planner"].acquire(blocking=False)  # another account: its own gate
    assert isinstance(gates["planner"], type(threading.BoundedSemaphore()))


def test_each_family_of_shapes_is_counted_under_its_own_kind():
    assert shapes_kind(geojson_url("2025")) == "geojson"
    assert shapes_kind("/geo/density.geojson") == "geojson"
    assert {shapes_kind(context_url(c)) for c in CONTEXT_STYLE} == {"context shapes"}
    assert shapes_kind(hatch_url("former")) == "hatching"


# --------------------------------------------------------------------- under load


def _load(postgis: bool) -> tuple[dict, str]:
    log = io.StringIO()
    try:
        with running_server(postgis=postgis, workers=WORKERS, log=log,
                            demo=demo_data) as server:  # SQLite: the run's copy of the demo
            result = run_load(server.url, sessions=SESSIONS, duration=SECONDS,
                              think=(0.5, 2.0), ramp=2.0, pid=server.pid, min_actions=1)
            server_log = server.log.read_text(errors="replace")
    except pg.PostgresUnavailable as err:
        reason = str(err)
    else:
        return summarise(result, config={"sessions": SESSIONS}), server_log
    pg.skip_or_fail(reason)  # outside the except: the report shows the reason alone


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)])
def test_gunicorn_serves_signed_in_sessions_changing_filters_without_an_error(backend):
    summary, server_log = _load(postgis=backend == "postgis")

    assert summary["overall"]["errors"] == 0, summary["error_samples"]
    for role in ROLES:
        figures = summary["roles"][role]
        assert figures["errors"] == 0, (role, summary["error_samples"])
        assert figures["actions"] >= SESSIONS // 3, f"{role}: too few filter changes"
        assert summary["kinds"][OWN_CALLBACK[role]]["requests"] >= 1, role
    # every filter change of every role is one wave of requests (the preset's dates and
    # the route's gate answered in the browser), each callback asked once at most
    for what, figures in summary["filters"].items():
        assert figures["most_waves"] == 1, (what, figures)
    for what, most in (("commander cmd-preset", 5), ("planner plan-preset", 2)):
        if what in summary["filters"]:
            assert summary["filters"][what]["most_requests"] == most, summary["filters"][what]
    # every session signed in and opened its page
    for kind in ("sign-in", "page", "layout", "dependencies"):
        assert summary["kinds"][kind]["requests"] == SESSIONS, kind
    # the maps' polygons and grids were fetched, once per session and address at most
    # (two unit sets, the density grid, the hexagons); the neighbours' shapes (two
    # families) and the hatching (two unit sets) are counted apart, with their own bounds
    kinds = summary["kinds"]
    assert 1 <= kinds["geojson"]["requests"] <= SESSIONS * 4
    assert kinds.get("context shapes", {"requests": 0})["requests"] <= SESSIONS * len(CONTEXT_STYLE)
    assert kinds.get("hatching", {"requests": 0})["requests"] <= SESSIONS * 2
    # two workers built their own app and none was replaced during the run
    assert server_log.count("app ready") == WORKERS
    assert len(summary["server_memory"]["workers"]) == WORKERS
    for bad in ("Traceback", "WORKER TIMEOUT", "[ERROR]", "callback failed"):
        assert bad not in server_log, server_log[-3000:]
