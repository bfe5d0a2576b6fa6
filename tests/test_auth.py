"""Security suite: sign-in, sessions, CSRF, throttling, every role against every page,
callback and export, and the audit log — through the real Flask server (test client)."""

from __future__ import annotations

import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from dashboard.app import create_app
from dashboard.auth.accounts import (DEMO_PASSWORD, MAX_PAIR_FAILURES, AccountError,
                                     Accounts)
from dashboard.auth.roles import ROLES, SEES_POINTS, may_update, output_ids, suppressed_for
from dashboard.context import build_context
from geo.config import Settings
from tests.cache import PLAN_CACHE, demo_data


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    settings = Settings(data_dir=tmp_path_factory.mktemp("auth") / "var", cache_dir=PLAN_CACHE)
    demo_data(settings)
    ctx = build_context(settings)
    accounts = Accounts(settings.data_dir / "accounts.sqlite")
    accounts.ensure_demo_users()
    app = create_app(settings, ctx, accounts)
    return app, accounts


def _form_token(client, lang: str = "vi") -> str:
    page = client.get(f"/login?lang={lang}").get_data(as_text=True)
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def _sign_in(client, username: str, password: str = DEMO_PASSWORD):
    return client.post("/login", data={"csrf": _form_token(client), "username": username,
                                       "password": password, "next": "/commander"})


def _signed_in(app, role: str):
    client = app.server.test_client()
    assert _sign_in(client, f"demo-{role}").status_code == 302
    return client


def _csrf(client) -> str:
    return client.get_cookie("_csrf_token").value


def _key(app, *needles: str) -> str:
    return next(k for k in app.callback_map if all(n in k for n in needles))


def _call(app, client, key: str, values: dict | None = None, *, csrf: str | None = "auto"):
    """POST one callback as Dash's renderer does; ``values`` by "id.property"."""
    spec = app.callback_map[key]
    values = values or {}

    def items(deps):
        return [{"id": d["id"], "property": d["property"],
                 "value": values.get(f"{d['id']}.{d['property']}")} for d in deps]

    outputs = [{"id": o.split(".")[0].strip("."), "property": o.split(".")[1].split("@")[0]}
               for o in key.strip(".").split("...")]
    body = {"output": key, "outputs": outputs if key.startswith("..") else outputs[0],
            "inputs": items(spec["inputs"]), "state": items(spec["state"]),
            "changedPropIds": [f"{d['id']}.{d['property']}" for d in spec["inputs"][:1]]}
    headers = {}
    if csrf == "auto":
        headers["X-CSRFToken"] = _csrf(client)
    elif csrf:
        headers["X-CSRFToken"] = csrf
    return client.post("/_dash-update-component", json=body, headers=headers)


def _route(app, client, path: str):
    return _call(app, client, _key(app, "page.children", "rendered-view.data"),
                 {"url.pathname": path, "url.search": ""})


# --------------------------------------------------------------------- accounts


def test_passwords_are_argon2id_hashes_and_rules_hold(tmp_path):
    accounts = Accounts(tmp_path / "a.sqlite")
    accounts.create_user("tuan", "mat-khau-dai-du", "planner")
    stored = accounts.db.execute("SELECT password_hash FROM users").fetchone()[0]
    assert stored.startswith("$argon2id$") and "mat-khau-dai-du" not in stored
    assert accounts.authenticate("tuan", "mat-khau-dai-du") == "planner"
    for bad in (("tuan", "mat-khau-dai-du", "planner", "exists"),
                ("lan", "ngan", "viewer", "weak_password"),
                ("lan", "mat-khau-dai-du", "superuser", "bad_role"),
                ("a b", "mat-khau-dai-du", "viewer", "bad_name")):
        with pytest.raises(AccountError) as err:
            accounts.create_user(*bad[:3])
        assert err.value.code == bad[3]
    with pytest.raises(AccountError) as err:
        accounts.authenticate("nobody", "mat-khau-dai-du")
    assert err.value.code == "invalid"


