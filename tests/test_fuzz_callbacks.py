"""Hostile values into every Dash callback: never a 500, no traceback, no exception.

The app is built as ``borderwatch serve`` builds it (the synthetic demo in a
throw-away data folder) and driven without a browser, through Flask's test
client: each callback of ``app.callback_map`` is called by POSTing to
``/_dash-update-component`` the body Dash's renderer sends (``output``,
``outputs``, ``inputs`` and ``state`` as ``{id, property, value}``,
``changedPropIds``), with hypothesis choosing every input and state value:
values the page itself offers (harvested from the rendered pages: option
values, dates, stores), and hostile ones a modified browser can send (None,
wrong types, huge lists and strings, NaN and Infinity, "../../etc/passwd",
"<script>", "2025-13-45", dicts, negative and huge numbers, lone surrogates).
Pattern-matching (ALL) inputs get lists of elements with hostile ids.

The callbacks are enumerated from ``callback_map`` when the tests are
collected, so a callback added or changed is fuzzed without touching this
file. A callback with a known crash is marked ``xfail(strict=True)`` with
the bug and its minimal input (:data:`KNOWN_BUGS`): fixing it turns the mark
into a failure that asks for the mark to go. Export callbacks run with few
examples and with Chromium replaced by a stub (the rendering itself is tested
in ``test_export_static.py``).
"""

from __future__ import annotations

import atexit
import json
import math
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from geo.config import Settings
from tests.cache import PLAN_CACHE, demo_data

_CI = bool(os.environ.get("CI")) or os.environ.get("BORDERWATCH_REQUIRE_POSTGIS") == "1"
_SCALE = float(os.environ.get("BORDERWATCH_FUZZ_SCALE", "1"))
_TRACE_WORDS = ("Traceback", 'File "', "Werkzeug Debugger", "__traceback_hide__")
#: Examples per callback; export callbacks (downloads) get a few only.
EXAMPLES, EXPORT_EXAMPLES = 12, 4

#: Callbacks that crash today, found by this file (a 500, or an exception the app's error
#: handler turns into its generic message). Each is named by a part of its signature
#: ("first-output.property <- input.property …", see :func:`_signature`); the value is the bug
#: and the minimal requests that show it: ``{"id.property": value}`` for the inputs and
#: states named (None elsewhere; the first one is the trigger), ``"__elements__"`` for the
#: elements of pattern-matching (ALL) ids. Fixing a bug turns its strict xfail into a failure:
#: then remove the entry.
KNOWN_BUGS: dict[str, tuple[str, list[dict]]] = {}  # all fixed; add new ones here


def _fuzz(examples: int) -> settings:
    return settings(
        max_examples=max(1, round(examples * _SCALE)), deadline=None, derandomize=_CI,
        **({"database": None} if _CI else {}),
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                               HealthCheck.data_too_large, HealthCheck.large_base_example,
                               HealthCheck.filter_too_much],
    )


# -- the callbacks, known when the tests are collected -------------------------------------


