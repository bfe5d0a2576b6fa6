"""End to end: a period typed into the date boxes, as a person types it, is the period the map
shows and the address bar holds; a preset can be chosen again after a custom range (issue 17)."""

from __future__ import annotations

import pytest

from tests.browser import ARTIFACTS, chromium_page, shared_demo_server

pytestmark = pytest.mark.browser

_TITLE = """(sel) => { const gd = document.querySelector(sel + ' .js-plotly-plot');
  return gd && gd._fullLayout && gd._fullLayout.title ? gd._fullLayout.title.text : ''; }"""


@pytest.fixture(scope="module")
def server():
    url, data_dir = shared_demo_server()  # these tests only read: one server per process
    yield url


def _type_into(page, selector: str, text: str) -> None:
    """Click a date box, select what it holds and type over it, key by key."""
    page.click(selector)
    page.keyboard.press("Control+A")
    page.keyboard.type(text, delay=40)


def _wait_title(page, graph: str, text: str) -> str:
    page.wait_for_function(f"() => ({_TITLE})({graph!r}).includes({text!r})", timeout=60_000)
    page.wait_for_timeout(800)
    return page.evaluate(_TITLE, graph)


def _picker(page, period: str) -> tuple[str, str]:
    return (page.input_value(f"#{period}"), page.input_value(f"#{period}-end-date"))


def test_typed_dates_are_the_period_shown_and_a_preset_comes_back(server):
    with chromium_page(1440, 900) as page:
        page.goto(server + "/commander")
        page.wait_for_selector("canvas.maplibregl-canvas", timeout=90_000)
        _wait_title(page, "#cmd-map", "01/10/2025 – 31/12/2025")
        quarter = page.locator("#cmd-preset").get_by_label("Quý", exact=True)
        assert quarter.is_checked()

        # type a start, click the end box, type, Enter
        _type_into(page, "#cmd-period", "15/05/2025")
        _type_into(page, "#cmd-period-end-date", "20/08/2025")
        page.keyboard.press("Enter")
        title = _wait_title(page, "#cmd-map", "15/05/2025 – 20/08/2025")
        page.wait_for_function("() => location.search.includes('to=2025-08-20')")
        assert "from=2025-05-15&to=2025-08-20" in page.url
        assert _picker(page, "cmd-period") == ("15/05/2025", "20/08/2025")
        assert "15/05/2025 – 20/08/2025" in title
        page.keyboard.press("Escape")
        ARTIFACTS.mkdir(exist_ok=True)
        page.locator(".filters").screenshot(path=str(ARTIFACTS / "period_typed.png"))

        # a custom range ticks no preset, and "Quý" can be chosen again
        page.wait_for_function("() => !Array.from(document.querySelectorAll("
                               "'#cmd-preset input')).some(i => i.checked)", timeout=30_000)
        quarter.check()
        _wait_title(page, "#cmd-map", "01/10/2025 – 31/12/2025")
        assert _picker(page, "cmd-period") == ("01/10/2025", "31/12/2025")
        assert quarter.is_checked()
        page.wait_for_function("() => location.search.includes('from=2025-10-01')")

        # an end typed before the start: the picker, the map and the link agree on one order
        _type_into(page, "#cmd-period-end-date", "20/08/2025")
        page.keyboard.press("Enter")
        page.keyboard.press("Escape")
        title = _wait_title(page, "#cmd-map", "20/08/2025 – 01/10/2025")
        page.wait_for_function("() => location.search.includes('from=2025-08-20')")
        assert "from=2025-08-20&to=2025-10-01" in page.url
        page.wait_for_function("() => document.querySelector('#cmd-period').value"
                               " === '20/08/2025'", timeout=30_000)
        assert _picker(page, "cmd-period") == ("20/08/2025", "01/10/2025")
        assert not quarter.is_checked()

        # the overview reads typed dates the same way
        page.goto(server + "/")
        page.wait_for_selector("canvas.maplibregl-canvas", timeout=90_000)
        _type_into(page, "#filter-period", "15/05/2025")
        _type_into(page, "#filter-period-end-date", "20/08/2025")
        page.keyboard.press("Enter")
        _wait_title(page, "#commune-map", "15/05/2025 – 20/08/2025")
        assert _picker(page, "filter-period") == ("15/05/2025", "20/08/2025")
        page.wait_for_function("() => location.search.includes('to=2025-08-20')")
        assert "from=2025-05-15&to=2025-08-20" in page.url