class _CountingHasher:
    """argon2id with cheap parameters whose checks are counted and last ``seconds`` each, as
    a real check does (64 MiB, tens of milliseconds): parallel guesses overlap."""

    def __init__(self, seconds: float = 0.05):
        from argon2 import PasswordHasher

        self._hasher = PasswordHasher(time_cost=1, memory_cost=256, parallelism=1)
        self.seconds, self.checks = seconds, 0
        self._lock = threading.Lock()

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        with self._lock:
            self.checks += 1
        time.sleep(self.seconds)
        return self._hasher.verify(password_hash, password)


def _counted(tmp_path) -> tuple[Accounts, _CountingHasher]:
    accounts = Accounts(tmp_path / "a.sqlite")
    accounts._hasher = hasher = _CountingHasher()
    accounts.create_user("tuan", "mat-khau-dai-du", "viewer")
    return accounts, hasher


def _refusal(accounts: Accounts, username: str, password: str, address: str) -> str | None:
    try:
        accounts.authenticate(username, password, address)
    except AccountError as err:
        return err.code
    return None


def test_parallel_guesses_get_no_more_checks_than_the_limit(tmp_path):
    """40 guesses at once from one address: the count and the reservation are one step, so
    at most MAX_PAIR_FAILURES passwords are checked (the old count-then-check let 17 through
    in production, 40 here)."""
    accounts, hasher = _counted(tmp_path)
    start = threading.Barrier(40)

    def guess(n: int) -> str | None:
        accounts.db._connection()  # each thread its own connection, opened before the race
        start.wait()
        return _refusal(accounts, "tuan", f"doan-sai-{n:04d}", "10.0.0.1")

    with ThreadPoolExecutor(40) as pool:
        codes = list(pool.map(guess, range(40)))
    assert hasher.checks == MAX_PAIR_FAILURES == 5
    assert codes.count("invalid") == 5 and codes.count("throttled") == 35
    # the attacker's address stays refused, even with the right password
    assert _refusal(accounts, "tuan", "mat-khau-dai-du", "10.0.0.1") == "throttled"
    assert hasher.checks == 5


def _guesses_in_one_worker(path, start, results) -> None:
    """One server worker process: its own accounts object, 10 parallel wrong guesses."""
    accounts = Accounts(path)
    accounts._hasher = hasher = _CountingHasher()
    accounts.db._connection()
    start.wait()
    with ThreadPoolExecutor(10) as pool:
        codes = list(pool.map(lambda n: _refusal(accounts, "tuan", f"sai-{n:04d}", "10.0.0.1"),
                              range(10)))
    results.put((hasher.checks, codes.count("invalid")))


def test_parallel_guesses_across_worker_processes(tmp_path):
    """gunicorn's workers share the accounts file: 4 processes × 10 guesses, 5 checks."""
    import multiprocessing

    accounts, _ = _counted(tmp_path)
    context = multiprocessing.get_context("fork")
    start, results = context.Barrier(4), context.Queue()
    workers = [context.Process(target=_guesses_in_one_worker,
                               args=(accounts.path, start, results)) for _ in range(4)]
    for worker in workers:
        worker.start()
    counts = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    assert sum(checks for checks, _ in counts) == MAX_PAIR_FAILURES
    assert sum(invalid for _, invalid in counts) == MAX_PAIR_FAILURES


def test_colleagues_behind_one_address_sign_in_at_once(tmp_path):
    """30 accounts behind one NAT address sign in at the same moment, each check overlapping
    the others, after three typos from the same address: none is refused (a running check
    counts only for its own account and address; the count of a check as an address's
    failure refused the 18th), and the address's real failures still count."""
    accounts, hasher = _counted(tmp_path)
    names = [f"canbo{n:02d}" for n in range(30)]
    for name in names:
        accounts.create_user(name, "mat-khau-dai-du", "planner")
    for n in range(3):  # three typos earlier from the same office
        assert _refusal(accounts, names[n], "go-nham-mat-khau", "10.0.0.7") == "invalid"
    one_at_a_time = hasher.seconds
    hasher.seconds = 3.0  # every check still runs when the last one is reserved
    start = threading.Barrier(len(names))

    def sign_in(name: str) -> str:
        accounts.db._connection()
        start.wait()
        try:
            return accounts.authenticate(name, "mat-khau-dai-du", "10.0.0.7")
        except AccountError as err:
            return err.code

    with ThreadPoolExecutor(len(names)) as pool:
        roles = list(pool.map(sign_in, names))
    assert roles == ["planner"] * len(names)
    assert hasher.checks == 3 + len(names)
    hasher.seconds = one_at_a_time  # the checks below run one after the other: no overlap
    # (each one's earlier typos were forgotten with its sign-in) real failures still count:
    # 20 from the address, and it is refused, whatever the name
    assert accounts.authenticate("tuan", "mat-khau-dai-du", "10.0.0.7") == "viewer"
    for n in range(20):
        assert _refusal(accounts, f"khac{n}", "doan-sai", "10.0.0.7") == "invalid"
    assert _refusal(accounts, names[5], "mat-khau-dai-du", "10.0.0.7") == "throttled"