def _callbacks() -> list[tuple[str, str]]:
    """(key, signature) of the server callbacks of an app over an empty store (cheap: no
    demo data); clientside callbacks never reach the server and are left out."""
    from dashboard.app import create_app

    folder = tempfile.mkdtemp(prefix="bw-fuzz-callbacks-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    app = create_app(Settings(data_dir=Path(folder) / "var", cache_dir=PLAN_CACHE))
    return sorted((k, _signature(k, cb)) for k, cb in app.callback_map.items()
                  if "callback" in cb)


def _signature(key: str, cb: dict) -> str:
    """"first-output.property <- input.property …": what :data:`KNOWN_BUGS` names it by."""
    return f"{_short(key)} <- " + " ".join(f"{d['id']}.{d['property']}" for d in cb["inputs"])


def _bugs_of(signature: str) -> list[tuple[str, list[dict]]]:
    return [bug for part, bug in KNOWN_BUGS.items() if part in signature]


def _is_export(key: str) -> bool:
    """Downloads: the callbacks that render files (HTML, XLSX, PNG/PDF through Chromium)."""
    return "download" in key.lower()


def pytest_generate_tests(metafunc):
    if "callback_key" in metafunc.fixturenames:
        metafunc.parametrize("callback_key", [
            pytest.param(key, id=sig.split(" ")[0] + "<-" + (sig.split(" ") + [""])[2], marks=[
                pytest.mark.xfail(strict=True, reason="; ".join(r for r, _ in _bugs_of(sig)))
            ] if _bugs_of(sig) else [])
            for key, sig in _callbacks()])


def _short(key: str) -> str:
    """A readable test id: the first output of the callback, without Dash's hash suffixes."""
    first = key.strip(".").split("...")[0]
    return first.split("@")[0].replace('"', "")


# -- the app, with the demo data -----------------------------------------------------------


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Settings:
    settings_ = Settings(data_dir=tmp_path_factory.mktemp("fuzz-callbacks") / "var", cache_dir=PLAN_CACHE)
    demo_data(settings_)
    return settings_


@pytest.fixture(scope="module")
def app(data):
    from dashboard.app import create_app
    from dashboard.context import build_context

    with pytest.MonkeyPatch.context() as patch:
        _no_chromium(patch)
        yield create_app(data, build_context(data))


def _no_chromium(patch: pytest.MonkeyPatch) -> None:
    """Every Chromium render (kaleido figures, HTML to PDF) returns a stub document."""
    import io

    from PIL import Image

    stub = b"%PDF-1.4\n% stub: no Chromium in the callback fuzz\n"
    picture = io.BytesIO()
    Image.new("RGB", (4, 4), "white").save(picture, format="PNG")

    def figures(figs, *a, **k):  # a PNG where one is asked for (the Word report embeds it)
        return [picture.getvalue() if k.get("fmt") == "png" else stub] * len(list(figs))

    renderers = {
        "export_figure": lambda *a, **k: picture.getvalue() if k.get("fmt") == "png" else stub,
        "export_figures": figures,
        "html_to_pdf": lambda *a, **k: stub,
    }
    for name, module in list(sys.modules.items()):
        if not name.startswith("dashboard") or module is None:
            continue
        for attr, fake in renderers.items():
            if callable(getattr(module, attr, None)):
                patch.setattr(module, attr, fake)


_PASSWORD = "fuzz-password-0123456789"


def _roles() -> tuple:
    """The app's roles when it has sign-in (each page is open to some of them), else none."""
    try:
        from dashboard.auth.roles import ROLES
    except ImportError:
        return (None,)
    return tuple(ROLES)


def signed_in(app, settings: Settings, role: str | None):
    """A test client signed in with ``role`` (a plain client when the app has no sign-in)."""
    import re

    client = app.server.test_client()
    if role is None or "/login" not in {r.rule for r in app.server.url_map.iter_rules()}:
        return client
    from dashboard.auth.accounts import accounts_of

    accounts = accounts_of(settings)
    name = f"fuzz-{role}"
    if name not in {u["username"] for u in accounts.users()}:
        accounts.create_user(name, _PASSWORD, role)
    form = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    answer = client.post("/login", data={"csrf": token, "username": name,
                                         "password": _PASSWORD, "next": "/"})
    assert answer.status_code in (302, 303), answer.get_data(as_text=True)[:500]
    return client


class _Caller:
    """POSTs callback requests the way the renderer does, signed in with a role that may run
    each callback; records the server's exceptions."""

    def __init__(self, app, settings: Settings) -> None:
        import flask

        self.app = app
        self.clients = {role: signed_in(app, settings, role) for role in _roles()}
        self.client = next(iter(self.clients.values()))
        self._role_of: dict[str, object] = {}
        self.errors: list[BaseException] = []
        flask.got_request_exception.connect(self._record, app.server, weak=False)
        handler = getattr(app, "_on_error", None)
        if handler is not None:  # the app's own handler answers 200 with a message: still a bug
            def on_error(err, handler=handler):
                self.errors.append(err)
                return handler(err)

            app._on_error = on_error

    def use_role_for(self, key: str, body: dict) -> None:
        """Choose the first role the server lets run this callback (not 401/403)."""
        if key not in self._role_of:
            self._role_of[key] = next(iter(self.clients))
            for role, client in self.clients.items():
                self.client = client
                if self.call(body).status_code not in (401, 403):
                    self._role_of[key] = role
                    break
        self.client = self.clients[self._role_of[key]]

    def _record(self, sender, exception, **_):
        self.errors.append(exception)

    def body(self, key: str, values: dict, elements: dict, triggered: list[str]) -> dict:
        from dash._utils import split_callback_id

        cb = self.app.callback_map[key]

        def fill(deps):
            out = []
            for dep in deps:
                name = f"{dep['id']}.{dep['property']}"
                if _is_pattern(dep["id"]):
                    out.append([{"id": el, "property": dep["property"], "value": v}
                                for el, v in zip(elements[dep["id"]], values[name], strict=True)])
                else:
                    out.append({"id": dep["id"], "property": dep["property"],
                                "value": values[name]})
            return out

        outputs = split_callback_id(key)
        single = isinstance(outputs, dict)
        outputs = [outputs] if single else outputs
        concrete = []
        for out in outputs:
            if _is_pattern(out["id"]):
                concrete.append([{"id": el, "property": out["property"]}
                                 for el in elements[out["id"]]])
            else:
                concrete.append(out)
        body = {"output": key, "outputs": concrete[0] if single else concrete,
                "inputs": fill(cb["inputs"]), "changedPropIds": triggered}
        if cb["state"]:
            body["state"] = fill(cb["state"])
        return body

    def call(self, body: dict):
        self.errors.clear()
        data = json.dumps(body, allow_nan=True)
        csrf = self.client.get_cookie("_csrf_token")
        headers = {"X-CSRFToken": csrf.value} if csrf else {}
        return self.client.post("/_dash-update-component", data=data, headers=headers,
                                content_type="application/json")


def _is_pattern(dep_id) -> bool:
    return isinstance(dep_id, str) and dep_id.startswith("{")


@pytest.fixture(scope="module")
def caller(app, data) -> _Caller:
    return _Caller(app, data)


# -- what the pages offer: values to start from -------------------------------------------------


@pytest.fixture(scope="module")
def offered(app, caller) -> dict[str, list]:
    """``{"id.property": [values]}`` seen on the rendered pages: each component's value and
    options, dates, stores, links; pages found by following the links from the first one."""
    seen: dict[str, list] = {}
    route = next((k for k, cb in app.callback_map.items()
                  if any(d["property"] == "pathname" for d in cb["inputs"])), None)
    if route is None:
        return seen
    paths, done = ["/"], set()
    while paths and len(done) < 12:
        path = paths.pop(0)
        if path in done:
            continue
        done.add(path)
        values = {f"{d['id']}.{d['property']}": None for d in
                  app.callback_map[route]["inputs"] + app.callback_map[route]["state"]}
        values.update({k: path for k in values if k.endswith(".pathname")})
        values.update({k: "" for k in values if k.endswith(".search")})
        trigger = [k for k in values if k.endswith(".pathname")]
        for client in caller.clients.values():
            caller.client = client
            response = caller.call(caller.body(route, values, {}, trigger))
            if response.status_code == 200:
                _harvest(response.get_json(), seen, paths)
    return seen


def _harvest(tree, seen: dict[str, list], paths: list[str]) -> None:
    """Values and links of the components of one rendered page."""
    for component in _components(tree):
        props = component.get("props", {})
        cid = props.get("id")
        if not isinstance(cid, str):
            continue
        for prop, value in props.items():
            if prop in ("children", "style", "className", "id"):
                continue
            seen.setdefault(f"{cid}.{prop}", []).append(value)
            if prop == "options" and isinstance(value, list):
                opts = [o.get("value") if isinstance(o, dict) else o for o in value]
                seen.setdefault(f"{cid}.value", []).extend([*opts, opts])
            if prop == "href" and isinstance(value, str) and value.startswith("/"):
                paths.append(value.split("?")[0])


def _components(node):
    """Every component dict in a Dash JSON tree."""
    if isinstance(node, dict):
        if "props" in node and "type" in node:
            yield node
        for value in node.values():
            yield from _components(value)
    elif isinstance(node, list):
        for value in node:
            yield from _components(value)


# -- hostile values ---------------------------------------------------------------------------

_STRINGS = [
    "", " ", "../../etc/passwd", "/etc/passwd", "..\\..\\windows\\win.ini", "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>", "2025-13-45", "0000-00-00", "2024-02-30", "9999-12-31",
    "-0001-01-01", "2024-01-01T25:61:00", "20240101", "2024-01-01 00:00:00+99:00", "NaN",
    "Infinity", "-Infinity", "null", "undefined", "None", "true", "{{7*7}}", "${7*7}", "%s%n",
    "' OR 1=1 --", "=cmd|' /C calc'!A0", "\x00", "\ud800", "\u202e", "💣", "vi", "en", "fr",
    "2025", "legacy", "rates", "gi", "density", "tip", "25681", "99999", "-1", "1e309",
    "?lang=en&present=1", "?lang=<script>", "/commander", "/planner", "/import", "//evil.com",
    "data:text/csv;base64,", "data:text/csv;base64,!!!not base64!!!",
]
_LEAF = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(_STRINGS),
    st.text(max_size=20),
)
_HOSTILE = st.one_of(
    _LEAF,
    st.lists(_LEAF, max_size=5),
    st.dictionaries(st.text(max_size=6), _LEAF, max_size=4),
    st.recursive(_LEAF, lambda inner: st.lists(inner, max_size=3) |
                 st.dictionaries(st.sampled_from(["points", "location", "curveNumber", "token",
                                                  "kind", "lang", "x"]), inner, max_size=3),
                 max_leaves=8),
    st.sampled_from([
        "x" * 1_000_000, ["tip"] * 100_000, list(range(100_000)), {"points": "x"},
        {"points": [{"curveNumber": 0, "location": "../../etc/passwd"}]},
        {"points": [{"curveNumber": 0, "location": ["25681"]}]},
        {"token": "../../borderwatch.sqlite", "kind": "incidents", "source": "x",
         "strict": False, "filename": "a.csv"},
        {"token": ["x"], "kind": ["incidents"]}, [["2025"]], float("nan"), -1, 2**63,
    ]),
)


