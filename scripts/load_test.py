"""Load test: N signed-in sessions change the filters of the production server for D seconds.

Each session is one user in a browser tab, talking HTTP to the server the way
Dash's renderer does (no browser is run):

1. signs in at ``/login`` (the form's CSRF field, then the session cookie and
   the ``_csrf_token`` cookie, sent back as ``X-CSRFToken`` on every POST) as
   ``demo-commander``, ``demo-planner`` or ``demo-viewer`` (sessions rotate
   through the three roles);
2. opens its role's page (the commander ``/commander``, the planner
   ``/planner``, the viewer the overview ``/``): the page's HTML,
   ``/_dash-layout``, ``/_dash-dependencies``, then every callback the page
   fires on load, with the commune polygons and the neighbours' shapes
   (``/geo/….geojson``) fetched the first time a map names them, as a browser does
   (it caches them for a day).
   The framework's JavaScript (``/_dash-component-suites/…``) is not fetched:
   a browser caches it;
3. then, until the time is up, changes one filter its role may change, picked
   at random — the commander: layer, incident types, period preset, unit set;
   the planner: map, period preset, unit set, agencies, model types; the
   viewer: incident types, period (a whole quarter, half-year or year), unit
   set — and sends every callback that change triggers, wave after wave as the
   renderer does (a preset → the dates, in the browser → the map, the table and
   the address bar → the frame's route gate and language links, in the browser,
   and the selection callback of the new table rows), one request at a time,
   applying each answer's values to its copy of the page; then thinks for a
   random 0.5–2 s (``--think 0``: no pause, to find the saturation throughput).
   The requests and their ``changedPropIds`` are those Chromium sends for the
   same clicks (checked on the three pages). The callbacks that run in the
   browser (clientside) are played by their Python twins, the rules they say
   again in JavaScript (:func:`_browser_twin`), with no request.

Every change counts its requests and its waves: the rounds of requests of
which each waited for an answer of the round before (on a slow network, one
round trip each).

Every request is timed. An error is any answer other than 2xx (a 204 "nothing
to update" is a success), a request that fails or takes longer than
``--timeout``, a 200 whose body is not a Dash answer, a page that answers "not
allowed for this role", or an answer that raises the app's error alert (a
callback that failed on the server). The report gives, per kind of request
(sign-in, page, each callback by its first output) and overall: requests,
errors, p50/p95/p99 and maximum response time; the throughput; the time, the
requests and the waves of a whole filter change per role and per filter; the
resident memory of each server process (sampled every 2 s: at the start, the
peak, at the end), the server's CPU time and the machine's load average (on a
shared machine the server does not get every core).

Without ``--url`` the script starts the server itself: a throw-away data
folder with the synthetic demo, imported into the embedded store or, with
``--postgis``, into a throw-away PostgreSQL + PostGIS server (``tests/pg.py``),
then gunicorn with ``--workers`` processes (``dashboard.wsgi``). With ``--url``
it loads a running server (``--pid`` its gunicorn master, for the memory).

    .venv/bin/python scripts/load_test.py --sessions 50 --duration 60 --postgis --workers 2
    .venv/bin/python scripts/load_test.py --sessions 50 --duration 60 --postgis --think 0
    .venv/bin/python scripts/load_test.py --sessions 50 --duration 60 --postgis --servers 2
    .venv/bin/python scripts/load_test.py --url http://127.0.0.1:8050 --pid 12345 --json out.json

The client runs on the same machine: its own CPU time is reported, since on a
small machine it takes cores from the server it measures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, Self

import requests

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # ``tests.pg`` when run as ``python scripts/load_test.py``
    sys.path.insert(0, str(ROOT))

from dashboard import ids  # after the path: this checkout's package
from dashboard.auth.accounts import MAX_PAIR_FAILURES
from dashboard.i18n import LANGUAGES
from dashboard.wsgi import THREADS

__all__ = ["ROLES", "LoadResult", "Stats", "run_load", "running_server", "summarise"]

#: Role → the page its users work on, and the filters they change there:
#: (component id, property or pair of properties, how a new value is chosen).
ROLES = {
    "commander": ("/commander", [("cmd-layer", "value", "one"), ("cmd-types", "value", "some"),
                                 ("cmd-preset", "value", "one"), ("cmd-units", "value", "one")]),
    "planner": ("/planner", [("plan-layer", "value", "one"), ("plan-preset", "value", "one"),
                             ("plan-units", "value", "one"), ("plan-agencies", "value", "any"),
                             ("plan-model-types", "value", "some")]),
    "viewer": ("/", [("filter-types", "value", "some"),
                     ("filter-period", ("start_date", "end_date"), "period"),
                     ("filter-units", "value", "one")]),
}
DEMO_PASSWORD = "minhhoa-demo"
#: A map's polygons URL in an answer (Dash writes "/" as "\\u002f" in JSON).
_GEOJSON = re.compile(rb'"geojson":\s*"((?:/|\\u002f)geo(?:/|\\u002f)[^"]+?\.geojson)"')
#: A map layer's shapes by address (the neighbours: ``"source": "http://host/geo/….geojson"``).
_SOURCE = re.compile(rb'"source":\s*"(?:https?:(?:/|\\u002f){2}[^"/\\]*)?'
                     rb'((?:/|\\u002f)geo(?:/|\\u002f)[^"]+?\.geojson)"')
#: The shapes served by address, by family: the neighbours drawn under a map and the
#: stripes over hidden communes are counted apart from the maps' own polygons and grids.
_SHAPE_FAMILIES = (("/geo/context_", "context shapes"), ("/geo/hatch_", "hatching"))
_LOGIN_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
#: The app-wide alert a failed callback raises (``dash.set_props``; the answer is still 200).
_ALERT = re.compile(rb'"className":\s*"alert error"')


# ------------------------------------------------------------------------ measurements


def shapes_kind(path: str) -> str:
    """The kind a ``/geo/….geojson`` request is counted under: "geojson" for the maps'
    polygons and grids, "context shapes" for the neighbouring provinces, "hatching" for
    the stripes over hidden communes (each family has its own bound per session)."""
    return next((kind for prefix, kind in _SHAPE_FAMILIES if path.startswith(prefix)),
                "geojson")


@dataclass
class Sample:
    kind: str
    role: str
    seconds: float
    ok: bool
    status: int
    nbytes: int


class Action(NamedTuple):
    """One filter change: who, how long it took whole, whether every request succeeded,
    which filter, and the requests and waves (sequential round trips) it took."""

    role: str
    seconds: float
    ok: bool
    what: str = ""
    requests: int = 0
    waves: int = 0


class Stats:
    """Every timed request and user action of the run (thread-safe)."""

    def __init__(self, max_errors: int = 30) -> None:
        self._lock = threading.Lock()
        self.samples: list[Sample] = []
        self.actions: list[Action] = []
        self.errors: list[str] = []
        self._max_errors = max_errors

    def add(self, sample: Sample, problem: str = "") -> None:
        with self._lock:
            self.samples.append(sample)
            if not sample.ok and len(self.errors) < self._max_errors:
                self.errors.append(f"{sample.role} {sample.kind}: {problem}"[:500])

    def action(self, role: str, seconds: float, ok: bool, what: str = "", requests: int = 0,
               waves: int = 0) -> None:
        with self._lock:
            self.actions.append(Action(role, seconds, ok, what, requests, waves))


def _percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (0–100) by linear interpolation, as numpy's default."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _figures(seconds: list[float], errors: int) -> dict:
    ms = [s * 1000 for s in seconds]
    return {"requests": len(ms), "errors": errors,
            "p50_ms": round(_percentile(ms, 50), 1), "p95_ms": round(_percentile(ms, 95), 1),
            "p99_ms": round(_percentile(ms, 99), 1), "max_ms": round(max(ms), 1) if ms else None}


# ------------------------------------------------------------------------ a Dash page


def _id_key(component_id) -> str:
    """A component id as Dash writes it in callback keys (dicts: sorted compact JSON)."""
    if isinstance(component_id, dict):
        return json.dumps(component_id, sort_keys=True, separators=(",", ":"))
    return str(component_id)


def _components(tree, parent: str | None = None) -> Iterator[tuple[str, dict, str | None]]:
    """(type, props, key of the nearest enclosing component with an id) of every component
    with an id in a Dash layout tree, depth first."""
    if isinstance(tree, list):
        for item in tree:
            yield from _components(item, parent)
    elif isinstance(tree, dict):
        if "props" in tree and "type" in tree:
            props = tree["props"] or {}
            inner = parent
            if props.get("id") is not None:
                yield tree["type"], props, parent
                inner = _id_key(props["id"])
            for value in props.values():
                if isinstance(value, (dict, list)):
                    yield from _components(value, inner)
        else:
            for value in tree.values():
                if isinstance(value, (dict, list)):
                    yield from _components(value, parent)


def _output_parts(output: str) -> list[tuple[str, str]]:
    """(component key, property) of each output of a callback key ("..a.b...c.d@h.." → 2)."""
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    out = []
    for part in parts:
        component, _, prop = part.rpartition(".")
        out.append((component, prop.split("@")[0]))
    return out


def _wildcard(key: str) -> dict | None:
    """The parsed pattern of a wildcard id key (``{"lang":["ALL"],…}``), else None."""
    if not key.startswith("{"):
        return None
    pattern = json.loads(key)
    return pattern if any(isinstance(v, list) for v in pattern.values()) else None


class DashPage:
    """One browser tab: its address, its copy of the components' properties, the callbacks.

    :meth:`set` changes properties as a user's click does and sends every
    callback the change triggers, wave after wave, as Dash's renderer does: a
    callback fires when one of its inputs changes (never because of its own
    outputs) or when new components match one of its ``ALL`` inputs, or, unless
    ``prevent_initial_call``, when its inputs or outputs arrive with a new piece
    of layout; a callback with nothing on the page to write is not sent; new
    ``children`` replace the components they held; the ``dcc.Location``
    components read the address bar when they arrive and follow it when a
    callback rewrites it.
    """

    def __init__(self, session: UserSession, dependencies: list[dict], layout: dict,
                 address: tuple[str, str]) -> None:
        self.session = session
        self.deps = [d for d in dependencies if not d.get("clientside_function")]
        #: the callbacks run in the browser: played by their Python twins (no request)
        self.browser_deps = [d for d in dependencies if d.get("clientside_function")]
        self.address = address  # (pathname, search)
        self.props: dict[str, dict] = {}
        self.ids: dict[str, object] = {}
        self.types: dict[str, str] = {}
        self.parent: dict[str, str | None] = {}
        #: outputs that feed a callback: only the answers that hold one (or new components)
        #: are read in full
        self._feeding = {(i["id"], i["property"]) for d in dependencies for i in d["inputs"]}
        self._layout = layout
        #: requests sent and waves (rounds of requests, each waiting for the one before)
        self.requests = 0
        self.waves = 0

    def load(self) -> None:
        """The first callbacks of the page (the frame's Location reads the address)."""
        changed: dict[str, str | None] = {}
        added = self._add(self._layout, changed)
        self.run(changed, added)

    # -- the components ---------------------------------------------------------------

    def _add(self, tree, changed: dict, parent: str | None = None) -> set[str]:
        added = set()
        for kind, props, owner in _components(tree, parent):
            key = _id_key(props["id"])
            self.props[key] = dict(props)
            self.ids[key] = props["id"]
            self.types[key] = kind
            self.parent[key] = owner
            added.add(key)
            if kind == "Location":  # on mount it reads the address bar
                self._locate(key, changed, None)
        return added

    def _drop_children(self, key: str) -> None:
        """Forget the components inside ``key`` (its children are being replaced)."""
        inside = [k for k, owner in self.parent.items() if owner == key]
        for child in inside:
            self._drop_children(child)
            for table in (self.props, self.ids, self.types, self.parent):
                table.pop(child, None)

    def _locate(self, key: str, changed: dict, source: str | None) -> None:
        path, search = self.address
        props = self.props[key]
        for prop, value in (("pathname", path), ("search", search),
                            ("href", self.session.base + path + search), ("hash", "")):
            if props.get(prop) != value:
                props[prop] = value
                if prop in ("pathname", "search", "href"):
                    changed[f"{key}.{prop}"] = source

    def value(self, component: str, prop: str):
        return self.props.get(component, {}).get(prop)

    def _matches(self, pattern: dict) -> list[str]:
        """Keys of the components an ALL pattern selects."""
        found = []
        for key, cid in self.ids.items():
            if not isinstance(cid, dict) or set(cid) != set(pattern):
                continue
            if all(v == ["ALL"] or v == cid[k] for k, v in pattern.items()):
                found.append(key)
        return found

    def _resolve(self, spec_id: str) -> list[str] | str | None:
        """The component(s) of one input/state/output: a key, a list (ALL), or None if absent
        (or a MATCH / ALLSMALLER pattern, which these pages do not use)."""
        pattern = _wildcard(spec_id)
        if pattern is not None:
            if any(isinstance(v, list) and v != ["ALL"] for v in pattern.values()):
                return None
            return self._matches(pattern)
        return spec_id if spec_id in self.props else None

    def _items(self, specs: list[dict]) -> list | None:
        items = []
        for spec in specs:
            where = self._resolve(spec["id"])
            if where is None:
                return None
            if isinstance(where, list):
                items.append([{"id": self.ids[k], "property": spec["property"],
                               "value": self.value(k, spec["property"])} for k in where])
            else:
                items.append({"id": spec["id"], "property": spec["property"],
                              "value": self.value(where, spec["property"])})
        return items

    # -- the callbacks ----------------------------------------------------------------

    def _keys(self, spec_ids) -> set[str] | None:
        keys = set()
        for spec_id in spec_ids:
            where = self._resolve(spec_id)
            if where is None:
                return None
            keys.update(where if isinstance(where, list) else [where])
        return keys

    def _triggered(self, dep: dict, changed: dict, added: set[str]) -> list[str] | None:
        """The changed inputs that fire ``dep`` ([] for an initial call), or None."""
        inputs = self._keys([s["id"] for s in dep["inputs"]])
        outputs = self._keys([c for c, _ in _output_parts(dep["output"])])
        if not outputs or inputs is None or self._keys(s["id"] for s in dep["state"]) is None:
            return None  # not (all) on the page; or nothing to write (the renderer skips it)
        fired = []
        for spec in dep["inputs"]:
            where = self._resolve(spec["id"])
            for key in where if isinstance(where, list) else [where]:
                prop = f"{key}.{spec['property']}"
                if prop in changed and changed[prop] != dep["output"]:
                    fired.append(prop)
                elif isinstance(where, list) and key in added:
                    fired.append(prop)  # a new match of an ALL input counts as a change
        if fired:
            return fired
        if added and not dep.get("prevent_initial_call") and (inputs | outputs) & added:
            return []
        return None

    def set(self, values: dict[tuple[str, str], object]) -> None:
        """The user changes ``values`` ((component, property) → value) at once."""
        for (component, prop), value in values.items():
            self.props.setdefault(component, {})[prop] = value
        self.run({f"{c}.{p}": None for c, p in values}, set())

    def run(self, changed: dict, added: set[str], waves: int = 8) -> None:
        """Send every callback that ``changed`` properties (→ the callback that changed them)
        or ``added`` components fire, then those their answers fire, up to ``waves`` rounds.
        The browser's own callbacks run first in each round, with no request: their
        answers join the round's changes (:meth:`_in_browser`)."""
        for _ in range(waves):
            changed, added = self._in_browser(changed, added)
            fired = [(dep, trig) for dep in self.deps
                     if (trig := self._triggered(dep, changed, added)) is not None]
            if not fired:
                return
            self.waves += 1
            changed, added = {}, set()
            for dep, trig in fired:
                self._call(dep, trig, changed, added)

    def _in_browser(self, changed: dict, added: set[str], rounds: int = 8) -> tuple[dict, set]:
        """Run the clientside callbacks that ``changed``/``added`` fire, and those their
        answers fire, as the renderer does before its next requests; every change, theirs
        included."""
        every_change, every_new = dict(changed), set(added)
        for _ in range(rounds):
            fired = [(dep, trig) for dep in self.browser_deps
                     if (trig := self._triggered(dep, changed, added)) is not None]
            if not fired:
                break
            changed, added = {}, set()
            for dep, trig in fired:
                self._local(dep, trig, changed)
            every_change.update(changed)
        return every_change, every_new

    def _local(self, dep: dict, triggered: list[str], changed: dict) -> None:
        """One clientside callback, played by its Python twin (:func:`_browser_twin`)."""
        parts = _output_parts(dep["output"])
        twin = _browser_twin(dep, parts)
        if twin is None:  # not played, as before the twins: the language links' addresses,
            return        # the overview's one-type choice kept in step with its checklist
        args = [item["value"] if isinstance(item, dict) else [i["value"] for i in item]
                for item in (self._items(dep["inputs"]) or []) + (self._items(dep["state"]) or [])]
        for (component, prop), value in zip(parts, twin(args, triggered), strict=True):
            if value is _NO_UPDATE or _wildcard(component) is not None:
                continue
            self.props.setdefault(component, {})[prop] = value
            changed[f"{component}.{prop}"] = dep["output"]

    def _call(self, dep: dict, triggered: list[str], changed: dict, added: set) -> None:
        parts = _output_parts(dep["output"])
        outputs = []
        for component, prop in parts:
            if _wildcard(component) is not None:
                outputs.append([{"id": self.ids[k], "property": prop}
                                for k in self._matches(_wildcard(component))])
            else:
                outputs.append({"id": component, "property": prop})
        inputs, state = self._items(dep["inputs"]), self._items(dep["state"])
        body = {"output": dep["output"],
                "outputs": outputs if dep["output"].startswith("..") else outputs[0],
                "inputs": inputs, "state": state, "changedPropIds": triggered}
        first = parts[0][0]
        kind = "cb " + (json.loads(first).get("type", first) if first.startswith("{")
                        else first) + "." + parts[0][1]
        self.requests += 1
        answer = self.session.request("POST", "/_dash-update-component", kind, json=body)
        if answer is None or answer.status_code == 204:
            return
        raw = answer.content
        if _ALERT.search(raw):  # a callback failed on the server: the page shows the alert
            self.session.fail(kind, f"the page shows an error: {raw[:300]!r}")
        for path in _GEOJSON.findall(raw) + _SOURCE.findall(raw):
            self.session.fetch_geojson(path.decode().replace("\\u002f", "/"))
        if not any((c, p) in self._feeding or p == "children" for c, p in parts) and \
                b'"sideUpdate"' not in raw:
            return  # a map: nothing on the page waits for it
        answer_json = json.loads(raw)
        updates = list(answer_json.get("response", {}).items())
        updates += list((answer_json.get("sideUpdate") or {}).items())  # dash.set_props
        for key, props in updates:
            for prop, value in props.items():
                if isinstance(value, dict) and "__dash_patch_update" in value:
                    continue
                if prop == "children":
                    self._drop_children(key)
                self.props.setdefault(key, {})[prop] = value
                changed[f"{key}.{prop}"] = dep["output"]
                if prop == "children":
                    added |= self._add(value, changed, key)
                if self.types.get(key) == "Location" and prop in ("pathname", "search"):
                    # callback-nav: the address bar changes, and every Location follows it
                    self.address = (self.props[key].get("pathname") or self.address[0],
                                    self.props[key].get("search") or "")
                    for other in [k for k, t in self.types.items() if t == "Location"]:
                        self._locate(other, changed, dep["output"] if other == key else None)
        if "forbidden" in added:
            self.session.fail(kind, "the page answered: not allowed for this role")


#: A clientside callback's twin leaves this output as it is.
_NO_UPDATE = object()


def _period_twin(args: list, triggered: list[str]) -> list:
    """:data:`dashboard.period_filter.PERIOD_JS`: (start, end[, preset, table])."""
    from dashboard.period_filter import period_answer

    answer = period_answer(*args, changed={t.rsplit(".", 1)[-1] for t in triggered})
    keys = ("start_date", "end_date", "preset")[:2 if len(args) == 2 else 3]
    return [answer.get(k, _NO_UPDATE) for k in keys]


def _route_twin(args: list, triggered: list[str]) -> list:
    """:data:`dashboard.route_gate.ROUTE_GATE_JS`: (pathname, search, rendered, asked)."""
    from dashboard.route_gate import route_ask

    asked = route_ask(*args, languages=LANGUAGES)
    return [_NO_UPDATE if asked is None else asked]


def _row_twin(args: list, triggered: list[str]) -> list:
    """:data:`dashboard.row_select.ROW_SELECT_JS`: new rows, none clicked → no update (the
    load never clicks a row)."""
    if any(args[0] or []):
        raise RuntimeError("a ranked row was clicked: the load test does not click rows")
    return [_NO_UPDATE]


def _browser_twin(dep: dict, parts: list[tuple[str, str]]):
    """The Python twin of a clientside callback whose answer feeds the server's callbacks,
    by what it writes and reads (``None``: the load test does not know it)."""
    props = [p for _, p in parts]
    inputs = [(i["id"], i["property"]) for i in dep["inputs"]]
    if props[:2] == ["start_date", "end_date"]:
        return _period_twin
    if inputs == [(ids.URL, "pathname"), (ids.URL, "search")] and props == ["data"]:
        return _route_twin
    if len(inputs) == 1 and _wildcard(inputs[0][0]) is not None and inputs[0][1] == "n_clicks":
        return _row_twin
    return None


# ------------------------------------------------------------------------ one user


class UserSession:
    """One signed-in user of one role: sign in, open the page, change filters, think."""

    def __init__(self, base: str, role: str, stats: Stats, *, timeout: float,
                 rng: random.Random, lang: str = "vi",
                 signing_in: threading.Semaphore | None = None) -> None:
        self.base = base.rstrip("/")
        #: held while signing in (the sign-ins of one account at once, :func:`sign_in_gates`)
        self.signing_in = signing_in or threading.BoundedSemaphore(1)
        self.role = role
        self.stats = stats
        self.timeout = timeout
        self.rng = rng
        self.lang = lang
        self.http = requests.Session()
        self.geojson: set[str] = set()
        self.page: DashPage | None = None
        self._action_ok = True

    def fail(self, kind: str, problem: str) -> None:
        self._action_ok = False
        self.stats.add(Sample(kind, self.role, 0.0, False, 0, 0), problem)

    def request(self, method: str, path: str, kind: str, **kwargs) -> requests.Response | None:
        """One timed request; errors are counted (and the answer is None)."""
        headers = kwargs.pop("headers", {})
        if method == "POST":
            token = self.http.cookies.get("_csrf_token")
            if token:
                headers["X-CSRFToken"] = token
        start = time.perf_counter()
        try:
            answer = self.http.request(method, self.base + path, headers=headers,
                                       timeout=self.timeout, allow_redirects=False, **kwargs)
            body = answer.content
        except requests.RequestException as err:
            self._action_ok = False
            self.stats.add(Sample(kind, self.role, time.perf_counter() - start, False, 0, 0),
                           f"{type(err).__name__}: {err}")
            return None
        seconds = time.perf_counter() - start
        status = answer.status_code
        problem = ""
        if not (200 <= status < 300 or (kind == "sign-in" and status == 302)):
            problem = f"HTTP {status}: {body[:200]!r}"
        elif path == "/_dash-update-component" and status == 200 and \
                not (body.startswith(b"{") and b'"response"' in body[:200]):
            problem = f"not a Dash answer: {body[:200]!r}"
        ok = not problem
        self._action_ok &= ok
        self.stats.add(Sample(kind, self.role, seconds, ok, status, len(body)), problem)
        return answer if ok else None

    def fetch_geojson(self, path: str) -> None:
        if path not in self.geojson:  # the browser keeps it a day (Cache-Control)
            self.geojson.add(path)
            self.request("GET", path, shapes_kind(path))

    def sign_in(self) -> bool:
        form = self.request("GET", f"/login?lang={self.lang}", "login page")
        if form is None:
            return False
        token = _LOGIN_CSRF.search(form.text)
        if token is None:
            self.fail("login page", "no CSRF field in the sign-in form")
            return False
        path, _ = ROLES[self.role]
        answer = self.request("POST", "/login", "sign-in", data={
            "csrf": token.group(1), "username": f"demo-{self.role}", "password": DEMO_PASSWORD,
            "lang": self.lang, "next": path})
        if answer is None or answer.status_code != 302 or "bw_session" not in self.http.cookies:
            if answer is not None:
                self.fail("sign-in", f"not signed in (HTTP {answer.status_code})")
            return False
        return True

    def open_page(self) -> bool:
        path, _ = ROLES[self.role]
        search = f"?lang={self.lang}"
        if self.request("GET", path + search, "page") is None:
            return False
        layout = self.request("GET", "/_dash-layout", "layout")
        deps = self.request("GET", "/_dash-dependencies", "dependencies")
        if layout is None or deps is None:
            return False
        self.page = DashPage(self, deps.json(), layout.json(), (path, search))
        self.page.load()
        missing = [c for c, _, _ in ROLES[self.role][1] if c not in self.page.props]
        if missing:
            self.fail("page", f"{path} has no {', '.join(missing)} (not rendered)")
            return False
        return True

    def _choice(self, component: str, prop, how: str):
        page = self.page
        if how == "period":
            start = dt.date.fromisoformat(str(self._span[0])[:10])
            end = dt.date.fromisoformat(str(self._span[1])[:10])
            year = self.rng.randint(start.year, end.year)
            shape = self.rng.choice(["quarter", "half", "year"])
            if shape == "year":
                first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
            else:
                months = 3 if shape == "quarter" else 6
                m0 = self.rng.randrange(0, 12, months) + 1
                first = dt.date(year, m0, 1)
                after = dt.date(year + (m0 + months > 12), (m0 + months - 1) % 12 + 1, 1)
                last = after - dt.timedelta(days=1)
            first, last = max(first, start), min(last, end)
            return {(component, prop[0]): first.isoformat(), (component, prop[1]): last.isoformat()}
        options = [o["value"] if isinstance(o, dict) else o
                   for o in page.value(component, "options") or []]
        current = page.value(component, prop)
        if how == "one":
            others = [o for o in options if o != current] or options
            return {(component, prop): self.rng.choice(others)}
        low = 1 if how == "some" else 0
        size = self.rng.randint(low, max(low, min(len(options), 3 if how == "any" else
                                                  len(options))))
        chosen = self.rng.sample(options, size)
        return {(component, prop): [o for o in options if o in chosen]}

    def act(self) -> None:
        """One filter change, with everything it triggers; timed as one user action."""
        _, filters = ROLES[self.role]
        component, prop, how = self.rng.choice(filters)
        self._action_ok = True
        requests0, waves0 = self.page.requests, self.page.waves
        start = time.perf_counter()
        self.page.set(self._choice(component, prop, how))
        self.stats.action(self.role, time.perf_counter() - start, self._action_ok, component,
                          self.page.requests - requests0, self.page.waves - waves0)

    def run(self, until: float, think: tuple[float, float], min_actions: int = 0) -> None:
        """Sign in, open the page, then change filters until ``until`` (and at least
        ``min_actions`` times), thinking between changes."""
        try:
            with self.signing_in:
                signed_in = self.sign_in()
            if not signed_in or not self.open_page():
                return
            self._span = (self.page.value("filter-period", "start_date") or "2022-01-01",
                          self.page.value("filter-period", "end_date") or
                          dt.date.today().isoformat())
            done = 0
            while time.monotonic() < until or done < min_actions:
                self.act()
                done += 1
                pause = self.rng.uniform(*think) if think[1] > 0 else 0.0
                if time.monotonic() + pause >= until and done >= min_actions:
                    break
                time.sleep(pause)
        except Exception as err:  # noqa: BLE001  (an answer it cannot read counts as an error)
            self.fail("client", f"{type(err).__name__}: {err}")
        finally:
            self.http.close()


# ------------------------------------------------------------------------ server memory


def _status(pid: int) -> dict[str, int]:
    values = {}
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8") as handle:
            for line in handle:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM", "PPid"):
                    values[key] = int(rest.split()[0])
    except (OSError, ValueError):
        return {}
    return values


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and _status(int(entry)).get("PPid") == pid:
            found.append(int(entry))
    return sorted(found)


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (``/proc/PID/stat``)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            fields = handle.read().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class MemorySampler:
    """Resident memory and CPU time of a server's master and worker processes, and the
    machine's load average, every ``every`` seconds."""

    def __init__(self, pid: int | list[int] | None, every: float = 2.0) -> None:
        #: the gunicorn masters sampled (one per server), with their workers
        self.masters = [p for p in (pid if isinstance(pid, list) else [pid]) if p]
        self.pid = self.masters[0] if self.masters else None
        self.every = every
        self.peak: dict[int, float] = {}
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.cpu_first: dict[int, float] = {}
        self.cpu_last: dict[int, float] = {}
        self.load: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> Self:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def sample(self) -> None:
        self.load.append(os.getloadavg()[0])
        for pid in [q for master in self.masters for q in (master, *_children(master))]:
            cpu = _cpu_seconds(pid)
            if cpu is not None:
                self.cpu_first.setdefault(pid, cpu)
                self.cpu_last[pid] = cpu
            status = _status(pid)
            if "VmRSS" in status:
                self.first.setdefault(pid, status["VmRSS"] / 1024)
                self.last[pid] = status["VmRSS"] / 1024
                self.peak[pid] = max(self.peak.get(pid, 0.0), status["VmRSS"] / 1024,
                                     status.get("VmHWM", 0) / 1024)

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self.sample()

    def report(self) -> dict:
        """Memory per process (MB), server CPU seconds used, the 1-minute load average."""
        workers = [p for p in self.peak if p not in self.masters]
        cpu = sum(self.cpu_last[p] - self.cpu_first[p] for p in self.cpu_last)
        return {
            "master_pid": self.pid,
            "master_mb": round(self.last.get(self.pid, 0.0), 1),
            "servers": len(self.masters),
            "workers": [{"pid": p, "start_mb": round(self.first[p], 1),
                         "peak_mb": round(self.peak[p], 1),
                         "last_mb": round(self.last.get(p, 0.0), 1),
                         "cpu_s": round(self.cpu_last.get(p, 0) - self.cpu_first.get(p, 0), 1)}
                        for p in workers],
            "server_cpu_s": round(cpu, 1),
            "load_avg_1min": {"start": round(self.load[0], 2), "max": round(max(self.load), 2),
                              "mean": round(sum(self.load) / len(self.load), 2)}
            if self.load else None,
        }


# ------------------------------------------------------------------------ the server


def _free_port(taken=()) -> int:
    """A free loopback port not in ``taken``: within ``$BORDERWATCH_TEST_PORTS`` ("8730-8739",
    on a shared machine where each user keeps to a range) when set, else any the system
    gives."""
    first, _, last = os.environ.get("BORDERWATCH_TEST_PORTS", "").partition("-")
    for port in range(int(first), int(last or first) + 1) if first else [0] * 20:
        if port in taken:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            found = sock.getsockname()[1]
        if found not in taken:
            return found
    raise OSError("no free port in BORDERWATCH_TEST_PORTS="
                  + os.environ.get("BORDERWATCH_TEST_PORTS", ""))


@dataclass
class Server:
    """The app servers started on one store: their addresses, gunicorn masters and logs
    (one each; several on one PostGIS with ``servers`` > 1)."""

    urls: list[str]
    pids: list[int]
    backend: str
    workers: int | None
    threads: int | None
    setup_seconds: dict = field(default_factory=dict)
    logs: list[Path] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.urls[0]

    @property
    def pid(self) -> int:
        return self.pids[0]

    @property
    def log(self) -> Path | None:
        return self.logs[0] if self.logs else None


@contextmanager
def running_server(*, postgis: bool, workers: int, threads: int = THREADS, servers: int = 1,
                   log=sys.stderr, boot_timeout: float = 300.0,
                   demo=None) -> Iterator[Server]:
    """A throw-away data folder with the demo (SQLite, or a throw-away PostGIS server), and
    gunicorn with ``workers`` processes over it, on a free loopback port; stopped and
    deleted at the end. ``demo(settings)`` writes the demo into the store (default
    :func:`dashboard.serving.ensure_demo`; the tests pass their copy of one build per run,
    :func:`tests.cache.demo_data`).

    ``servers`` > 1 (PostGIS only) starts that many app servers, each with its own port and
    data folder, on the one database, as behind a load balancer: they share the records,
    the accounts and the sessions (:mod:`dashboard.auth.account_db`).
    """
    from dashboard.serving import ensure_demo
    from dashboard.wsgi import gunicorn_command, settings_env
    from geo.config import Settings

    if servers > 1 and not postgis:
        raise ValueError("several app servers share one PostGIS database: add --postgis")
    demo = demo or ensure_demo
    work = Path(tempfile.mkdtemp(prefix="bw-load-"))
    pg_server = None
    procs: list[subprocess.Popen] = []
    timings = {}
    try:
        url = None
        if postgis:
            from tests import pg

            started = time.perf_counter()
            pg_server = pg.start_server()
            url = pg_server.create_database()
            timings["postgis_start_s"] = round(time.perf_counter() - started, 1)
        every = [Settings(data_dir=work / f"var{n}" if n else work / "var", database_url=url)
                 for n in range(servers)]
        started = time.perf_counter()
        demo(every[0])
        timings["demo_import_s"] = round(time.perf_counter() - started, 1)
        print(f"demo imported into {'PostGIS' if postgis else 'SQLite'} in "
              f"{timings['demo_import_s']} s", file=log, flush=True)
        bases, logs = [], []
        started = time.perf_counter()
        for n, settings in enumerate(every):
            port = _free_port(taken={int(b.rsplit(":", 1)[1]) for b in bases})
            server_log = work / f"gunicorn{n or ''}.log"
            cmd = gunicorn_command(host="127.0.0.1", port=port, workers=workers, threads=threads)
            with open(server_log, "w") as handle:
                procs.append(subprocess.Popen(
                    cmd, stdout=handle, stderr=subprocess.STDOUT, cwd=ROOT,
                    env={**os.environ, **settings_env(settings)}))
            bases.append(f"http://127.0.0.1:{port}")
            logs.append(server_log)
        for proc, server_log in zip(procs, logs):
            while True:  # every worker says when its app is built (dashboard.wsgi)
                if proc.poll() is not None:
                    raise RuntimeError(f"gunicorn exited ({proc.returncode}):\n"
                                       + server_log.read_text()[-3000:])
                if server_log.read_text().count("app ready") >= workers:
                    break
                if time.perf_counter() - started > boot_timeout:
                    raise RuntimeError("the workers did not start in time:\n"
                                       + server_log.read_text()[-3000:])
                time.sleep(0.2)
        timings["workers_ready_s"] = round(time.perf_counter() - started, 1)
        print(f"gunicorn: {servers} × {workers} workers × {threads} threads ready in "
              f"{timings['workers_ready_s']} s at {', '.join(bases)}", file=log, flush=True)
        yield Server(bases, [p.pid for p in procs], "PostGIS" if postgis else "SQLite",
                     workers, threads, timings, logs)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)
        if pg_server is not None:
            pg_server.close()
        shutil.rmtree(work, ignore_errors=True)


