"""End to end: the reporting page on the demo, for each role that may open it, and the viewer
refused (page, menu and a forged callback); last, a report imported from the import page
counts for the agency it names, on the day it was received."""

from __future__ import annotations

import pytest

from tests.browser import ARTIFACTS, chromium_page, running_server, sign_in

pytestmark = pytest.mark.browser

PASSWORD = "mat-khau-dai-du"
CAMPAIGN = ("Đợt cao điểm hưởng ứng Ngày toàn dân phòng, chống mua bán người 30/7 "
            "(01/7 - 30/9/2024)")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("e2e-reporting") / "var"
    with running_server(data_dir) as url:
        yield url, data_dir


@pytest.fixture(scope="module")
def server(served):
    return served[0]


def _rows(page) -> dict[str, list[str]]:
    rows = page.query_selector_all("#rep-table tbody tr")
    cells = [[td.inner_text() for td in row.query_selector_all("td")] for row in rows]
    return {c[0]: c[1:] for c in cells}


def _cards(page) -> dict[str, str]:
    return {key: page.inner_text(f"#rep-sum-{key}") for key in
            ("expected", "received", "on_time", "late", "missing", "rate", "on_time_rate")}


def _choose(page, label: str) -> None:
    page.click("#rep-period")
    page.get_by_role("option", name=label).click()


def test_the_standing_office_reads_who_reported_for_the_campaign_and_copies_a_reminder(server):
    with chromium_page(1440, 900, role="planner") as page:
        page.goto(server + "/reporting")
        page.wait_for_selector("#rep-table tbody tr", timeout=90_000)
        assert page.inner_text(".nav-link.current") == "Tình hình báo cáo"
        assert "Năm 2024" in page.inner_text("#rep-period")  # the last period due
        _choose(page, CAMPAIGN)
        page.wait_for_function("document.querySelector('.period-line') && "
                               "document.querySelector('.period-line').innerText"
                               ".includes('05/08/2024')", timeout=60_000)
        rows = _rows(page)
        assert rows["Công an tỉnh"] == ["Đúng hạn", "04/08/2024", "04/08/2024", "2", "–"]
        assert rows["Sở Lao động - Thương binh và Xã hội"] == [
            "Trễ hạn", "12/08/2024", "12/08/2024", "2", "8"]
        assert rows["Sở Ngoại vụ"] == ["Chưa gửi (quá hạn)", "–", "–", "0", "–"]
        assert list(rows)[0] == "Công an tỉnh" and len(rows) == 15
        assert _cards(page) == {"expected": "15", "received": "6", "on_time": "5", "late": "1",
                                "missing": "9", "rate": "40,0 %", "on_time_rate": "33,3 %"}
        reminder = page.input_value("#rep-reminder")
        assert reminder.startswith("Kính gửi: Sở Ngoại vụ; Sở Thông tin và Truyền thông;")
        assert "chưa nhận được báo cáo kết quả thực hiện Đợt cao điểm" in reminder
        assert "- Tòa án nhân dân tỉnh." in reminder and "- Công an tỉnh" not in reminder
        assert reminder.rstrip().endswith("báo cáo Ủy ban nhân dân tỉnh./.")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "reporting-planner.png"), full_page=True)

        # the state on the day of a meeting before the due day: nothing late yet
        page.fill("#rep-as-of", "01/08/2024")
        page.press("#rep-as-of", "Enter")
        page.wait_for_function("document.querySelector('#rep-sum-late').innerText === '0'",
                               timeout=60_000)
        rows = _rows(page)
        assert rows["Công an tỉnh"][0] == "Chưa gửi (chưa đến hạn)"
        assert "(hạn gửi trước ngày 05/08/2024)" in page.input_value("#rep-reminder")


def test_the_data_officer_opens_it_in_english(server):
    with chromium_page(role="admin") as page:
        page.goto(server + "/reporting?lang=en")
        page.wait_for_selector("#rep-table tbody tr", timeout=90_000)
        assert page.inner_text("h2") == "Which agencies have sent their reports"
        rows = _rows(page)
        assert rows["Tỉnh Đoàn"] == ["Late", "03/04/2024", "09/12/2024", "4", "9"]
        assert rows["Sở Tư pháp"][0] == "On time"
        assert page.inner_text("#rep-sum-on_time_rate") == "33.3 %"
        assert page.input_value("#rep-reminder").startswith("To: Sở Ngoại vụ;")


