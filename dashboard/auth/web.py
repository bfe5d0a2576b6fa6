"""The server side of sign-in: session cookie, CSRF, role checks, audit — for every request.

:func:`install` adds to the Dash app's Flask server:

- ``/login`` (a plain HTML form, Vietnamese or English, with its own CSRF
  token) and ``/logout`` (POST with the session's CSRF token);
- a check before every request: the sign-in page, the favicon and the
  framework's static files (``/assets/…``, ``/_dash-component-suites/…``: exact
  paths, and folders with their slash) are public; anything else needs a live
  session (pages redirect to ``/login``, data answers 401);
  every POST carries the session's CSRF token in ``X-CSRFToken`` (Dash's
  renderer sends the ``_csrf_token`` cookie's value there by itself); every Dash
  callback request is allowed only if the role may open the page of every
  component it writes (:func:`dashboard.auth.roles.may_update`), else 403;
- the audit log, written here for every request so that no page can forget
  it: one row for each Dash callback request (``view``, ``export``,
  ``import`` or ``query``, with the outputs asked and the values of its inputs
  and states as compact JSON), one ``read`` row for each other data request
  (import templates, boundary files), and one ``refused`` row with its reason
  for each refusal (``no_session``, ``csrf``, ``role``, ``bad_body``), failed
  sign-ins (``sign_in_failed``: ``invalid``, ``throttled``, ``csrf`` …)
  included. The page shell, the layout and the framework files hold no data and
  are not recorded;
- security headers on every answer, and a neutral ``Server: Borderwatch``
  (the development server of :meth:`Flask.run` is told not to name itself,
  see :class:`NeutralRequestHandler`; gunicorn: :mod:`dashboard.wsgi`).

Callbacks read the signed-in role with :func:`current_role`.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import secrets
from urllib.parse import quote, urlparse

from flask import Response, g, redirect, request
from werkzeug.serving import WSGIRequestHandler

from dashboard.auth.accounts import DEMO_PASSWORD, AccountError, Accounts
from dashboard.auth.roles import ROLES, declared_output_ids, may_open, may_update, output_ids
from dashboard.i18n import LANGUAGES, translate
from dashboard.session_language import request_language

__all__ = ["CSRF_COOKIE", "SERVER_NAME", "SESSION_COOKIE", "NeutralRequestHandler",
           "current_role", "current_session", "install"]

SESSION_COOKIE = "bw_session"
CSRF_COOKIE = "_csrf_token"  # the name Dash's renderer reads
_LOGIN_CSRF = "bw_login_csrf"
#: Paths anyone may ask for: these exact paths, and everything under these folders.
_PUBLIC_PATHS = frozenset({"/login", "/_favicon.ico"})
_PUBLIC_FOLDERS = ("/_dash-component-suites/", "/assets/")
#: Endpoints that hold no data (the page shell, the layout, the callback list): not audited.
_SHELL_ENDPOINTS = frozenset({"/", "/<path:path>", "/_dash-layout", "/_dash-dependencies",
                              "/_reload-hash", "static", "logout",
                              "basemap_tile"})  # a pan asks for dozens of tiles
_PAGES = ("/", "/commander", "/planner", "/import")
#: Answers no cache keeps (beside every HTML page): they hold a session's data.
_NOT_KEPT = frozenset({"/_dash-update-component", "/_dash-layout", "/_dash-dependencies",
                       "/login"})
#: What the answers say the server is (not the software and version behind it).
SERVER_NAME = "Borderwatch"


class NeutralRequestHandler(WSGIRequestHandler):
    """Werkzeug's development server, without its own ``Server: Werkzeug/… Python/…``
    header: the app's ``Server`` header is the only one (the base handler always adds its
    own, before the app's headers)."""

    def version_string(self) -> str:
        return SERVER_NAME

    def send_response(self, code, message=None):
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())


def _public(path: str) -> bool:
    """Whether ``path`` needs no session: the sign-in page, the favicon, and files the
    framework serves from its folders — only when the request was routed to the folder's
    own file route (``/_dash-component-suites/x`` falls through to the page route, which
    serves the Dash shell: that is not public)."""
    if path in _PUBLIC_PATHS:
        return True
    if not path.startswith(_PUBLIC_FOLDERS):
        return False
    rule = request.url_rule.rule if request.url_rule is not None else ""
    return rule.startswith(_PUBLIC_FOLDERS)