def test_a_burst_of_guesses_at_many_names_is_bounded(tmp_path):
    """Parallel guesses at 80 names from one address: the checks running at once and the
    failures together stop at MAX_ADDRESS_CHECKS, then the failures refuse the address."""
    from dashboard.auth.accounts import MAX_ADDRESS_CHECKS

    accounts, hasher = _counted(tmp_path)
    hasher.seconds = 0.5
    start = threading.Barrier(80)

    def guess(n: int) -> str | None:
        accounts.db._connection()
        start.wait()
        return _refusal(accounts, f"ten{n:03d}", "doan-sai-mat-khau", "10.0.0.66")

    with ThreadPoolExecutor(80) as pool:
        codes = list(pool.map(guess, range(80)))
    assert hasher.checks == codes.count("invalid") <= MAX_ADDRESS_CHECKS
    assert codes.count("throttled") == 80 - hasher.checks >= 80 - MAX_ADDRESS_CHECKS
    assert _refusal(accounts, "tuan", "mat-khau-dai-du", "10.0.0.66") == "throttled"


def test_a_check_whose_worker_died_counts_as_a_failure(tmp_path):
    """A check reserved and never ended (its worker killed mid-check) is no free guess: it
    counts for its pair at once, and for its address once CHECK_SECONDS have passed."""
    import datetime as dt

    from dashboard.auth.accounts import CHECK_SECONDS

    accounts, hasher = _counted(tmp_path)
    hasher.seconds = 0
    for n in range(MAX_PAIR_FAILURES):
        accounts._reserve_attempt("tuan", "10.0.0.3")  # dead checks of one pair
    assert _refusal(accounts, "tuan", "mat-khau-dai-du", "10.0.0.3") == "throttled"
    assert _refusal(accounts, "lan", "doan-sai", "10.0.0.3") == "invalid"  # the address not yet
    old = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=CHECK_SECONDS + 5))
    for n in range(19):
        accounts.db.execute("INSERT INTO sign_in_checks VALUES (?, ?, ?, ?)",
                            (f"dead{n}", f"ten{n}", "10.0.0.4", old.isoformat(timespec="microseconds")))
    assert _refusal(accounts, "lan", "doan-sai", "10.0.0.4") == "invalid"  # the 20th failure
    assert _refusal(accounts, "tuan", "mat-khau-dai-du", "10.0.0.4") == "throttled"
    assert hasher.checks == 2


def test_an_attacker_cannot_lock_a_user_out(tmp_path):
    accounts, hasher = _counted(tmp_path)
    hasher.seconds = 0
    codes = [_refusal(accounts, "tuan", f"doan-sai-{n}", "10.0.0.66") for n in range(50)]
    assert codes.count("invalid") == 5 and codes.count("throttled") == 45
    # the user, from their own machine, signs in with the right password
    assert accounts.authenticate("tuan", "mat-khau-dai-du", "10.0.0.2") == "viewer"
    # many addresses guessing one name: once it has 10 failures in all, each address that
    # has failed once is refused; the user's own address (no failure) still signs in
    for n in range(8):
        assert _refusal(accounts, "tuan", "doan-sai", f"10.1.0.{n}") == "invalid"
    assert hasher.checks == 14
    for n in range(8):
        assert _refusal(accounts, "tuan", "doan-sai", f"10.1.0.{n}") == "throttled"
    assert hasher.checks == 14
    assert accounts.authenticate("tuan", "mat-khau-dai-du", "10.0.0.2") == "viewer"
    # one address guessing many names is stopped, whatever the names
    for n in range(20):
        assert _refusal(accounts, f"user{n}", "doan-sai-mat-khau", "10.0.0.9") == "invalid"
    accounts.create_user("lan", "mat-khau-dai-du", "viewer")
    assert _refusal(accounts, "lan", "mat-khau-dai-du", "10.0.0.9") == "throttled"
    assert accounts.authenticate("lan", "mat-khau-dai-du", "10.0.0.10") == "viewer"


