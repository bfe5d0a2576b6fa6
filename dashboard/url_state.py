"""The view in the address bar: which filters and layer a page shows, as URL parameters.

A page declares its :class:`Field` s (URL parameter ↔ component property);
this module reads a query string into checked values (a hand-edited or
stale link can only select what the page offers), writes the current
values back as a query string, and registers the one callback that keeps
both in step: a filter change pushes a browser-history entry, the back
button (or a pasted link) sets the filters again. A link therefore reopens
the same view, and the frame keys (``lang``, ``present``) ride along.

Dates are ISO (``2025-07-01``) in the URL: a machine format, the screen
still shows dd/mm/yyyy.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable, Sequence
from urllib.parse import parse_qs, urlencode

from dashboard.i18n import LANGUAGES

__all__ = ["FRAME_KEYS", "PERIOD_KEYS", "PRESENT_ON", "Field", "frame_of", "query_string",
           "read_query", "register_url_sync"]

#: Parameters that belong to the frame (language, presentation mode), not to a page.
FRAME_KEYS = ("lang", "present")
#: What ``present`` is read as: presentation mode on.
PRESENT_ON = ("1", "true", "yes")
#: The parameters of a view's period: a view never starts after it ends.
PERIOD_KEYS = ("from", "to")


@dataclass(frozen=True)
class Field:
    """One piece of a page's view that lives in the URL.

    Parameters
    ----------
    param : str
        Name in the query string (``layer``, ``types``, ``from``…).
    component, prop : str
        The Dash component property that holds it.
    kind : {"text", "list", "date", "number"}
        ``list`` values repeat the parameter (``types=a&types=b``); an empty
        list is written ``types=`` so that it differs from "not given".
    choices : tuple, optional
        The allowed values (of a text, or of each list item); ``None`` allows any
        text (e.g. agency names, which come from the data).
    low, high : float
        Bounds of a number (clamped).
    """

    param: str
    component: str
    prop: str = "value"
    kind: str = "text"
    choices: tuple | None = None
    low: float = float("-inf")
    high: float = float("inf")

    def parse(self, raw: list[str]):
        """The checked value of the URL's ``raw`` strings, or ``None`` when unusable."""
        if self.kind == "list":
            given = [v for v in raw if v != ""]
            items = [v for v in given if self.choices is None or v in self.choices]
            if given and not items:
                return None  # only unknown values: a broken link, not a choice of nothing
            return list(dict.fromkeys(items))
        value = raw[-1] if raw else ""
        if self.kind == "date":
            try:
                return dt.date.fromisoformat(value).isoformat()
            except ValueError:
                return None
        if self.kind == "number":
            try:
                number = float(value)
            except ValueError:
                return None
            if number != number:
                return None
            number = float(min(max(number, self.low), self.high))
            return int(number) if number.is_integer() else number
        if self.choices is not None and value not in self.choices:
            return None
        return value or None

    def write(self, value) -> list[str]:
        """``value`` as the URL's strings (nothing for ``None``)."""
        if value is None:
            return []
        if self.kind == "list":
            items = [str(v) for v in (value if isinstance(value, (list, tuple)) else [])
                     if isinstance(v, (str, int, float))]
            return items or [""]
        if self.kind == "date":
            return [str(value)[:10]]
        return [str(value)]


def _query(search: str | None) -> dict[str, list[str]]:
    return parse_qs(search.lstrip("?") if isinstance(search, str) else "",
                    keep_blank_values=True)


def _in_order(values: dict) -> bool:
    """Whether the view's period (if it has one) does not start after it ends."""
    start, end = (values.get(k) for k in PERIOD_KEYS)
    return not (isinstance(start, str) and isinstance(end, str) and start[:10] > end[:10])


def _ordered(values: dict) -> dict:
    """``values`` with its period's two dates in order (a hand-made link may swap them)."""
    if _in_order(values):
        return values
    start, end = (values[k] for k in PERIOD_KEYS)
    return {**values, PERIOD_KEYS[0]: end, PERIOD_KEYS[1]: start}


def read_query(search: str | None, fields: Sequence[Field]) -> dict:
    """The values a query string sets, checked; absent or unusable parameters are left out;
    a period's dates are put in order.

    >>> f = [Field("layer", "l", choices=("rates", "gi")), Field("types", "t", kind="list")]
    >>> read_query("?layer=gi&types=tip&types=&types=crossing", f)
    {'layer': 'gi', 'types': ['tip', 'crossing']}
    >>> read_query("?layer=../../etc&from=2025-13-45", f)
    {}
    >>> read_query("?from=2025-10-01&to=2025-08-20", [Field("from", "p", "start_date", kind="date"),
    ...            Field("to", "p", "end_date", kind="date")])
    {'from': '2025-08-20', 'to': '2025-10-01'}
    """
    query = _query(search)
    values = {}
    for field in fields:
        if field.param not in query:
            continue
        value = field.parse(query[field.param])
        if value is not None:
            values[field.param] = value
    return _ordered(values)


