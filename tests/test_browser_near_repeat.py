"""End to end: the commander tests near repeats on the demo; the viewer and the planner never
see the section (the page is refused, and no other page carries it)."""

from __future__ import annotations

import re

import pytest

from tests.browser import ARTIFACTS, chromium_page, shared_demo_server

pytestmark = pytest.mark.browser

_MARKERS = """() => {
  const gd = document.querySelector('#cmd-nr-map .js-plotly-plot');
  const t = gd._fullData.find(d => d.meta && d.meta.role === 'nr-originators');
  return t ? t.lon.length : -1;
}"""


@pytest.fixture(scope="module")
def server():
    url, _ = shared_demo_server()  # these tests only read: one server per process
    yield url


def _rows(page) -> list[list[str]]:
    return page.eval_on_selector_all(
        "#cmd-nr-table tbody tr",
        "rows => rows.map(r => Array.from(r.cells).map(c => c.innerText.trim()))")


def test_commander_tests_bands_reads_the_table_and_sees_the_originators(server):
    with chromium_page(1500, 1000) as page:
        page.goto(server + "/commander")
        page.wait_for_selector("#cmd-nr-run", timeout=120_000)
        page.wait_for_function("() => document.querySelector('#cmd-nr-summary').innerText"
                               ".includes('Kiểm định')", timeout=120_000)
        assert page.query_selector("#cmd-nr-table table") is None  # nothing run before asked
        page.click("#cmd-nr-run")
        page.wait_for_selector("#cmd-nr-table table", timeout=120_000)
        head = page.inner_text("#cmd-nr-table thead")
        assert "Khả năng do ngẫu nhiên" in head and "Nếu ngẫu nhiên" in head
        rows = _rows(page)
        assert [r[:2] for r in rows[:3]] == [["0–1 km", "0–7"], ["0–1 km", "8–14"],
                                             ["0–1 km", "15–30"]]
        assert len(rows) == 9
        for r in rows:
            assert re.fullmatch(r"\d+,\d", r[3]), r        # expected: 0,7 — a decimal comma
            assert re.fullmatch(r"\d+,\d\d|–", r[4]), r     # ratio: 4,04
            assert re.fullmatch(r"(không quá )?\d+( %| phần nghìn)", r[5]), r
        summary = page.inner_text("#cmd-nr-summary")
        assert "vụ việc có tọa độ" in summary and "01/10/2025 đến 31/12/2025" in summary
        assert "Lưu ý: hồ sơ là những vụ việc đã được phát hiện" in page.inner_text("#cmd-nr")

        # a band refused: the reason in words, no table
        page.fill("#cmd-nr-distance", "5; 2")
        page.press("#cmd-nr-distance", "Enter")
        page.wait_for_function("() => document.querySelector('#cmd-nr-error').innerText"
                               ".includes('tăng dần')", timeout=60_000)
        assert page.inner_text("#cmd-nr-error") == \
            "Các mốc khoảng cách phải tăng dần, mốc sau lớn hơn mốc trước."
        assert page.query_selector("#cmd-nr-table table") is None

        # one band, 0–1 km × 0–7 days: its originators on the map, as many as the text says
        page.fill("#cmd-nr-distance", "1")
        page.fill("#cmd-nr-days", "7")
        page.click("#cmd-nr-run")
        page.wait_for_selector("#cmd-nr-map canvas.maplibregl-canvas", timeout=120_000)
        page.wait_for_function(f"() => ({_MARKERS})() > 0", timeout=60_000)
        assert page.inner_text("#cmd-nr-error") == ""
        summary = page.inner_text("#cmd-nr-summary")
        n = int(re.search(r"(\d+) vụ việc trong 7 ngày cuối kỳ", summary).group(1))
        assert page.evaluate(_MARKERS) == n
        listed = page.eval_on_selector_all("#cmd-nr-originators tbody tr", "rows => rows.length")
        assert listed == n
        assert "trong bán kính 1 km trong 7 ngày tới" in summary
        page.wait_for_timeout(1500)
        ARTIFACTS.mkdir(exist_ok=True)
        page.locator("#cmd-nr").screenshot(path=str(ARTIFACTS / "near_repeat_commander.png"))


@pytest.mark.parametrize("role", ["viewer", "planner"])
def test_below_commander_the_section_is_not_there(server, role):
    with chromium_page(1400, 900, role=role) as page:
        page.goto(server + "/commander")
        page.wait_for_selector("#forbidden", timeout=90_000)
        assert page.inner_text("#forbidden") == "Vai trò của bạn không được xem trang này."
        assert page.query_selector("#cmd-nr") is None
        page.goto(server + "/")
        page.wait_for_selector("#commune-map", timeout=90_000)
        assert page.query_selector("#cmd-nr") is None
        assert "lặp lại gần" not in page.inner_text("body").lower()
