"""XLSX templates: what a planner sees, and that a filled template imports as typed."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from geo.config import Settings
from geo.ingest.columns import map_columns
from geo.ingest.importer import Places, import_file
from geo.kinds import KINDS, Kind
from geo.ingest.parse import CellErrors, parse_choice
from geo.ingest.readers import FileRefused, read_chunks
from geo.ingest.template import LISTS_SHEET, write_template
from geo.store import open_store

#: Importer's "today" in the round trips: after the merger, before the invalid rows' dates.
TODAY = dt.date(2025, 10, 1)


@pytest.fixture(scope="module")
def templates(tmp_path_factory, registry) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("templates")
    return {kind: write_template(kind, folder / f"{kind}.xlsx", registry) for kind in KINDS}


@pytest.fixture(scope="module")
def places(tmp_path_factory) -> Places:
    return Places.load(Settings(data_dir=tmp_path_factory.mktemp("places") / "var"))


@pytest.fixture()
def store(tmp_path):
    with open_store(Settings(data_dir=tmp_path / "var")) as opened:
        yield opened


def _range_values(book, formula: str) -> list:
    """The cells a validation formula such as ``'Danh mục'!$A$2:$A$97`` points at."""
    sheet, ref = re.fullmatch(r"'?(.+?)'?!(\$?[A-Z]+\$?\d+:\$?[A-Z]+\$?\d+)", formula).groups()
    return [row[0].value for row in book[sheet][ref.replace("$", "")]]


def _validation(sheet, column: int):
    """The data validation covering ``column`` from row 2 (exactly one)."""
    cell = f"{get_column_letter(column)}2"
    found = [dv for dv in sheet.data_validations.dataValidation if cell in dv.sqref]
    assert len(found) == 1, f"{len(found)} validations on {cell}"
    return found[0]


def _headers(sheet) -> list[str]:
    return [c.value for c in sheet[1] if c.value is not None]


# -- what the template holds -------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_data_sheet_comes_first_and_every_header_maps_to_its_field(templates, kind):
    spec: Kind = KINDS[kind]
    book = load_workbook(templates[kind])
    assert book.sheetnames == [spec.label_vi, "Hướng dẫn", LISTS_SHEET]
    data = book.worksheets[0]
    headers = _headers(data)
    assert headers == [f.header_vi for f in spec.fields]
    assert map_columns(headers, spec).fields == {f.name: f.header_vi for f in spec.fields}
    # The importer picks this sheet and sees these headers (an unfilled template is empty).
    assert list(next(read_chunks(templates[kind])).cells.columns) == headers
    assert data.freeze_panes == "A2"
    for cell, f in zip(data[1], spec.fields, strict=True):
        assert cell.font.b
        assert f.name in cell.comment.text
        assert ("Bắt buộc" in cell.comment.text) == f.required
        assert (cell.fill.fgColor.rgb == "00FFE699") == f.required
        assert data.column_dimensions[cell.column_letter].width >= len(f.header_vi)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_lists_sheet_is_hidden_and_holds_the_96_communes(templates, registry, kind):
    book = load_workbook(templates[kind])
    assert book[LISTS_SHEET].sheet_state == "hidden"
    data = book.worksheets[0]
    commune = _validation(data, KINDS[kind].names.index("commune") + 1)
    assert commune.type == "list"
    names = _range_values(book, commune.formula1)
    assert len(names) == 96
    assert sorted(names) == sorted(registry.communes["name"])
    # Pre-merger records may name a former commune: the list warns instead of refusing.
    assert commune.errorStyle == ("stop" if kind == "population" else "warning")


@pytest.mark.parametrize("kind", ["incidents", "models", "outreach"])  # population has none
def test_choice_lists_hold_every_label_and_the_importer_reads_each(templates, kind):
    spec = KINDS[kind]
    book = load_workbook(templates[kind])
    data = book.worksheets[0]
    choice_fields = [f for f in spec.fields if f.type == "choice"]
    assert choice_fields
    for f in choice_fields:
        rule = _validation(data, spec.names.index(f.name) + 1)
        assert (rule.type, rule.errorStyle, rule.showErrorMessage) == ("list", "stop", True)
        labels = _range_values(book, rule.formula1)
        assert labels == [c.label_vi for c in f.choices]
        errors = CellErrors.empty()
        codes = parse_choice(pd.Series(labels, dtype=object), f, errors)
        assert codes.tolist() == [c.code for c in f.choices]
        assert errors.positions == []


def test_outcome_and_format_drop_downs_hold_the_plans_values(templates):
    assert _choices(templates["incidents"], "incidents", "status") == [
        "Tiếp nhận", "Xác minh", "Khởi tố", "Xét xử", "Xử lý hành chính", "Cảnh cáo, giáo dục",
        "Trục xuất", "Hỗ trợ", "Hồi hương, trở về"]
    assert _choices(templates["outreach"], "outreach", "format")[-3:] == [
        "Sách, tủ sách pháp luật", "Tư vấn, giới thiệu việc làm", "Hội thi"]
    book = load_workbook(templates["outreach"])
    data = book.worksheets[0]
    headers = _headers(data)
    figures = {"Số cuộc/buổi/lớp": "sessions", "Số người tham dự": "participants",
               "Số điểm (điểm cầu/tủ sách)": "sites", "Số tài liệu": "materials",
               "Số nhóm (Zalo/Facebook)": "groups", "Số thành viên nòng cốt": "members"}
    assert headers[headers.index("Hình thức") + 1:headers.index("Hình thức") + 7] == list(figures)
    for header, name in figures.items():
        col = headers.index(header) + 1
        rule = _validation(data, col)
        assert (rule.type, rule.operator, rule.formula1) == ("whole", "greaterThanOrEqual", "0")
        assert name in data.cell(1, col).comment.text


def test_instructions_say_which_outcome_fits_which_type_and_which_figures_a_format_has(
        templates, tmp_path, registry):
    vi, en = _instruction_text(templates["incidents"], "Hướng dẫn").split(
        "How to fill in this template")
    assert ("Xuất, nhập cảnh trái phép: Xử lý hành chính, Cảnh cáo, giáo dục, Trục xuất, "
            "Khởi tố, Xác minh") in vi
    assert "Nạn nhân được tiếp nhận: Tiếp nhận, Xác minh, Hỗ trợ, Hồi hương, trở về" in vi
    assert ("illegal_crossing (Xuất, nhập cảnh trái phép): Xử lý hành chính "
            "(administrative_sanction), Cảnh cáo, giáo dục (warning_education)") in en
    assert "victim (Nạn nhân được tiếp nhận): Tiếp nhận (received)" in en
    text = _instruction_text(templates["outreach"], "Hướng dẫn")
    assert "tư vấn việc làm (số lượt người" in text and "số điểm cầu" in text
    assert "job counselling (contacts, in the participants column)" in text


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_dates_counts_and_codes_are_formatted_and_checked(templates, registry, kind):
    spec = KINDS[kind]
    book = load_workbook(templates[kind])
    data = book.worksheets[0]
    for col, f in enumerate(spec.fields, start=1):
        letter = get_column_letter(col)
        if f.type == "date":
            assert data.column_dimensions[letter].number_format == "DD/MM/YYYY"
            rule = _validation(data, col)
            assert (rule.type, rule.operator, rule.formula1) == ("date", "between",
                                                                 "DATE(2000,1,1)")
        elif f.type == "int":
            rule = _validation(data, col)
            assert (rule.type, rule.operator, rule.formula1) == ("whole", "greaterThanOrEqual",
                                                                 "0")
            assert rule.errorStyle == "stop"
        elif f.type == "code" and kind == "population":  # 2025 communes only
            rule = _validation(data, col)
            assert rule.type == "list"
            codes = _range_values(book, rule.formula1)
            assert sorted(str(c) for c in codes) == sorted(registry.communes.index)
        elif f.type == "code":  # a 2025 code, or a former one for a pre-merger record
            rule = _validation(data, col)
            assert rule.type == "whole"
            low, high = int(rule.formula1), int(rule.formula2)
            assert all(low <= int(c) <= high for c in (*registry.communes.index,
                                                       *registry.legacy.index))
        elif f.name == "record_id":
            assert data.column_dimensions[letter].number_format == "@"  # "007" stays "007"


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_messages_and_titles_fit_excel_limits(tmp_path, registry, kind, lang):
    book = load_workbook(write_template(kind, tmp_path / "t.xlsx", registry, lang=lang))
    assert all(len(title) <= 31 for title in book.sheetnames)
    for rule in book.worksheets[0].data_validations.dataValidation:
        assert len(rule.promptTitle) <= 32 and len(rule.errorTitle) <= 32
        assert len(rule.prompt) <= 255 and len(rule.error) <= 225


def _instruction_text(path: Path, title: str) -> str:
    sheet = load_workbook(path)[title]
    return "\n".join(str(c.value) for row in sheet.iter_rows() for c in row if c.value)


def test_instructions_say_what_a_planner_must_know_in_both_languages(templates, registry):
    text = _instruction_text(templates["incidents"], "Hướng dẫn")
    vi, en = text.split("How to fill in this template")
    for words in ("bắt buộc", "dd/mm/yyyy", "Mã xã", "Vĩ độ + Kinh độ", "tên xã cũ kèm tên huyện",
                  "01/07/2025", "KHÔNG nhập thông tin cá nhân", "CMND/CCCD", "số điện thoại",
                  "ngày sinh", "địa chỉ"):
        assert words in vi, words
    for words in ("required", "dd/mm/yyyy", "lat + lon", "former district", "NO personal data",
                  "phone numbers", "birth dates", "addresses"):
        assert words in en, words
    for f in KINDS["incidents"].fields:  # one row per column, in both languages
        assert vi.count(f"\n{f.name}\n") == 1 and en.count(f"\n{f.name}\n") == 1
    assert "Vụ mua bán người (trafficking_case)" in en
    assert all(name in text for name in registry.communes["name"])


def test_english_template_keeps_the_headers_and_speaks_english(tmp_path, registry, templates):
    path = write_template("outreach", tmp_path / "outreach_en.xlsx", registry, lang="en")
    book = load_workbook(path)
    assert book.sheetnames == ["Hoạt động truyền thông", "Instructions", LISTS_SHEET]
    assert _headers(book.worksheets[0]) == _headers(load_workbook(templates["outreach"]).active)
    text = _instruction_text(path, "Instructions")
    assert "NO personal data" in text and "KHÔNG" not in text
    assert "a commune code, or a commune name" in text and "lat + lon" not in text


def test_wrong_suffix_and_unknown_kind_are_refused(tmp_path, registry):
    with pytest.raises(ValueError, match=r"\.xlsx"):
        write_template("incidents", tmp_path / "t.csv", registry)
    with pytest.raises(ValueError, match="unknown record kind"):
        write_template("arrests", tmp_path / "t.xlsx", registry)
    assert write_template("Vụ việc", tmp_path / "vi.xlsx", registry).exists()


def test_an_unfilled_template_is_refused_as_empty(templates, store, places):
    with pytest.raises(FileRefused) as refused:
        import_file(templates["incidents"], "incidents", store, places, today=TODAY)
    assert refused.value.code == "file.empty"
    assert store.count("incidents") == 0


# -- round trips: fill with openpyxl as a planner would, import, compare --------------------


def _fill(template: Path, rows: list[dict], out: Path) -> Path:
    """Type ``rows`` (header_vi -> value) under the template's headers, as Excel cells."""
    book = load_workbook(template)
    sheet = book.worksheets[0]
    column = {c.value: c.column for c in sheet[1]}
    for r, row in enumerate(rows, start=2):
        for header, value in row.items():
            sheet.cell(r, column[header], value)
    book.save(out)
    return out