def test_a_right_password_clears_the_failures_of_its_address(tmp_path):
    accounts, hasher = _counted(tmp_path)
    hasher.seconds = 0
    for _ in range(4):
        assert _refusal(accounts, "tuan", "go-nham-mat-khau", "10.0.0.2") == "invalid"
    assert accounts.authenticate("tuan", "mat-khau-dai-du", "10.0.0.2") == "viewer"
    for _ in range(4):  # a typo after signing in is not the fifth failure
        assert _refusal(accounts, "tuan", "go-nham-mat-khau", "10.0.0.2") == "invalid"
    assert accounts.authenticate("tuan", "mat-khau-dai-du", "10.0.0.2") == "viewer"


def test_sessions_end_on_sign_out_role_change_and_disable(tmp_path):
    accounts = Accounts(tmp_path / "a.sqlite")
    accounts.create_user("tuan", "mat-khau-dai-du", "commander")
    token, csrf = accounts.start_session("tuan")
    assert accounts.session(token).role == "commander" and accounts.session(token).csrf == csrf
    assert accounts.session("forged-token") is None
    accounts.set_role("tuan", "viewer")
    assert accounts.session(token) is None
    token, _ = accounts.start_session("tuan")
    accounts.disable("tuan")
    assert accounts.session(token) is None
    with pytest.raises(AccountError):
        accounts.authenticate("tuan", "mat-khau-dai-du")


# --------------------------------------------------------------------- the web


def test_nothing_without_signing_in(world):
    app, _ = world
    client = app.server.test_client()
    assert client.get("/").status_code == 302
    assert client.get("/commander?layer=gi").headers["Location"].startswith(
        "/login?next=/commander")
    assert client.get("/geo/communes_2025.geojson").status_code == 401
    assert client.get("/_dash-layout").status_code == 401
    assert client.get("/template/incidents.xlsx").status_code == 401
    assert client.post("/_dash-update-component", json={}).status_code == 401
    assert client.get("/assets/style.css").status_code == 200
    page = client.get("/login").get_data(as_text=True)
    assert "Đăng nhập" in page and "demo-commander" in page and DEMO_PASSWORD in page


def test_pages_are_never_kept_and_a_lost_session_signs_in_in_its_language(world):
    """Back after signing out must ask the server again (issue 17): the page shell, its
    layout and the sign-in page are ``no-store``; the redirect keeps the page's language."""
    app, _ = world
    client = _signed_in(app, "planner")
    for path in ("/", "/planner?lang=en", "/_dash-layout", "/_dash-dependencies", "/login"):
        assert client.get(path).headers.get("Cache-Control") == "no-store", path
    assert client.get("/assets/style.css").headers.get("Cache-Control") != "no-store"
    gone = app.server.test_client()
    redirect = gone.get("/planner?lang=en&layer=gaps")
    assert redirect.status_code == 302 and redirect.headers["Cache-Control"] == "no-store"
    assert redirect.headers["Location"] == "/login?next=/planner%3Flang%3Den%26layer%3Dgaps&lang=en"
    login = gone.get(redirect.headers["Location"]).get_data(as_text=True)
    assert '<html lang="en">' in login and "Sign in" in login
    assert gone.get("/planner").headers["Location"] == "/login?next=/planner"


