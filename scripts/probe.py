"""Replay the attacks of issue 14 against a running server, from outside, over HTTP only.

An attacker with accounts does what the browser does, and what it would not:

1. signs in through the real form (its CSRF field and cookie; then the
   ``_csrf_token`` cookie goes back as ``X-CSRFToken`` on every POST);
2. sends every file of the hostile corpus (``scripts/hostile_uploads.py``: VRT
   documents in every accepted suffix reading ``/etc/passwd``, the record
   store, the accounts file, ``/proc/self/environ`` and a URL; GeoPackages with
   views and triggers; zip and entity bombs; wrong content for the suffix)
   through the import page's preview callback, with the body Dash's renderer
   builds: each must be refused, no answer may hold a line of what the file
   pointed at, and the listener the probe runs on 127.0.0.1 must hear nothing;
3. sends a request body over the server's limit: 413 at once, the body unread;
4. asks for ``/loginx``, ``/login/../``, ``/assetsx`` … without a session: never
   the Dash shell;
5. reads the ``Server`` header: never Werkzeug, Python or gunicorn;
6. races 40 wrong passwords for one made-up user name from one address: at most
   5 password checks (401), the rest throttled (429); the same with a forged
   ``X-Forwarded-For`` on each guess; then the real user still signs in from
   that address (nobody locks another user out);
7. as a planner (``--as-planner``): imports incidents, imports under the demo's
   source, previews the demo's own outreach record ids — refused, refused, and
   not one word of whether those records are stored;
8. as a planner, posts the commander's callbacks (honestly named, and with
   the planner's outputs in place of the commander's): 403, nothing computed.

It prints a table attack → expected → observed → PASS / FAIL / SKIP (an attack the
account's role makes inapplicable is SKIP, never PASS) and exits 1 if any
attack failed.

    python -m scripts.probe http://127.0.0.1:8050 --user demo-commander \\
        --password minhhoa-demo --as-planner demo-planner minhhoa-demo

Each run leaves 5 failed sign-ins on the probing address for 15 minutes (the
throttle race): after four runs within 15 minutes the address holds the 20 failures
an address may have, and a fifth run cannot sign in from it (wait, or probe from
another address).
"""

from __future__ import annotations

import argparse
import base64
import http.client
import http.cookies
import json
import os
import re
import secrets
import select
import socket
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from scripts.hostile_uploads import SUFFIXES, Case, Listener, build, vrt_document

__all__ = ["Answer", "Row", "Target", "main", "probe"]

#: What the hostile files try to read on the server (label → path, relative to the uploads
#: folder inside the data folder, as GDAL would resolve a VRT's source).
TARGETS = {"passwd": "/etc/passwd", "store": "../borderwatch.sqlite",
           "accounts": "../accounts.sqlite", "environ": "/proc/self/environ"}
#: What no answer may hold: lines of what the hostile files point at.
LEAKS = {
    "/etc/passwd line": re.compile(r"\b\w[\w-]*:x:\d+:\d+:"),
    "argon2 hash": re.compile(r"\$argon2"),
    "accounts column": re.compile(r"password_hash"),
    "environment": re.compile(r"BORDERWATCH_|\bPATH=|\bHOME=/"),
    "database URL": re.compile(r"postgres(?:ql)?://"),
    "stored record id": re.compile(r"DEMO-(?:INC|OUT|MOD)-\d"),
}
#: What a page of the Dash shell carries (the renderer and React).
_SHELL = re.compile(r"_dash-renderer|dash_renderer|_dash-config|react@|react-dom", re.I)
_SERVER_NAMES = re.compile(r"werkzeug|python|gunicorn|flask", re.I)
_LOGIN_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
#: Demo outreach rows as a file would carry them: the first one exactly as stored, the
#: second under a stored id with other content (a store comparison would say "duplicate"
#: for the first and "already stored with other content" for the second).
DEMO_OUTREACH = ("record_id,date,commune_code,format,participants,materials,agency\n"
                 "DEMO-OUT-000001,03/01/2022,27877,meeting,32,30,UBND xã\n"
                 "DEMO-OUT-000002,04/02/2023,25699,meeting,11,5,Đoàn TN\n")
_STORE_WORDS = re.compile(r"already stored|stored with other content|đã được lưu|"
                          r"đã lưu|uplicate of|trùng với hồ sơ", re.I)
