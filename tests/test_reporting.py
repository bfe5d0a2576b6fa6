"""Who has reported: the reporting calendar of a plan file, and on time / late / missing.

Fixed dates throughout; the due days are the seeds' (the campaign of 01/7-30/9/2024 reported
"trước ngày 05/8/2024", seed 001; six months "trước ngày 01/6", a year "trước ngày 01/12",
seed 002). No weekend rule: the seeds write none.
"""

from __future__ import annotations

import datetime as dt
import textwrap

import pandas as pd
import pytest

from layers.reporting import figures_window, period_status, reported_figures, reporting_rate
from layers.targets import PLANS_DIR, PlanError, ReportingPeriod, load_plan

D = dt.date


@pytest.fixture(scope="module")
def plan():
    return load_plan(PLANS_DIR / "tay_ninh_2024.yaml")


@pytest.fixture(scope="module")
def calendar(plan):
    return plan.reporting


def _figures(*rows) -> pd.DataFrame:
    """(agency, import id, received, record date) rows as :func:`reported_figures` gives them."""
    imports = pd.DataFrame({
        "id": [r[1] for r in rows], "status": "committed", "agency": [r[0] for r in rows],
        "received_on": pd.to_datetime([r[2] for r in rows]),
    }).drop_duplicates("id")
    dates = pd.DataFrame({"import_id": [r[1] for r in rows],
                          "date": pd.to_datetime([r[3] for r in rows])})
    return reported_figures(imports, dates)


def _row(status: pd.DataFrame, agency: str) -> dict:
    return status.set_index("agency").loc[agency].to_dict()


# -- the plan file ------------------------------------------------------------------------


def test_the_shipped_plan_names_the_seeds_periods_and_due_days(calendar):
    due = {p.id: p.due_before for p in calendar.periods}
    assert due["campaign_2024"] == D(2024, 8, 5)
    assert due["half_2024"] == D(2024, 6, 1) and due["year_2024"] == D(2024, 12, 1)
    # the seeds give no day for quarterly reports: none is invented
    assert [due[q] for q in ("q1_2024", "q2_2024", "q3_2024", "q4_2024")] == [None] * 4
    campaign = calendar.period("campaign_2024")
    assert (campaign.start, campaign.end) == (D(2024, 7, 1), D(2024, 9, 30))
    assert "05/8/2024" in campaign.source_ref.quote
    assert len(calendar.agencies) == 15 and calendar.agencies[0] == "Công an tỉnh"
    assert calendar.to.startswith("Công an tỉnh")


def _write(tmp_path, reporting: str):
    base = (PLANS_DIR / "tay_ninh_2024.yaml").read_text(encoding="utf-8")
    head = base[:base.index("\nreporting:")]
    path = tmp_path / "plan.yaml"
    path.write_text(head + "\n" + textwrap.dedent(reporting), encoding="utf-8")
    return path


_SOURCE = """\
reporting:
  to: Công an tỉnh
  source_ref: {document: 5116/KH-UBND, section: V.2, quote: trước ngày 01/6}
"""


def test_a_due_day_before_the_period_is_refused_with_its_line(tmp_path):
    path = _write(tmp_path, _SOURCE + """\
  agencies: [Sở Tư pháp]
  periods:
    - {id: c, kind: campaign, label_vi: x, label_en: x, start: 01/07/2024, end: 30/09/2024,
       due_before: 01/07/2024}
""")
    with pytest.raises(PlanError) as err:
        load_plan(path)
    (problem,) = err.value.problems
    assert problem.field == "reporting.periods[0].due_before"
    assert "due (01/07/2024) before the period starts (01/07/2024)" in problem.message
    assert problem.line == path.read_text(encoding="utf-8").splitlines().index(
        "       due_before: 01/07/2024}") + 1  # the line of the due day itself


def test_an_agency_listed_twice_in_two_spellings_is_refused(tmp_path):
    path = _write(tmp_path, _SOURCE + """\
  agencies:
    - Sở Lao động – Thương binh và Xã hội
    - sở lao động - thương binh và xã hội
  periods:
    - {id: y, kind: year, label_vi: x, label_en: x, start: 01/01/2024, end: 31/12/2024}
""")
    with pytest.raises(PlanError, match=r"listed twice \(first as agencies\[0\]\)"):
        load_plan(path)


def test_an_unknown_period_kind_and_a_duplicate_id_are_both_named(tmp_path):
    path = _write(tmp_path, _SOURCE + """\
  agencies: [Sở Tư pháp]
  periods:
    - {id: y, kind: month, label_vi: x, label_en: x, start: 01/01/2024, end: 31/12/2024}
    - {id: y, kind: year, label_vi: x, label_en: x, start: 01/01/2024, end: 31/12/2024}
""")
    with pytest.raises(PlanError) as err:
        load_plan(path)
    text = str(err.value)
    assert "reporting.periods[0].kind: expected one of 'quarter', 'half_year', 'year' or " \
           "'campaign', got 'month'" in text


# -- on time, late, missing ---------------------------------------------------------------


