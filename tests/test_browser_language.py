"""End to end: Vietnamese to the last word, the language kept for the session, and the map
in view while the filters change (issue 17).

One server for the module. In Vietnamese, the calendar's months and weekdays, the period
boxes' placeholders and buttons, Plotly's toolbar tooltips and the renderer's error hold no
English; a page opened without ``?lang`` keeps the language chosen before (by a link or by
the in-app switch); at 1440×900 the map stays inside the window while a period and the
other filters are chosen, for the commander and the committee's viewer; the title bar holds
on one line at 1400 px.
"""

from __future__ import annotations

import re

import pytest

from dashboard.i18n import translate
from tests.browser import ARTIFACTS, chromium_page, shared_demo_server

pytestmark = pytest.mark.browser

#: English words the framework writes by itself: month and weekday names, the pickers' and
#: the toolbar's words (the weekday initials are checked one by one: "Th 2" is Vietnamese).
_ENGLISH = re.compile(
    r"\b(January|February|March|April|May|June|July|August|September|October|November|"
    r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Oct|Nov|Dec|Monday|Sunday|Start|End|Date|"
    r"Previous|Next|month|Clear|Close|calendar|Decrease|Increase|value|Zoom|Pan|Select|Reset|"
    r"Download|plot|view|Autoscale|Error|loading|Loading)\b")
#: Where each role's page keeps its map and its period picker.
_PAGES = {"commander": ("/commander", "#cmd-map", "cmd-period"),
          "viewer": ("/", "#commune-map", "filter-period")}
_CALENDAR = ".dash-datepicker-calendar-wrapper"
_BOX = """(sel) => { const r = document.querySelector(sel).getBoundingClientRect();
  return {top: r.top, bottom: r.bottom, left: r.left, right: r.right, scroll: window.scrollY}; }"""


@pytest.fixture(scope="module")
def server():
    url, data_dir = shared_demo_server()  # these tests only read: one server per process
    yield url