def test_public_paths_are_exact_not_prefixes(world):
    """/loginx, /assetsX … are not the sign-in page or a static folder: no Dash shell."""
    app, _ = world
    client = app.server.test_client()
    for path in ("/loginx", "/loginANYTHING", "/login/x", "/assetsX", "/assets",
                 "/_favicon.icox", "/_dash-component-suitesX/dash/x.js",
                 "/_dash-component-suites/x", "/_dash-component-suites/x/", "/assets/"):
        answer = client.get(path)
        assert answer.status_code in (302, 401), path
        if answer.status_code == 302:
            assert answer.headers["Location"].startswith("/login?"), path
        body = answer.get_data(as_text=True)
        assert "react-entry-point" not in body and "_dash-config" not in body, path
    assert client.get("/login").status_code == 200
    assert client.head("/login").status_code == 200  # not a failed sign-in
    assert client.get("/_favicon.ico").status_code == 200
    assert client.get("/assets/style.css").status_code == 200


def test_the_page_shell_names_no_python_version(world):
    """Dash puts ``sys.version`` in every page's configuration; ours leaves it out."""
    import sys

    app, _ = world
    client = _signed_in(app, "commander")
    body = client.get("/", follow_redirects=True).get_data(as_text=True)  # to /?lang=vi
    assert "_dash-config" in body
    assert "python_version" not in body and sys.version.split()[0] not in body


def test_server_header_names_no_software(tmp_path):
    """A real request to the development server (``borderwatch serve``) and to gunicorn
    (``serve --workers N``): one ``Server: Borderwatch`` header, no Werkzeug, no Python,
    no gunicorn."""
    import os
    import subprocess
    import urllib.request

    from dashboard.wsgi import gunicorn_command, settings_env
    from tests.browser import free_port, running_server

    settings = Settings(data_dir=tmp_path / "var")
    Accounts(settings.data_dir / "accounts.sqlite").create_user("tuan", "mat-khau-dai-du",
                                                                "viewer")

    def server_headers(url: str) -> list[str]:
        seen = []
        for path in ("/login", "/assets/style.css", "/_dash-layout"):
            try:
                with urllib.request.urlopen(url + path, timeout=30) as answer:
                    seen.append(answer.headers.get_all("Server"))
            except urllib.error.HTTPError as err:  # /_dash-layout: 401 without a session
                seen.append(err.headers.get_all("Server"))
        return seen

    with running_server(settings.data_dir, "--no-demo") as url:
        assert server_headers(url) == [["Borderwatch"]] * 3

    port = free_port()
    log = tmp_path / "gunicorn.log"
    with open(log, "w") as handle:
        proc = subprocess.Popen(gunicorn_command(port=port, workers=1, threads=2),
                                stdout=handle, stderr=subprocess.STDOUT,
                                env={**os.environ, **settings_env(settings, demo=False)})
    try:
        deadline = time.monotonic() + 120
        while "app ready" not in log.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        assert server_headers(f"http://127.0.0.1:{port}") == [["Borderwatch"]] * 3
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_wrong_password_and_form_without_token(world):
    app, accounts = world
    client = app.server.test_client()
    answer = _sign_in(client, "demo-viewer", "wrong-password")
    assert answer.status_code == 401 and "Sai tên đăng nhập" in answer.get_data(as_text=True)
    _form_token(client)
    forged = client.post("/login", data={"csrf": "forged", "username": "demo-viewer",
                                         "password": DEMO_PASSWORD})
    assert forged.status_code == 403 and client.get_cookie("bw_session") is None
    assert accounts.audit_log(action="sign_in_failed", limit=1)[0]["username"] == "demo-viewer"


def test_open_redirects_are_refused(world):
    app, _ = world
    client = app.server.test_client()
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        answer = client.post("/login", data={"csrf": _form_token(client),
                                              "username": "demo-viewer",
                                              "password": DEMO_PASSWORD, "next": target})
        assert answer.headers["Location"].startswith("/?") or \
            answer.headers["Location"].startswith("/commander")
        assert "evil" not in answer.headers["Location"]