def test_the_campaign_figures_run_to_the_day_before_they_are_due(calendar):
    assert figures_window(calendar.period("campaign_2024")) == (D(2024, 7, 1), D(2024, 8, 4))
    assert figures_window(calendar.period("half_2024")) == (D(2024, 1, 1), D(2024, 5, 31))
    assert figures_window(calendar.period("q3_2024")) == (D(2024, 7, 1), D(2024, 9, 30))


def test_before_the_due_day_is_on_time_and_on_it_is_one_day_late(calendar):
    figures = _figures(("Công an tỉnh", 1, "2024-08-04", "2024-07-20"),
                       ("Sở Tư pháp", 2, "2024-08-05", "2024-07-30"),
                       ("Tỉnh Đoàn", 3, "2024-08-19", "2024-08-01"))
    status = period_status(calendar, "campaign_2024", figures, as_of=D(2024, 9, 1))
    assert _row(status, "Công an tỉnh") == {
        "state": "on_time", "first_received": D(2024, 8, 4), "last_received": D(2024, 8, 4),
        "imports": 1, "days_late": 0}
    assert (_row(status, "Sở Tư pháp")["state"], _row(status, "Sở Tư pháp")["days_late"]) \
        == ("late", 1)
    assert _row(status, "Tỉnh Đoàn")["days_late"] == 15
    assert _row(status, "Sở Ngoại vụ")["state"] == "missing"
    assert list(status["agency"]) == list(calendar.agencies)  # the plan's order


def test_nothing_received_is_not_due_before_the_due_day_and_missing_from_it(calendar):
    empty = _figures(("Công an tỉnh", 1, "2024-04-01", "2024-03-01"))
    before = period_status(calendar, "campaign_2024", empty, as_of=D(2024, 8, 4))
    on_the_day = period_status(calendar, "campaign_2024", empty, as_of=D(2024, 8, 5))
    assert set(before["state"]) == {"not_due"}
    assert set(on_the_day["state"]) == {"missing"}


def test_a_report_received_after_the_day_asked_about_does_not_count_yet(calendar):
    figures = _figures(("Sở Tư pháp", 1, "2024-08-20", "2024-07-10"))
    at_meeting = period_status(calendar, "campaign_2024", figures, as_of=D(2024, 8, 10))
    later = period_status(calendar, "campaign_2024", figures, as_of=D(2024, 8, 20))
    assert _row(at_meeting, "Sở Tư pháp")["state"] == "missing"
    assert _row(later, "Sở Tư pháp")["state"] == "late"


def test_a_part_sent_late_makes_the_report_late_and_both_days_are_shown(calendar):
    figures = _figures(("Hội Liên hiệp Phụ nữ tỉnh", 1, "2024-04-03", "2024-03-15"),
                       ("Hội Liên hiệp Phụ nữ tỉnh", 2, "2024-06-07", "2024-05-20"))
    row = _row(period_status(calendar, "half_2024", figures, as_of=D(2024, 12, 1)),
               "Hội Liên hiệp Phụ nữ tỉnh")
    assert row == {"state": "late", "first_received": D(2024, 4, 3),
                   "last_received": D(2024, 6, 7), "imports": 2, "days_late": 7}


def test_figures_outside_the_period_are_no_report_of_it(calendar):
    # June figures sent in July: the six months' report runs to 31/5, so they are not part of it
    figures = _figures(("Sở Tư pháp", 1, "2024-05-30", "2024-05-02"),
                       ("Sở Tư pháp", 2, "2024-07-03", "2024-06-20"),
                       ("Báo Tây Ninh", 3, "2024-07-03", "2024-06-20"))
    status = period_status(calendar, "half_2024", figures, as_of=D(2024, 12, 1))
    assert _row(status, "Sở Tư pháp")["state"] == "on_time"
    assert _row(status, "Báo Tây Ninh")["state"] == "missing"


def test_a_quarter_without_a_due_day_is_received_or_not_never_late(calendar):
    figures = _figures(("Công an tỉnh", 1, "2025-03-01", "2024-08-10"))
    status = period_status(calendar, "q3_2024", figures, as_of=D(2025, 3, 1))
    assert _row(status, "Công an tỉnh")["state"] == "received"
    assert set(status["state"]) == {"received", "not_received"}
    rate = reporting_rate(status, calendar.period("q3_2024"))
    assert (rate.expected, rate.received, rate.on_time, rate.on_time_rate) == (15, 1, None, None)
    assert rate.rate == round(100 / 15, 1) == 6.7


