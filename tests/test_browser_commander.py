"""End to end: the commander switches layers and filters, and the map and table follow."""

from __future__ import annotations

import pytest

from tests.browser import ARTIFACTS, chromium_page, shared_demo_server

pytestmark = pytest.mark.browser

_STATE = """() => {
  const gd = document.querySelector('#cmd-map .js-plotly-plot');
  const t = gd._fullData[0];
  return {z: Array.from(t.z), n: t.locations.length, title: gd._fullLayout.title.text,
          ticks: (t.colorbar && t.colorbar.ticktext) ? Array.from(t.colorbar.ticktext) : [],
          geojson: typeof t.geojson === 'string' ? t.geojson : 'inline',
          rings: gd._fullData[3].visible};
}"""


@pytest.fixture(scope="module")
def server():
    url, data_dir = shared_demo_server()  # these tests only read: one server per process
    yield url


def _wait_title(page, text: str) -> dict:
    page.wait_for_function(
        "(t) => { const gd = document.querySelector('#cmd-map .js-plotly-plot');"
        " return gd && gd._fullLayout && gd._fullLayout.title &&"
        " gd._fullLayout.title.text.includes(t); }", arg=text, timeout=90_000)
    page.wait_for_timeout(500)
    return page.evaluate(_STATE)


def test_layers_filters_rings_table_and_panel(server):
    with chromium_page(1500, 1000) as page:
        page.goto(server + "/commander")
        page.wait_for_selector("canvas.maplibregl-canvas", timeout=90_000)
        rates = _wait_title(page, "Tỷ lệ vụ việc trên 10.000 dân")
        assert rates["n"] == 96 and rates["geojson"].endswith("communes_2025.geojson")
        assert "01/10/2025 – 31/12/2025" in rates["title"]  # the latest quarter of the data

        # the change layer: the same quarter a year before, classes corrected (issue 16)
        page.click("text=Thay đổi so với cùng kỳ năm trước")
        change = _wait_title(page, "so với cùng kỳ năm trước (01/10/2024 – 31/12/2024)")
        assert change["ticks"] == ["Giảm có ý nghĩa", "Không đổi đáng kể", "Tăng có ý nghĩa",
                                   "Không có số liệu kỳ trước để so sánh"]
        assert set(change["z"]) <= {-1, 0, 1}
        note = page.inner_text("#cmd-note")
        assert "với cùng kỳ năm trước" in note and "Benjamini–Hochberg" in note

        page.click("text=Điểm nóng thống kê (Gi*)")
        gi = _wait_title(page, "Getis-Ord Gi*")
        assert gi["ticks"][0] == "Điểm nóng 99%" and "Không có ý nghĩa thống kê" in gi["ticks"]
        assert set(gi["z"]) <= {-3, -2, -1, 0, 1, 2, 3}

        page.click("text=Toàn bộ")  # the whole period: more evidence, more hot spots
        whole = _wait_title(page, "/01/2022 – 31/12/2025")
        assert whole["z"] != gi["z"]
        assert any(v > 0 for v in whole["z"]), "4 years of the demo's gate clusters show up"

        page.click("text=Mật độ (bản đồ nhiệt)")
        dens = _wait_title(page, "Mật độ vụ việc có tọa độ")
        assert dens["geojson"].endswith("/geo/density.geojson") and dens["n"] > 2000
        assert max(dens["z"]) > 0
        assert "hồ sơ chỉ có xã" in page.inner_text("#cmd-note")
        summary = page.inner_text("#cmd-summary")
        assert "Vụ việc theo khoảng cách đến biên giới" in summary and "0–5 km" in summary
        assert "Mộc Bài" in summary and "Đợt cao điểm năm 2025" in summary
        # the campaign's difference in words, its p-value written as a number can be read
        assert "chênh lệch có ý nghĩa thống kê, giá trị p < 0,001" in summary
        assert "p = <" not in summary

        page.click("text=Vòng cách cửa khẩu 5, 15, 30 km")
        page.wait_for_function("() => document.querySelector('#cmd-map .js-plotly-plot')"
                               "._fullData[3].visible === true", timeout=30_000)

        page.click("text=Đề xuất địa bàn trọng điểm")
        _wait_title(page, "Điểm đề xuất địa bàn trọng điểm")
        rows = page.query_selector_all("tr.ranked-row")
        assert 1 <= len(rows) <= 15
        first = rows[0].inner_text()
        assert "Cách biên giới" in first or "Điểm nóng" in first
        name = rows[0].query_selector_all("td")[1].inner_text()
        rows[0].click()
        page.wait_for_function("(n) => { const h = document.querySelector('#cmd-panel-name');"
                               " return h && h.innerText === n; }", arg=name, timeout=30_000)
        panel = page.inner_text("#cmd-panel")
        assert "Số vụ việc theo quý" in panel and "Cách biên giới" in panel
        assert "Moran cục bộ" in panel
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "commander.png"), full_page=True)

        # the same layer as a standalone HTML map that opens with no network
        with page.expect_download(timeout=60_000) as download:
            page.click("#cmd-export-html")
        saved = ARTIFACTS / download.value.suggested_filename
        download.value.save_as(saved)
        text = saved.read_text(encoding="utf-8")
        assert saved.name.startswith("ban_do_key_areas_")
        assert "Điểm đề xuất địa bàn trọng điểm" in text and name in text
        assert "Dữ liệu minh họa tổng hợp" in text
        import re

        assert not re.search(r"<script[^>]*\bsrc=|<link\b|<img[^>]*\bsrc=\"http", text)

        # the table behind the map holds the numbers on screen
        with page.expect_download(timeout=60_000) as xlsx_download:
            page.click("#cmd-export-xlsx")
        table_path = ARTIFACTS / xlsx_download.value.suggested_filename
        xlsx_download.value.save_as(table_path)
        from openpyxl import load_workbook

        ws = load_workbook(table_path).active
        header = next(r for r in range(1, 10) if ws.cell(r, 1).value == "Mã")
        headers = [c.value for c in ws[header]]
        scores = {ws.cell(r, 2).value: ws.cell(r, headers.index("Điểm") + 1).value
                  for r in range(header + 1, ws.max_row + 1)}
        assert len(scores) == 96
        shown = {r.query_selector_all("td")[1].inner_text(): int(r.query_selector_all("td")[2]
                 .inner_text()) for r in page.query_selector_all("tr.ranked-row")}
        assert all(scores[n] == v for n, v in shown.items())

        # and as an A4 PDF for the paper that follows the meeting
        with page.expect_download(timeout=120_000) as pdf_download:
            page.click("#cmd-export-pdf")
        pdf = ARTIFACTS / pdf_download.value.suggested_filename
        pdf_download.value.save_as(pdf)
        raw = pdf.read_bytes()
        assert pdf.suffix == ".pdf" and raw.startswith(b"%PDF-")
        assert raw.count(b"/Type /Page") - raw.count(b"/Type /Pages") == 1