def query_string(values: dict, fields: Sequence[Field], frame: dict | None = None) -> str:
    """``?lang=vi&layer=gi&…``: the frame keys first, then each field in declared order.

    >>> query_string({"layer": "gi", "types": []}, [Field("layer", "l"),
    ...              Field("types", "t", kind="list")], {"lang": "vi"})
    '?lang=vi&layer=gi&types='
    """
    pairs = [(k, str(v)) for k, v in (frame or {}).items() if v not in (None, "", False)]
    for field in fields:
        pairs += [(field.param, s) for s in field.write(values.get(field.param))]
    return "?" + urlencode(pairs) if pairs else ""


def frame_of(search: str | None, default_lang: str, languages: Sequence[str]) -> dict:
    """The frame keys of a query string: ``{"lang": "vi", "present": False}``."""
    query = _query(search)
    lang = (query.get("lang") or [default_lang])[-1]
    present = (query.get("present") or ["0"])[-1] in PRESENT_ON
    return {"lang": lang if lang in languages else default_lang, "present": present}


def register_url_sync(
    app,
    *,
    url_id: str,
    path: str,
    fields: Sequence[Field],
    defaults: Callable[[], dict],
    derived: Sequence[tuple[str, str, Callable[[dict], object]]] = (),
    present_button: str | None = None,
    default_lang: str = "vi",
    languages: Sequence[str] = LANGUAGES,
) -> None:
    """Keep ``path``'s ``fields`` and the address bar in step, both ways.

    ``url_id`` is a ``dcc.Location(refresh="callback-nav")`` in the page's own layout (it
    tells the frame's Location of each change),
    so that every input of the callback arrives with the page (Dash refuses
    callbacks that mix the page's components with the frame's, on other pages).

    - a field changes → the URL's query is rewritten (a new history entry),
      unless it already says the same;
    - the URL changes on this page (back/forward buttons) → the fields are set
      from it, with ``defaults()`` for what it does not name, and each
      ``derived`` (component, prop, function of the values) is set too (the
      period preset that matches the dates, for instance);
    - ``present_button`` clicked → the same view in presentation mode
      (``present=1``), which the frame renders full screen.
    """
    from dash import Input, Output, State, ctx as dash_ctx, no_update

    outputs = [Output(url_id, "search", allow_duplicate=True)]
    outputs += [Output(f.component, f.prop, allow_duplicate=True) for f in fields]
    outputs += [Output(c, p, allow_duplicate=True) for c, p, _ in derived]
    inputs = [Input(url_id, "search")] + [Input(f.component, f.prop) for f in fields]
    if present_button:
        inputs.append(Input(present_button, "n_clicks"))
    n_fields = len(fields)

    @app.callback(*outputs, *inputs, State(url_id, "pathname"), prevent_initial_call=True)
    def sync(search, *args):
        current, pathname = args[:n_fields], args[-1]
        clicks = args[n_fields] if present_button else None
        untouched = [no_update] * (n_fields + len(derived))
        if pathname != path:
            return [no_update, *untouched]
        frame = frame_of(search, default_lang, languages)
        trigger = dash_ctx.triggered_id
        values = {f.param: v for f, v in zip(fields, current, strict=True)}
        if trigger == url_id:
            wanted = _ordered({**defaults(), **read_query(search, fields)})
            if read_query(query_string(wanted, fields), fields) == \
                    read_query(query_string(values, fields), fields):
                return [no_update, *untouched]  # the page already shows it (first load)
            shown = [wanted.get(f.param) if wanted.get(f.param) != values.get(f.param)
                     else no_update for f in fields]
            return [no_update, *shown, *(fn(wanted) for _, _, fn in derived)]
        if not _in_order(values):
            return [no_update, *untouched]  # the period callback puts the dates in order first
        if present_button and trigger == present_button:
            if not clicks:
                return [no_update, *untouched]
            frame["present"] = 1
        else:
            frame["present"] = 0
        wanted = query_string(values, fields, frame)
        if not frame["present"] and read_query(wanted, fields) == read_query(search, fields):
            return [no_update, *untouched]
        return [wanted, *untouched]