def _choices(template: Path, kind: str, field: str) -> list[str]:
    """The values of a drop-down (labels, commune names), as the planner sees them."""
    book = load_workbook(template)
    rule = _validation(book.worksheets[0], KINDS[kind].names.index(field) + 1)
    return _range_values(book, rule.formula1)




def _stored(store, kind: str) -> pd.DataFrame:
    return store.read(kind).set_index("record_id")


def _code_of(registry, name: str) -> str:
    return registry.communes.index[registry.communes["name"] == name].item()


def _assert_report(report, accepted: int, reason: str, row: int) -> None:
    assert report.status == "committed"
    assert (report.accepted, report.rejected, report.duplicates) == (accepted, 1, 0)
    assert report.unknown_columns == ()
    assert report.rejects["reason"].tolist() == [reason]
    assert report.rejects["row_number"].tolist() == [row]


def test_incidents_round_trip(templates, registry, places, store, tmp_path):
    tpl = templates["incidents"]
    communes = _choices(tpl, "incidents", "commune")
    types = dict(zip([c.code for c in KINDS["incidents"].field("type").choices],
                     _choices(tpl, "incidents", "type"), strict=True))
    statuses = _choices(tpl, "incidents", "status")
    legacy = registry.legacy
    # A former commune whose name repeats in two districts: the district tells them apart.
    old_code = "25705"
    old = legacy.loc[old_code]
    assert (legacy["name"] == old["name"]).sum() > 1
    victim_code = _code_of(registry, communes[10])
    point = places.communes_new.geometry[victim_code].representative_point()
    rows = [
        {"Mã hồ sơ": "VV-001", "Ngày": dt.date(2025, 8, 12), "Loại": types["trafficking_case"],
         "Xã/Phường": communes[0], "Số đối tượng": 2, "Số nạn nhân": 1,
         "Đơn vị": "Công an tỉnh", "Tình trạng": statuses[2]},
        {"Mã hồ sơ": "VV-002", "Ngày": dt.date(2025, 9, 3), "Loại": types["tip"],
         "Mã xã": 25486, "Tình trạng": statuses[0]},
        {"Mã hồ sơ": "VV-003", "Ngày": dt.date(2024, 5, 20), "Loại": types["illegal_crossing"],
         "Xã/Phường": old["name"], "Huyện": old["district"], "Số đối tượng": 4},
        {"Mã hồ sơ": "VV-004", "Ngày": dt.date(2025, 8, 30), "Loại": types["victim"],
         "Vĩ độ": point.y, "Kinh độ": point.x, "Số nạn nhân": 1},
        {"Mã hồ sơ": "VV-005", "Ngày": dt.date(2026, 1, 15), "Loại": types["tip"],
         "Xã/Phường": communes[1]},
    ]
    report = import_file(_fill(tpl, rows, tmp_path / "vu_viec.xlsx"), "incidents", store,
                         places, today=TODAY)
    _assert_report(report, 4, "date.future", row=6)
    got = _stored(store, "incidents")
    assert list(got.index) == ["VV-001", "VV-002", "VV-003", "VV-004"]
    assert got["date"].dt.date.tolist() == [r["Ngày"] for r in rows[:4]]
    assert got["type"].tolist() == ["trafficking_case", "tip", "illegal_crossing", "victim"]
    assert got["status"].tolist()[:2] == ["prosecuted", "received"]
    assert got["new_code"].tolist() == [_code_of(registry, communes[0]), "25486",
                                        old["new_code"], victim_code]
    assert got.at["VV-003", "old_code"] == old_code
    assert got["resolved_by"].tolist() == ["name", "code", "name", "point"]
    assert got.at["VV-001", "persons"] == 2 and got.at["VV-003", "persons"] == 4
    assert got.at["VV-001", "agency"] == "Công an tỉnh"
    assert pd.isna(got.at["VV-004", "lat"])  # a victim's point finds the commune, then goes