def test_session_fixation_is_impossible(world):
    app, accounts = world
    client = app.server.test_client()
    client.set_cookie("bw_session", "attacker-chosen-token")
    assert client.get("/").status_code == 302  # a made-up token is no session
    _sign_in(client, "demo-planner")
    issued = client.get_cookie("bw_session").value
    assert issued != "attacker-chosen-token" and accounts.session(issued).role == "planner"
    other = app.server.test_client()
    _sign_in(other, "demo-planner")
    assert other.get_cookie("bw_session").value != issued  # every sign-in: a new session
    cookie = client.get_cookie("bw_session")
    assert "HttpOnly" in str(client.get("/login").headers) or cookie is not None
    out = client.post("/logout", data={"csrf": _csrf(client)})
    assert out.status_code == 302 and accounts.session(issued) is None
    replay = app.server.test_client()
    replay.set_cookie("bw_session", issued)
    assert replay.get("/").status_code == 302


def test_cookie_flags(world):
    app, _ = world
    client = app.server.test_client()
    answer = _sign_in(client, "demo-viewer")
    cookies = answer.headers.getlist("Set-Cookie")
    session = next(c for c in cookies if c.startswith("bw_session="))
    csrf = next(c for c in cookies if c.startswith("_csrf_token="))
    assert "HttpOnly" in session and "SameSite=Lax" in session
    assert "HttpOnly" not in csrf and "SameSite=Strict" in csrf  # Dash's renderer reads it


def test_csrf_is_required_on_every_callback(world):
    app, accounts = world
    client = _signed_in(app, "commander")
    assert _route(app, client, "/commander").status_code == 200
    key = _key(app, "page.children", "rendered-view.data")
    assert _call(app, client, key, {"url.pathname": "/"}, csrf=None).status_code == 403
    assert _call(app, client, key, {"url.pathname": "/"}, csrf="forged").status_code == 403
    assert client.post("/logout").status_code == 403  # sign-out needs the token too
    assert accounts.audit_log(action="refused", limit=1)[0]["detail"] == "csrf"


_EXPECTED_PAGES = {
    "commander": {"/": True, "/commander": True, "/planner": True, "/import": True,
                  "/reporting": True},
    "planner": {"/": True, "/commander": False, "/planner": True, "/import": True,
                "/reporting": True},
    "viewer": {"/": True, "/commander": False, "/planner": False, "/import": False,
               "/reporting": False},
    "admin": {"/": True, "/commander": False, "/planner": False, "/import": True,
              "/reporting": True},
}


@pytest.mark.parametrize("role", ROLES)
def test_each_role_against_each_page(world, role):
    app, _ = world
    client = _signed_in(app, role)
    for path, allowed in _EXPECTED_PAGES[role].items():
        answer = _route(app, client, path)
        assert answer.status_code == 200
        body = json.dumps(answer.get_json(), ensure_ascii=False)
        assert ('"forbidden"' not in body) is allowed, (role, path)
        nav = re.findall(r'"href": ?"(/[a-z]*)\?lang=vi"', body)
        assert set(nav) == {p for p, ok in _EXPECTED_PAGES[role].items() if ok}


_PAGE_CALLBACKS = {  # one data callback and the exports of each page
    "/commander": (("cmd-map.figure", "cmd-note.children"), ("cmd-table.children",),
                   ("cmd-download.data",)),
    "/planner": (("plan-map.figure", "plan-table.children"), ("plan-download.data",),
                 ("plan-download-html.data",)),
    "/": (("commune-map.figure", "kpi-total.children"), ("ov-download.data",)),
    "/import": (("import-preview.children",),),
    "/reporting": (("rep-summary.children", "rep-table.children"),
                   ("rep-period.options",)),
}


@pytest.mark.parametrize("role", ROLES)
def test_each_role_against_each_callback_and_export(world, role):
    app, _ = world
    client = _signed_in(app, role)
    for path, callbacks in _PAGE_CALLBACKS.items():
        for needles in callbacks:
            key = _key(app, *needles)
            answer = _call(app, client, key)
            allowed = _EXPECTED_PAGES[role][path]
            if allowed:
                assert answer.status_code in (200, 204), (role, key, answer.status_code)
            else:
                assert answer.status_code == 403, (role, key)
                assert "Traceback" not in answer.get_data(as_text=True)