INCIDENTS = "record_id,date,type,commune_code\nPROBE-1,05/08/2024,tip,25699\n"
OUTREACH = "record_id,date,commune_code,format,participants\nPROBE-O1,05/08/2024,25699,meeting,30\n"


# -- HTTP -----------------------------------------------------------------------------------


@dataclass
class Answer:
    """One HTTP answer: status, headers (name → every value), body and time taken."""

    status: int
    headers: dict[str, list[str]]
    body: bytes
    seconds: float

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class Target:
    """The server under test: plain HTTP(S) requests, each on its own connection.

    Every answer's ``Server`` header is kept (:attr:`server_names`) for attack 5.
    """

    def __init__(self, url: str, timeout: float = 120.0) -> None:
        parts = urllib.parse.urlsplit(url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url}")
        self.url = url.rstrip("/")
        self.scheme, self.host = parts.scheme, parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self.server_names: dict[str, str] = {}  # Server value → the first path that sent it

    def connection(self, timeout: float | None = None) -> http.client.HTTPConnection:
        cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
        return cls(self.host, self.port, timeout=timeout or self.timeout)

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None, timeout: float | None = None) -> Answer:
        """``path`` is sent as written (no normalisation of ``..``)."""
        conn = self.connection(timeout)
        started = time.monotonic()
        try:
            conn.request(method, self.prefix + path, body=body, headers=headers or {})
            raw = conn.getresponse()
            data = raw.read()
        finally:
            conn.close()
        return self._answer(raw, data, path, time.monotonic() - started)

    def _answer(self, raw: http.client.HTTPResponse, data: bytes, path: str,
                seconds: float) -> Answer:
        headers: dict[str, list[str]] = {}
        for name, value in raw.getheaders():
            headers.setdefault(name.lower(), []).append(value)
        for value in headers.get("server", []):
            self.server_names.setdefault(value, path)
        return Answer(raw.status, headers, data, seconds)

    def local_pid(self) -> int | None:
        """The process listening on the server's port, when it runs on this machine."""
        if self.host not in ("127.0.0.1", "localhost", "::1"):
            return None
        inodes = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                lines = Path(table).read_text().splitlines()[1:]
            except OSError:
                continue
            for line in lines:
                cols = line.split()
                if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == self.port:
                    inodes.add(cols[9])
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
            except OSError:
                continue
            for fd in fds:
                try:
                    link = os.readlink(f"/proc/{pid}/fd/{fd}")
                except OSError:
                    continue
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    return int(pid)
        return None