# ------------------------------------------------------------------------ the run


@dataclass
class LoadResult:
    stats: Stats
    elapsed: float
    memory: dict
    client_cpu_s: float


def sign_in_gates(roles) -> dict[str, threading.BoundedSemaphore]:
    """Role → how many of its users may sign in at once: one fewer than the sign-in
    throttle's pair limit (:data:`dashboard.auth.accounts.MAX_PAIR_FAILURES`).

    The users share three accounts and one address (loopback), and the throttle counts a
    password check still running as a failure of its (account, address) until it succeeds:
    that many simultaneous checks of one account from one address are refused (HTTP 429),
    as an attacker's parallel guesses must be. Below it, the users of a role sign in
    together as they arrive in the ramp (real users each have their own account and
    address), and every sign-in is timed and counted as before.
    """
    return {role: threading.BoundedSemaphore(MAX_PAIR_FAILURES - 1) for role in roles}


def run_load(url: str | list[str], *, sessions: int, duration: float,
             think: tuple[float, float], ramp: float = 5.0, timeout: float = 60.0,
             pid: int | list[int] | None = None,
             seed: int = 1, roles=("commander", "planner", "viewer"),
             min_actions: int = 0) -> LoadResult:
    """``sessions`` users (rotating ``roles``) on ``url`` for ``duration`` seconds; they
    arrive evenly over the first ``ramp`` seconds. ``min_actions``: each user changes a
    filter at least that many times, even past ``duration`` (a smoke test on a slow
    machine still sees every role act). Several ``url`` (app servers on one database):
    the users are spread over them in turn, as a round-robin load balancer would."""
    urls = [url] if isinstance(url, str) else list(url)
    stats = Stats()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    start = time.monotonic()
    until = start + duration
    threads = []
    gates = sign_in_gates(roles)
    with MemorySampler(pid) as memory:
        for n in range(sessions):
            role = roles[n % len(roles)]
            user = UserSession(urls[n % len(urls)], role, stats, timeout=timeout,
                               rng=random.Random(seed * 1000 + n), signing_in=gates[role])
            delay = ramp * n / max(sessions, 1)

            def go(user=user, delay=delay):
                time.sleep(delay)
                user.run(until, think, min_actions)

            thread = threading.Thread(target=go, name=f"user-{n}", daemon=True)
            thread.start()
            threads.append(thread)
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - start
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    return LoadResult(stats, elapsed, memory.report(), round(cpu, 1))


