"""End to end: every download of the overview, for every role that opens it (issue 17).

One server, one browser: each role signs in once and clicks the downloads of the same
page in turn (XLSX table, offline HTML; the slide PNG and the A4 PDF for the commander
and for the viewer, whose release every role below commander shares); the viewer's
quarterly report is downloaded once and read.
"""

from __future__ import annotations

import io

import pytest

from tests.browser import ARTIFACTS, blank_fraction, shared_browser, shared_demo_server, sign_in

pytestmark = pytest.mark.browser

ROLES = ("commander", "planner", "viewer", "admin")


@pytest.fixture(scope="module")
def server():
    url, data_dir = shared_demo_server()  # these tests only read: one server per process
    yield url


@pytest.fixture(scope="module")
def browser():
    return shared_browser()  # the process's, kept for the next browser module


def _download(page, button: str, timeout: float = 150.0):
    """Click ``button`` and return (file name, bytes); fail at once with the page's error."""
    import time

    got = []

    def arrived(download):
        got.append(download)

    page.on("download", arrived)
    try:
        page.click(button)
        deadline = time.monotonic() + timeout
        while not got:
            alert = page.inner_text("#app-alert")
            assert "lỗi" not in alert.lower(), f"{button}: {alert}"
            assert time.monotonic() < deadline, f"{button}: no download in {timeout} s"
            page.wait_for_timeout(250)
    finally:
        page.remove_listener("download", arrived)
    saved = ARTIFACTS / got[0].suggested_filename
    ARTIFACTS.mkdir(exist_ok=True)
    got[0].save_as(saved)
    return saved.name, saved.read_bytes()


@pytest.mark.parametrize("role", ROLES)
def test_overview_downloads_for_each_role(server, browser, role):
    from openpyxl import load_workbook
    from PIL import Image

    context = browser.new_context(viewport={"width": 1440, "height": 900},
                                  accept_downloads=True)
    context.add_cookies([{"name": k, "value": v, "url": server}
                         for k, v in sign_in(server, f"demo-{role}").items()])
    try:
        page = context.new_page()
        page.goto(server + "/")
        page.wait_for_selector("canvas.maplibregl-canvas", timeout=90_000)
        page.wait_for_function("() => document.querySelector('#kpi-total').innerText !== '…'",
                               timeout=120_000)

        name, raw = _download(page, "#ov-export-xlsx")
        assert name.startswith("bang_so_vu_viec_") and name.endswith(".xlsx")
        ws = load_workbook(io.BytesIO(raw)).active
        assert ws["A1"].value.startswith("Số vụ việc")
        header = next(r for r in range(1, 10) if ws.cell(r, 1).value == "Mã")
        counts = [ws.cell(r, 3).value for r in range(header + 1, ws.max_row + 1)]
        assert len(counts) == 96
        assert "Dữ liệu minh họa tổng hợp" in " ".join(
            str(ws.cell(r, 1).value) for r in range(2, header))
        if role == "commander":
            assert all(isinstance(c, int) for c in counts)
        else:  # the released figures: withheld counts read as on the map, never empty
            assert {c for c in counts if isinstance(c, str)} <= {"< 5", "x"}
            assert any(isinstance(c, str) for c in counts)
            assert all(c is not None for c in counts)

        name, raw = _download(page, "#ov-export-html")
        text = raw.decode("utf-8")
        assert name.startswith("ban_do_so_vu_viec_") and name.endswith(".html")
        assert "Dữ liệu minh họa tổng hợp" in text and "Mộc Bài" in text

        # The slide and the A4 page draw the same released layer for every role below
        # commander (the viewer's) through the same export (kaleido, one Chromium per
        # drawing): each format is drawn once, and each release path once — the
        # commander's slide, the viewer's A4 page; the planner's and admin's tables and
        # maps above.
        if role == "commander":
            name, raw = _download(page, "#ov-export-png")
            assert name.startswith("ban_do_so_vu_viec_") and name.endswith(".png")
            assert Image.open(io.BytesIO(raw)).size == (1600, 900)  # the slide
            assert blank_fraction(raw) < 0.9, "communes, legend and notes are drawn"
        if role == "viewer":
            from pypdf import PdfReader

            name, raw = _download(page, "#ov-export-pdf")
            assert name.startswith("ban_do_so_vu_viec_") and name.endswith(".pdf")
            assert raw.startswith(b"%PDF-")
            (sheet,) = PdfReader(io.BytesIO(raw)).pages  # one A4 page, landscape
            width, height = (round(float(v) / 72 * 25.4) for v in sheet.mediabox[2:])
            assert (width, height) == (297, 210)
        assert "Đã có lỗi" not in page.inner_text("body")
    finally:
        context.close()