def _rss_mb(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class Account:
    """A signed-in session: its cookies, its CSRF token and the app's callbacks."""

    def __init__(self, target: Target, username: str, cookies: dict[str, str]) -> None:
        self.target, self.username, self.cookies = target, username, cookies
        self._dependencies: list[dict] | None = None

    @property
    def csrf(self) -> str:
        return self.cookies.get("_csrf_token", "")

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def get(self, path: str) -> Answer:
        return self.target.request("GET", path, headers={"Cookie": self.cookie_header()})

    def post_json(self, path: str, body) -> Answer:
        return self.target.request(
            "POST", path, body=json.dumps(body).encode(),
            headers={"Cookie": self.cookie_header(), "X-CSRFToken": self.csrf,
                     "Content-Type": "application/json"})

    def dependencies(self) -> list[dict]:
        """The callback definitions the renderer reads (``/_dash-dependencies``)."""
        if self._dependencies is None:
            answer = self.get("/_dash-dependencies")
            if answer.status != 200:
                raise ProbeError(f"/_dash-dependencies answered {answer.status}")
            self._dependencies = json.loads(answer.body)
        return self._dependencies

    def callback(self, *, input_: str | None = None, output: str | None = None) -> dict:
        """The first callback with ``input_`` ("id.property") among its inputs and ``output``
        ("id.property") among its outputs."""
        for spec in self.dependencies():
            inputs = {f"{d['id']}.{d['property']}" for d in spec["inputs"]
                      if isinstance(d["id"], str)}
            outputs = {f"{i}.{p.split('@')[0]}" for i, p in _outputs(spec["output"])}
            if (input_ is None or input_ in inputs) and (output is None or output in outputs):
                return spec
        raise ProbeError(f"no callback with input {input_} and output {output}")

    def call(self, spec: dict, values: dict, changed: list[str] | None = None) -> Answer:
        """POST ``spec`` with ``values`` ("id.property" → value) as Dash's renderer does."""
        return self.post_json("/_dash-update-component", callback_body(spec, values, changed))


class ProbeError(Exception):
    """The probe could not run an attack (the server did not answer as a browser expects)."""


def _outputs(output: str) -> list[tuple[str, str]]:
    """``"..a.b...c.d@h.."`` → ``[("a", "b"), ("c", "d@h")]`` (the renderer keeps ``@h``)."""
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    return [tuple(p.rsplit(".", 1)) for p in parts]


def callback_body(spec: dict, values: dict, changed: list[str] | None = None) -> dict:
    """The body of ``POST /_dash-update-component`` as Dash's renderer builds it.

    ``output`` is the callback's key, ``outputs`` its outputs (a list for a
    multi-output callback, else the one), ``inputs`` and ``state`` each
    dependency with its value (absent when ``None``), ``changedPropIds`` what
    triggered it (the first input unless given).
    """
    def items(deps):
        out = []
        for d in deps:
            item = {"id": d["id"], "property": d["property"]}
            value = values.get(f"{d['id']}.{d['property']}")
            if value is not None:
                item["value"] = value
            out.append(item)
        return out

    outputs = [{"id": i, "property": p} for i, p in _outputs(spec["output"])]
    first = spec["inputs"][0]
    body = {"output": spec["output"],
            "outputs": outputs if spec["output"].startswith("..") else outputs[0],
            "inputs": items(spec["inputs"]),
            "changedPropIds": changed or [f"{first['id']}.{first['property']}"]}
    if spec["state"]:
        body["state"] = items(spec["state"])
    return body


def _set_cookies(answer: Answer) -> dict[str, str]:
    jar: dict[str, str] = {}
    for line in answer.headers.get("set-cookie", []):
        cookie = http.cookies.SimpleCookie()
        cookie.load(line)
        for name, morsel in cookie.items():
            jar[name] = morsel.value
    return jar


def login_form(target: Target) -> tuple[str, dict[str, str]]:
    """A fresh sign-in form: its CSRF field and cookie."""
    page = target.request("GET", "/login")
    found = _LOGIN_CSRF.search(page.text)
    if page.status != 200 or not found:
        raise ProbeError(f"/login answered {page.status} without a CSRF field")
    return found.group(1), _set_cookies(page)


def post_login(target: Target, token: str, cookies: dict[str, str], username: str,
               password: str, headers: dict[str, str] | None = None) -> Answer:
    form = urllib.parse.urlencode({"csrf": token, "username": username, "password": password,
                                   "next": "/"}).encode()
    return target.request("POST", "/login", body=form, headers={
        "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
        "Content-Type": "application/x-www-form-urlencoded", **(headers or {})})


def sign_in(target: Target, username: str, password: str) -> tuple[Account | None, Answer]:
    """Sign in through the real form; the account (``None`` unless 302 with a session)."""
    token, cookies = login_form(target)
    answer = post_login(target, token, cookies, username, password)
    jar = {k: v for k, v in _set_cookies(answer).items() if v}
    if answer.status != 302 or "bw_session" not in jar or "_csrf_token" not in jar:
        return None, answer
    return Account(target, username, jar), answer


# -- what a page holds ----------------------------------------------------------------------


def _response(answer: Answer) -> dict:
    """A callback answer's ``response`` (component → property → value), else ``{}``."""
    try:
        return json.loads(answer.body).get("response", {})
    except (ValueError, AttributeError):
        return {}


def _find(tree, component_id: str) -> dict | None:
    """The props of the component ``component_id`` in a layout tree."""
    if isinstance(tree, dict):
        props = tree.get("props")
        if isinstance(props, dict) and props.get("id") == component_id:
            return props
        for value in tree.values():
            found = _find(value, component_id)
            if found is not None:
                return found
    elif isinstance(tree, list):
        for value in tree:
            found = _find(value, component_id)
            if found is not None:
                return found
    return None


def _counts(tree) -> dict[str, int]:
    """The preview's count cards (``data-count``): {"rows_read": 2, …}."""
    found: dict[str, int] = {}

    def walk(node):
        if isinstance(node, dict):
            props = node.get("props", {})
            if isinstance(props, dict) and "data-count" in props:
                digits = re.sub(r"\D", "", str(props.get("children")))
                found[props["data-count"]] = int(digits or 0)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(tree)
    return found


@dataclass
class ImportPage:
    """What the import page offers an account: its kinds and its default source."""

    kinds: list[str]
    source: str


def open_page(account: Account, path: str) -> dict | None:
    """The page at ``path`` as the route callback renders it; ``None`` when forbidden."""
    # the route answers the address bar's gate (a counter the browser bumps when the path
    # or the language changes) and reads the address as its state
    spec = account.callback(output="page.children")
    answer = account.call(spec, {"url.pathname": path, "url.search": "?lang=en",
                                 "route-gate.data": {"n": 1}})
    if answer.status != 200:
        return None
    page = _response(answer).get("page", {}).get("children")
    return None if page is None or _find(page, "forbidden") is not None else page


def import_page(account: Account) -> ImportPage | None:
    page = open_page(account, "/import")
    if page is None:
        return None
    kinds = _find(page, "import-kind") or {}
    source = _find(page, "import-source") or {}
    return ImportPage([o["value"] for o in kinds.get("options", [])],
                      source.get("value") or account.username)


def data_url(data: bytes) -> str:
    return "data:application/octet-stream;base64," + base64.b64encode(data).decode()


@dataclass
class Preview:
    """The import page's answer to one upload."""

    status: int
    refused: bool  # an error message and nothing awaiting confirmation
    message: str  # every word of the answer
    counts: dict[str, int]
    pending: dict | None


def preview(account: Account, data: bytes, name: str, kind: str, source: str,
            lang: str = "en") -> Preview:
    """Upload ``data`` as ``name`` through the import page's preview callback."""
    spec = account.callback(input_="import-upload.contents")
    answer = account.call(spec, {
        "import-upload.contents": data_url(data), "import-kind.value": kind,
        "import-source.value": source, "import-strict.value": [],
        "import-upload.filename": name, "page-lang.data": lang})
    response = _response(answer)
    shown = response.get("import-preview", {}).get("children")
    pending = response.get("import-pending", {}).get("data")
    text = json.dumps(shown, ensure_ascii=False)
    error = '"className": "error"' in text
    return Preview(answer.status, answer.status == 200 and error and pending is None,
                   answer.text if answer.status != 200 else json.dumps(response,
                                                                      ensure_ascii=False),
                   _counts(shown), pending)


def cancel(account: Account, pending: dict | None) -> None:
    """Forget a preview that awaits confirmation (its upload is deleted)."""
    if pending:
        spec = account.callback(input_="import-cancel.n_clicks")
        account.call(spec, {"import-cancel.n_clicks": 1, "import-pending.data": pending,
                            "page-lang.data": "en"})


def leaks(text: str) -> list[str]:
    return [label for label, pattern in LEAKS.items() if pattern.search(text)]


# -- the attacks ----------------------------------------------------------------------------


@dataclass
class Row:
    """One attack: what must happen, what happened, and the verdict."""

    attack: str
    expected: str
    observed: str
    verdict: str  # PASS, FAIL or SKIP
    details: list = field(default_factory=list)


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def attack_sign_in(target: Target, user: str, password: str) -> tuple[Row, Account | None]:
    account, answer = sign_in(target, user, password)
    observed = f"{answer.status}, " + ("session and CSRF cookies" if account else
                                       f"cookies {sorted(_set_cookies(answer))}")
    # the same form without its CSRF field is refused
    _, cookies = login_form(target)
    forged = post_login(target, "", cookies, user, password)
    observed += f"; without the CSRF field {forged.status}"
    ok = account is not None and forged.status in (400, 403)
    return Row(f"sign in as {user} through the form", "302 + session/CSRF cookies; "
               "no CSRF field → 403", observed, _verdict(ok)), account


def relative_vrts() -> list[Case]:
    """VRT documents whose sources GDAL would resolve from the upload's own folder
    (``relativeToVRT``, the server's ``uploads`` beside the store and the accounts file):
    they reach the data folder wherever the server's working directory is."""
    cases = []
    for label, sql in (("store", "SELECT * FROM incidents"), ("accounts", "SELECT * FROM users")):
        path = TARGETS[label]
        doc = vrt_document(path, sql).replace(b"<SrcDataSource>",
                                              b'<SrcDataSource relativeToVRT="1">')
        cases += [Case(f"vrt-relative-{label}{suffix}", doc,
                       f"OGR VRT reading {path} relative to the upload, named {suffix}")
                  for suffix in SUFFIXES]
    return cases


def attack_uploads(account: Account | None, listener: Listener, work: Path,
                   targets: dict[str, str] | None = None) -> Row:
    what = "hostile uploads through the import page" + (
        f" as {account.username}" if account else "")
    expected = "each refused, no leak, listener hears nothing"
    page = import_page(account) if account else None
    first_heard = len(listener.heard)
    if account is None:
        return Row(what, expected, "not signed in", "SKIP")
    if page is None or not page.kinds:
        return Row(what, expected, "the account may not open /import", "SKIP")
    kind = page.kinds[0]  # incidents for the commander, outreach for a planner
    cases = build(work, targets={**TARGETS, **(targets or {})}, url=listener.url)
    cases += relative_vrts()
    details, bad = [], []
    for case in cases:
        shown = preview(account, case.data, case.name, kind, page.source)
        found = leaks(shown.message)
        ok = shown.refused and not found
        details.append({"file": case.name, "what": case.what, "status": shown.status,
                        "refused": shown.refused, "leaks": found, "verdict": _verdict(ok),
                        "answer": shown.message[:300] if not ok else ""})
        if not ok:
            bad.append(f"{case.name}: {shown.status}, refused={shown.refused}, leaks={found}")
        cancel(account, shown.pending)
    time.sleep(0.5)
    heard = listener.heard[first_heard:]
    refused = sum(d["refused"] for d in details)
    observed = (f"{refused}/{len(cases)} refused as {kind} under “{page.source}”, "
                f"{sum(bool(d['leaks']) for d in details)} leaked, listener heard {len(heard)}")
    if bad:
        observed += "; " + "; ".join(bad[:5])
    if heard:
        observed += f"; heard {heard[:3]}"
    return Row(f"{what} ({len(cases)} files)", expected, observed,
               _verdict(not bad and not heard), details)


def max_request_bytes() -> int:
    """The server's limit as ``dashboard.app.max_request_bytes`` computes it (50 MiB of
    upload as base64, and 1 MiB more): the probe knows it from the source, not an import."""
    return (50 * 1024 * 1024) * 4 // 3 + 1024 * 1024


def attack_oversize(target: Target, account: Account | None) -> Row:
    """A body over the limit: headers with its Content-Length and 64 KiB of it, then wait."""
    what = "request body over the limit (Content-Length, 64 KiB sent)"
    size = max_request_bytes() + 1024 * 1024
    pid = target.local_pid()
    before = _rss_mb(pid)
    headers = {"Content-Type": "application/json", "Content-Length": str(size)}
    if account is not None:
        headers.update({"Cookie": account.cookie_header(), "X-CSRFToken": account.csrf})
    conn = target.connection(timeout=30)
    started = time.monotonic()
    try:
        conn.putrequest("POST", target.prefix + "/_dash-update-component")
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders()
        conn.send(b'{"output": "' + b"x" * (64 * 1024))
        raw = conn.getresponse()
        answer = target._answer(raw, raw.read(), "/_dash-update-component",
                                time.monotonic() - started)
        status = answer.status
    except (socket.timeout, TimeoutError):
        status, answer = None, None
    except (ConnectionError, http.client.HTTPException) as err:
        status, answer = f"connection {type(err).__name__}", None
    finally:
        conn.close()
    seconds = time.monotonic() - started
    after = _rss_mb(pid)
    observed = f"{status} after {seconds:.2f} s (the rest of {size / 1e6:.0f} MB never sent)"
    if before is not None and after is not None:
        observed += f"; server RSS {before:.0f} → {after:.0f} MB"
    # without a session the server may refuse first (401): unread all the same
    ok = status in ((413,) if account is not None else (401, 413)) and seconds < 10
    return Row(what, "413 within 10 s, body unread", observed, _verdict(ok))


def attack_oversize_chunked(target: Target, account: Account | None) -> Row:
    """A body over the limit without Content-Length (chunked): the server must stop reading
    near its limit. The probe watches for the answer while it sends, 1 MiB at a time."""
    what = "request body over the limit, chunked (no Content-Length)"
    if account is None:
        return Row(what, "refused", "no session", "SKIP")
    limit = max_request_bytes()
    pid = target.local_pid()
    before, peak = _rss_mb(pid), _rss_mb(pid)
    conn = target.connection(timeout=60)
    started = time.monotonic()
    sent, status = 0, None
    try:
        conn.putrequest("POST", target.prefix + "/_dash-update-component")
        for name, value in {"Content-Type": "application/json", "Transfer-Encoding": "chunked",
                            "Cookie": account.cookie_header(),
                            "X-CSRFToken": account.csrf}.items():
            conn.putheader(name, value)
        conn.endheaders()
        chunk = b" " * (1024 * 1024)
        try:
            while sent < 2 * limit:
                if select.select([conn.sock], [], [], 0)[0]:
                    break  # the server has answered: it stopped reading
                conn.sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
                if sent % (16 * len(chunk)) == 0 and peak is not None:
                    peak = max(peak, _rss_mb(pid) or 0)
            else:
                conn.sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server closed the connection: its answer is waiting
        raw = conn.getresponse()
        status = target._answer(raw, raw.read(), "/_dash-update-component",
                                time.monotonic() - started).status
    except (socket.timeout, TimeoutError):
        status = "timeout"
    except (ConnectionError, http.client.HTTPException) as err:
        status = f"connection {type(err).__name__}"
    finally:
        conn.close()
    seconds = time.monotonic() - started
    observed = (f"{status} after {sent / 2**20:.0f} MiB sent (limit {limit / 2**20:.0f} MiB), "
                f"{seconds:.2f} s")
    if before is not None and peak is not None:
        observed += f"; server RSS {before:.0f} → peak {peak:.0f} MB"
    # sockets buffer a few MiB between the sender and the server's reads
    ok = status in (400, 411, 413) and sent <= limit + 24 * 2**20
    return Row(what, "refused (413/400) having read at most the limit", observed, _verdict(ok))


PATHS = ("/loginx", "/login/../", "/login/..%2f", "/assetsx", "/assets../", "/login%2f",
         "/_favicon.icox", "/_dash-component-suitesx/", "/_dash-component-suites/x",
         "/_dash-component-suites/../import", "/assets/../import", "/login/", "/LOGIN")


def attack_public_paths(target: Target) -> Row:
    shells, statuses, versions = [], [], set()
    for path in PATHS:
        answer = target.request("GET", path)
        statuses.append(f"{path} {answer.status}")
        if answer.status == 200 and _SHELL.search(answer.text):
            shells.append(path)
            versions.update(re.findall(r'"python_version":\s*"([^"]+)"', answer.text))
    observed = ", ".join(statuses)
    if shells:
        observed = (f"Dash shell served for {shells}"
                    + (f" (naming Python {sorted(versions)})" if versions else "")
                    + "; " + observed)
    return Row("near-public paths without a session", "never the Dash shell (200 with "
               "_dash-renderer/react)", observed, _verdict(not shells))


def attack_server_header(target: Target) -> Row:
    named = {}
    for path in ("/login", "/"):
        answer = target.request("GET", path)
        named[path] = answer.headers.get("server", [])
    observed = "; ".join(f"{p}: {v}" for p, v in named.items())
    others = {v: p for v, p in target.server_names.items() if _SERVER_NAMES.search(v)}
    bad = [v for vs in named.values() for v in vs if _SERVER_NAMES.search(v)] or list(others)
    if others:
        observed += f"; elsewhere {others}"
    return Row("Server header of /login, / (and every answer so far)",
               "names no Werkzeug, Python, gunicorn", observed, _verdict(not bad))


def _race(target: Target, username: str, n: int, *, forwarded: bool) -> list[int | str]:
    """``n`` wrong passwords for ``username`` at once, each with its own form."""
    forms = [login_form(target) for _ in range(n)]
    barrier = threading.Barrier(n)

    def guess(i: int):
        token, cookies = forms[i]
        headers = {"X-Forwarded-For": f"203.0.113.{i + 1}", "X-Real-IP": f"203.0.113.{i + 1}",
                   "Forwarded": f"for=203.0.113.{i + 1}"} if forwarded else {}
        barrier.wait(timeout=30)
        try:
            return post_login(target, token, cookies, username, secrets.token_urlsafe(12),
                              headers).status
        except OSError as err:
            return type(err).__name__

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(guess, range(n)))