def _change_figures(actions: list[Action]) -> dict:
    """Requests and waves (sequential round trips) per filter change: mean and most."""
    if not actions:
        return {"requests_per_change": None, "waves_per_change": None, "most_waves": None}
    return {"requests_per_change": round(sum(a.requests for a in actions) / len(actions), 2),
            "waves_per_change": round(sum(a.waves for a in actions) / len(actions), 2),
            "most_requests": max(a.requests for a in actions),
            "most_waves": max(a.waves for a in actions)}


def summarise(result: LoadResult, *, config: dict) -> dict:
    """The figures of a run, as written to JSON and printed."""
    samples = result.stats.samples
    kinds: dict[str, list[Sample]] = {}
    for s in samples:
        kinds.setdefault(s.kind, []).append(s)
    by_role = {}
    for role in sorted({s.role for s in samples}):
        mine = [s for s in samples if s.role == role]
        acts = [a for a in result.stats.actions if a[0] == role]
        by_role[role] = {
            **_figures([s.seconds for s in mine if s.ok], sum(not s.ok for s in mine)),
            "answered": sum(s.ok for s in mine),
            "actions": len(acts),
            "action_p50_ms": round(_percentile([a[1] * 1000 for a in acts], 50), 1),
            "action_p95_ms": round(_percentile([a[1] * 1000 for a in acts], 95), 1),
            **_change_figures(acts),
        }
    by_filter = {}
    for role, what in sorted({(a.role, a.what) for a in result.stats.actions}):
        acts = [a for a in result.stats.actions if (a.role, a.what) == (role, what)]
        by_filter[f"{role} {what}"] = {
            "actions": len(acts), **_change_figures(acts),
            "action_p50_ms": round(_percentile([a.seconds * 1000 for a in acts], 50), 1),
            "action_p95_ms": round(_percentile([a.seconds * 1000 for a in acts], 95), 1)}
    overall = _figures([s.seconds for s in samples if s.ok], sum(not s.ok for s in samples))
    overall["throughput_rps"] = round(len(samples) / result.elapsed, 1)
    overall["elapsed_s"] = round(result.elapsed, 1)
    overall["bytes"] = sum(s.nbytes for s in samples)
    cpu = result.memory.get("server_cpu_s")
    if cpu and samples:
        # contention-free figures: what the server's own CPU time says it could do alone
        overall["server_cpu_ms_per_request"] = round(1000 * cpu / len(samples), 1)
        overall["server_cpu_ms_per_filter_change"] = round(
            1000 * cpu / max(len(result.stats.actions), 1), 1)
        overall["cores_used"] = round(cpu / result.elapsed, 2)
    return {
        "when": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": {"cores": os.cpu_count(), "machine": platform.machine(),
                    "python": platform.python_version(), "system": platform.platform()},
        "config": config,
        "overall": overall,
        "kinds": {k: _figures([s.seconds for s in v if s.ok], sum(not s.ok for s in v))
                  for k, v in sorted(kinds.items())},
        "roles": by_role,
        "filters": by_filter,
        "server_memory": result.memory,
        "client_cpu_s": result.client_cpu_s,
        "error_samples": result.stats.errors,
    }