def test_agencies_match_in_any_spelling_and_unnamed_or_refused_imports_are_no_report(calendar):
    imports = pd.DataFrame({
        "id": [1, 2, 3, 4], "status": ["committed", "committed", "refused", "committed"],
        "agency": ["SỞ LAO ĐỘNG – THƯƠNG BINH VÀ XÃ HỘI", None, "Sở Tư pháp", "Sở Ngoại vụ"],
        "received_on": pd.to_datetime(["2024-08-01", "2024-08-01", "2024-08-01", None]),
    })
    dates = pd.DataFrame({"import_id": [1, 2, 3, 4], "date": pd.to_datetime(["2024-07-05"] * 4)})
    figures = reported_figures(imports, dates)
    assert list(figures["import_id"]) == [1]
    status = period_status(calendar, "campaign_2024", figures, as_of=D(2024, 9, 1))
    assert _row(status, "Sở Lao động - Thương binh và Xã hội")["state"] == "on_time"
    assert _row(status, "Sở Tư pháp")["state"] == "missing"
    assert _row(status, "Sở Ngoại vụ")["state"] == "missing"


def test_the_reporting_rate_counts_as_dhis2_does(calendar):
    period = calendar.period("year_2024")
    status = pd.DataFrame({"state": ["on_time"] * 9 + ["late"] * 3 + ["missing"] * 3})
    rate = reporting_rate(status, period)
    assert (rate.expected, rate.received, rate.on_time, rate.late, rate.missing) == \
        (15, 12, 9, 3, 3)
    assert (rate.rate, rate.on_time_rate) == (80.0, 60.0)
    empty = reporting_rate(pd.DataFrame({"state": []}), period)
    assert (empty.expected, empty.rate, empty.on_time_rate) == (0, None, None)


def test_an_unknown_period_id_names_the_known_ones(calendar):
    with pytest.raises(KeyError, match="campaign_2024"):
        period_status(calendar, "campaign_2025", _figures(), as_of=D(2024, 9, 1))


# -- the reminder -------------------------------------------------------------------------


def test_the_reminder_names_the_agencies_overdue_in_the_letters_register(plan, calendar):
    from dashboard.pages.reporting import reminder_text

    figures = _figures(*[(name, i, "2024-08-02", "2024-07-15")
                         for i, name in enumerate(calendar.agencies[:13])])
    status = period_status(calendar, "campaign_2024", figures, as_of=D(2024, 8, 9))
    text = reminder_text(plan, calendar.period("campaign_2024"), status, D(2024, 8, 9))
    lines = text.splitlines()
    assert lines[0] == "Kính gửi: Viện kiểm sát nhân dân tỉnh; Tòa án nhân dân tỉnh."
    assert lines[2].startswith("Thực hiện Kế hoạch số 470/KH-UBND ngày 19/02/2024 của Ủy ban "
                               "nhân dân tỉnh Tây Ninh, đến ngày 09/08/2024, Công an tỉnh "
                               "(Thường trực Ban Chỉ đạo 138 tỉnh) chưa nhận được báo cáo")
    assert "(hạn gửi trước ngày 05/08/2024)" in lines[2]
    assert lines[3:5] == ["- Viện kiểm sát nhân dân tỉnh;", "- Tòa án nhân dân tỉnh."]
    assert lines[-1].startswith("Đề nghị Thủ trưởng các cơ quan, đơn vị khẩn trương gửi báo cáo")
    assert lines[-1].endswith("./.")
    assert "Sở Tư pháp" not in text  # it has reported


def test_the_reminder_before_the_due_day_asks_for_the_report_on_time(plan, calendar):
    from dashboard.pages.reporting import reminder_text

    status = period_status(calendar, "campaign_2024", _figures(), as_of=D(2024, 8, 1))
    text = reminder_text(plan, calendar.period("campaign_2024"), status, D(2024, 8, 1), "en")
    assert "has not yet received the report on Peak campaign" in text
    assert "(due before 05/08/2024)" in text and "on time" in text.splitlines()[-1]
    assert text.count("\n- ") == 15


def test_the_reminder_when_everyone_has_reported(plan, calendar):
    from dashboard.pages.reporting import reminder_text

    figures = _figures(*[(name, i, "2024-05-20", "2024-05-02")
                         for i, name in enumerate(calendar.agencies)])
    status = period_status(calendar, "half_2024", figures, as_of=D(2024, 6, 1))
    assert reminder_text(plan, calendar.period("half_2024"), status, D(2024, 6, 1)) == \
        "Tất cả các cơ quan, đơn vị đã gửi báo cáo 6 tháng đầu năm 2024."


def test_a_period_may_be_built_in_code_with_the_same_checks():
    with pytest.raises(ValueError, match="before the period starts"):
        ReportingPeriod(id="x", kind="year", label_vi="x", label_en="x", start="01/01/2024",
                        end="31/12/2024", due_before="31/12/2023")


def test_the_page_is_for_the_standing_office_and_the_data_officer_not_the_viewer():
    from dashboard.auth.roles import may_open, may_update, page_of_output
    from dashboard.pages import reporting

    assert [r for r in ("commander", "planner", "viewer", "admin")
            if may_open(r, reporting.PATH)] == ["commander", "planner", "admin"]
    outputs = [reporting.SUMMARY, reporting.TABLE, reporting.REMINDER, reporting.PERIOD]
    assert {page_of_output(o) for o in outputs} == {"/reporting"}
    assert may_update("planner", outputs) and may_update("admin", outputs)
    assert not may_update("viewer", outputs) and not may_update(None, outputs)