def attack_throttle(target: Target, user: str, password: str) -> list[Row]:
    name = f"nguyen.van.{secrets.token_hex(3)}"
    rows = []
    for forwarded in (False, True):
        statuses = _race(target, name, 40, forwarded=forwarded)
        checks = statuses.count(401)
        throttled = statuses.count(429)
        other = [s for s in statuses if s not in (401, 429)]
        limit = 0 if forwarded else 5  # the same name again: its 5 guesses are spent
        observed = f"{checks} checked (401), {throttled} throttled (429)"
        if other:
            observed += f", other {sorted(map(str, other))}"
        what = (f"40 parallel wrong passwords for “{name}”"
                + (", each with another X-Forwarded-For" if forwarded else ""))
        rows.append(Row(what, f"≤ {limit} password checks, the rest 429", observed,
                        _verdict(checks <= limit and not other)))
    account, answer = sign_in(target, user, password)
    rows.append(Row(f"then {user} signs in from the same address",
                    "302 (a guessed name locks nobody else out)",
                    f"{answer.status}", _verdict(account is not None)))
    return rows


def attack_planner_imports(planner: Account | None, name: str | None) -> list[Row]:
    rows = []
    labels = ("planner imports incidents", "planner imports under source “demo”",
              "planner previews the demo's own outreach ids")
    page = import_page(planner) if planner else None
    if page is None:
        why = "no --as-planner" if planner is None else "the account may not open /import"
        return [Row(label, "refused", why, "SKIP") for label in labels]
    if "incidents" in page.kinds:
        rows.append(Row(labels[0], "refused", f"{name} is offered incidents: not a planner",
                        "SKIP"))
    else:
        shown = preview(planner, INCIDENTS.encode(), "vu_viec.csv", "incidents", page.source)
        cancel(planner, shown.pending)
        rows.append(Row(labels[0], "refused, nothing pending",
                        f"{shown.status}, refused={shown.refused}"
                        + (f", counts {shown.counts}" if shown.counts else ""),
                        _verdict(shown.refused and not shown.counts)))
    kind = "outreach" if "outreach" in page.kinds else page.kinds[0]
    shown = preview(planner, OUTREACH.encode(), "truyen_thong.csv", kind, "demo")
    cancel(planner, shown.pending)
    rows.append(Row(labels[1], "refused, no counts", f"{shown.status}, refused={shown.refused}"
                    + (f", counts {shown.counts}" if shown.counts else ""),
                    _verdict(shown.refused and not shown.counts)))
    said, counts = [], []
    for lang in ("en", "vi"):
        shown = preview(planner, DEMO_OUTREACH.encode(), "truyen_thong.csv", kind,
                        page.source, lang)
        cancel(planner, shown.pending)
        said += _STORE_WORDS.findall(shown.message)
        counts.append(shown.counts)
    dup = [c.get("duplicates", 0) for c in counts]
    ok = not said and all(d == 0 for d in dup) and all(c.get("rows_read") == 2 for c in counts)
    rows.append(Row(labels[2] + " (DEMO-OUT-000001, -000002)",
                    "2 rows read, 0 duplicates, no “already stored”/“đã được lưu”",
                    f"counts {counts[0]}; said {sorted(set(said)) or 'nothing of the store'}",
                    _verdict(ok)))
    return rows


