"""End to end (issue 16): Gi* of the counts or of the rate, and what an all-grey map means.

The commander chooses Gi* of the counts or of the smoothed rate per resident, reads which one
is shown and why they differ, and under a quarter whose Gi* map has no hot spot after FDR
(2025Q2 on the demo) reads why and clicks what can be said instead: the uncorrected 90 %
classes, marked as such, or four quarters. The viewer's page still works beside it.
"""

from __future__ import annotations

import pytest

from tests.browser import ARTIFACTS, blank_fraction, chromium_page, shared_demo_server

pytestmark = pytest.mark.browser

_TITLE = """(t) => { const gd = document.querySelector('#cmd-map .js-plotly-plot');
  return gd && gd._fullLayout && gd._fullLayout.title && gd._fullLayout.title.text.includes(t); }"""
_STATE = """() => { const gd = document.querySelector('#cmd-map .js-plotly-plot');
  return {z: Array.from(gd._fullData[0].z), title: gd._fullLayout.title.text,
          legend: gd._fullData[0].colorbar.title.text}; }"""
Q2 = "/commander?layer=gi&from=2025-04-01&to=2025-06-30"


@pytest.fixture(scope="module")
def server():
    url, data_dir = shared_demo_server()  # these tests only read: one server per process
    yield url


def _wait(page, text: str) -> dict:
    page.wait_for_function(_TITLE, arg=text, timeout=120_000)
    page.wait_for_timeout(800)
    return page.evaluate(_STATE)


def test_commander_reads_why_a_map_is_grey_and_clicks_what_can_be_said(server):
    with chromium_page(1500, 1100) as page:
        page.goto(server + Q2)
        page.wait_for_selector("canvas.maplibregl-canvas", timeout=120_000)
        grey = _wait(page, "Getis-Ord Gi*, 01/04/2025 – 30/06/2025")
        assert set(grey["z"]) == {0} and grey["legend"] == "Độ tin cậy"
        about = page.inner_text("#cmd-about")
        assert about.startswith("Bản đồ này xét số vụ việc của từng xã, phường")
        assert "hiệu chỉnh theo tỷ lệ phát hiện sai (FDR, Benjamini–Hochberg) trên 96" in about
        assert page.is_visible("#cmd-gi-options")
        advice = page.inner_text("#cmd-gi-advice")
        assert advice.startswith("Trong kỳ này, không xã, phường nào đạt độ tin cậy 90 %")
        assert "toàn màu xám" in advice and "Kỳ này có 203 vụ việc" in advice
        assert "Có thể xem các lớp chưa hiệu chỉnh FDR (độ tin cậy 90 %:" in advice
        assert page.inner_text("#cmd-gi-longer") == "Xem 4 quý (01/07/2024 – 30/06/2025)"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "gi_grey_q2.png"), full_page=True)

        # the uncorrected 90 % classes: marked as such in the title and the text, in the link
        page.check("#cmd-gi-uncorrected input")
        raw = _wait(page, "chưa hiệu chỉnh FDR")
        assert raw["title"].startswith("Điểm nóng Gi* chưa hiệu chỉnh FDR (chỉ để tham khảo)")
        shown = sum(1 for v in raw["z"] if v)
        assert shown > 0
        counts = advice.split("(độ tin cậy 90 %: ")[1]
        hot, cold = int(counts.split(" điểm nóng")[0]), int(counts.split(", ")[1].split(" ")[0])
        assert sum(1 for v in raw["z"] if v > 0) == hot and sum(1 for v in raw["z"] if v < 0) == cold
        assert "classes=uncorrected" in page.url
        assert "chưa hiệu chỉnh theo tỷ lệ phát hiện sai (FDR)" in page.inner_text("#cmd-about")
        assert page.is_visible("#cmd-gi-options")  # so that it can be switched off
        page.screenshot(path=str(ARTIFACTS / "gi_uncorrected_q2.png"))

        # back to the corrected classes, then the longer period
        page.uncheck("#cmd-gi-uncorrected input")
        page.wait_for_function("() => !document.querySelector('#cmd-map .js-plotly-plot')"
                               "._fullLayout.title.text.includes('chưa hiệu chỉnh')",
                               timeout=120_000)
        page.click("#cmd-gi-longer")
        year = _wait(page, "01/07/2024 – 30/06/2025")
        assert any(v != 0 for v in year["z"]), "four quarters hold enough for FDR"
        assert "from=2024-07-01" in page.url and "to=2025-06-30" in page.url
        assert not page.is_visible("#cmd-gi-options")

        # Gi* of the rate beside Gi* of the counts: which one is shown, and why they differ
        page.get_by_text("Điểm nóng thống kê (Gi*) theo tỷ lệ trên dân số", exact=True).click()
        rate = _wait(page, "Điểm nóng Gi* theo tỷ lệ vụ việc trên dân số, 01/07/2024")
        assert rate["legend"] == "Độ tin cậy"
        about = page.inner_text("#cmd-about")
        assert about.startswith("Bản đồ này xét tỷ lệ vụ việc trên dân số")
        assert "Hai bản đồ khác nhau ở nơi đông dân" in about
        assert "layer=gi_rate" in page.url
        page.screenshot(path=str(ARTIFACTS / "gi_rate_4q.png"))
        assert blank_fraction(page.locator("#cmd-map").screenshot()) < 0.9

        # the ranked key communes take their Gi* points from the rate's map
        table = page.inner_text("#cmd-table")
        assert "Điểm nóng Gi* 9" not in table  # no point from the counts' map


def test_viewer_page_still_works(server):
    with chromium_page(1440, 900, role="viewer") as page:
        page.goto(server + "/")
        page.wait_for_selector("canvas.maplibregl-canvas", timeout=120_000)
        # the released map: the small-count note once the release is built, then the tiles
        page.wait_for_function(
            "() => (document.querySelector('#ov-note') || {}).innerText"
            " && document.querySelector('#ov-note').innerText.includes('bảo vệ nạn nhân')",
            timeout=300_000)
        page.wait_for_function(
            "() => { const gd = document.querySelector('#commune-map .js-plotly-plot');"
            " return gd && gd._fullLayout && gd._fullLayout.map &&"
            " gd._fullLayout.map._subplot.map.loaded(); }", timeout=120_000)
        page.wait_for_timeout(2500)
        body = page.inner_text("body")
        assert "Đã có lỗi khi xử lý yêu cầu" not in body
        assert "Vụ mua bán người" in page.inner_text("#kpi-what-total")
        assert blank_fraction(page.locator("#commune-map").screenshot()) < 0.9
        page.goto(server + Q2)  # the commander's page is not the viewer's
        page.wait_for_selector("#forbidden", timeout=90_000)  # the page has been answered
        assert page.query_selector("#cmd-gi-options") is None