def test_report_keeps_its_quarter_after_presentation_and_says_it_is_being_built(server, browser):
    """Chose Q3, went to presentation mode and back: the report is still Q3's; while it is
    built the button is disabled and a line says so (one click, one PDF). The committee's
    own account (viewer) downloads it: its figures are the released ones (small counts
    hidden, no all-types total), and it says so."""
    import unicodedata

    from pypdf import PdfReader

    context = browser.new_context(viewport={"width": 1440, "height": 900},
                                  accept_downloads=True)
    context.add_cookies([{"name": k, "value": v, "url": server}
                         for k, v in sign_in(server, "demo-viewer").items()])
    got = []

    def arrived(download):
        got.append(download)

    try:
        page = context.new_page()
        page.on("download", arrived)
        page.goto(server + "/")
        page.wait_for_selector("canvas.maplibregl-canvas", timeout=90_000)
        assert page.inner_text("#ov-quarter").strip() == "Quý IV/2025"
        page.click("#ov-quarter")
        page.get_by_text("Quý III/2025", exact=True).click()
        page.wait_for_function("() => document.querySelector('#ov-quarter').innerText"
                               ".includes('Quý III/2025')")

        page.click("#ov-present")
        page.wait_for_selector("#present-map canvas.maplibregl-canvas", timeout=90_000)
        page.click("#present-exit")
        page.wait_for_selector("#ov-report", timeout=60_000)
        page.wait_for_timeout(1000)
        assert page.inner_text("#ov-quarter").strip() == "Quý III/2025"
        assert not page.is_visible("#ov-report-progress")

        page.click("#ov-report")
        page.wait_for_function("() => document.querySelector('#ov-report').disabled",
                               timeout=10_000)
        assert page.is_visible("#ov-report-progress")
        assert "Đang lập báo cáo" in page.inner_text("#ov-report-progress")
        page.locator("#ov-report").click(force=True, no_wait_after=True)  # a second click
        page.wait_for_function("() => !document.querySelector('#ov-report').disabled",
                               timeout=180_000)
        page.wait_for_timeout(2000)
        assert [d.suggested_filename for d in got] == ["bao_cao_quy_2025Q3.pdf"]
        assert not page.is_visible("#ov-report-progress")
        assert "Đã có lỗi" not in page.inner_text("body")
        saved = ARTIFACTS / got[0].suggested_filename
        ARTIFACTS.mkdir(exist_ok=True)
        got[0].save_as(saved)
    finally:
        context.close()
    reader = PdfReader(saved)
    first = " ".join(unicodedata.normalize("NFKC", reader.pages[0].extract_text()).split())
    assert "Báo cáo quý III/2025" in first
    assert "Kỳ báo cáo: 01/07/2025 – 30/09/2025" in first
    assert "Dữ liệu minh họa tổng hợp – không phải hồ sơ thật" in first
    # cover, hot spots, risk × coverage, targets (with each definition: may run over), the
    # priority communes, the changes
    assert f"Trang 1/{len(reader.pages)}" in first and len(reader.pages) in (6, 7)
    assert "Số từ 1 đến 4 được ẩn" in first  # the cover says what is hidden
    text = " ".join(" ".join(unicodedata.normalize("NFKC", p.extract_text()).split())
                    for p in reader.pages)
    assert "Tổng cộng" not in text  # no all-types total below commander
    assert "Xã, phường tăng nhiều nhất" not in text
