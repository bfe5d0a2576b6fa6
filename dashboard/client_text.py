"""What the browser writes by itself, in the page's language: the page shell's words.

Dash's page shell says "Loading..." until the app draws, its renderer says
"Error loading layout" when the page cannot be built (a session that ended
between the shell and its layout, a server that stopped), and the date
pickers' buttons are labelled "Previous month", "Clear date"… — all English,
from the framework's own scripts. :func:`page_shell` rewrites the shell in the
session's language (``<html lang>``, the title, the loading line) and hands
the page's scripts (``dashboard/assets/language.js``) the catalogue's words
for the rest, in both languages, since a page can change language without
reloading. The words themselves live in the catalogue like every other.
"""

from __future__ import annotations

import html
import json
import re

from dashboard.i18n import LANGUAGES, translate

__all__ = ["CLIENT_KEYS", "DROPDOWN_LABELS", "SCRIPT_ID", "client_messages", "dropdown_labels",
           "page_shell"]

#: The catalogue messages the page's scripts use, by the name the scripts know them by.
CLIENT_KEYS = {
    "loading": "client.loading",
    "errorPage": "client.error_page",
    "previousMonth": "client.previous_month",
    "nextMonth": "client.next_month",
    "clearDates": "client.clear_dates",
    "closeCalendar": "client.close_calendar",
    "decrease": "client.decrease",
    "increase": "client.increase",
}
#: The id of the ``<script type="application/json">`` that carries them.
SCRIPT_ID = "bw-client-text"

#: The words of Dash's dropdown (its ``labels`` prop), by the prop's keys.
DROPDOWN_LABELS = ("select_all", "deselect_all", "selected_count", "search", "clear_search",
                   "clear_selection", "no_options_found")

_LOADING = re.compile(r'(<div class="_dash-loading">)\s*Loading\.\.\.\s*(</div>)')


def client_messages() -> dict[str, dict[str, str]]:
    """``{lang: {name: text}}`` for every language, from the catalogue.

    >>> client_messages()["vi"]["nextMonth"]
    'Tháng sau'
    """
    return {lang: {name: translate(key, lang) for name, key in CLIENT_KEYS.items()}
            for lang in LANGUAGES}


def dropdown_labels(lang: str) -> dict[str, str]:
    """The ``labels`` of a ``dcc.Dropdown`` on a page in ``lang`` (Dash writes "Search",
    "Select All", "No options found" otherwise); ``{num_selected}`` is left for Dash to fill.

    >>> dropdown_labels("vi")["search"], dropdown_labels("vi")["selected_count"]
    ('Tìm kiếm', 'Đã chọn {num_selected}')
    """
    return {key: translate(f"dropdown.{key}", lang, num_selected="{num_selected}")
            for key in DROPDOWN_LABELS}


def page_shell(index: str, lang: str) -> str:
    """Dash's page shell ``index`` in ``lang``: ``<html lang>``, the app's title, the loading
    line, and the client messages as JSON before ``</head>``.

    >>> shell = page_shell('<html>\\n<head>\\n<title>x</title>\\n</head><body>'
    ...                    '<div class="_dash-loading">\\n Loading...\\n</div></body></html>', "vi")
    >>> '<html lang="vi">' in shell, "Đang tải…" in shell, "Loading..." in shell
    (True, True, False)
    """
    payload = json.dumps(client_messages(), ensure_ascii=False).replace("<", "\\u003c")
    script = f'<script id="{SCRIPT_ID}" type="application/json">{payload}</script>\n'
    index = index.replace("<html>", f'<html lang="{lang}">', 1)
    index = re.sub(r"<title>.*?</title>",
                   lambda _: f"<title>{html.escape(translate('app.title', lang))}</title>",
                   index, count=1, flags=re.S)
    index = _LOADING.sub(lambda m: f"{m[1]}{html.escape(translate('client.loading', lang))}"
                         f"{m[2]}", index, count=1)
    return index.replace("</head>", script + "</head>", 1)