def _checked(page, group: str) -> str:
    return page.evaluate(f"() => document.querySelector('#{group} input:checked').value")


def test_url_reopens_the_view_and_back_button_steps_through_it(server):
    link = "/commander?layer=gi&from=2024-07-01&to=2024-09-30&units=2025&rings=rings"
    with chromium_page(1400, 900) as page:
        page.goto(server + link)
        page.wait_for_selector("canvas.maplibregl-canvas", timeout=90_000)
        first = _wait_title(page, "Getis-Ord Gi*, 01/07/2024 – 30/09/2024")
        assert _checked(page, "cmd-layer") == "gi" and first["rings"] is True

        page.click("text=Mật độ (bản đồ nhiệt)")
        _wait_title(page, "Mật độ vụ việc có tọa độ")
        page.wait_for_function("() => location.search.includes('layer=density')")
        page.click("#cmd-preset >> text=Năm")
        _wait_title(page, "01/01/2025 – 31/12/2025")
        page.wait_for_function("() => location.search.includes('from=2025-01-01')")
        assert "rings=rings" in page.url and "lang=vi" in page.url

        page.go_back()  # the density map of the link's quarter
        assert "Mật độ vụ việc" in _wait_title(page, "km), 01/07/2024 – 30/09/2024")["title"]
        assert _checked(page, "cmd-layer") == "density"
        page.go_back()  # the link as opened
        back = _wait_title(page, "Getis-Ord Gi*, 01/07/2024 – 30/09/2024")
        assert _checked(page, "cmd-layer") == "gi" and back["z"] == first["z"]
        page.go_forward()
        assert "Mật độ vụ việc" in _wait_title(page, "km), 01/07/2024 – 30/09/2024")["title"]

        # a hand-edited link can only choose what the page offers
        page.goto(server + "/commander?layer=../../etc/passwd&from=2024-13-45&types=<script>")
        page.wait_for_selector("canvas.maplibregl-canvas", timeout=90_000)
        _wait_title(page, "Tỷ lệ vụ việc trên 10.000 dân")
        assert _checked(page, "cmd-layer") == "rates"


