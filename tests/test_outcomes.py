"""Incident outcomes (kết quả xử lý) and the plans' outreach figures, through the importer.

An incident's outcome is its ``status``, whose allowed codes depend on its
type (:data:`geo.kinds.OUTCOMES`); outreach rows carry the figures
seeds 002 and 004 count (sessions, sites, copies, groups, members). Each
test imports a small file as an agency would write it, on both back-ends.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from geo.config import Settings
from geo.ingest import Places, import_file
from geo.kinds import INCIDENT_TYPES, KINDS, OUTCOMES, STATUSES, outcomes_of
from geo.ingest.messages import describe

TODAY = dt.date(2026, 11, 23)
LABEL = {c.code: c.label_vi for c in STATUSES}
TYPE_LABEL = {c.code: c.label_vi for c in INCIDENT_TYPES}
HEADER = "Mã hồ sơ;Ngày;Loại;Mã xã;Số đối tượng;Số nạn nhân;Đơn vị;Tình trạng"


@pytest.fixture(scope="module")
def places(tmp_path_factory) -> Places:
    return Places.load(Settings(data_dir=tmp_path_factory.mktemp("places")))


def _csv(path: Path, lines: list[str]) -> Path:
    path.write_bytes(("\ufeff" + "\n".join(lines) + "\n").encode("utf-8"))
    return path


def _run(path, kind, store, places, **kw):
    return import_file(path, kind, store, places, today=TODAY, **kw)


def _pairs() -> list[tuple[str, str]]:
    return [(kind, code) for kind, codes in OUTCOMES.items() for code in codes]


# -- the codes -------------------------------------------------------------------------


def test_each_type_takes_the_outcomes_the_seeds_name():
    assert OUTCOMES == {
        "illegal_crossing": ("administrative_sanction", "warning_education", "deportation",
                             "prosecuted", "verified"),
        "trafficking_case": ("received", "verified", "prosecuted", "tried"),
        "tip": ("received", "verified", "prosecuted", "tried"),
        "victim": ("received", "verified", "supported", "returned_home"),
    }
    assert [c.label_vi for c in outcomes_of("illegal_crossing")] == [
        "Xử lý hành chính", "Cảnh cáo, giáo dục", "Trục xuất", "Khởi tố", "Xác minh"]
    assert [c.label_vi for c in outcomes_of("victim")] == [
        "Tiếp nhận", "Xác minh", "Hỗ trợ", "Hồi hương, trở về"]
    # every status code is some type's outcome, and the status field offers exactly these
    assert {c.code for c in KINDS["incidents"].field("status").choices} == {
        code for codes in OUTCOMES.values() for code in codes}


# -- import by code, by label, by other spellings ----------------------------------------


@pytest.mark.parametrize("written", ["code", "label"])
def test_every_outcome_imports_by_code_and_by_vietnamese_label(written, store, places,
                                                                tmp_path):
    rows = []
    for i, (kind, code) in enumerate(_pairs()):
        value = code if written == "code" else LABEL[code]
        rows.append(f"KQ-{i:02d};05/08/2024;{kind};25699;2;;BĐBP;{value}")
    report = _run(_csv(tmp_path / "kq.csv", [HEADER, *rows]), "incidents", store, places,
                  strict=True)
    assert (report.status, report.accepted, report.rejected) == ("committed", len(rows), 0)
    got = store.read("incidents").set_index("record_id")
    assert list(zip(got["type"], got["status"], strict=True)) == _pairs()


@pytest.mark.parametrize(("kind", "written", "code"), [
    ("illegal_crossing", "xu phat hanh chinh", "administrative_sanction"),
    ("illegal_crossing", "XỬ LÝ HÀNH CHÍNH", "administrative_sanction"),
    ("illegal_crossing", "Cảnh cáo", "warning_education"),
    ("illegal_crossing", "cảnh cáo, giáo dục", "warning_education"),
    ("illegal_crossing", "truc xuat", "deportation"),
    ("illegal_crossing", "Khởi tố", "prosecuted"),
    ("illegal_crossing", "Đang xác minh", "verified"),
    ("illegal_crossing", "tiếp tục xác minh", "verified"),
    ("victim", "Hồi hương", "returned_home"),
    ("victim", "trở về", "returned_home"),
    ("victim", "Đã hỗ trợ", "supported"),
    ("trafficking_case", "Đưa ra xét xử", "tried"),
])
def test_outcomes_as_offices_write_them(kind, written, code, store, places, tmp_path):
    path = _csv(tmp_path / "kq.csv", [HEADER, f"KQ-1;05/08/2024;{kind};25699;3;;;{written}"])
    report = _run(path, "incidents", store, places)
    assert (report.accepted, report.rejected) == (1, 0)
    assert store.read("incidents")["status"].tolist() == [code]


def test_the_outcome_column_may_be_headed_ket_qua_xu_ly(store, places, tmp_path):
    path = _csv(tmp_path / "kq.csv", [
        "Mã hồ sơ;Ngày;Loại;Mã xã;Số đối tượng;Kết quả xử lý",
        "KQ-1;05/08/2024;Xuất, nhập cảnh trái phép;25699;3;Xử lý hành chính"])
    report = _run(path, "incidents", store, places)
    assert report.accepted == 1
    got = store.read("incidents").iloc[0]
    assert (got["status"], got["persons"]) == ("administrative_sanction", 3)


# -- refusals --------------------------------------------------------------------------


def test_an_unknown_outcome_is_refused_with_the_closest_value(store, places, tmp_path):
    path = _csv(tmp_path / "kq.csv", [
        HEADER,
        "KQ-1;05/08/2024;illegal_crossing;25699;3;;;Xử lý hành chín",  # a typo
        "KQ-2;05/08/2024;illegal_crossing;25699;3;;;tạm giữ",  # nothing close
        "KQ-3;05/08/2024;illegal_crossing;25699;3;;;Trục xuất"])
    report = _run(path, "incidents", store, places)
    assert (report.accepted, report.rejected) == (1, 2)
    rejects = report.rejects.set_index("record_id")
    assert rejects["reason"].tolist() == ["choice.unknown", "choice.unknown"]
    assert rejects.at["KQ-1", "suggestion"] == "administrative_sanction (Xử lý hành chính)"
    assert pd.isna(rejects.at["KQ-2", "suggestion"])
    table = report.reject_table("vi").set_index("record_id")
    assert "'Xử lý hành chín' không phải giá trị hợp lệ của status" in table.at["KQ-1",
                                                                               "reason_text"]
    assert "warning_education (Cảnh cáo, giáo dục)" in table.at["KQ-1", "reason_text"]
    english = report.reject_table("en").set_index("record_id")
    assert english.at["KQ-2", "reason_text"].startswith("'tạm giữ' is not a valid status")


@pytest.mark.parametrize(("kind", "written", "suggestion"), [
    ("illegal_crossing", "Xét xử", "prosecuted (Khởi tố)"),
    ("illegal_crossing", "Tiếp nhận", "verified (Xác minh)"),
    ("illegal_crossing", "Hồi hương", None),
    ("victim", "Trục xuất", None),
    ("victim", "Khởi tố", "verified (Xác minh)"),
    ("trafficking_case", "Xử lý hành chính", "verified (Xác minh)"),
    ("tip", "Hỗ trợ", "verified (Xác minh)"),
])
def test_an_outcome_that_does_not_fit_the_type_is_refused_with_the_reason(
        kind, written, suggestion, store, places, tmp_path):
    path = _csv(tmp_path / "kq.csv", [HEADER, f"KQ-1;05/08/2024;{kind};25699;3;;;{written}"])
    report = _run(path, "incidents", store, places)
    assert (report.accepted, report.rejected) == (0, 1)
    reject = report.rejects.iloc[0]
    assert (reject["reason"], reject["column_name"], reject["value"]) == (
        "status.not_for_type", "status", written)
    assert (None if pd.isna(reject["suggestion"]) else reject["suggestion"]) == suggestion
    detail = json.loads(reject["detail"])
    allowed = ", ".join(f"{c} ({LABEL[c]})" for c in OUTCOMES[kind])
    assert describe("status.not_for_type", "vi", **detail) == (
        f"Tình trạng/kết quả xử lý '{written}' không dùng cho loại '{TYPE_LABEL[kind]}'; "
        f"loại này chỉ nhận: {allowed}")
    assert describe("status.not_for_type", "en", **detail) == (
        f"status (outcome) '{written}' does not apply to a {kind} record; a {kind} takes: "
        f"{allowed}")
    assert store.count("incidents") == 0


def test_a_strict_import_with_a_misfit_outcome_keeps_nothing(store, places, tmp_path):
    path = _csv(tmp_path / "kq.csv", [
        HEADER,
        "KQ-1;05/08/2024;illegal_crossing;25699;3;;;Xử lý hành chính",
        "KQ-2;05/08/2024;victim;25699;;1;;Trục xuất"])
    report = _run(path, "incidents", store, places, strict=True)
    assert report.status == "refused" and report.rejected == 1
    assert store.count("incidents") == 0


def test_an_empty_outcome_is_allowed_and_stays_empty(store, places, tmp_path):
    path = _csv(tmp_path / "kq.csv", [HEADER, "KQ-1;05/08/2024;illegal_crossing;25699;3;;;"])
    report = _run(path, "incidents", store, places)
    assert report.accepted == 1
    assert pd.isna(store.read("incidents")["status"].iloc[0])


def test_seed_004s_sentence_is_counts_and_sums_of_persons_per_outcome(store, places, tmp_path):
    """41 cases, 117 persons: sanctioned 27 cases / 68 persons; warned 29 persons; deported 6;
    prosecuted 6 cases / 12 persons; the rest still being verified."""
    spread = {"administrative_sanction": [3] * 14 + [2] * 13,  # 27 cases, 68 persons
              "warning_education": [6, 6, 6, 6, 5],  # 29 persons
              "deportation": [3, 3],  # 6 persons
              "prosecuted": [2] * 6,  # 6 cases, 12 persons
              "verified": [2]}  # 2 persons
    rows, i = [], 0
    for code, persons in spread.items():
        for n in persons:
            i += 1
            rows.append(f"XC-{i:02d};{5 + i % 20:02d}/03/2022;Xuất, nhập cảnh trái phép;25699;"
                        f"{n};;Bộ đội Biên phòng tỉnh;{LABEL[code]}")
    report = _run(_csv(tmp_path / "xc.csv", [HEADER, *rows]), "incidents", store, places,
                  strict=True)
    assert report.accepted == 41
    got = store.read("incidents")
    assert (len(got), int(got["persons"].sum())) == (41, 117)
    table = got.groupby("status")["persons"].agg(["size", "sum"])
    assert table.loc["administrative_sanction"].tolist() == [27, 68]
    assert table.loc["warning_education", "sum"] == 29
    assert table.loc["deportation", "sum"] == 6
    assert table.loc["prosecuted"].tolist() == [6, 12]


# -- outreach as the plans count it ----------------------------------------------------


OUTREACH_HEADER = ("Mã hồ sơ;Ngày;Mã xã;Đơn vị;Hình thức;Số cuộc/buổi/lớp;Số người tham dự;"
                   "Số điểm (điểm cầu/tủ sách);Số tài liệu;Số nhóm (Zalo/Facebook);"
                   "Số thành viên nòng cốt")


def test_the_plans_outreach_formats_and_figures_import(store, places, tmp_path):
    path = _csv(tmp_path / "tt.csv", [
        OUTREACH_HEADER,
        "TT-1;10/03/2022;25699;Sở Thông tin và Truyền thông;Tin, bài, phát thanh, truyền hình;"
        "602;;;;;",
        "TT-2;11/03/2022;25699;Sở Tư pháp;hội nghị;1;1.835;158;;;",
        "TT-3;12/03/2022;25699;Sở Tư pháp;Sách, tủ sách pháp luật;;;20;4.000;;",
        "TT-4;13/03/2022;25699;Sở Giáo dục và Đào tạo;school_session;195;70815;;;;",
        "TT-5;14/03/2022;25699;Sở LĐTBXH;Tờ rơi;;;;28.000;;",
        "TT-6;15/03/2022;25699;Sở LĐTBXH;Tập huấn;12;350;;;;",
        "TT-7;16/03/2022;25699;Sở LĐTBXH;Tư vấn, giới thiệu việc làm;;53.080;;;;",
        "TT-8;17/03/2022;25699;Hội LHPN tỉnh;Zalo;;;;;359;7.800",
        "TT-9;18/03/2022;25699;Đoàn Thanh niên tỉnh;Hội thi;2;400;;;;",
    ])
    report = _run(path, "outreach", store, places, strict=True)
    assert (report.status, report.accepted, report.unknown_columns) == ("committed", 9, ())
    got = store.read("outreach").set_index("record_id")
    assert got["format"].tolist() == ["broadcast", "meeting", "law_books", "school_session",
                                      "leaflets", "training", "job_counselling", "social_media",
                                      "contest"]
    figures = got[["sessions", "participants", "sites", "materials", "groups", "members"]]
    assert figures.loc["TT-1"].tolist()[0] == 602
    assert figures.loc["TT-2", ["sessions", "participants", "sites"]].tolist() == [1, 1835, 158]
    assert figures.loc["TT-3", ["sites", "materials"]].tolist() == [20, 4000]
    assert figures.loc["TT-7", "participants"] == 53080
    assert figures.loc["TT-8", ["groups", "members"]].tolist() == [359, 7800]
    assert str(got["sites"].dtype) == "Int64" and pd.isna(got.at["TT-1", "sites"])


@pytest.mark.parametrize(("header", "field"), [
    ("Số lớp", "sessions"), ("Số tin bài", "sessions"), ("Số điểm cầu", "sites"),
    ("Số tủ sách", "sites"), ("Số quyển", "materials"), ("Số nhóm", "groups"),
    ("Số tuyên truyền viên", "members"), ("Số lượt người được tư vấn", "participants"),
])
def test_figure_columns_as_agencies_head_them(header, field, store, places, tmp_path):
    path = _csv(tmp_path / "tt.csv", [f"Mã hồ sơ;Ngày;Mã xã;Hình thức;{header}",
                                      "TT-1;10/03/2022;25699;meeting;17"])
    report = _run(path, "outreach", store, places)
    assert (report.accepted, report.unknown_columns) == (1, ())
    assert store.read("outreach")[field].tolist() == [17]


def test_an_unknown_format_is_refused_with_the_closest_new_one(store, places, tmp_path):
    path = _csv(tmp_path / "tt.csv", ["Mã hồ sơ;Ngày;Mã xã;Hình thức;Số người tham dự",
                                      "TT-1;10/03/2022;25699;tu van viec lm;30"])
    report = _run(path, "outreach", store, places)
    reasons = report.rejects.set_index("record_id")
    assert reasons.at["TT-1", "reason"] == "choice.unknown"
    assert reasons.at["TT-1", "suggestion"] == "job_counselling (Tư vấn, giới thiệu việc làm)"


def test_the_dashboard_reads_the_outreach_figures(store_settings, places, tmp_path):
    """The records the dashboard works from (``dashboard.records``) carry every figure the
    importer stores, so reach and reports see them (not 0)."""
    from dashboard.records import RecordCache
    from geo.store import open_store

    path = _csv(tmp_path / "tt.csv", [
        OUTREACH_HEADER,
        "TT-2;11/03/2022;25699;Sở Tư pháp;hội nghị;1;1.835;158;;;",
        "TT-8;17/03/2022;25699;Hội LHPN tỉnh;Zalo;;;;;359;7.800",
    ])
    with open_store(store_settings) as opened:
        _run(path, "outreach", opened, places, strict=True)
    outreach = RecordCache(store_settings).current().outreach.set_index("record_id")
    assert outreach.loc["TT-2", ["sessions", "participants", "sites"]].tolist() == [1, 1835, 158]
    assert outreach.loc["TT-8", ["groups", "members"]].tolist() == [359, 7800]