def test_outreach_round_trip(templates, registry, places, store, tmp_path):
    tpl = templates["outreach"]
    communes = _choices(tpl, "outreach", "commune")
    formats = _choices(tpl, "outreach", "format")
    rows = [
        {"Mã hồ sơ": "TT-1", "Ngày": dt.date(2025, 7, 15), "Xã/Phường": communes[5],
         "Hình thức": formats[0], "Số người tham dự": 120, "Số tài liệu": 300},
        {"Mã hồ sơ": "TT-2", "Ngày": dt.date(2025, 9, 20), "Mã xã": 25489,
         "Hình thức": formats[4], "Số người tham dự": 45},
        {"Mã hồ sơ": "TT-3", "Ngày": dt.date(2025, 9, 21), "Xã/Phường": communes[-1],
         "Đơn vị": "Đoàn thanh niên", "Hình thức": formats[1], "Số tài liệu": 0},
        {"Mã hồ sơ": "TT-4", "Ngày": dt.date(2025, 9, 22), "Xã/Phường": communes[6],
         "Hình thức": "Hội thảo quốc tế"},
    ]
    report = import_file(_fill(tpl, rows, tmp_path / "truyen_thong.xlsx"), "outreach", store,
                         places, today=TODAY)
    _assert_report(report, 3, "choice.unknown", row=5)
    got = _stored(store, "outreach")
    assert list(got.index) == ["TT-1", "TT-2", "TT-3"]
    assert got["date"].dt.date.tolist() == [r["Ngày"] for r in rows[:3]]
    assert got["format"].tolist() == ["meeting", "social_media", "school_session"]
    assert got["new_code"].tolist() == [_code_of(registry, communes[5]), "25489",
                                        _code_of(registry, communes[-1])]
    assert got["participants"].tolist()[:2] == [120, 45]
    assert got.at["TT-3", "materials"] == 0


