"""End to end: a planner uploads a messy file, reads the preview, confirms, sees the map change."""

from __future__ import annotations

import io

import pytest

from tests.browser import ARTIFACTS, chromium_page, running_server

pytestmark = pytest.mark.browser

FILE = (
    "Mã hồ sơ;Ngày;Loại;Xã/Phường;Huyện;Số đối tượng\n"
    "CA-01;05/08/2024;Xuất, nhập cảnh trái phép;X. LOI THUAN;H. Ben Cau;3\n"
    "CA-02;31/02/2024;tin bao;Xã Lợi Thuận;Huyện Bến Cầu;\n"
    "CA-03;12/09/2025;tin báo;Xã Bến Cầu;;1\n"
    "CA-04;12/09/2025;buon lau;Xã Bến Cầu;;1\n"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("e2e-import") / "var"
    with running_server(data_dir) as url:
        yield url, data_dir


def test_upload_preview_confirm_and_the_map_follows(server, tmp_path):
    url, data_dir = server
    upload = tmp_path / "vu_viec_cong_an.csv"
    upload.write_text(FILE, encoding="utf-8-sig")
    with chromium_page(role="planner") as page:
        page.goto(url + "/import")
        page.wait_for_selector("#import-upload")
        assert "Nhập hồ sơ từ tệp" in page.inner_text("main")
        # the synthetic demo is what the store holds before
        assert "Dữ liệu minh họa tổng hợp" in page.inner_text("#synthetic-banner")

        page.fill("#import-source", "Công an tỉnh")
        page.press("#import-source", "Enter")
        page.set_input_files("#import-upload input[type=file]", str(upload))
        page.wait_for_selector("table.rejects", timeout=60_000)
        text = page.inner_text("#import-preview")
        assert "Xem trước: vu_viec_cong_an.csv" in text
        counts = {el.get_attribute("data-count"): el.inner_text()
                  for el in page.query_selector_all("#import-preview [data-count]")}
        assert counts == {"rows_read": "4", "accepted": "2", "duplicates": "0", "rejected": "2"}
        rows = [r.inner_text() for r in page.query_selector_all("table.rejects tbody tr")]
        assert len(rows) == 2
        assert "Ngày '31/02/2024' không tồn tại" in rows[0]
        assert "'buon lau' không phải giá trị hợp lệ" in rows[1]
        sample = page.inner_text("table.sample")
        assert "Xã Bến Cầu (25681)" in sample and "05/08/2024" in sample
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "import-preview.png"), full_page=True)

        confirm = page.locator("#import-confirm")
        assert confirm.inner_text() == "Xác nhận nhập 2 dòng"
        confirm.click()
        page.wait_for_selector("#import-result .success", timeout=60_000)
        assert "Đã nhập 2 dòng từ vu_viec_cong_an.csv" in page.inner_text("#import-result")
        assert page.locator("#import-confirm").is_disabled()

        # the overview now shows the imported records, and no longer says "synthetic";
        # a planner sees them through small-count suppression (2 records: never "2")
        page.click("#import-result a")
        page.wait_for_selector("#kpi-total")
        assert "Dữ liệu minh họa tổng hợp" not in page.inner_text("#synthetic-banner")
        page.wait_for_function("() => ['< 5', '0', 'x'].includes("
                               "document.querySelector('#kpi-total').innerText)", timeout=90_000)
        from tests.browser import sign_in

        other = page.context.browser.new_context()  # the commander sees the count itself
        other.add_cookies([{"name": k, "value": v, "url": url}
                           for k, v in sign_in(url, "demo-commander").items()])
        commander = other.new_page()
        commander.goto(url + "/")
        commander.wait_for_function(
            "() => { const k = document.querySelector('#kpi-total');"
            " return k && k.innerText === '2'; }", timeout=30_000)
        other.close()

        # the template link serves a real workbook
        page.goto(url + "/import?lang=en")
        page.wait_for_selector("#import-template")
        href = page.get_attribute("#import-template", "href")
        assert href == "/template/incidents.xlsx?lang=en"
        body = page.request.get(url + href).body()
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(body))
        assert book.worksheets[0].cell(1, 1).value


def test_a_refused_file_says_why_and_writes_nothing(server, tmp_path):
    url, data_dir = server
    upload = tmp_path / "ds_nan_nhan.csv"
    upload.write_text("Mã hồ sơ,Ngày,Loại,Mã xã,Họ tên nạn nhân\nV1,01/02/2024,victim,25699,A\n",
                      encoding="utf-8")
    with chromium_page(role="planner") as page:
        page.goto(url + "/import?lang=en")
        page.wait_for_selector("#import-upload")
        page.set_input_files("#import-upload input[type=file]", str(upload))
        page.wait_for_selector("#import-preview .error", timeout=60_000)
        assert "personal data (Họ tên nạn nhân)" in page.inner_text("#import-preview")
        assert page.locator("#import-confirm").is_disabled()