def test_language_switch_keeps_the_view_then_english_and_former_units(server):
    """One page (a page costs seconds of CPU): the language switch keeps the view; then
    the English page of a new address, with the communes before 01/7/2025."""
    with chromium_page(1400, 900) as page:
        page.goto(server + "/commander?layer=emerging&from=2022-01-01&to=2025-12-31")
        page.wait_for_selector("canvas.maplibregl-canvas", timeout=90_000)
        _wait_title(page, "01/01/2022 – 31/12/2025")
        page.click("#lang-links >> text=English")
        page.wait_for_selector("text=Map layer", timeout=30_000)
        english = _wait_title(page, "01/01/2022 – 31/12/2025")
        assert "layer=emerging" in page.url and "lang=en" in page.url
        assert _checked(page, "cmd-layer") == "emerging"
        assert "Emerging" in english["title"] or "emerging" in english["title"]
        assert "Hotspots" in page.inner_text("#nav")

        # English and the former units: a new address in the same page
        page.goto(server + "/commander?lang=en")
        page.wait_for_selector("canvas.maplibregl-canvas", timeout=90_000)
        _wait_title(page, "Incidents per 10,000 residents")
        page.click("text=Communes before 01/07/2025 (280)")
        page.wait_for_function("() => document.querySelector('#cmd-map .js-plotly-plot')"
                               "._fullData[0].locations.length === 280", timeout=60_000)
        legacy = page.evaluate(_STATE)
        # counts, not rates: population is known for the 2025 communes only
        assert legacy["title"].startswith("Incidents by commune")


_PRESENTED = """() => {
  const gd = document.querySelector('#present-map .js-plotly-plot');
  const L = gd._fullLayout;
  return {title: L.title.text, titleSize: L.title.font.size, subtitle: L.title.subtitle.text,
          notes: L.annotations.map(a => a.text), width: L.width, height: L.height,
          roles: gd._fullData.map(t => (t.meta && t.meta.role) || t.name || '')};
}"""


def test_presentation_mode(server):
    with chromium_page(1600, 900) as page:
        page.goto(server + "/commander?layer=gi&from=2022-01-01&to=2025-12-31")
        page.wait_for_selector("canvas.maplibregl-canvas", timeout=90_000)
        _wait_title(page, "Getis-Ord Gi*")
        page.click("#cmd-present")
        page.wait_for_selector("#present-map canvas.maplibregl-canvas", timeout=90_000)
        page.wait_for_timeout(1500)
        shown = page.evaluate(_PRESENTED)
        assert "present=1" in page.url and "layer=gi" in page.url
        assert "Getis-Ord Gi*" in shown["title"] and "01/01/2022 – 31/12/2025" in shown["title"]
        assert shown["titleSize"] >= 30 and shown["subtitle"].startswith("Xã, phường")
        notes = " ".join(shown["notes"])
        assert "Dữ liệu minh họa tổng hợp" in notes and "Ranh giới xã gần đúng" in notes
        assert "Nguồn dữ liệu" in notes and "B" in shown["notes"][0]
        assert "scale_bar" in shown["roles"]
        assert shown["width"] >= 1500 and shown["height"] >= 700  # the whole screen
        assert page.query_selector("#cmd-layer") is None  # no filters in the room
        assert page.query_selector_all(".present-below tr.ranked-row")
        font = page.evaluate("() => getComputedStyle(document.querySelector("
                             "'.present-below table')).fontSize")
        assert float(font.rstrip("px")) >= 20
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "presentation.png"))

        page.click("#present-exit")
        page.wait_for_selector("#cmd-layer", timeout=60_000)
        _wait_title(page, "Getis-Ord Gi*, 01/01/2022 – 31/12/2025")
        assert "present" not in page.url