def attack_forged_callbacks(planner: Account | None, name: str | None) -> list[Row]:
    what = "planner posts the commander's callbacks"
    if planner is None:
        return [Row(what, "403", "no --as-planner", "SKIP")]
    if open_page(planner, "/commander") is not None:
        return [Row(what, "403", f"{name} may open /commander: not a planner", "SKIP")]
    values = {"cmd-period.start_date": "2024-01-01", "cmd-period.end_date": "2025-12-31",
              "cmd-units.value": "2025", "cmd-layer.value": "points", "page-lang.data": "en"}
    specs = [s for s in planner.dependencies()
             if any(i.startswith("cmd-") for i, _ in _outputs(s["output"]))]
    honest, swapped = [], []
    for spec in specs:
        answer = planner.call(spec, values)
        honest.append(answer.status)
        # the commander's callback named in "output", the planner's components in "outputs"
        body = callback_body(spec, values)
        outs = body["outputs"] if isinstance(body["outputs"], list) else [body["outputs"]]
        fake = [{"id": "plan-note", "property": "children"} for _ in outs]
        body["outputs"] = fake if isinstance(body["outputs"], list) else fake[0]
        answer = planner.post_json("/_dash-update-component", body)
        swapped.append((answer.status, bool(_response(answer))))
    rows = [Row(f"{what} ({len(specs)}, outputs cmd-…)", "403 each",
                f"statuses {sorted(set(honest))}",
                _verdict(bool(specs) and all(s == 403 for s in honest)))]
    served = [s for s, data in swapped if s == 200 or data]
    rows.append(Row(f"{what} with the planner's outputs in “outputs”",
                    "refused (4xx/5xx), no answer data",
                    f"statuses {sorted({s for s, _ in swapped})}, "
                    f"{len(served)} answered with data", _verdict(bool(specs) and not served)))
    return rows