def _upload(text: str, suffix: str = ".csv") -> st.SearchStrategy[str]:
    import base64

    return st.just("data:text/csv;base64," + base64.b64encode(text.encode()).decode())


_UPLOADS = st.one_of(
    _upload("record_id,date,type,commune_code\nHS-1,05/08/2024,tip,25681\n"),
    _upload("\ufeffrecord_id;date;type;commune_code\nHS-1;31/02/2024;tip;99999\n"),
    _upload("record_id,date\n\x00\x00"),
    st.binary(max_size=200).map(lambda b: "data:application/octet-stream;base64,"
                                + __import__("base64").b64encode(b).decode()),
)


def _value_strategy(name: str, offered: dict[str, list]) -> st.SearchStrategy:
    """A value for input/state ``name``: one the page offers, or a hostile one."""
    prop = name.rsplit(".", 1)[1]
    good = [v for v in offered.get(name, []) if _json_safe(v)]
    extra: list[st.SearchStrategy] = []
    if prop in ("start_date", "end_date"):
        extra.append(st.dates().map(lambda d: d.isoformat()))
    if prop == "n_clicks":
        extra.append(st.integers(0, 5))
    if prop == "contents":
        extra.append(_UPLOADS)
    if prop == "clickData":
        extra.append(st.builds(lambda c, loc: {"points": [{"curveNumber": c, "location": loc}]},
                               st.integers(-1, 4), st.sampled_from(["25681", "25699", "x", ""])))
    choices = ([st.sampled_from(good)] if good else []) + extra
    if not choices:
        return _HOSTILE
    return st.one_of(*choices, _HOSTILE)