def test_import_templates_by_role(world):
    app, _ = world
    assert _signed_in(app, "viewer").get("/template/incidents.xlsx").status_code == 403
    for role in ("commander", "planner"):  # the roles that open /import (roles.PAGES)
        answer = _signed_in(app, role).get("/template/incidents.xlsx")
        assert answer.status_code == 200 and answer.data[:2] == b"PK"


def test_audit_log_records_views_exports_and_refusals(world):
    app, accounts = world
    client = _signed_in(app, "commander")
    _call(app, client, _key(app, "page.children", "rendered-view.data"),
          {"url.pathname": "/commander", "url.search": "?layer=gi"})
    view = accounts.audit_log(action="view", username="demo-commander", limit=1)[0]
    assert view["target"] == "/commander?layer=gi" and view["role"] == "commander"
    answer = _call(app, client, _key(app, "cmd-download.data"),
                   {"cmd-export-xlsx.n_clicks": 1, "cmd-layer.value": "rates",
                    "cmd-types.value": ["victim"], "cmd-units.value": "2025",
                    "page-lang.data": "vi"})
    assert answer.status_code == 200
    export = accounts.audit_log(action="export", limit=1)[0]
    assert export["username"] == "demo-commander" and "cmd-download" in export["target"]
    viewer = _signed_in(app, "viewer")
    _call(app, viewer, _key(app, "cmd-map.figure", "cmd-note.children"))
    refused = accounts.audit_log(action="refused", limit=1)[0]
    assert refused["username"] == "demo-viewer" and refused["detail"] == "role"
    signed = {r["username"] for r in accounts.audit_log(action="sign_in", limit=50)}
    assert {"demo-commander", "demo-viewer"} <= signed


def test_the_roles_are_those_of_the_release():
    # one home: the accounts' roles and who sees counts as they are come from the release
    from layers.suppression import UNRESTRICTED_ROLES, Role

    assert ROLES == ("commander", "planner", "viewer", "admin")
    assert ROLES == tuple(role.value for role in Role)
    assert SEES_POINTS == {role.value for role in UNRESTRICTED_ROLES} == {"commander"}
    assert [suppressed_for(role) for role in ROLES] == [False, True, True, True]


def test_role_rules_read_any_output_shape():
    body = {"outputs": [{"id": "page", "property": "children"},
                        {"id": {"type": "lang-link", "lang": "ALL"}, "property": "href"}]}
    assert output_ids(body) == ["page", "lang-link"]
    assert may_update("viewer", ["page", "lang-link"])
    assert not may_update("viewer", ["cmd-map"]) and not may_update(None, ["page"])
    assert not may_update("viewer", ["something-new"])  # unknown: strictest page
    assert not may_update("commander", [])
    pattern = {"outputs": {"id": '{"code":"1","type":"cmd-row"}', "property": "n_clicks"}}
    assert output_ids(pattern) == ["cmd-row"]


def test_demo_accounts_close_when_serving_real_records(tmp_path, capsys):
    from dash import Dash, html

    from dashboard.auth.web import install
    from dashboard.serving import serving_accounts

    settings = Settings(data_dir=tmp_path / "var")
    assert serving_accounts(settings, demo=True) is not None  # demo data: demo accounts
    assert "minhhoa-demo" in capsys.readouterr().out
    assert serving_accounts(settings, demo=False) is None  # real data, no real account
    assert "users add" in capsys.readouterr().err
    accounts = Accounts(settings.data_dir / "accounts.sqlite")
    assert all(u["disabled"] for u in accounts.users() if u["demo"])
    accounts.create_user("that", "mat-khau-dai-du", "viewer")
    assert serving_accounts(settings, demo=False) is not None
    app = Dash(__name__)
    app.layout = html.Div("x")
    install(app, accounts, demo_open=lambda: False)
    client = app.server.test_client()
    assert _sign_in(client, "demo-commander").status_code == 401
    assert DEMO_PASSWORD not in client.get("/login").get_data(as_text=True)
    assert _sign_in(client, "that", "mat-khau-dai-du").status_code == 302
    assert accounts.ensure_demo_users() == []  # real users exist: no new demo accounts
    assert json.loads(client.get("/_dash-layout").get_data(as_text=True))