def _table(summary: dict) -> str:
    lines = [(f"{'kind':38} {'requests':>8} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} "
              f"{'p99 ms':>8} {'max ms':>8}")]

    def row(name, f):
        lines.append(f"{name[:38]:38} {f['requests']:8d} {f['errors']:6d} {f['p50_ms']:8.1f} "
                     f"{f['p95_ms']:8.1f} {f['p99_ms']:8.1f} {f['max_ms'] or 0:8.1f}")

    for name, f in summary["kinds"].items():
        row(name, f)
    row("ALL REQUESTS", summary["overall"])
    o, c = summary["overall"], summary["config"]
    lines.append(f"throughput: {o['throughput_rps']} requests/s over {o['elapsed_s']} s; "
                 f"{o['bytes'] / 1e6:.1f} MB answered")
    for role, f in summary["roles"].items():
        lines.append(f"{role:10} {f['actions']:5d} filter changes, {f['answered']} answered, "
                     f"{f['errors']} errors; a whole change p50 {f['action_p50_ms']} ms, "
                     f"p95 {f['action_p95_ms']} ms; {f['requests_per_change']} requests, "
                     f"{f['waves_per_change']} waves per change")
    for what, f in summary.get("filters", {}).items():
        lines.append(f"  {what:28} {f['actions']:5d} changes: {f['requests_per_change']} "
                     f"requests (≤ {f['most_requests']}), {f['waves_per_change']} waves "
                     f"(≤ {f['most_waves']}); p50 {f['action_p50_ms']} ms, "
                     f"p95 {f['action_p95_ms']} ms")
    mem = summary["server_memory"]
    if mem.get("workers"):
        workers = ", ".join(f"{w['start_mb']:.0f} → {w['peak_mb']:.0f}" for w in mem["workers"])
        lines.append(f"server RSS: master {mem['master_mb']:.0f} MB; workers (start → peak) "
                     f"{workers} MB")
        lines.append(f"server CPU: {mem['server_cpu_s']} s ({o.get('cores_used')} cores); "
                     f"{o.get('server_cpu_ms_per_request')} ms per request, "
                     f"{o.get('server_cpu_ms_per_filter_change')} ms per filter change "
                     "(sign-ins and page loads included)")
    if mem.get("load_avg_1min"):
        load = mem["load_avg_1min"]
        lines.append(f"machine load (1 min): {load['start']} at the start, mean {load['mean']}, "
                     f"max {load['max']} on {summary['machine']['cores']} cores")
    lines.append(f"client CPU: {summary['client_cpu_s']} s; sessions {c['sessions']}, "
                 f"think {c['think']}, back-end {c.get('backend')}, workers {c.get('workers')}")
    for problem in summary["error_samples"][:10]:
        lines.append(f"  error: {problem}")
    return "\n".join(lines)