def _json_safe(value) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


_ELEMENT_IDS = st.one_of(st.sampled_from(["25681", "25699", "vi", "en"]), _LEAF)


@st.composite
def _request(draw, key: str, app, offered: dict[str, list]):
    """The values, the pattern elements and the triggered inputs of one callback request."""
    cb = app.callback_map[key]
    elements: dict[str, list] = {}
    values: dict[str, object] = {}
    written = {d["id"] for d in _outputs_of(key)}  # the renderer never writes to no element
    for dep in cb["inputs"] + cb["state"]:
        name = f"{dep['id']}.{dep['property']}"
        if _is_pattern(dep["id"]):
            if dep["id"] not in elements:
                pattern = json.loads(dep["id"])
                n = draw(st.integers(1 if dep["id"] in written else 0, 3))
                elements[dep["id"]] = [
                    {k: (draw(_ELEMENT_IDS) if v == ["ALL"] else v) for k, v in pattern.items()}
                    for _ in range(n)]
            values[name] = [draw(_value_strategy(name, offered)) for _ in elements[dep["id"]]]
        else:
            values[name] = draw(_value_strategy(name, offered))
    for dep in _outputs_of(key):
        if _is_pattern(dep["id"]) and dep["id"] not in elements:
            pattern = json.loads(dep["id"])
            elements[dep["id"]] = [{k: (draw(_ELEMENT_IDS) if v == ["ALL"] else v)
                                    for k, v in pattern.items()}
                                   for _ in range(draw(st.integers(1, 3)))]
    names = []
    for dep in cb["inputs"]:
        if _is_pattern(dep["id"]):
            from dash._utils import stringify_id

            names += [f"{stringify_id(el)}.{dep['property']}" for el in elements[dep["id"]]]
        else:
            names.append(f"{dep['id']}.{dep['property']}")
    triggered = draw(st.lists(st.sampled_from(names), max_size=2, unique=True)) if names else []
    return values, elements, triggered