def current_session():
    """The signed-in session of the running request, or ``None`` outside one."""
    try:
        return g.get("session")
    except RuntimeError:  # no request (tests calling layouts directly)
        return None


def current_role() -> str | None:
    """The role of the running request's user; ``None`` when there is no request."""
    session = current_session()
    return session.role if session else None


def _accounts_unreachable(accounts: Accounts, err: Exception, path: str) -> Response:
    """The answer while the accounts cannot be read (their PostgreSQL is down): nobody's
    session can be checked, so nothing is served; a callback gets the app's alert (the page
    stays as it was and the next action tries again), a page a 503 saying why. The error
    goes to the server log; the reader sees the database named without its password."""
    import logging

    from dashboard import ids

    logging.getLogger("borderwatch").error("accounts unreachable", exc_info=err)
    text = translate("error.store", _lang(), detail=accounts.db.error_text(err))
    if path == "/_dash-update-component":
        body = {"multi": True, "response": {},
                "sideUpdate": {ids.ALERT: {"children": text, "className": "alert error"}}}
        return Response(json.dumps(body), status=200, mimetype="application/json")
    return Response(f"<!doctype html><meta charset=utf-8><title>Borderwatch</title>"
                    f"<p role=alert>{html.escape(text)}</p>", status=503, mimetype="text/html")


def _lang() -> str:
    """The language the request names, else the one kept for the browser session."""
    return request_language(g.get("default_lang", "vi"))


def _safe_next(target: str | None) -> str:
    """Only a path on this site (``/planner?…``), never ``//host`` or ``http://…``."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parsed = urlparse(target)
    return parsed.path + (f"?{parsed.query}" if parsed.query else "") if not parsed.netloc else "/"


def _login_page(lang: str, *, message: str = "", status: int = 200, next_path: str = "/",
                demo: bool = False) -> Response:
    t = lambda key, **kw: translate(key, lang, **kw)  # noqa: E731
    token = secrets.token_urlsafe(24)
    demo_note = ""
    if demo:
        names = ", ".join(f"<code>demo-{r}</code>" for r in ROLES)
        demo_note = (f'<div class="caveat" role="note">{html.escape(t("auth.demo_note"))}<br>'
                     f'{names} · {html.escape(t("auth.password"))}: <code>{DEMO_PASSWORD}</code>'
                     "</div>")
    error = f'<p class="error" role="alert">{html.escape(message)}</p>' if message else ""
    other = "en" if lang == "vi" else "vi"
    body = f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{html.escape(t("auth.title"))}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/assets/style.css"></head>
<body><header class="topbar"><h1>{html.escape(t("app.title"))}</h1>
<div class="lang-links"><a href="/login?lang={other}&next={quote(next_path)}">{
        html.escape(t(f"language.{other}"))}</a></div></header>
<main class="login"><h2>{html.escape(t("auth.title"))}</h2>{demo_note}{error}
<form method="post" action="/login" id="login-form">
<input type="hidden" name="csrf" value="{token}">
<input type="hidden" name="lang" value="{lang}">
<input type="hidden" name="next" value="{html.escape(next_path)}">
<label for="username">{html.escape(t("auth.username"))}</label>
<input id="username" name="username" autocomplete="username" required maxlength="64">
<label for="password">{html.escape(t("auth.password"))}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit" class="primary">{html.escape(t("auth.submit"))}</button>
</form></main></body></html>"""
    response = Response(body, status=status, mimetype="text/html")
    response.set_cookie(_LOGIN_CSRF, token, httponly=True, samesite="Strict",
                        secure=g.get("secure_cookies", False), max_age=3600)
    return response


def _dependency(item: dict) -> str:
    """``id.property`` of one output, input or state (pattern ids as compact JSON)."""
    ident = item.get("id")
    if isinstance(ident, dict):
        ident = json.dumps(ident, sort_keys=True, separators=(",", ":"))
    return f"{ident}.{item.get('property')}"


def _items(spec) -> list[dict]:
    """The dependency dicts of a request's ``outputs``/``inputs``/``state`` (a single dict, a
    list, or lists of them for pattern-matching wildcards)."""
    if isinstance(spec, dict):
        return [spec]
    if isinstance(spec, list):
        return [d for item in spec for d in _items(item)]
    return []