def test_outcomes_from_the_drop_down_round_trip_and_a_misfit_is_refused(
        templates, places, store, tmp_path):
    tpl = templates["incidents"]
    types = dict(zip([c.code for c in KINDS["incidents"].field("type").choices],
                     _choices(tpl, "incidents", "type"), strict=True))
    statuses = dict(zip([c.code for c in KINDS["incidents"].field("status").choices],
                        _choices(tpl, "incidents", "status"), strict=True))
    rows = [
        {"Mã hồ sơ": "XC-1", "Ngày": dt.date(2024, 5, 20), "Loại": types["illegal_crossing"],
         "Mã xã": 25699, "Số đối tượng": 4, "Tình trạng": statuses["deportation"]},
        {"Mã hồ sơ": "XC-2", "Ngày": dt.date(2024, 5, 21), "Loại": types["illegal_crossing"],
         "Mã xã": 25699, "Số đối tượng": 2, "Tình trạng": statuses["warning_education"]},
        {"Mã hồ sơ": "NN-1", "Ngày": dt.date(2025, 8, 30), "Loại": types["victim"],
         "Mã xã": 25486, "Số nạn nhân": 1, "Tình trạng": statuses["returned_home"]},
        {"Mã hồ sơ": "XC-3", "Ngày": dt.date(2024, 5, 22), "Loại": types["illegal_crossing"],
         "Mã xã": 25699, "Số đối tượng": 1, "Tình trạng": statuses["supported"]},
    ]
    report = import_file(_fill(tpl, rows, tmp_path / "ket_qua.xlsx"), "incidents", store,
                         places, today=TODAY)
    _assert_report(report, 3, "status.not_for_type", row=5)
    got = _stored(store, "incidents")
    assert got["status"].to_dict() == {"NN-1": "returned_home", "XC-1": "deportation",
                                       "XC-2": "warning_education"}


