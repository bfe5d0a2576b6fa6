"""The report's sentences in the province's words (dashboard/exports/report_text.py)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from dashboard.exports import report_text
from dashboard.exports.report_text import (
    ReportPeriod,
    crossings_sentence,
    date_line,
    models_sentence,
    num,
    outreach_clause,
    outreach_sentence,
    report_period,
    tips_sentence,
    trafficking_sentence,
    victims_sentence,
)
from dashboard.i18n import translate
from tests.test_i18n import _VIETNAMESE
from geo.kinds import OUTCOMES, OUTREACH_FIGURES, OUTREACH_FORMATS


def _numbers(text: str) -> list[int]:
    """The counts of a sentence, read the Vietnamese way (1.753 is one thousand …)."""
    return [int(n.replace(".", "")) for n in re.findall(r"\d{1,3}(?:\.\d{3})+|\d+", text)]


def test_seed_004_sentence_is_written_back_word_for_word():
    """The seed's figures in, the seed's sentence out (cases and persons of every outcome)."""
    text = crossings_sentence(41, 117, outcomes={
        "administrative_sanction": (27, 68), "warning_education": (0, 29),
        "deportation": (0, 6), "prosecuted": (6, 12), "verified": (8, 2)})
    assert text.startswith("Phát hiện, xử lý 41 vụ, 117 đối tượng có hành vi xuất, nhập cảnh "
                           "trái phép. Qua đó, xử lý hành chính 27 vụ, 68 đối tượng; cảnh cáo, "
                           "giáo dục 29 đối tượng; trục xuất 6 đối tượng; đồng thời, khởi tố 6 "
                           "vụ, 12 đối tượng.")
    assert text.endswith("tiếp tục xác minh, làm rõ.")


def test_outcome_parts_add_up_to_the_whole():
    outcomes = {"administrative_sanction": (120, 310), "warning_education": (40, 95),
                "deportation": (7, 9), "prosecuted": (12, 30), "verified": (30, 61),
                "": (4, 6)}
    cases = sum(c for c, _ in outcomes.values())
    persons = sum(p for _, p in outcomes.values())
    text = crossings_sentence(cases, persons, outcomes=outcomes)
    head, rest = text.split(". Qua đó, ")
    assert _numbers(head) == [cases, persons] == [213, 511]
    parts = _numbers(rest)  # cases, persons of each outcome in the seed's order, then the rest
    assert sum(parts[0::2]) == cases and sum(parts[1::2]) == persons
    assert "Các trường hợp còn lại (30 vụ, 61 đối tượng) tiếp tục xác minh, làm rõ." in text
    assert text.endswith("4 vụ, 6 đối tượng chưa ghi kết quả xử lý.")
    for code in report_text.CROSSING_OUTCOMES:
        assert translate(f"report.text.crossing.outcome.{code}") in text


def test_crossing_outcome_codes_are_those_of_the_records():
    decided = list(report_text.CROSSING_OUTCOMES)
    assert decided + ["verified"] == list(OUTCOMES["illegal_crossing"])


def test_without_outcomes_the_sentence_says_what_the_records_hold():
    text = crossings_sentence(633, 1753, outcomes={"verified": (560, 1550), "": (73, 203)})
    assert "Qua đó" not in text  # no outcome figure is invented
    assert "560 vụ, 1.550 đối tượng đang xác minh, làm rõ" in text
    assert "73 vụ, 203 đối tượng mới tiếp nhận, chưa ghi kết quả xử lý" in text
    assert "chưa ghi hình thức xử lý" in text
    # below commander: the released count only, no persons and no outcome
    assert crossings_sentence("< 5") == ("Phát hiện, xử lý < 5 vụ có hành vi xuất, nhập cảnh "
                                         "trái phép.")
    assert crossings_sentence(0) == "Chưa phát hiện trường hợp xuất, nhập cảnh trái phép."


def test_trafficking_tips_and_victims():
    assert trafficking_sentence(47, 86, 95, stages={"tried": 32, "prosecuted": 11,
                                                    "verified": 4}) == (
        "Phát hiện 47 vụ mua bán người, 86 đối tượng, 95 nạn nhân; trong đó đã đưa ra xét xử "
        "32 vụ, đã khởi tố, đang điều tra, truy tố 11 vụ, đã xác minh, đang làm rõ 4 vụ.")
    assert trafficking_sentence("x") == "Phát hiện x vụ mua bán người."
    assert tips_sentence(262, stages={"verified": 200, "prosecuted": 21, "open": 41}).endswith(
        "đã xác minh, phân loại 221 tin, 41 tin đang xác minh.")
    text = victims_sentence(37, 52, outcomes={"returned_home": (10, 12), "supported": (20, 30),
                                              "verified": (7, 10)})
    assert "hỗ trợ trở về địa phương 10 trường hợp (12 nạn nhân)" in text
    assert "chưa ghi việc hỗ trợ" not in text
    assert victims_sentence(0) == "Chưa tiếp nhận nạn nhân bị mua bán trở về."


def test_outreach_as_seed_004_counts_it():
    dept = outreach_sentence("Sở Lao động – Thương binh và Xã hội", [
        outreach_clause("leaflets", sessions=3, materials=28000),
        outreach_clause("training", sessions=12, participants=350),
        outreach_clause("job_counselling", sessions=40, participants=53080)])
    assert dept == ("Sở Lao động – Thương binh và Xã hội cấp 28.000 tờ rơi, tờ gấp, áp phích "
                    "tuyên truyền; tổ chức 12 lớp tập huấn cho 350 cán bộ; tư vấn, giới thiệu "
                    "việc làm cho 53.080 lượt người.")
    assert outreach_clause("broadcast", sessions=602) == (
        "tuyên truyền 602 lượt tin, bài trên báo, đài và hệ thống truyền thanh")
    assert outreach_clause("meeting", sessions=1, sites=158, participants=1835) == (
        "tổ chức 1 cuộc hội nghị, nói chuyện chuyên đề tại 158 điểm cầu, có 1.835 lượt người "
        "tham dự")
    assert outreach_clause("school_session", sessions=195, participants=70815).endswith(
        "với 70.815 lượt cán bộ, giáo viên và học sinh tham gia")
    assert outreach_clause("law_books", sessions=2, materials=4000) == (
        "phát hành 4.000 quyển sách pháp luật")
    assert outreach_clause("social_media", sessions=10, groups=359, members=7800) == (
        "tuyên truyền trên mạng xã hội (Zalo, Facebook) qua 359 nhóm với 7.800 tuyên truyền "
        "viên nòng cốt")
    assert outreach_clause("contest", sessions=3, participants=900) == (
        "tổ chức 3 hội thi với 900 lượt người dự thi")


@pytest.mark.parametrize("fmt", [c.code for c in OUTREACH_FORMATS])
def test_every_outreach_format_has_its_words(fmt):
    """Every format of the records is phrased (no generic fallback), with each of its figures."""
    figures = {f: 1000 + i for i, f in enumerate(OUTREACH_FIGURES[fmt])}
    text = outreach_clause(fmt, **{"sessions": figures.pop("sessions", 7), **figures})
    assert ":" not in text  # the fallback reads "<label>: n hoạt động"
    for value in figures.values():
        assert num(value) in text


def test_models_sentence():
    text = models_sentence(dt.date(2024, 12, 31), total=70, communes_with=44, communes=96,
                           by_type=[("Zalo phòng, chống tội phạm", 21), ("Khác", 0)],
                           intensive=5, integrated=65)
    assert text.startswith("Đến ngày 31/12/2024, toàn tỉnh có 70 mô hình phòng ngừa đang hoạt "
                           "động tại 44/96 xã, phường, gồm: 21 mô hình “Zalo phòng, chống tội "
                           "phạm”.")
    assert "“Khác”" not in text and "52 xã, phường chưa có mô hình" in text


def test_numbers_and_dates_the_vietnamese_way():
    assert [num(1835), num(70815), num(1_000_000), num("< 5")] == [
        "1.835", "70.815", "1.000.000", "< 5"]
    assert date_line("Tây Ninh", dt.date(2024, 7, 5)) == "Tây Ninh, ngày 05 tháng 7 năm 2024"
    assert date_line("Tây Ninh", dt.date(2024, 2, 19)) == "Tây Ninh, ngày 19 tháng 02 năm 2024"
    assert date_line("Tây Ninh", dt.date(2025, 12, 1)) == "Tây Ninh, ngày 01 tháng 12 năm 2025"


def test_periods_as_the_offices_name_them():
    assert report_period(quarter="2025Q3") == ReportPeriod(dt.date(2025, 7, 1),
                                                           dt.date(2025, 9, 30), "quarter")
    assert report_period(quarter="2025Q3").phrase() == "quý III năm 2025"
    assert report_period(half="2025H1").phrase() == "6 tháng đầu năm 2025"
    assert report_period(half="2025-6T") == report_period(half="2025H1")
    assert report_period(half="2024H2").phrase() == "6 tháng cuối năm 2024"
    assert report_period(year=2024).phrase() == "năm 2024"
    campaign = report_period(campaign="2024")
    assert (campaign.start, campaign.end) == (dt.date(2024, 7, 1), dt.date(2024, 9, 30))
    assert campaign.phrase().startswith("đợt cao điểm") and "01/07/2024" in campaign.phrase()
    assert campaign.code == "2024_cao_diem"
    free = report_period(start=dt.date(2025, 7, 1), end=dt.date(2025, 8, 14))
    assert free.phrase() == "từ ngày 01/07/2025 đến ngày 14/08/2025"
    # a start/end pair that is a quarter, half or year is named as one
    assert report_period(start=dt.date(2024, 1, 1), end=dt.date(2024, 12, 31)).kind == "year"
    assert report_period(start=dt.date(2024, 7, 1), end=dt.date(2024, 12, 31)).kind == "half"
    assert report_period() is None
    for bad in ({"quarter": "2025Q5"}, {"half": "2025H3"}, {"year": "24"},
                {"year": 2024, "half": "2024H1"}, {"start": dt.date(2024, 1, 1)},
                {"start": dt.date(2024, 2, 1), "end": dt.date(2024, 1, 1)}):
        with pytest.raises(ValueError):
            report_period(**bad)


def _english_numbers(text: str) -> list[int]:
    return [int(n.replace(",", "")) for n in re.findall(r"\d{1,3}(?:,\d{3})+|\d+", text)]


def test_every_sentence_has_its_english_with_the_same_figures():
    """The same figures in, the same numbers out in English (1,753), in English words only,
    and one case is "1 case", not "1 cases"."""
    outcomes = {"administrative_sanction": (27, 68), "warning_education": (0, 29),
                "prosecuted": (1, 1), "verified": (8, 2), "": (5, 17)}
    pairs = [
        (crossings_sentence, (41, 117), {"outcomes": outcomes}),
        (crossings_sentence, (633, 1753), {"outcomes": {"verified": (560, 1550),
                                                        "": (73, 203)}}),
        (trafficking_sentence, (47, 86, 95), {"stages": {"tried": 32, "open": 1}}),
        (tips_sentence, (262,), {"stages": {"verified": 200, "open": 62}}),
        (victims_sentence, (37, 52), {"outcomes": {"returned_home": (10, 12),
                                                   "verified": (27, 40)}}),
    ]
    for function, args, kwargs in pairs:
        vi, en = function(*args, **kwargs), function(*args, **kwargs, lang="en")
        assert not _VIETNAMESE.search(en), en
        assert sorted(_english_numbers(en)) == sorted(_numbers(vi)), (vi, en)
    text = crossings_sentence(41, 117, outcomes=outcomes, lang="en")
    assert text.startswith("Detected and handled 41 cases, 117 persons of illegal exit or "
                           "entry. Of these: administrative sanctions: 27 cases, 68 persons;")
    assert "and prosecution: 1 case, 1 person." in text
    assert not re.search(r"\b1 (cases|persons)\b", text)
    assert crossings_sentence(0, lang="en") == "No case of illegal exit or entry was detected."
    assert crossings_sentence(3, 5, continued=True) == (
        "Đồng thời, lực lượng chức năng đã phát hiện, xử lý 3 vụ, 5 đối tượng có hành vi "
        "xuất, nhập cảnh trái phép.")


@pytest.mark.parametrize("fmt", [c.code for c in OUTREACH_FORMATS])
def test_every_outreach_format_has_its_english(fmt):
    figures = {f: 1000 + i for i, f in enumerate(OUTREACH_FIGURES[fmt])}
    text = outreach_clause(fmt, **{"sessions": figures.pop("sessions", 7), **figures},
                           lang="en")
    assert not _VIETNAMESE.search(text.replace("Zalo", "")), text
    for value in figures.values():
        assert num(value, "en") in text


def test_periods_and_models_in_english():
    assert report_period(quarter="2025Q3").phrase("en") == "Q3 2025"
    assert report_period(half="2024H2").words("en") == (
        "the second half of 2024 (from 01/07/2024 to 31/12/2024)")
    assert report_period(quarter="2025Q3").words() == (
        "quý III năm 2025 (từ ngày 01/07/2025 đến ngày 30/09/2025)")
    assert date_line("Tây Ninh", dt.date(2024, 2, 5), "en") == "Tây Ninh, 05/02/2024"
    text = models_sentence(dt.date(2024, 12, 31), total=70, communes_with=44, communes=96,
                           by_type=[("Zalo crime prevention", 21)], intensive=5, integrated=65,
                           lang="en")
    assert text == ("As of 31/12/2024, prevention models active in the province: 70, in 44/96 "
                    "communes and wards: “Zalo crime prevention”: 21. Of these, 5 intensive, "
                    "65 integrated; 52 communes and wards without a model.")