def _value(value):
    """A value as the audit keeps it: an uploaded file (a ``data:`` URL) by its size and
    SHA-256 only — the log must never hold a copy of the records it audits."""
    if isinstance(value, str) and value.startswith("data:") and ";base64," in value[:200]:
        payload = value.split(",", 1)[1]
        digest = hashlib.sha256(payload.encode("ascii", "replace")).hexdigest()
        return {"upload_base64_chars": len(payload), "sha256_of_base64": digest}
    return value


def _callback_detail(body: dict) -> dict:
    """What a callback request asked: its outputs and the values of its inputs and states."""
    detail = {"outputs": [_dependency(o) for o in _items(body.get("outputs"))],
              "inputs": {_dependency(i): _value(i.get("value"))
                         for i in _items(body.get("inputs"))}}
    state = {_dependency(i): _value(i.get("value")) for i in _items(body.get("state"))}
    if state:
        detail["state"] = state
    changed = body.get("changedPropIds")
    if changed:
        detail["changed"] = changed
    return detail


def _audit_callback(accounts: Accounts, session, body: dict, outputs: list[str]) -> None:
    """One row for each callback request: views, exports and imports by name, any other
    callback (filters, tables, maps …) as ``query``; the detail says what it asked."""
    if "page" in outputs:  # the address bar: the route's state (dashboard/route_gate.py)
        where = {i.get("property"): i.get("value")
                 for i in _items(body.get("inputs")) + _items(body.get("state"))}
        target = f"{where.get('pathname') or '/'}{where.get('search') or ''}"
        action = "view"
    elif any("download" in o for o in outputs):
        target, action = ",".join(o for o in outputs if "download" in o), "export"
    elif "import-result" in outputs:
        target, action = "import-result", "import"
    else:
        target, action = ",".join(outputs), "query"
    accounts.audit(action, username=session.username, role=session.role, target=target,
                   detail=_callback_detail(body), address=request.remote_addr or "")


def _audit_refusal(accounts: Accounts, session, reason: str, target: str | None = None) -> None:
    """One ``refused`` row: who (if signed in), what was asked, why it was refused."""
    accounts.audit("refused", username=session.username if session else None,
                   role=session.role if session else None,
                   target=target if target is not None else request.full_path.rstrip("?"),
                   detail=reason, address=request.remote_addr or "")


def _refused(accounts: Accounts, session, reason: str, status: int, message: str, *,
             target: str | None = None) -> Response:
    """A refusal, audited with its reason: a JSON answer with ``status``."""
    _audit_refusal(accounts, session, reason, target)
    return Response(json.dumps({"error": message}), status=status, mimetype="application/json")