def _think(text: str) -> tuple[float, float]:
    parts = [float(p) for p in text.replace(",", "-").split("-") if p.strip()]
    if len(parts) == 1:
        return (parts[0], parts[0])
    if len(parts) != 2 or parts[0] > parts[1] or parts[0] < 0:
        raise argparse.ArgumentTypeError("think time: SECONDS or MIN-MAX, e.g. 0.5-2 or 0")
    return (parts[0], parts[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds (default 60)")
    parser.add_argument("--think", type=_think, default=(0.5, 2.0),
                        help="pause between a user's actions, MIN-MAX seconds (default 0.5-2; "
                             "0: none, to saturate the server)")
    parser.add_argument("--ramp", type=float, default=5.0,
                        help="users arrive evenly over this many seconds (default 5)")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds before a request counts as failed (default 60)")
    parser.add_argument("--url", default=None, help="a running server (default: start one)")
    parser.add_argument("--pid", type=int, default=None,
                        help="with --url: the server's (gunicorn master's) process id, for RSS")
    parser.add_argument("--postgis", action="store_true",
                        help="a throw-away PostgreSQL + PostGIS store (default: SQLite)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--servers", type=int, default=1,
                        help="app servers on the one PostGIS database, users spread over them "
                             "in turn (default 1; more need --postgis)")
    parser.add_argument("--threads", type=int, default=THREADS,
                        help=f"threads per worker (default {THREADS}, as borderwatch serve)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args(argv)

    config = {"sessions": args.sessions, "duration_s": args.duration,
              "think": "none" if args.think[1] == 0 else f"{args.think[0]}-{args.think[1]} s",
              "ramp_s": args.ramp, "timeout_s": args.timeout, "seed": args.seed}

    def load(url, pid) -> dict:
        where = url if isinstance(url, str) else ", ".join(url)
        print(f"{args.sessions} sessions for {args.duration:.0f} s on {where} …", file=sys.stderr,
              flush=True)
        result = run_load(url, sessions=args.sessions, duration=args.duration,
                          think=args.think, ramp=args.ramp, timeout=args.timeout, pid=pid,
                          seed=args.seed)
        return summarise(result, config=config)

    if args.url:
        config.update(backend="(running server)", workers=None, threads=None, url=args.url)
        summary = load(args.url, args.pid)
    else:
        with running_server(postgis=args.postgis, workers=args.workers,
                            threads=args.threads, servers=args.servers) as server:
            config.update(backend=server.backend, workers=server.workers,
                          threads=server.threads, server="gunicorn (gthread)",
                          servers=len(server.urls), setup=server.setup_seconds)
            summary = load(server.urls, server.pids)
            log_tail = "\n".join(p.read_text(errors="replace") for p in server.logs)
            problems = [l for l in log_tail.splitlines()
                        if any(w in l for w in ("ERROR", "CRITICAL", "Traceback", "WORKER TIMEOUT"))]
            summary["server_log_problems"] = problems[:30]
            if problems:
                print("server log:\n" + "\n".join(problems[:30]), file=sys.stderr)
    print(_table(summary))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, ensure_ascii=False, indent=1))
    return 0 if summary["overall"]["errors"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