def _open(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("canvas.maplibregl-canvas", timeout=90_000)
    page.wait_for_timeout(800)


def _calendar_words(page, picker: str) -> dict:
    """Open the period's calendar: its visible text, the labels of its buttons, the boxes'
    placeholders."""
    page.click(f"#{picker}")
    page.wait_for_selector(_CALENDAR, timeout=30_000)
    page.wait_for_timeout(400)
    words = page.evaluate(f"""() => {{
        const cal = document.querySelector('{_CALENDAR}');
        const labels = Array.from(cal.querySelectorAll('[aria-label]'))
            .map(e => e.getAttribute('aria-label'));
        const days = Array.from(cal.querySelectorAll('thead th'))
            .map(e => e.innerText.trim()).filter(x => x);
        return {{text: cal.innerText, labels: labels, days: days,
                 placeholders: [document.querySelector('#{picker}').placeholder,
                                document.querySelector('#{picker}-end-date').placeholder]}};
    }}""")
    page.keyboard.press("Escape")
    return words


def _toolbar_titles(page, graph: str) -> list[str]:
    page.hover(graph)
    page.wait_for_selector(f"{graph} .modebar-btn", timeout=30_000)
    return page.eval_on_selector_all(f"{graph} .modebar-btn",
                                     "bs => bs.map(b => b.getAttribute('data-title'))")


@pytest.mark.parametrize("role", ["commander", "viewer"])
def test_no_english_in_the_vietnamese_calendar_placeholders_and_toolbar(server, role):
    path, graph, picker = _PAGES[role]
    with chromium_page(1440, 900, role=role) as page:
        _open(page, f"{server}{path}?lang=vi")
        cal = _calendar_words(page, picker)
        assert re.fullmatch(r"Tháng \d{1,2} 20\d\d", cal["days"][0]), cal["days"]
        assert cal["days"][1:8] == ["Th 2", "Th 3", "Th 4", "Th 5", "Th 6", "Th 7", "CN"]
        assert not _ENGLISH.search(cal["text"]), cal["text"]
        assert cal["labels"] and not [x for x in cal["labels"] if _ENGLISH.search(x)]
        assert translate("client.next_month", "vi") in cal["labels"]
        # the placeholders show in an empty box: the words the picker carries
        assert cal["placeholders"] == ["Từ ngày", "Đến ngày"]
        titles = _toolbar_titles(page, graph)
        assert "Phóng to" in titles and "Về khung nhìn ban đầu" in titles
        assert not [t for t in titles if _ENGLISH.search(t)], titles
        assert page.evaluate("() => document.documentElement.lang") == "vi"

        # the same page in English: the picker and the toolbar change with it
        page.click("text=English")
        page.wait_for_function("() => document.documentElement.lang === 'en'", timeout=60_000)
        page.wait_for_selector("canvas.maplibregl-canvas", timeout=90_000)
        cal = _calendar_words(page, picker)
        assert re.search(r"\b(January|February|March|April|May|June|July|August|September|"
                         r"October|November|December)\b", cal["text"])
        assert cal["days"][1:8] == ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"]
        assert cal["placeholders"] == ["From", "To"]
        assert "Zoom in" in _toolbar_titles(page, graph)


def test_a_page_opened_without_lang_keeps_the_session_language(server):
    with chromium_page(1440, 900, role="commander") as page:
        _open(page, f"{server}/commander?lang=en")
        assert page.inner_text(".topbar .nav .current") == "Hotspots"
        # an address typed without ?lang: the session's language, written into the address
        _open(page, f"{server}/planner")
        assert "lang=en" in page.url
        assert page.inner_text(".topbar .nav .current") == "Coverage"
        assert page.evaluate("() => document.documentElement.lang") == "en"
        # a view's filters ride along
        _open(page, f"{server}/commander?layer=gi")
        assert "lang=en" in page.url and "layer=gi" in page.url
        assert page.is_checked("#cmd-layer input[value='gi']")

        # switched in the page (no page load), then a bare address: still the new language
        page.click(".topbar .lang-links >> text=Tiếng Việt")
        page.wait_for_function("() => document.documentElement.lang === 'vi'", timeout=60_000)
        page.wait_for_timeout(500)
        _open(page, f"{server}/")
        assert "lang=vi" in page.url and page.inner_text(".topbar .nav .current") == "Tổng quan"
        assert page.title() == translate("app.title", "vi")


def test_the_renderer_error_and_the_shell_speak_the_session_language(server):
    with chromium_page(1440, 900, role="viewer") as page:
        _open(page, f"{server}/?lang=vi")
        # the layout cannot be had (a session ended between the shell and its layout)
        page.route("**/_dash-layout", lambda route: route.fulfill(status=500, body="{}"))
        page.goto(f"{server}/")
        page.wait_for_selector("._dash-error", timeout=30_000)
        page.wait_for_timeout(300)
        text = page.inner_text("._dash-error")
        assert text == translate("client.error_page", "vi")
        assert not _ENGLISH.search(page.inner_text("body"))
        shell = page.evaluate("() => fetch('/?lang=en').then(r => r.text())")
        assert '<html lang="en">' in shell and translate("client.loading", "en") in shell
        assert "Loading..." not in shell


def _choose_day(page, nth: int) -> None:
    page.locator(f"{_CALENDAR} td.dash-datepicker-calendar-date-inside").nth(nth).click()
    page.wait_for_timeout(200)


@pytest.mark.parametrize("role", ["commander", "viewer"])
def test_the_map_stays_in_view_while_the_filters_change(server, role):
    path, graph, picker = _PAGES[role]
    with chromium_page(1440, 900, role=role) as page:
        _open(page, f"{server}{path}?lang=vi")
        start = page.evaluate(_BOX, graph)
        assert start["top"] >= 0 and start["bottom"] <= 900, start
        # the picker is reached the way a person reaches it (the column scrolls, if anything)
        page.locator(f"#{picker}").scroll_into_view_if_needed()
        page.click(f"#{picker}")
        page.wait_for_selector(_CALENDAR, timeout=30_000)
        _choose_day(page, 3)
        _choose_day(page, 12)
        page.keyboard.press("Escape")
        page.wait_for_timeout(2500)
        after = page.evaluate(_BOX, graph)
        assert after["top"] >= 0 and after["bottom"] <= 900, after
        # the last filter of the column, furthest down
        last = page.locator(".filters input[type=radio]").last
        last.scroll_into_view_if_needed()
        last.check()
        page.wait_for_timeout(2500)
        end = page.evaluate(_BOX, graph)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"map_in_view_{role}.png"))
        assert end["top"] >= 0 and end["bottom"] <= 900, end
        assert end["scroll"] == start["scroll"] == 0


def test_the_title_bar_holds_on_one_line_at_1400px_and_a_period_without_earlier_data(
        server):
    """One commander page: its title bar at 1400 px, then a period without earlier data
    says there is no comparison."""
    with chromium_page(1400, 900, role="commander") as page:
        _open(page, f"{server}/commander?lang=vi&from=2022-01-01&to=2022-12-31")
        bar = page.evaluate("""() => {
            const parts = Array.from(document.querySelectorAll(
                '.topbar h1, .topbar .nav-link, .topbar .lang, .topbar .user > *'));
            return {bar: document.querySelector('.topbar').getBoundingClientRect().height,
                    heights: parts.map(e => e.getBoundingClientRect().height),
                    right: Math.max(...parts.map(e => e.getBoundingClientRect().right))};
        }""")
        page.screenshot(path=str(ARTIFACTS / "topbar_1400.png"),
                        clip={"x": 0, "y": 0, "width": 1400, "height": 80})
        assert bar["bar"] < 50 and max(bar["heights"]) < 34 and bar["right"] <= 1400, bar

        # a period without earlier data says there is no comparison
        page.locator("tr.ranked-row").first.click()
        page.wait_for_selector("#cmd-panel-name", timeout=60_000)
        panel = page.inner_text("#cmd-panel")
        line = panel.split(translate("cmd.panel.change_yoy", "vi"), 1)[1].split("\n")[1]
        assert line == translate("trend.2", "vi"), panel
        assert "→" not in line and translate("trend.0", "vi") not in panel