def install(app, accounts: Accounts, *, default_lang: str = "vi", secure_cookies: bool = False,
            demo_open: callable = lambda: False) -> None:
    """Put sign-in, CSRF, role checks, audit and security headers in front of ``app``.

    Parameters
    ----------
    app : Dash
    accounts : Accounts
    demo_open : callable
        Whether the sign-in page announces the demo accounts (while the store holds the
        synthetic demo data). The accounts themselves are closed by ``serve`` when it
        starts on real records (:func:`dashboard.serving.serving_accounts`).
    """
    server = app.server

    @server.before_request
    def check():
        g.default_lang = default_lang
        g.secure_cookies = secure_cookies
        path = request.path
        if _public(path):
            return None
        try:
            session = accounts.session(request.cookies.get(SESSION_COOKIE))
        except accounts.db.errors as err:  # the accounts' database is away: say so, no 500
            return _accounts_unreachable(accounts, err, path)
        if session is None:
            if request.method == "GET" and path in _PAGES:
                _audit_refusal(accounts, None, "no_session")
                return redirect(f"/login?next={quote(request.full_path.rstrip('?'))}")
            return _refused(accounts, None, "no_session", 401, "sign-in required")
        g.session = session
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            sent = request.headers.get("X-CSRFToken") or request.form.get("csrf", "")
            if not sent or not hmac.compare_digest(sent, session.csrf):
                return _refused(accounts, session, "csrf", 403, "CSRF token missing or wrong",
                                target=path)
        if path.startswith("/template/") and not may_open(session.role, "/import"):
            return _refused(accounts, session, "role", 403, "forbidden")
        if path == "/_dash-update-component":
            body = request.get_json(silent=True)
            if not isinstance(body, dict):
                return _refused(accounts, session, "bad_body", 400, "bad request", target=path)
            key = body.get("output")
            if not isinstance(key, str) or key not in app.callback_map:
                return _refused(accounts, session, "bad_body", 400, "bad request", target=path)
            outputs, declared = output_ids(body), declared_output_ids(key)
            if not may_update(session.role, declared) or not may_update(session.role, outputs):
                return _refused(accounts, session, "role", 403, "not allowed for this role",
                                target=",".join(declared)[:300])
            if sorted(set(outputs)) != sorted(set(declared)):  # claims other outputs than it runs
                return _refused(accounts, session, "bad_body", 400, "bad request",
                                target=",".join(declared)[:300])
            _audit_callback(accounts, session, body, outputs)
        elif request.method != "OPTIONS" and request.endpoint not in _SHELL_ENDPOINTS | {None}:
            accounts.audit("read", username=session.username, role=session.role,
                           target=request.full_path.rstrip("?"),
                           address=request.remote_addr or "")
        return None

    @server.after_request
    def headers(response):
        response.headers["Server"] = SERVER_NAME
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Content-Security-Policy", "frame-ancestors 'none'")
        if request.path in _NOT_KEPT or response.mimetype == "text/html":
            # a page shell, its layout and every answer belong to a session: never kept, so
            # Back after signing out asks the server again, which sends the sign-in page
            # (a kept shell would ask for its layout without a session: "Error loading layout")
            response.headers["Cache-Control"] = "no-store"
        location = response.headers.get("Location", "")
        lang = request.args.get("lang")
        if (response.status_code in (302, 303) and location.startswith("/login?next=")
                and "&lang=" not in location and lang in LANGUAGES):
            # a page of a lost session sends to the sign-in page in the language it was in
            response.headers["Location"] = f"{location}&lang={lang}"
        return response

    _serve_neutrally(server)

    def login():
        lang = _lang()
        next_path = _safe_next(request.values.get("next"))
        if request.method in ("GET", "HEAD"):  # HEAD: the page's headers, not a sign-in
            return _login_page(lang, next_path=next_path, demo=demo_open())
        sent, kept = request.form.get("csrf", ""), request.cookies.get(_LOGIN_CSRF, "")
        if not sent or not kept or not hmac.compare_digest(sent, kept):
            accounts.audit("sign_in_failed", username=request.form.get("username", "")
                           .strip()[:64], target="csrf", address=request.remote_addr or "")
            return _login_page(lang, message=translate("auth.expired", lang), status=403,
                               next_path=next_path, demo=demo_open())
        username = request.form.get("username", "")
        address = request.remote_addr or ""
        try:
            role = accounts.authenticate(username, request.form.get("password", ""), address)
        except AccountError as err:
            accounts.audit("sign_in_failed", username=username.strip()[:64], target=err.code,
                           address=address)
            status = 429 if err.code == "throttled" else 401
            return _login_page(lang, message=translate(f"auth.error.{err.code}", lang),
                               status=status, next_path=next_path, demo=demo_open())
        token, csrf = accounts.start_session(username.strip())
        accounts.audit("sign_in", username=username.strip(), role=role, address=address)
        target = next_path if may_open(role, urlparse(next_path).path) else "/"
        if "lang=" not in target:
            target += ("&" if "?" in target else "?") + f"lang={lang}"
        response = redirect(target)
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="Lax",
                            secure=secure_cookies, path="/")
        response.set_cookie(CSRF_COOKIE, csrf, httponly=False, samesite="Strict",
                            secure=secure_cookies, path="/")
        response.delete_cookie(_LOGIN_CSRF)
        return response

    def logout():
        session = g.get("session")
        accounts.audit("sign_out", username=session.username, role=session.role,
                       address=request.remote_addr or "")
        accounts.end_session(request.cookies.get(SESSION_COOKIE))
        response = redirect(f"/login?lang={_lang()}")
        response.delete_cookie(SESSION_COOKIE, path="/")
        response.delete_cookie(CSRF_COOKIE, path="/")
        return response

    server.add_url_rule("/login", endpoint="login", view_func=login, methods=["GET", "POST"])
    server.add_url_rule("/logout", endpoint="logout", view_func=logout, methods=["POST"])


def _serve_neutrally(server) -> None:
    """Make ``server.run`` (Werkzeug's development server, ``borderwatch serve``) use
    :class:`NeutralRequestHandler` unless told another handler."""
    run = server.run

    def run_neutrally(*args, **options):
        options.setdefault("request_handler", NeutralRequestHandler)
        return run(*args, **options)

    server.run = run_neutrally
