"""End to end: the planner filters, reads the priority list, opens a commune, exports XLSX."""

from __future__ import annotations


import pytest
from openpyxl import load_workbook

from tests.browser import ARTIFACTS, chromium_page, shared_demo_server

pytestmark = pytest.mark.browser

_STATE = """() => {
  const gd = document.querySelector('#plan-map .js-plotly-plot');
  const t = gd._fullData[0];
  return {z: Array.from(t.z), n: t.locations.length, title: gd._fullLayout.title.text,
          ticks: (t.colorbar && t.colorbar.ticktext) ? Array.from(t.colorbar.ticktext) : []};
}"""


@pytest.fixture(scope="module")
def server():
    url, data_dir = shared_demo_server()  # these tests only read: one server per process
    yield url


def _wait_title(page, text: str) -> dict:
    page.wait_for_function(
        "(t) => { const gd = document.querySelector('#plan-map .js-plotly-plot');"
        " return gd && gd._fullLayout && gd._fullLayout.title &&"
        " gd._fullLayout.title.text.includes(t); }", arg=text, timeout=90_000)
    page.wait_for_timeout(500)
    return page.evaluate(_STATE)


def test_filter_read_open_and_export(server, tmp_path):
    with chromium_page(1500, 1000) as page:
        page.goto(server + "/planner")
        page.wait_for_selector("canvas.maplibregl-canvas", timeout=90_000)
        gaps = _wait_title(page, "Rủi ro so với mức bao phủ phòng ngừa")
        assert gaps["n"] == 96 and set(gaps["z"]) <= set(range(1, 10))
        assert "Rủi ro cao, bao phủ thấp" in gaps["ticks"]
        rows = page.query_selector_all("tr.ranked-row")
        assert 1 <= len(rows) <= 20
        first_row = rows[0].inner_text()
        assert "Rủi ro cao" in first_row

        page.click("text=Mức tiếp cận truyền thông")
        reach = _wait_title(page, "Lượt người dự truyền thông trên 1.000 dân")
        assert max(reach["z"]) > 0
        page.click("text=Năm")  # the preset changes the period and the values
        year = _wait_title(page, "01/01/2025 – 31/12/2025")
        assert year["z"] != reach["z"]

        name = rows[0].query_selector_all("td")[1].inner_text() if rows else ""
        page.query_selector_all("tr.ranked-row")[0].click()
        page.wait_for_selector("#plan-panel-name", timeout=30_000)
        panel = page.inner_text("#plan-panel")
        assert "Mức rủi ro" in panel and "Hoạt động truyền thông gần đây" in panel
        assert page.inner_text("#plan-panel-name") != "" and name

        with page.expect_download(timeout=60_000) as download:
            page.click("#plan-export")
        path = tmp_path / download.value.suggested_filename
        download.value.save_as(path)
        assert path.name.startswith("uu_tien_20250101_20251231")
        ws = load_workbook(path).active
        assert ws["A1"].value.startswith("Danh sách xã ưu tiên")
        notes = [ws.cell(r, 1).value for r in range(2, 5)]
        assert "Dữ liệu minh họa tổng hợp – không phải hồ sơ thật" in notes
        header = next(r for r in range(1, 10) if ws.cell(r, 1).value == "Hạng")
        shown = [r.inner_text().split("\t")[1] for r in page.query_selector_all("tr.ranked-row")]
        in_sheet = [ws.cell(r, 3).value for r in range(header + 1, ws.max_row + 1)]
        assert in_sheet == shown  # the XLSX holds the list on screen
        assert isinstance(ws.cell(header + 1, 5).value, int)  # scores are numbers
        with page.expect_download(timeout=60_000) as html_download:
            page.click("#plan-export-html")
        html_path = tmp_path / html_download.value.suggested_filename
        html_download.value.save_as(html_path)
        html_text = html_path.read_text(encoding="utf-8")
        assert html_path.name.startswith("ban_do_reach_") and "Lượt người dự truyền thông" in html_text

        with page.expect_download(timeout=120_000) as png_download:
            page.click("#plan-export-png")
        png_path = tmp_path / png_download.value.suggested_filename
        png_download.value.save_as(png_path)
        from PIL import Image

        from tests.browser import blank_fraction

        with Image.open(png_path) as image:
            assert image.size == (1600, 900)
        assert blank_fraction(png_path.read_bytes()) < 0.92  # the map was drawn

        kpis = page.inner_text("#plan-kpis")
        assert "95" in kpis and ("Đạt" in kpis or "Chậm" in kpis)
        # every status shown is one of the four, and "no data" says why
        cells = [c.inner_text() for c in page.query_selector_all("#plan-kpis td[class^=status-]")]
        assert cells and all(c.split(":")[0] in ("Đạt", "Đúng tiến độ", "Chậm tiến độ",
                                                  "Chưa có số liệu") for c in cells)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "planner.png"), full_page=True)


def test_link_back_button_and_presentation(server):
    with chromium_page(1500, 950) as page:
        page.goto(server + "/planner?layer=reach&from=2025-01-01&to=2025-12-31&units=2025")
        page.wait_for_selector("canvas.maplibregl-canvas", timeout=90_000)
        reach = _wait_title(page, "Lượt người dự truyền thông trên 1.000 dân, 01/01/2025")
        assert page.evaluate("() => document.querySelector('#plan-layer input:checked').value"
                             ) == "reach"
        page.click("#plan-layer >> text=Mô hình phòng ngừa")
        _wait_title(page, "Số mô hình phòng ngừa đang hoạt động, 01/01/2025 – 31/12/2025")
        page.wait_for_function("() => location.search.includes('layer=coverage')")
        page.go_back()
        assert _wait_title(page, "Lượt người dự truyền thông")["z"] == reach["z"]

        page.click("#plan-present")
        page.wait_for_selector("#present-map canvas.maplibregl-canvas", timeout=90_000)
        title = page.evaluate("() => document.querySelector('#present-map .js-plotly-plot')"
                              "._fullLayout.title.text")
        assert "Lượt người dự truyền thông" in title and "31/12/2025" in title
        below = page.inner_text(".present-below")
        assert "Xã ưu tiên" in below or "ưu tiên" in below
        assert page.query_selector_all(".present-below table.kpis-table tr")
        page.go_back()  # the back button leaves presentation mode
        page.wait_for_selector("#plan-layer", timeout=60_000)
        _wait_title(page, "Lượt người dự truyền thông")


def test_a_planner_sees_the_released_figures(server):
    """Signed in as a planner: the period is rounded to the quarter, the priority reasons
    carry no rate or count, and the case-based targets resting on small counts are withheld
    — on the screen, where a person reads them."""
    with chromium_page(1500, 1000, role="planner") as page:
        page.goto(server + "/planner?from=2025-07-01&to=2025-08-20")
        page.wait_for_selector("tr.ranked-row", timeout=180_000)  # after the release is ready
        _wait_title(page, "01/07/2025 – 30/09/2025")
        note = page.inner_text("#plan-note")
        assert "làm tròn theo quý" in note and "Số từ 1 đến 4 được ẩn" in note
        table = page.inner_text("#plan-table")
        assert "Cách biên giới" in table  # distances stay: they hold no victim
        assert "/10.000 dân" not in table and "→" not in table
        kpis = page.inner_text("#plan-kpis")
        assert "Không công bố (số nhỏ)" in kpis
        assert "< 5" in kpis or "x" in kpis.split()
        assert "Chỉ tiêu tính từ số vụ án, tin báo có dưới 5 hồ sơ" in kpis