def test_the_commander_finds_it_in_the_menu(server):
    with chromium_page(role="commander") as page:
        page.goto(server + "/")
        page.click("text=Tình hình báo cáo")
        page.wait_for_selector("#rep-table tbody tr", timeout=90_000)
        _choose(page, "Quý III năm 2024")
        page.wait_for_function("document.querySelector('#rep-sum-on_time').innerText === '–'",
                               timeout=60_000)
        assert set(r[0] for r in _rows(page).values()) == {"Đã gửi", "Chưa gửi"}


def test_the_viewer_is_refused_the_page_the_menu_link_and_its_callbacks(server):
    with chromium_page(role="viewer") as page:
        page.goto(server + "/reporting")
        page.wait_for_selector("#forbidden", timeout=90_000)
        assert page.inner_text("#forbidden") == "Vai trò của bạn không được xem trang này."
        assert page.query_selector("#rep-table") is None
        assert "Tình hình báo cáo" not in page.inner_text("#nav")
        token = next(c["value"] for c in page.context.cookies() if c["name"] == "_csrf_token")
        body = {"output": "..rep-period.options...rep-period.value..", "inputs": [
            {"id": "rep-lang", "property": "data", "value": "vi"}], "state": [],
            "outputs": [{"id": "rep-period", "property": "options"},
                        {"id": "rep-period", "property": "value"}],
            "changedPropIds": ["rep-lang.data"]}
        answer = page.request.post(server + "/_dash-update-component", data=body,
                                   headers={"X-CSRFToken": token})
        assert answer.status == 403
        assert "Sở Ngoại vụ" not in answer.text()


def test_a_report_imported_for_an_agency_counts_for_it_on_the_day_received(served, tmp_path):
    """Runs last: the Standing Office imports a department's report that came by the document
    system on 02/8/2024 (real records: the demo goes)."""
    from dashboard.auth.accounts import Accounts

    url, data_dir = served
    Accounts(data_dir / "accounts.sqlite").create_user("lan", PASSWORD, "planner")
    upload = tmp_path / "bao_cao_so_ngoai_vu.csv"
    upload.write_text("Mã hồ sơ,Ngày,Mã xã,Hình thức,Số người tham dự\n"
                      "NV-1,20/07/2024,25699,meeting,40\n", encoding="utf-8")
    with chromium_page(role="planner") as page:
        page.goto(url + "/import")
        page.wait_for_selector("#import-upload")
        page.fill("#import-source", "Công an tỉnh")
        page.press("#import-source", "Enter")
        page.fill("#import-agency", "Sở Ngoại vụ")
        page.press("#import-agency", "Enter")
        page.fill("#import-received", "02/08/2024")
        page.press("#import-received", "Enter")
        page.set_input_files("#import-upload input[type=file]", str(upload))
        page.wait_for_selector("#import-preview .kpis", timeout=60_000)
        page.check("#import-replace-demo input")
        page.click("#import-confirm")
        page.wait_for_selector("#import-result .success", timeout=60_000)

        page.context.clear_cookies()  # the demo accounts are closed: a real planner
        page.context.add_cookies([{"name": k, "value": v, "url": url}
                                  for k, v in sign_in(url, "lan", PASSWORD).items()])
        page.goto(url + "/reporting")
        page.wait_for_selector("#rep-table tbody tr", timeout=90_000)
        _choose(page, CAMPAIGN)
        page.wait_for_function("document.querySelector('#rep-sum-received').innerText === '1'",
                               timeout=60_000)
        rows = _rows(page)
    assert rows["Sở Ngoại vụ"] == ["Đúng hạn", "02/08/2024", "02/08/2024", "1", "–"]
    assert rows["Công an tỉnh"][0] == "Chưa gửi (quá hạn)"  # the source is not the agency