def test_outreach_figures_round_trip(templates, registry, places, store, tmp_path):
    tpl = templates["outreach"]
    formats = dict(zip([c.code for c in KINDS["outreach"].field("format").choices],
                       _choices(tpl, "outreach", "format"), strict=True))
    rows = [
        {"Mã hồ sơ": "TT-1", "Ngày": dt.date(2025, 7, 30), "Mã xã": 25489, "Đơn vị": "Sở Tư pháp",
         "Hình thức": formats["meeting"], "Số cuộc/buổi/lớp": 1, "Số người tham dự": 1835,
         "Số điểm (điểm cầu/tủ sách)": 158},
        {"Mã hồ sơ": "TT-2", "Ngày": dt.date(2025, 8, 1), "Mã xã": 25489,
         "Hình thức": formats["law_books"], "Số điểm (điểm cầu/tủ sách)": 3, "Số tài liệu": 400},
        {"Mã hồ sơ": "TT-3", "Ngày": dt.date(2025, 8, 2), "Mã xã": 25489,
         "Hình thức": formats["job_counselling"], "Số người tham dự": 530},
        {"Mã hồ sơ": "TT-4", "Ngày": dt.date(2025, 8, 3), "Mã xã": 25489,
         "Hình thức": formats["social_media"], "Số nhóm (Zalo/Facebook)": 12,
         "Số thành viên nòng cốt": 240},
        {"Mã hồ sơ": "TT-5", "Ngày": dt.date(2025, 8, 4), "Mã xã": 25489,
         "Hình thức": formats["contest"], "Số cuộc/buổi/lớp": -1},
    ]
    report = import_file(_fill(tpl, rows, tmp_path / "so_lieu.xlsx"), "outreach", store,
                         places, today=TODAY)
    _assert_report(report, 4, "number.negative", row=6)
    got = _stored(store, "outreach")
    assert got["format"].tolist() == ["meeting", "law_books", "job_counselling", "social_media"]
    assert got.loc["TT-1", ["sessions", "participants", "sites"]].tolist() == [1, 1835, 158]
    assert got.loc["TT-2", ["sites", "materials"]].tolist() == [3, 400]
    assert got.at["TT-3", "participants"] == 530
    assert got.loc["TT-4", ["groups", "members"]].tolist() == [12, 240]