def probe(url: str, user: str, password: str, planner: tuple[str, str] | None = None,
          *, targets: dict[str, str] | None = None, log=None) -> list[Row]:
    """Every attack against the server at ``url``; the rows of the table.

    ``targets`` adds to or replaces the files the hostile uploads try to read
    (:data:`TARGETS`: label → path on the server; ``store`` and ``accounts`` are read
    with SQL), e.g. the absolute paths of a data folder the caller knows.
    """
    target = Target(url)
    rows: list[Row] = []

    def add(*new: Row) -> None:
        for row in new:
            rows.append(row)
            if log:
                log(f"{row.verdict}  {row.attack}: {row.observed}")

    row, account = attack_sign_in(target, user, password)
    add(row)
    planner_account = None
    if planner:
        planner_account, answer = sign_in(target, *planner)
        add(Row(f"sign in as {planner[0]} (planner)", "302", str(answer.status),
                _verdict(planner_account is not None)))
    listener = Listener()
    try:
        with tempfile.TemporaryDirectory(prefix="probe-") as tmp:
            add(attack_uploads(account, listener, Path(tmp) / "user", targets))
            if planner:  # the insider the probe was: a planner, importing outreach
                add(attack_uploads(planner_account, listener, Path(tmp) / "planner", targets))
    finally:
        listener.close()
    add(attack_oversize(target, account))
    add(attack_oversize_chunked(target, account))
    add(attack_public_paths(target))
    add(*attack_planner_imports(planner_account, planner[0] if planner else None))
    add(*attack_forged_callbacks(planner_account, planner[0] if planner else None))
    add(*attack_throttle(target, user, password))
    add(attack_server_header(target))
    return rows