def _outputs_of(key: str) -> list[dict]:
    from dash._utils import split_callback_id

    outputs = split_callback_id(key)
    return [outputs] if isinstance(outputs, dict) else outputs


# -- the property -------------------------------------------------------------------------------


def _answer_is_clean(caller: _Caller, body: dict, response) -> None:
    """200 with JSON, or 204 (PreventUpdate); never a 500, never a traceback in the body, and
    no exception in the callback (even one the app's error handler turns into a message)."""
    text = response.get_data(as_text=True)
    if response.status_code not in (200, 204) or caller.errors:
        trace = ""
        if caller.errors:
            import traceback

            trace = "".join(traceback.format_exception(caller.errors[-1]))
        pytest.fail(f"status {response.status_code}, callback raised "
                    f"{type(caller.errors[-1]).__name__ if caller.errors else 'nothing'} for "
                    f"{_brief(body)}\n{trace}", pytrace=False)
    assert not any(word in text for word in _TRACE_WORDS), text[:2000]
    if response.status_code == 200:
        json.loads(text)


def _brief(body: dict) -> str:
    """The request in a line or three, long values cut."""
    def cut(value):
        text = json.dumps(value, allow_nan=True, ensure_ascii=False)
        return text if len(text) <= 200 else text[:200] + f"… ({len(text)} chars)"

    parts = [f"output={body['output']!r}"]
    for group in ("inputs", "state"):
        for dep in body.get(group, []):
            if isinstance(dep, list):
                parts.append(f"{group}: " + cut(dep))
            else:
                parts.append(f"{group}: {dep['id']}.{dep['property']} = {cut(dep['value'])}")
    parts.append(f"changedPropIds={body['changedPropIds']}")
    return "\n  ".join(parts)


def test_every_callback_answers_hostile_input_cleanly(callback_key, app, caller, offered):
    """Any input and state values, in the renderer's request shape: a clean answer."""
    examples = EXPORT_EXAMPLES if _is_export(callback_key) else EXAMPLES
    signature = _signature(callback_key, app.callback_map[callback_key])
    bugs = [inputs for _, found in _bugs_of(signature) for inputs in found]

    @_fuzz(examples)
    @given(_request(callback_key, app, offered))
    def run(request):
        values, elements, triggered = request
        body = caller.body(callback_key, values, elements, triggered)
        caller.use_role_for(callback_key, body)
        _answer_is_clean(caller, body, caller.call(body))

    for minimal in bugs:  # the known crash first: the xfail is then certain, not by chance
        run = example(_with_defaults(callback_key, app, minimal))(run)
    run()


def _with_defaults(key: str, app, minimal: dict) -> tuple:
    """A request with ``minimal``'s values, None elsewhere, triggered by its first input."""
    cb = app.callback_map[key]
    deps = cb["inputs"] + cb["state"]
    minimal = dict(minimal)
    elements = {d["id"]: [] for d in deps + _outputs_of(key) if _is_pattern(d["id"])}
    elements.update(minimal.pop("__elements__", {}))
    values = {f"{d['id']}.{d['property']}": [None] * len(elements[d["id"]])
              if _is_pattern(d["id"]) else None for d in deps}
    values.update(minimal)
    first = next(iter(minimal))
    return values, elements, [first] if first in values and not _is_pattern(first) else []


def test_the_callbacks_are_found(app):
    """The enumeration sees the pages' callbacks (a guard against fuzzing nothing)."""
    keys = list(app.callback_map)
    assert len(keys) >= 10
    assert any("import-preview" in k for k in keys)
    assert any(_is_export(k) for k in keys)


def test_a_nan_or_huge_value_is_sent_as_the_renderer_would_not(caller, app):
    """The harness itself: NaN and 2**70 reach the server (JSON with NaN is accepted)."""
    key = next(k for k in app.callback_map if "import-template" in k)
    cb = app.callback_map[key]
    values = {f"{d['id']}.{d['property']}": math.nan for d in cb["inputs"] + cb["state"]}
    body = caller.body(key, values, {}, [f"{cb['inputs'][0]['id']}.{cb['inputs'][0]['property']}"])
    assert "NaN" in json.dumps(body, allow_nan=True)
    caller.use_role_for(key, body)
    _answer_is_clean(caller, body, caller.call(body))