def test_models_round_trip(templates, registry, places, store, tmp_path):
    tpl = templates["models"]
    communes = _choices(tpl, "models", "commune")
    types = _choices(tpl, "models", "model_type")
    classes = _choices(tpl, "models", "class")
    rows = [
        {"Mã hồ sơ": "MH-1", "Xã/Phường": communes[20], "Loại mô hình": types[0],
         "Phân loại": classes[0], "Ngày bắt đầu": dt.date(2025, 7, 2)},
        {"Mã hồ sơ": "MH-2", "Mã xã": 25459, "Loại mô hình": types[2],
         "Phân loại": classes[1], "Ngày bắt đầu": dt.date(2025, 7, 10),
         "Ngày kết thúc": dt.date(2025, 9, 30), "Đơn vị": "Hội Phụ nữ"},
        {"Mã hồ sơ": "MH-3", "Xã/Phường": communes[30], "Loại mô hình": types[-1],
         "Ngày bắt đầu": dt.date(2025, 8, 1)},
        {"Mã hồ sơ": "MH-4", "Xã/Phường": communes[40], "Loại mô hình": types[1],
         "Ngày bắt đầu": dt.date(2025, 9, 1), "Ngày kết thúc": dt.date(2025, 8, 1)},
    ]
    report = import_file(_fill(tpl, rows, tmp_path / "mo_hinh.xlsx"), "models", store, places,
                         today=TODAY)
    _assert_report(report, 3, "date.end_before_start", row=5)
    got = _stored(store, "models")
    assert list(got.index) == ["MH-1", "MH-2", "MH-3"]
    assert got["model_type"].tolist() == ["zalo_group", "cultural_boarding_house", "other"]
    assert got["model_class"].tolist()[:2] == ["intensive", "integrated"]
    assert got["start_date"].dt.date.tolist() == [r["Ngày bắt đầu"] for r in rows[:3]]
    assert got.at["MH-2", "end_date"].date() == dt.date(2025, 9, 30)
    assert pd.isna(got.at["MH-1", "end_date"])
    assert got["new_code"].tolist() == [_code_of(registry, communes[20]), "25459",
                                        _code_of(registry, communes[30])]


def test_population_round_trip(templates, registry, places, store, tmp_path):
    tpl = templates["population"]
    communes = _choices(tpl, "population", "commune")
    rows = [
        {"Xã/Phường": communes[0], "Năm": 2024, "Dân số": 41250, "Dân số 14-60 tuổi": 27010},
        {"Xã/Phường": communes[1], "Năm": 2024, "Dân số": 18322},
        {"Mã xã": 25486, "Năm": 2025, "Dân số": 30411, "Dân số 14-60 tuổi": 20005},
        {"Xã/Phường": communes[2], "Năm": 2030, "Dân số": 1000},
    ]
    report = import_file(_fill(tpl, rows, tmp_path / "dan_so.xlsx"), "population", store,
                         places, today=TODAY)
    _assert_report(report, 3, "date.future", row=5)
    got = store.read("population").set_index(["new_code", "year"]).sort_index()
    want = {(_code_of(registry, communes[0]), 2024): (41250, 27010),
            (_code_of(registry, communes[1]), 2024): (18322, None),
            ("25486", 2025): (30411, 20005)}
    assert sorted(got.index) == sorted(want)
    for key, (total, working_age) in want.items():
        assert got.at[key, "population"] == total
        stored = got.at[key, "population_14_60"]
        assert (pd.isna(stored) if working_age is None else stored == working_age)


def test_the_command_lists_the_communes_of_the_data_folders_boundaries(tmp_path):
    """``borderwatch template`` takes its lists from the registry of the boundaries in use,
    as the server's download does: on boundaries of Tây Ninh and a commune of Hà Nội the
    population template's code list (which stops any other code) holds both provinces'
    222 communes, Phường Ba Đình's 00004 among them (Tây Ninh's registry gave 96, and
    Excel refused 00004, a code the import accepts)."""
    from dashboard.cli import main
    from geo.boundaries import load_communes
    from geo.units import registry_covering
    from tests.two_provinces import HA_NOI_CODE, write_two_provinces

    settings = Settings(data_dir=tmp_path / "var")
    write_two_provinces(settings)
    out = tmp_path / "dan_so.xlsx"
    assert main(["--data-dir", str(settings.data_dir), "template", "population", str(out)]) == 0
    book = load_workbook(out)
    code = _validation(book.worksheets[0], KINDS["population"].names.index("commune_code") + 1)
    codes = [str(c).zfill(5) for c in _range_values(book, code.formula1)]  # written as numbers
    registry = registry_covering(load_communes(settings).index)
    assert (len(codes), code.errorStyle) == (222, "stop")
    assert sorted(codes) == sorted(registry.communes.index) and HA_NOI_CODE in codes