def _overview_figure(app, client, search: str, *, timeout: float = 240.0) -> tuple[dict, str]:
    """The overview's map figure and page text as the route renders them for ``client``."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        answer = _route_search(app, client, "/", search)
        text = json.dumps(answer.get_json(), ensure_ascii=False)
        if "Đang chuẩn bị số liệu đã bảo mật" not in text or time.monotonic() > deadline:
            break
        time.sleep(3)  # the release plan is built in the background: nothing shown until then
    page = answer.get_json()["response"]["page"]["children"]
    found = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("props", {}).get("id") == "commune-map":
                found.append(node["props"]["figure"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(page)
    figure = found[0]
    z = figure["data"][0]["z"]
    if isinstance(z, dict):  # plotly's typed array: base64 of float64
        import base64

        import numpy as np

        z = np.frombuffer(base64.b64decode(z["bdata"]), dtype=z.get("dtype", "f8")).tolist()
    figure["data"][0]["z"] = [None if v != v else v for v in z]
    return figure, text


def _route_search(app, client, path: str, search: str):
    return _call(app, client, _key(app, "page.children", "rendered-view.data"),
                 {"url.pathname": path, "url.search": search})


def test_viewer_sees_small_counts_suppressed_commander_sees_them(world):
    app, _ = world
    search = "?types=victim&from=2025-01-01&to=2025-03-31&units=2025"
    commander_fig, _ = _overview_figure(app, _signed_in(app, "commander"), search)
    z = commander_fig["data"][0]["z"]
    assert any(1 <= v < 5 for v in z if v is not None), "the demo has small victim counts"

    viewer = _signed_in(app, "viewer")
    viewer_fig, text = _overview_figure(app, viewer, search)
    shown = viewer_fig["data"][0]
    assert not any(v is not None and 1 <= v < 5 for v in shown["z"])
    assert "< 5" in shown["customdata"]
    assert "được ẩn để bảo vệ nạn nhân" in text and "dưới 5" in text
    hidden = [c for c, v in zip(shown["customdata"], shown["z"]) if v is None]
    assert hidden and all(c in ("< 5", "x") for c in hidden)
    # a period off the quarter grid is rounded to it: no differencing by a few days
    nudged, note = _overview_figure(app, viewer, "?types=victim&from=2025-01-01&to=2025-02-15"
                                                 "&units=2025")
    assert nudged["data"][0]["z"] == shown["z"] and "làm tròn theo quý" in note
    # two types out of four is not a published figure: all types are shown instead
    _, note = _overview_figure(app, viewer, "?types=victim&types=tip&from=2025-01-01"
                                            "&to=2025-03-31")
    assert "Chỉ xem được từng loại vụ việc riêng" in note


def test_a_callback_is_judged_by_what_it_runs_not_by_the_outputs_it_claims(world):
    """A planner sending the commander's callback key with the planner's own ids in
    ``outputs`` is refused by the key's outputs (403, audited as a role refusal), not left
    to fail inside Dash (500); an unknown key, or outputs that are not the key's, is a bad
    request (400)."""
    app, accounts = world
    client = _signed_in(app, "planner")
    commander_key = _key(app, "cmd-map.figure", "cmd-note.children")
    planner_outputs = [{"id": "plan-note", "property": "children"}]
    body = {"output": commander_key, "outputs": planner_outputs, "inputs": [], "state": [],
            "changedPropIds": []}
    headers = {"X-CSRFToken": _csrf(client)}
    answer = client.post("/_dash-update-component", json=body, headers=headers)
    assert answer.status_code == 403
    row = accounts.audit_log(limit=1, username="demo-planner")[0]
    assert (row["action"], row["detail"]) == ("refused", "role")
    assert row["target"].startswith("cmd-map")
    unknown = dict(body, output="made-up.children")
    assert client.post("/_dash-update-component", json=unknown, headers=headers
                       ).status_code == 400
    overview_key = _key(app, "commune-map.figure", "kpi-total.children")
    claims_less = dict(body, output=overview_key, outputs=[{"id": "commune-map",
                                                            "property": "figure"}])
    assert client.post("/_dash-update-component", json=claims_less, headers=headers
                       ).status_code == 400