def table(rows: list[Row]) -> str:
    """The rows as a plain-text table (attack, expected, observed, verdict)."""
    heads = ("attack", "expected", "observed", "")
    widths = [min(max(len(h), *(len(getattr(r, f)) for r in rows)), w) for h, f, w in
              zip(heads, ("attack", "expected", "observed", "verdict"), (74, 50, 100, 4))]
    def line(cells):
        return " | ".join(c[:w].ljust(w) for c, w in zip(cells, widths)).rstrip()

    out = [line(heads), "-+-".join("-" * w for w in widths)]
    for r in rows:
        out.append(line((r.attack, r.expected, r.observed, r.verdict)))
        for extra in range(1, 1 + (len(r.observed) - 1) // widths[2]):  # wrap long cells
            out.append(line(("", "", r.observed[extra * widths[2]:(extra + 1) * widths[2]], "")))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.probe", description=__doc__.split(
        "\n")[0])
    parser.add_argument("url")
    parser.add_argument("--user", required=True, help="an account of the server")
    parser.add_argument("--password", required=True)
    parser.add_argument("--as-planner", nargs=2, metavar=("NAME", "PASSWORD"),
                        help="a planner's account, for the insider attacks")
    parser.add_argument("--target", action="append", default=[], metavar="LABEL=PATH",
                        help="a file on the server the hostile uploads try to read (store, "
                        "accounts, passwd, environ, or a new label); repeatable")
    parser.add_argument("--json", action="store_true", help="the rows as JSON")
    args = parser.parse_args(argv)
    targets = dict(t.split("=", 1) for t in args.target if "=" in t)
    started = time.monotonic()
    rows = probe(args.url, args.user, args.password,
                 tuple(args.as_planner) if args.as_planner else None, targets=targets,
                 log=None if args.json else lambda s: print(s, file=sys.stderr, flush=True))
    if args.json:
        print(json.dumps({"url": args.url, "seconds": round(time.monotonic() - started, 1),
                          "rows": [asdict(r) for r in rows]}, ensure_ascii=False, indent=1))
    else:
        print(table(rows))
        print(f"\n{sum(r.verdict == 'PASS' for r in rows)} PASS, "
              f"{sum(r.verdict == 'FAIL' for r in rows)} FAIL, "
              f"{sum(r.verdict == 'SKIP' for r in rows)} SKIP in "
              f"{time.monotonic() - started:.0f} s")
    return 1 if any(r.verdict == "FAIL" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
